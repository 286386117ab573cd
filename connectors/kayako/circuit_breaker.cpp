#include "connectors/kayako/circuit_breaker.hpp"

#include <algorithm>

namespace ksync::kayako {

bool circuit_breaker::allow(clock::time_point now) {
    switch (state_) {
        case state::closed:
            return true;
        case state::open:
            if (now < open_until_) return false;
            state_ = state::half_open;
            probe_in_flight_ = true;
            return true;
        case state::half_open:
            // One probe at a time; everyone else waits for its verdict.
            if (probe_in_flight_) return false;
            probe_in_flight_ = true;
            return true;
    }
    return false;
}

void circuit_breaker::record_success() {
    state_ = state::closed;
    failures_ = 0;
    probe_in_flight_ = false;
    current_cooldown_ = opts_.cooldown;
}

void circuit_breaker::record_failure(clock::time_point now) {
    ++failures_;
    if (state_ == state::half_open) {
        current_cooldown_ = std::min(current_cooldown_ * 2, opts_.max_cooldown);
        open(now, current_cooldown_);
    } else if (state_ == state::closed && failures_ >= opts_.failure_threshold) {
        open(now, current_cooldown_);
    }
}

void circuit_breaker::record_auth_failure(clock::time_point now) {
    ++failures_;
    open(now, opts_.auth_cooldown);
}

void circuit_breaker::open(clock::time_point now, clock::duration for_how_long) {
    state_ = state::open;
    probe_in_flight_ = false;
    open_until_ = now + for_how_long;
}

circuit_breaker::state circuit_breaker::current(clock::time_point now) const {
    if (state_ == state::open && now >= open_until_) return state::half_open;
    return state_;
}

std::string_view to_string(circuit_breaker::state s) noexcept {
    switch (s) {
        case circuit_breaker::state::closed:
            return "closed";
        case circuit_breaker::state::open:
            return "open";
        case circuit_breaker::state::half_open:
            return "half-open";
    }
    return "?";
}

}  // namespace ksync::kayako
