#pragma once

// The retry decision of reliability.md §4, as pure functions of (method, outcome, attempt):
// no clock reads, no sleeping, randomness injected, so the whole table is unit-tested.

#include "connectors/kayako/url.hpp"  // http_method

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace ksync::kayako {

using std::chrono::milliseconds;


// What one attempt came to, from the transport's point of view. The difference between
// not_connected and maybe_sent is what makes a POST safe or unsafe to resend.
struct attempt_outcome {
    enum class kind {
        not_connected,  // DNS, connect, TLS handshake or proxy failure: no request byte written
        maybe_sent,     // timeout, reset or truncation after bytes went out
        response,       // a complete HTTP response arrived (any status)
    };
    kind what = kind::response;
    int status = 0;                           // for kind::response
    std::optional<milliseconds> retry_after;  // parsed Retry-After, relative to now
};

struct retry_options {
    milliseconds base{500};
    milliseconds cap{30'000};
    int max_attempts = 5;  // including the first
    // A Retry-After (or backoff) longer than this is cut: an HTTP-date depends on our clock.
    milliseconds retry_after_clamp{3'600'000};
};

struct retry_decision {
    enum class action {
        done,             // success: hand the response to the caller
        retry,            // try again after `delay`
        fail,             // definite failure: the request was not applied (or rejected)
        outcome_unknown,  // a POST that may have been applied: reconcile, never resend blindly
        auth_failure,     // 401/403: no retry; the breaker opens for a long time
    };
    action what = action::fail;
    milliseconds delay{0};
    std::string reason;
};

// Capped exponential backoff with full jitter: uniform(0, min(cap, base * 2^retry_index)).
milliseconds full_jitter_backoff(const retry_options& opts, int retry_index, std::mt19937_64& rng);

// `attempt` counts from 1 (the first try). The delay of a retry is the jittered backoff, or for
// 429/503 with Retry-After the larger of the two, clamped.
retry_decision decide_retry(http_method method, const attempt_outcome& outcome, int attempt,
                            const retry_options& opts, std::mt19937_64& rng);

// Finagle-style retry budget: retries are allowed while they stay under `ratio` of the requests
// in the last `window`, plus a floor of `min_per_window` so a quiet client can still retry.
class retry_budget {
public:
    using clock = std::chrono::steady_clock;
    retry_budget(double ratio = 0.2, int min_per_window = 10,
                 std::chrono::seconds window = std::chrono::seconds(10));

    void record_request(clock::time_point now);
    // True (and counted) when a retry may go out now.
    bool try_spend(clock::time_point now);

private:
    void expire(clock::time_point now);
    double ratio_;
    int min_per_window_;
    std::chrono::seconds window_;
    // Per-second buckets over the window: {second index, requests, retries}.
    struct bucket {
        std::int64_t second;
        int requests;
        int retries;
    };
    std::vector<bucket> buckets_;
};

}  // namespace ksync::kayako
