#include "connectors/kayako/retry_after.hpp"

#include <gtest/gtest.h>

namespace {

using namespace ksync::kayako;
using namespace std::chrono;
using namespace std::chrono_literals;

const system_clock::time_point now = sys_days{2026y / November / 28} + 12h;  // Sat 12:00:00 GMT
const milliseconds clamp = 1h;

TEST(retry_after, delta_seconds) {
    EXPECT_EQ(parse_retry_after("7", now, clamp), 7000ms);
    EXPECT_EQ(parse_retry_after(" 0 ", now, clamp), 0ms);
    EXPECT_EQ(parse_retry_after("86400", now, clamp), clamp);
    EXPECT_EQ(parse_retry_after("99999999999999999999", now, clamp), clamp);
    EXPECT_EQ(parse_retry_after("-5", now, clamp), std::nullopt);
    EXPECT_EQ(parse_retry_after("5s", now, clamp), std::nullopt);
    EXPECT_EQ(parse_retry_after("", now, clamp), std::nullopt);
}

TEST(retry_after, http_dates_in_all_three_forms) {
    EXPECT_EQ(parse_retry_after("Sat, 28 Nov 2026 12:00:30 GMT", now, clamp), 30'000ms);
    EXPECT_EQ(parse_retry_after("Saturday, 28-Nov-26 12:01:00 GMT", now, clamp), 60'000ms);
    EXPECT_EQ(parse_retry_after("Sat Nov 28 12:00:05 2026", now, clamp), 5'000ms);
}

TEST(retry_after, past_dates_mean_now_and_far_dates_are_clamped) {
    EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now, clamp), 0ms);
    EXPECT_EQ(parse_retry_after("Sun, 29 Nov 2026 12:00:00 GMT", now, clamp), clamp);
}

TEST(retry_after, rejects_malformed_dates) {
    EXPECT_EQ(parse_http_date("Sat, 31 Feb 2026 12:00:00 GMT"), std::nullopt);
    EXPECT_EQ(parse_http_date("Sat, 28 Foo 2026 12:00:00 GMT"), std::nullopt);
    EXPECT_EQ(parse_http_date("Sat, 28 Nov 2026 25:00:00 GMT"), std::nullopt);
    // Years system_clock cannot hold (found by fuzz_http_date: signed overflow before the fix).
    EXPECT_EQ(parse_http_date("Sun, 06 Nov 6962 08:49:37 GMT"), std::nullopt);
    EXPECT_EQ(parse_http_date("Sun, 06 Nov 1000 08:49:37 GMT"), std::nullopt);
    EXPECT_EQ(parse_http_date("Sat, 28 Nov 2026 12:00:00 PST"), std::nullopt);
    EXPECT_EQ(parse_http_date("tomorrow"), std::nullopt);
    EXPECT_EQ(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
              sys_days{1994y / November / 6} + 8h + 49min + 37s);
}

}  // namespace
