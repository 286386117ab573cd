#pragma once

#include <chrono>
#include <string_view>

namespace ksync::kayako {

// Trips after `failure_threshold` consecutive failures and refuses calls for `cooldown`; then lets
// exactly one probe through (half-open). The probe's success closes it; its failure reopens it
// with a doubled cooldown (up to `max_cooldown`). An authentication failure opens it for
// `auth_cooldown` at once: a wrong API key must not become a hot loop of 401s (reliability.md §4).
// Time is passed in, so every transition is tested without waiting.
class circuit_breaker {
public:
    using clock = std::chrono::steady_clock;
    enum class state { closed, open, half_open };

    struct options {
        int failure_threshold = 5;
        clock::duration cooldown = std::chrono::seconds(30);
        clock::duration max_cooldown = std::chrono::minutes(10);
        clock::duration auth_cooldown = std::chrono::minutes(15);
    };

    circuit_breaker() : circuit_breaker(options{}) {}
    explicit circuit_breaker(options opts) : opts_(opts), current_cooldown_(opts.cooldown) {}

    // May a request go out now? In half-open state only the first caller gets true (the probe).
    bool allow(clock::time_point now);
    void record_success();
    void record_failure(clock::time_point now);
    void record_auth_failure(clock::time_point now);

    [[nodiscard]] state current(clock::time_point now) const;
    // When an open breaker will next let a probe through.
    [[nodiscard]] clock::time_point retry_at() const noexcept { return open_until_; }
    [[nodiscard]] int consecutive_failures() const noexcept { return failures_; }

private:
    void open(clock::time_point now, clock::duration for_how_long);

    options opts_;
    state state_ = state::closed;
    int failures_ = 0;
    bool probe_in_flight_ = false;
    clock::duration current_cooldown_;
    clock::time_point open_until_{};
};

std::string_view to_string(circuit_breaker::state s) noexcept;

}  // namespace ksync::kayako
