#pragma once

// When a periodic job runs next, as a pure function of its settings, its last outcome and a
// random source: no clock reads, so every case is a plain unit test (style.md §2.7). The shape
// follows userver's PeriodicTask::Settings: a period with jitter, a separate `exception_period`
// after a failure (here doubled per consecutive failure up to a cap), and a run-at-start flag.

#include <chrono>
#include <random>

namespace ksync::runtime {

using clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

struct job_schedule {
    milliseconds interval{60'000};
    // Each wait is drawn uniformly from interval * [1 - jitter, 1 + jitter], so streams that
    // share a start time spread out instead of hitting Kayako together. 0 <= jitter < 1.
    double jitter = 0.1;
    // After the n-th consecutive failure the wait is min(failure_backoff * 2^(n-1),
    // failure_backoff_max), jittered the same way. A failing stream retries sooner than a
    // healthy one would poll only if failure_backoff < interval; the cap keeps a stream that
    // has been failing for hours from waiting longer than failure_backoff_max.
    milliseconds failure_backoff{5'000};
    milliseconds failure_backoff_max{300'000};
    bool run_at_start = true;
};

enum class run_outcome { none, success, failure };

// Throws std::invalid_argument naming the bad field.
void validate(const job_schedule& s);

// The wait before the first run: zero with run_at_start, else one jittered interval.
clock::duration initial_delay(const job_schedule& s, std::mt19937_64& rng);

// The wait after a run. `consecutive_failures` counts the failure just recorded (1 after the
// first failure); it is ignored after a success.
clock::duration next_delay(const job_schedule& s, run_outcome last, unsigned consecutive_failures,
                           std::mt19937_64& rng);

// The un-jittered failure backoff for the n-th consecutive failure (n >= 1), capped.
clock::duration failure_delay(const job_schedule& s, unsigned consecutive_failures);

// now + next_delay(...): the time point the scheduler arms its timer for.
inline clock::time_point next_run(clock::time_point now, const job_schedule& s, run_outcome last,
                                  unsigned consecutive_failures, std::mt19937_64& rng) {
    return now + next_delay(s, last, consecutive_failures, rng);
}

}  // namespace ksync::runtime
