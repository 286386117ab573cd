#include "connectors/kayako/retry_policy.hpp"

#include <algorithm>

namespace ksync::kayako {

milliseconds full_jitter_backoff(const retry_options& opts, int retry_index, std::mt19937_64& rng) {
    // base * 2^n computed without overflow: stop doubling once past the cap.
    std::int64_t ceiling = std::max<std::int64_t>(opts.base.count(), 1);
    for (int i = 0; i < retry_index && ceiling < opts.cap.count(); ++i) ceiling *= 2;
    ceiling = std::min<std::int64_t>(ceiling, opts.cap.count());
    std::uniform_int_distribution<std::int64_t> dist(0, ceiling);
    return milliseconds(dist(rng));
}

namespace {

using action = retry_decision::action;

retry_decision retry_or_give_up(int attempt, const retry_options& opts, milliseconds delay,
                                std::string reason, action when_exhausted) {
    if (attempt >= opts.max_attempts)
        return {when_exhausted, milliseconds(0), reason + " (attempts exhausted)"};
    return {action::retry, std::min(delay, opts.retry_after_clamp), std::move(reason)};
}

}  // namespace

retry_decision decide_retry(http_method method, const attempt_outcome& outcome, int attempt,
                            const retry_options& opts, std::mt19937_64& rng) {
    const milliseconds jitter = full_jitter_backoff(opts, attempt - 1, rng);
    const bool is_post = method == http_method::post;

    switch (outcome.what) {
        case attempt_outcome::kind::not_connected:
            // Nothing reached the server: safe for every method, POST included.
            return retry_or_give_up(attempt, opts, jitter, "connection not made", action::fail);

        case attempt_outcome::kind::maybe_sent:
            if (is_post)
                return {action::outcome_unknown, milliseconds(0),
                        "POST may have been applied (no response)"};
            // GET is safe; PUT carries full state and DELETE is idempotent in effect.
            return retry_or_give_up(attempt, opts, jitter, "no complete response", action::fail);

        case attempt_outcome::kind::response:
            break;
    }

    const int s = outcome.status;
    if (s >= 200 && s < 300) return {action::done, milliseconds(0), ""};
    if (s == 401 || s == 403)
        return {action::auth_failure, milliseconds(0),
                "authentication refused (HTTP " + std::to_string(s) + ")"};
    if (s == 429) {
        // Rejected before processing: safe to resend, POST included, after the server's delay.
        milliseconds delay = jitter;
        if (outcome.retry_after) delay = std::max(delay, *outcome.retry_after);
        return retry_or_give_up(attempt, opts, delay, "rate limited (HTTP 429)", action::fail);
    }
    if (s >= 500 && s < 600) {
        // A proxy in front of Kayako may have passed the POST on before failing.
        if (is_post)
            return {action::outcome_unknown, milliseconds(0),
                    "POST answered HTTP " + std::to_string(s) + ": may have been applied"};
        milliseconds delay = jitter;
        if (outcome.retry_after) delay = std::max(delay, *outcome.retry_after);
        return retry_or_give_up(attempt, opts, delay,
                                "server error (HTTP " + std::to_string(s) + ")", action::fail);
    }
    // 3xx (redirects are never followed), 400, 404, 405, 422 and anything else: definite.
    return {action::fail, milliseconds(0), "HTTP " + std::to_string(s)};
}

retry_budget::retry_budget(double ratio, int min_per_window, std::chrono::seconds window)
    : ratio_(ratio), min_per_window_(min_per_window), window_(window) {}

void retry_budget::expire(clock::time_point now) {
    const auto sec =
        std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
    std::erase_if(buckets_, [&](const bucket& b) { return b.second <= sec - window_.count(); });
    if (buckets_.empty() || buckets_.back().second != sec) buckets_.push_back({sec, 0, 0});
}

void retry_budget::record_request(clock::time_point now) {
    expire(now);
    ++buckets_.back().requests;
}

bool retry_budget::try_spend(clock::time_point now) {
    expire(now);
    int requests = 0, retries = 0;
    for (const auto& b : buckets_) {
        requests += b.requests;
        retries += b.retries;
    }
    if (retries + 1 > min_per_window_ + static_cast<int>(ratio_ * requests)) return false;
    ++buckets_.back().retries;
    return true;
}

}  // namespace ksync::kayako
