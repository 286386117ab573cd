// The composition root's translation of the config into component options.
#include "daemon/composition.hpp"

#include "connectors/kayako/pacer.hpp"

#include <gtest/gtest.h>

#include <chrono>

namespace {

using namespace std::chrono_literals;
using ksync::kayako::token_bucket;

ksync::config::kayako_options kayako_at(double requests_per_second) {
    ksync::config::kayako_options k;
    k.max_in_flight = 4;
    k.requests_per_second = requests_per_second;
    return k;
}

TEST(composition, pacer_burst_is_a_second_of_requests_up_to_a_hundred) {
    auto o = ksync::app::kayako_client_options(kayako_at(5));
    EXPECT_DOUBLE_EQ(o.pacing.rate_per_second, 5);
    EXPECT_DOUBLE_EQ(o.pacing.burst, 5);
    EXPECT_EQ(o.pacing.max_in_flight, 4);
    EXPECT_DOUBLE_EQ(ksync::app::kayako_client_options(kayako_at(0.5)).pacing.burst, 1);
    EXPECT_DOUBLE_EQ(ksync::app::kayako_client_options(kayako_at(100)).pacing.burst, 100);
    // The highest rate the config accepts: not 10,000 requests back to back after an idle spell.
    o = ksync::app::kayako_client_options(kayako_at(ksync::config::max_requests_per_second));
    EXPECT_DOUBLE_EQ(o.pacing.rate_per_second, 10000);
    EXPECT_DOUBLE_EQ(o.pacing.burst, ksync::app::max_pacing_burst);
}

// The pacer refills from a timer; on a loaded machine the timer fires late. With the burst the
// composition root picks, a refill timer that is 2 ms late every time still lets the full rate
// through at 10,000 requests/s (a burst of 1 would hold it near 500/s).
TEST(composition, pacer_keeps_a_high_rate_when_its_refill_timer_is_late) {
    const double rate = ksync::config::max_requests_per_second;
    const auto t0 = token_bucket::clock::time_point{} + 1h;
    token_bucket bucket(rate, ksync::app::pacing_burst(rate), t0);
    auto now = t0;
    long granted = 0;
    while (now < t0 + 1s) {
        if (auto wait = bucket.take(now))
            now += *wait + 2ms;  // the refill timer, late
        else
            ++granted;
    }
    EXPECT_GE(granted, static_cast<long>(rate * 0.98));
    EXPECT_LE(granted, static_cast<long>(rate + ksync::app::max_pacing_burst + 1));
}

}  // namespace
