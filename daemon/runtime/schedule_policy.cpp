#include "daemon/runtime/schedule_policy.hpp"

#include <algorithm>
#include <stdexcept>

namespace ksync::runtime {
namespace {

clock::duration jittered(clock::duration base, double jitter, std::mt19937_64& rng) {
    if (jitter <= 0.0 || base <= clock::duration::zero()) return base;
    std::uniform_real_distribution<double> factor(1.0 - jitter, 1.0 + jitter);
    const double scaled = static_cast<double>(base.count()) * factor(rng);
    return clock::duration(static_cast<clock::duration::rep>(scaled));
}

}  // namespace

void validate(const job_schedule& s) {
    if (s.interval <= milliseconds::zero())
        throw std::invalid_argument("job schedule: interval must be positive");
    if (!(s.jitter >= 0.0 && s.jitter < 1.0))
        throw std::invalid_argument("job schedule: jitter must be in [0, 1)");
    if (s.failure_backoff <= milliseconds::zero())
        throw std::invalid_argument("job schedule: failure_backoff must be positive");
    if (s.failure_backoff_max < s.failure_backoff)
        throw std::invalid_argument("job schedule: failure_backoff_max must be >= failure_backoff");
}

clock::duration failure_delay(const job_schedule& s, unsigned consecutive_failures) {
    const clock::duration cap = s.failure_backoff_max;
    clock::duration d = s.failure_backoff;
    // Doubling stops at the cap, so a failure count in the thousands cannot overflow.
    for (unsigned i = 1; i < consecutive_failures && d < cap; ++i) d *= 2;
    return std::min(d, cap);
}

clock::duration initial_delay(const job_schedule& s, std::mt19937_64& rng) {
    if (s.run_at_start) return clock::duration::zero();
    return jittered(s.interval, s.jitter, rng);
}

clock::duration next_delay(const job_schedule& s, run_outcome last, unsigned consecutive_failures,
                           std::mt19937_64& rng) {
    if (last == run_outcome::failure)
        return jittered(failure_delay(s, std::max(1u, consecutive_failures)), s.jitter, rng);
    return jittered(s.interval, s.jitter, rng);
}

}  // namespace ksync::runtime
