#include "connectors/kayako/circuit_breaker.hpp"

#include <gtest/gtest.h>

namespace {

using namespace ksync::kayako;
using namespace std::chrono_literals;
using state = circuit_breaker::state;

const auto t0 = circuit_breaker::clock::time_point{} + 1h;

circuit_breaker make() {
    circuit_breaker::options o;
    o.failure_threshold = 3;
    o.cooldown = 10s;
    o.max_cooldown = 30s;
    o.auth_cooldown = 15min;
    return circuit_breaker(o);
}

TEST(circuit_breaker, opens_after_consecutive_failures_only) {
    auto b = make();
    b.record_failure(t0);
    b.record_failure(t0);
    b.record_success();  // resets the streak
    b.record_failure(t0);
    b.record_failure(t0);
    EXPECT_EQ(b.current(t0), state::closed);
    EXPECT_TRUE(b.allow(t0));
    b.record_failure(t0);
    EXPECT_EQ(b.current(t0), state::open);
    EXPECT_FALSE(b.allow(t0 + 9s));
}

TEST(circuit_breaker, half_open_lets_exactly_one_probe_through) {
    auto b = make();
    for (int i = 0; i < 3; ++i) b.record_failure(t0);
    EXPECT_EQ(b.current(t0 + 10s), state::half_open);
    EXPECT_TRUE(b.allow(t0 + 10s));   // the probe
    EXPECT_FALSE(b.allow(t0 + 10s));  // everyone else waits for its verdict
    b.record_success();
    EXPECT_EQ(b.current(t0 + 10s), state::closed);
    EXPECT_TRUE(b.allow(t0 + 10s));
}

TEST(circuit_breaker, failed_probe_reopens_with_doubled_capped_cooldown) {
    auto b = make();
    for (int i = 0; i < 3; ++i) b.record_failure(t0);
    ASSERT_TRUE(b.allow(t0 + 10s));
    b.record_failure(t0 + 10s);
    EXPECT_FALSE(b.allow(t0 + 29s));  // 20 s now
    ASSERT_TRUE(b.allow(t0 + 30s));
    b.record_failure(t0 + 30s);
    EXPECT_EQ(b.retry_at(), t0 + 60s);  // 40 s capped at 30 s
}

TEST(circuit_breaker, auth_failure_opens_at_once_for_long) {
    auto b = make();
    b.record_auth_failure(t0);
    EXPECT_EQ(b.current(t0), state::open);
    EXPECT_FALSE(b.allow(t0 + 14min));
    EXPECT_TRUE(b.allow(t0 + 15min));
}

}  // namespace
