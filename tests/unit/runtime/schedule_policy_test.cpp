#include "daemon/runtime/schedule_policy.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace {

using namespace std::chrono_literals;
using ksync::runtime::clock;
using ksync::runtime::job_schedule;
using ksync::runtime::run_outcome;

job_schedule sched(std::chrono::milliseconds interval, double jitter) {
    job_schedule s;
    s.interval = interval;
    s.jitter = jitter;
    s.failure_backoff = 1s;
    s.failure_backoff_max = 60s;
    return s;
}

TEST(schedule_policy, jitter_stays_within_bounds_and_spreads) {
    std::mt19937_64 rng(42);
    const auto s = sched(10s, 0.2);
    clock::duration lo = clock::duration::max(), hi = clock::duration::min();
    for (int i = 0; i < 10000; ++i) {
        const auto d = ksync::runtime::next_delay(s, run_outcome::success, 0, rng);
        ASSERT_GE(d, 8s);
        ASSERT_LE(d, 12s);
        lo = std::min(lo, d);
        hi = std::max(hi, d);
    }
    // Uniform over +/-20%: the extremes of 10k draws come close to both ends.
    EXPECT_LT(lo, 8100ms);
    EXPECT_GT(hi, 11900ms);
}

TEST(schedule_policy, zero_jitter_is_exact) {
    std::mt19937_64 rng(1);
    EXPECT_EQ(ksync::runtime::next_delay(sched(30s, 0.0), run_outcome::success, 0, rng), 30s);
    EXPECT_EQ(ksync::runtime::next_delay(sched(30s, 0.0), run_outcome::none, 0, rng), 30s);
}

TEST(schedule_policy, failures_back_off_exponentially_up_to_the_cap) {
    std::mt19937_64 rng(1);
    const auto s = sched(30s, 0.0);
    const std::chrono::seconds expected[] = {1s, 2s, 4s, 8s, 16s, 32s, 60s, 60s, 60s};
    for (unsigned n = 1; n <= std::size(expected); ++n) {
        EXPECT_EQ(ksync::runtime::next_delay(s, run_outcome::failure, n, rng), expected[n - 1])
            << "failure " << n;
        EXPECT_EQ(ksync::runtime::failure_delay(s, n), expected[n - 1]);
    }
    // Thousands of failures in a row do not overflow the doubling.
    EXPECT_EQ(ksync::runtime::failure_delay(s, 100000), 60s);
    // A count of 0 with a failure outcome is treated as the first failure.
    EXPECT_EQ(ksync::runtime::next_delay(s, run_outcome::failure, 0, rng), 1s);
}

TEST(schedule_policy, backoff_is_jittered_around_the_capped_value) {
    std::mt19937_64 rng(7);
    const auto s = sched(30s, 0.1);
    for (int i = 0; i < 1000; ++i) {
        const auto d = ksync::runtime::next_delay(s, run_outcome::failure, 20, rng);
        ASSERT_GE(d, 54s);
        ASSERT_LE(d, 66s);
    }
}

TEST(schedule_policy, success_after_failures_returns_to_the_interval) {
    std::mt19937_64 rng(1);
    EXPECT_EQ(ksync::runtime::next_delay(sched(30s, 0.0), run_outcome::success, 5, rng), 30s);
}

TEST(schedule_policy, first_run_at_start_or_after_one_interval) {
    std::mt19937_64 rng(3);
    auto s = sched(10s, 0.1);
    EXPECT_EQ(ksync::runtime::initial_delay(s, rng), clock::duration::zero());
    s.run_at_start = false;
    for (int i = 0; i < 100; ++i) {
        const auto d = ksync::runtime::initial_delay(s, rng);
        ASSERT_GE(d, 9s);
        ASSERT_LE(d, 11s);
    }
}

TEST(schedule_policy, next_run_adds_the_delay_to_now) {
    std::mt19937_64 rng(1);
    const clock::time_point now{std::chrono::hours(1000)};
    EXPECT_EQ(ksync::runtime::next_run(now, sched(5s, 0.0), run_outcome::success, 0, rng),
              now + 5s);
    EXPECT_EQ(ksync::runtime::next_run(now, sched(5s, 0.0), run_outcome::failure, 3, rng),
              now + 4s);
}

TEST(schedule_policy, rejects_invalid_settings) {
    EXPECT_NO_THROW(ksync::runtime::validate(sched(1s, 0.5)));
    EXPECT_THROW(ksync::runtime::validate(sched(0s, 0.1)), std::invalid_argument);
    EXPECT_THROW(ksync::runtime::validate(sched(1s, 1.0)), std::invalid_argument);
    EXPECT_THROW(ksync::runtime::validate(sched(1s, -0.1)), std::invalid_argument);
    auto s = sched(1s, 0.1);
    s.failure_backoff = 0s;
    EXPECT_THROW(ksync::runtime::validate(s), std::invalid_argument);
    s = sched(1s, 0.1);
    s.failure_backoff_max = 500ms;
    EXPECT_THROW(ksync::runtime::validate(s), std::invalid_argument);
}

}  // namespace
