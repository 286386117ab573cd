#include "daemon/runtime/status.hpp"

#include <gtest/gtest.h>

namespace {

using namespace std::chrono_literals;
using ksync::runtime::clock;
using ksync::runtime::describe_job;
using ksync::runtime::format_duration;
using ksync::runtime::job_status;
using ksync::runtime::run_outcome;

TEST(status, formats_durations_compactly) {
    EXPECT_EQ(format_duration(-5s), "0ms");
    EXPECT_EQ(format_duration(850ms), "850ms");
    EXPECT_EQ(format_duration(12s), "12s");
    EXPECT_EQ(format_duration(12900ms), "12s");
    EXPECT_EQ(format_duration(4min + 10s), "4m10s");
    EXPECT_EQ(format_duration(5min), "5m");
    EXPECT_EQ(format_duration(2h + 5min + 3s), "2h5m");
    EXPECT_EQ(format_duration(3h), "3h");
    EXPECT_EQ(format_duration(24h * 3 + 4h), "3d4h");
    EXPECT_EQ(format_duration(48h), "2d");
}

TEST(status, describes_each_job_state) {
    const clock::time_point now{std::chrono::hours(100)};
    job_status j;
    j.name = "tickets";
    j.next_run = now + 5s;
    EXPECT_EQ(describe_job(j, now), "tickets waiting (next in 5s)");

    j.running = true;
    EXPECT_EQ(describe_job(j, now), "tickets running");

    j.running = false;
    j.runs = 1;
    j.last_outcome = run_outcome::success;
    j.last_success = now - 12s;
    EXPECT_EQ(describe_job(j, now), "tickets ok 12s ago");

    j.last_outcome = run_outcome::failure;
    j.consecutive_failures = 3;
    j.last_error = "kayako: timeout\nafter 30s";
    j.next_run = now + 40s;
    EXPECT_EQ(describe_job(j, now), "tickets failing x3 (retry in 40s): kayako: timeout after 30s");

    j.last_error = std::string(100, 'e');
    EXPECT_EQ(describe_job(j, now, 10), "tickets failing x3 (retry in 40s): eeeeeeeeee...");

    job_status cancelled;
    cancelled.name = "users";
    cancelled.runs = 1;  // its only run was cancelled by shutdown
    EXPECT_EQ(describe_job(cancelled, now), "users cancelled");
}

TEST(status, joins_jobs_on_one_line) {
    const clock::time_point now{std::chrono::hours(100)};
    job_status a;
    a.name = "tickets";
    a.last_outcome = run_outcome::success;
    a.last_success = now - 12s;
    job_status b;
    b.name = "users";
    b.running = true;
    EXPECT_EQ(ksync::runtime::summarize({a, b}, now), "tickets ok 12s ago; users running");
    EXPECT_EQ(ksync::runtime::summarize({}, now), "");
}

}  // namespace
