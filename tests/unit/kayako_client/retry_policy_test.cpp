#include "connectors/kayako/retry_policy.hpp"

#include <gtest/gtest.h>

namespace {

using namespace ksync::kayako;
using namespace std::chrono_literals;
using action = retry_decision::action;
using kind = attempt_outcome::kind;

attempt_outcome response(int status, std::optional<milliseconds> ra = std::nullopt) {
    return {kind::response, status, ra};
}

struct table_row {
    kind outcome;
    int status;
    action get, put, del, post;
};

// reliability.md §4, row by row.
TEST(retry_policy, decision_table_by_method_and_outcome) {
    const table_row rows[] = {
        {kind::not_connected, 0, action::retry, action::retry, action::retry, action::retry},
        {kind::maybe_sent, 0, action::retry, action::retry, action::retry, action::outcome_unknown},
        {kind::response, 429, action::retry, action::retry, action::retry, action::retry},
        {kind::response, 500, action::retry, action::retry, action::retry, action::outcome_unknown},
        {kind::response, 502, action::retry, action::retry, action::retry, action::outcome_unknown},
        {kind::response, 503, action::retry, action::retry, action::retry, action::outcome_unknown},
        {kind::response, 504, action::retry, action::retry, action::retry, action::outcome_unknown},
        {kind::response, 400, action::fail, action::fail, action::fail, action::fail},
        {kind::response, 404, action::fail, action::fail, action::fail, action::fail},
        {kind::response, 405, action::fail, action::fail, action::fail, action::fail},
        {kind::response, 422, action::fail, action::fail, action::fail, action::fail},
        {kind::response, 302, action::fail, action::fail, action::fail, action::fail},
        {kind::response, 401, action::auth_failure, action::auth_failure, action::auth_failure,
         action::auth_failure},
        {kind::response, 403, action::auth_failure, action::auth_failure, action::auth_failure,
         action::auth_failure},
        {kind::response, 200, action::done, action::done, action::done, action::done},
    };
    std::mt19937_64 rng(1);
    retry_options opts;
    for (const auto& r : rows) {
        const attempt_outcome o{r.outcome, r.status, std::nullopt};
        SCOPED_TRACE("status " + std::to_string(r.status) + " kind " +
                     std::to_string(static_cast<int>(r.outcome)));
        EXPECT_EQ(decide_retry(http_method::get, o, 1, opts, rng).what, r.get);
        EXPECT_EQ(decide_retry(http_method::put, o, 1, opts, rng).what, r.put);
        EXPECT_EQ(decide_retry(http_method::delete_, o, 1, opts, rng).what, r.del);
        EXPECT_EQ(decide_retry(http_method::post, o, 1, opts, rng).what, r.post);
    }
}

TEST(retry_policy, gives_up_after_max_attempts) {
    std::mt19937_64 rng(2);
    retry_options opts;
    opts.max_attempts = 3;
    EXPECT_EQ(decide_retry(http_method::get, response(503), 2, opts, rng).what, action::retry);
    auto last = decide_retry(http_method::get, response(503), 3, opts, rng);
    EXPECT_EQ(last.what, action::fail);
    EXPECT_NE(last.reason.find("exhausted"), std::string::npos);
}

TEST(retry_policy, backoff_stays_within_capped_exponential_bounds) {
    std::mt19937_64 rng(3);
    retry_options opts;
    opts.base = 100ms;
    opts.cap = 1000ms;
    for (int n = 0; n < 12; ++n) {
        const auto ceiling = std::min<milliseconds>(opts.cap, opts.base * (1LL << std::min(n, 20)));
        milliseconds max_seen{0};
        for (int i = 0; i < 2000; ++i) {
            auto d = full_jitter_backoff(opts, n, rng);
            ASSERT_GE(d, 0ms);
            ASSERT_LE(d, ceiling) << "retry " << n;
            max_seen = std::max(max_seen, d);
        }
        // Full jitter spreads over the whole range, not a narrow band near the ceiling or zero.
        EXPECT_GT(max_seen, ceiling * 8 / 10) << "retry " << n;
    }
}

TEST(retry_policy, retry_after_wins_over_shorter_backoff_and_is_clamped) {
    std::mt19937_64 rng(4);
    retry_options opts;
    opts.base = 10ms;
    opts.cap = 20ms;
    opts.retry_after_clamp = 60'000ms;
    auto d = decide_retry(http_method::post, response(429, 7000ms), 1, opts, rng);
    EXPECT_EQ(d.what, action::retry);
    EXPECT_EQ(d.delay, 7000ms);
    auto huge = decide_retry(http_method::get, response(503, 86'400'000ms), 1, opts, rng);
    EXPECT_EQ(huge.delay, 60'000ms);
}

TEST(retry_budget, allows_a_floor_then_a_ratio_of_requests) {
    using clock = retry_budget::clock;
    retry_budget b(0.2, 2, std::chrono::seconds(10));
    const auto t0 = clock::time_point{} + std::chrono::hours(1);
    EXPECT_TRUE(b.try_spend(t0));
    EXPECT_TRUE(b.try_spend(t0));
    EXPECT_FALSE(b.try_spend(t0));  // floor used up, no requests yet
    for (int i = 0; i < 10; ++i) b.record_request(t0);
    EXPECT_TRUE(b.try_spend(t0));  // 2 + 0.2*10 = 4 allowed
    EXPECT_TRUE(b.try_spend(t0));
    EXPECT_FALSE(b.try_spend(t0));
    // Once the window has passed, the spent retries expire.
    EXPECT_TRUE(b.try_spend(t0 + std::chrono::seconds(11)));
}

}  // namespace
