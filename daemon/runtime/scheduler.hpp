#pragma once

// Named periodic jobs on one io_context (design.md "Threads and time"). Each job is a loop
// coroutine: wait until its due time (or run_now), run the job's awaitable, record the outcome,
// ask schedule_policy for the next wait. A job that throws is logged with its name and backs off;
// the other loops never notice. Every loop lives in a task_group, so stop() cancels a running
// job at its next co_await and waits for all of them, bounded.
//
// Single-threaded: call everything from the io_context thread (or before it runs).

#include "daemon/runtime/schedule_policy.hpp"
#include "daemon/runtime/task_group.hpp"

#include <spdlog/logger.h>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ksync::runtime {

// Makes one run of a job. Called afresh for every run; the awaitable it returns may throw to
// report a failed run. It must not block the thread (a blocking call stalls every job and,
// by design, the systemd watchdog).
using job_fn = std::function<boost::asio::awaitable<void>()>;

// What the scheduler knows about a job, for STATUS= and /metrics. Times are steady_clock.
struct job_status {
    std::string name;
    job_schedule schedule;
    bool running = false;
    run_outcome last_outcome = run_outcome::none;
    std::optional<clock::time_point> last_start;
    std::optional<clock::time_point> last_end;
    std::optional<clock::time_point> last_success;
    std::optional<clock::time_point> last_failure;
    std::string last_error;  // what() of the last failure; kept after a later success
    unsigned consecutive_failures = 0;
    std::uint64_t runs = 0;        // finished runs, including failed and cancelled ones
    std::uint64_t failures = 0;    // failed runs (cancellation by shutdown is not a failure)
    clock::time_point next_run{};  // when idle: the time its timer is armed for
};

class scheduler {
public:
    // `seed` feeds the jitter; nothing means std::random_device.
    scheduler(boost::asio::any_io_executor ex, std::shared_ptr<spdlog::logger> log,
              std::optional<std::uint64_t> seed = {});
    ~scheduler();
    scheduler(const scheduler&) = delete;
    scheduler& operator=(const scheduler&) = delete;

    // Registers a job. Throws std::invalid_argument for a duplicate or empty name or an invalid
    // schedule. After start() the job's loop starts at once; after stop has begun it throws
    // std::logic_error.
    void add_job(std::string name, job_schedule schedule, job_fn fn);

    // Starts every registered job's loop. Idempotent.
    void start();

    // Runs the job as soon as possible: now when idle, right after the current run when running.
    // False for an unknown name or once stopping.
    bool run_now(std::string_view name);

    // Replaces a job's schedule (config reload). An idle job re-arms its timer from the end of
    // its last run (or from now when it has not run yet); a running job uses the new schedule
    // when the run ends. False for an unknown name; std::invalid_argument for a bad schedule.
    bool update_schedule(std::string_view name, job_schedule schedule);

    // Shutdown, step 1: no new runs, and every loop (idle or running) gets a terminal
    // cancellation. A running job sees operation_aborted at its next co_await.
    void begin_stop();
    // Shutdown, step 2: true when every loop has ended within `timeout`.
    boost::asio::awaitable<bool> wait_stopped(clock::duration timeout);
    // Both steps.
    boost::asio::awaitable<bool> stop(clock::duration timeout);

    [[nodiscard]] bool stopping() const noexcept;
    [[nodiscard]] std::vector<job_status> status() const;  // in name order
    [[nodiscard]] std::optional<job_status> status(std::string_view name) const;
    // Names of loops still alive (during or after a stop: the jobs that have not ended).
    [[nodiscard]] std::vector<std::string> active_loops() const;

    // Liveness for the watchdog: jobs that are idle yet more than `grace` past their due time
    // (their loop is not being served, or has died). Empty when the scheduler makes progress.
    [[nodiscard]] std::vector<std::string> overdue(clock::time_point now,
                                                   clock::duration grace) const;

    // Called on the io thread after every run (success, failure or cancellation).
    void on_run_finished(std::function<void(const job_status&)> fn);

    struct state;  // shared with the loop coroutines (public only for the .cpp's free functions)

private:
    std::shared_ptr<state> state_;
};

}  // namespace ksync::runtime
