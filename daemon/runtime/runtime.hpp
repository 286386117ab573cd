#pragma once

// The daemon's runtime, tied together for the composition root (daemon/app.cpp):
//  - the scheduler with the sync streams as named periodic jobs,
//  - long-lived services (push worker, LISTEN loop) that shutdown cancels too,
//  - signals: SIGTERM/SIGINT -> STOPPING=1, stop scheduling, cancel running jobs and services
//    at their next co_await, wait for them bounded by shutdown_timeout, stop the io_context;
//    a second SIGTERM/SIGINT stops at once. SIGHUP -> RELOADING=1, the reload callback (a failed
//    reload keeps the old config, logs an error and says so in STATUS=), READY=1.
//  - the watchdog (when systemd set WATCHDOG_USEC) and the STATUS= line.
//
// Threading: one io_context thread runs all of it. request_stop()/request_reload() may be
// called from any thread; everything else from the io thread or before run().
//
// Typical wiring:
//   asio::io_context ioc;
//   runtime::runtime rt(ioc, {.shutdown_timeout = cfg.shutdown_timeout}, logs.make("runtime"));
//   rt.add_job("tickets", {.interval = 30s}, [&] { return sync.run_tickets(); });
//   rt.spawn("push", [&] { return push.run(); }, /*critical=*/true);
//   rt.on_reload([&] { return reload_config(); });
//   rt.set_status_provider([&] { return breaker.describe(); });
//   ... check config, secrets, database, schema ...
//   rt.notify_ready();
//   return rt.run();

#include "daemon/runtime/notifier.hpp"
#include "daemon/runtime/scheduler.hpp"
#include "daemon/runtime/task_group.hpp"
#include "daemon/runtime/watchdog.hpp"

#include <spdlog/logger.h>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <string>

namespace ksync::runtime {

inline constexpr int exit_clean = 0;
// The shutdown bound passed with work still running, a critical service died, or a second
// signal forced the exit.
inline constexpr int exit_unclean = 1;

struct reload_result {
    bool ok = true;
    std::string message;  // logged; on failure also shown in STATUS= until a reload succeeds

    static reload_result success(std::string msg = {}) { return {true, std::move(msg)}; }
    static reload_result failure(std::string msg) { return {false, std::move(msg)}; }
};

struct runtime_options {
    // From SIGTERM to io_context stop at the latest. Keep it below systemd's TimeoutStopSec.
    std::chrono::milliseconds shutdown_timeout{20'000};
    // Off in tests that drive request_stop()/request_reload() instead of real signals.
    bool handle_signals = true;
    // Watchdog settings; by default derived from WATCHDOG_USEC (period = WatchdogSec/2,
    // max lateness = period/2). Setting this runs the watchdog even without WATCHDOG_USEC.
    std::optional<watchdog_options> watchdog;
    // How often STATUS= is recomputed besides after every job run (the "12s ago" ages).
    std::chrono::milliseconds status_refresh{10'000};
    // Jitter seed for the scheduler; nothing means std::random_device.
    std::optional<std::uint64_t> seed;
};

class runtime {
public:
    runtime(boost::asio::io_context& ioc, runtime_options opts, std::shared_ptr<spdlog::logger> log,
            notifier notify = notifier::from_environment());
    ~runtime();
    runtime(const runtime&) = delete;
    runtime& operator=(const runtime&) = delete;

    // Periodic jobs (see scheduler). Jobs added before run() start when it starts.
    void add_job(std::string name, job_schedule schedule, job_fn fn);
    bool run_now(std::string_view name) { return jobs_.run_now(name); }
    bool update_schedule(std::string_view name, job_schedule s) {
        return jobs_.update_schedule(name, s);
    }
    [[nodiscard]] scheduler& jobs() noexcept { return jobs_; }

    // A long-lived coroutine (push worker, LISTEN loop) cancelled at shutdown like the jobs and
    // waited for within the same bound. If a `critical` one ends before shutdown (returns or
    // throws), the daemon shuts down with exit_unclean so systemd restarts it.
    void spawn(std::string name, std::function<boost::asio::awaitable<void>()> service,
               bool critical = false);

    // SIGHUP handler. Must validate the new config fully before applying any of it and report
    // failure without side effects; an exception counts as failure. It may update job
    // intervals through update_schedule().
    void on_reload(std::function<reload_result()> fn);
    void on_reload_async(std::function<boost::asio::awaitable<reload_result>()> fn);

    // Extra STATUS= text after the job summary (breaker, standby, backlog), e.g.
    // "breaker open (retry in 40s)". Empty text adds nothing.
    void set_status_provider(std::function<std::string()> fn);

    // Another watchdog condition (see watchdog::add_check). No-op without a watchdog.
    void add_liveness_check(std::string name, std::function<bool()> healthy);

    // READY=1 (then STATUS=). Call after config, secrets, database and schema are checked;
    // never wait for Kayako.
    void notify_ready();

    // Recomputes the status line and sends STATUS= when it changed (or always with `force`).
    void refresh_status(bool force = false);
    [[nodiscard]] std::string status_line() const;

    // Thread-safe: the same paths as SIGTERM and SIGHUP.
    void request_stop();
    void request_reload();

    // Starts the jobs, services, signal handling and watchdog, and runs the io_context on the
    // calling thread until shutdown. Returns exit_clean or exit_unclean.
    int run();

    [[nodiscard]] notifier& notify() noexcept { return notify_; }
    [[nodiscard]] const watchdog* watchdog_state() const noexcept { return watchdog_.get(); }
    [[nodiscard]] bool stopping() const noexcept { return stopping_; }
    // True when run() returned with work still running: the shutdown timeout passed, or a second
    // signal cut the shutdown short. That work is abandoned mid-flight (a database call blocked in
    // libpq, a coroutine holding a pacer permit), so the caller must not run the destructors of
    // what it refers to: see do_run.
    [[nodiscard]] bool abandoned_work() const noexcept { return abandoned_; }
    [[nodiscard]] const std::optional<std::string>& last_reload_error() const noexcept {
        return reload_error_;
    }

private:
    void begin_shutdown(std::string reason);
    boost::asio::awaitable<void> shutdown_sequence(std::string reason);
    boost::asio::awaitable<void> signal_loop();
    boost::asio::awaitable<void> reload_loop();
    boost::asio::awaitable<void> status_loop();
    void start_reload();

    boost::asio::io_context& ioc_;
    runtime_options opts_;
    std::shared_ptr<spdlog::logger> log_;
    notifier notify_;
    scheduler jobs_;
    task_group services_;
    task_group internal_;  // signal loop, watchdog, status refresher, reloads
    std::unique_ptr<watchdog> watchdog_;
    std::optional<boost::asio::signal_set> signals_;
    std::function<boost::asio::awaitable<reload_result>()> reload_;
    std::function<std::string()> status_provider_;
    std::list<std::function<boost::asio::awaitable<void>()>> service_fns_;
    std::optional<std::string> reload_error_;
    std::string last_status_;
    bool started_ = false;
    bool stopping_ = false;
    bool reloading_ = false;
    bool reload_again_ = false;
    int exit_code_ = exit_clean;
    bool abandoned_ = false;
};

}  // namespace ksync::runtime
