#include "daemon/runtime/runtime.hpp"

#include "daemon/runtime/status.hpp"

#include <fmt/format.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <csignal>

namespace ksync::runtime {

namespace asio = boost::asio;

namespace {

std::string join(const std::vector<std::string>& v) {
    std::string out;
    for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
    return out;
}

std::string what(const std::exception_ptr& e) {
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& ex) {
        return ex.what();
    } catch (...) {
        return "unknown exception";
    }
}

}  // namespace

runtime::runtime(asio::io_context& ioc, runtime_options opts, std::shared_ptr<spdlog::logger> log,
                 notifier notify)
    : ioc_(ioc),
      opts_(opts),
      log_(std::move(log)),
      notify_(std::move(notify)),
      jobs_(ioc.get_executor(), log_, opts.seed),
      services_(ioc.get_executor()),
      internal_(ioc.get_executor()) {
    if (opts_.handle_signals) {
        // Registered now, not in run(): a SIGTERM that arrives during the startup checks is
        // queued for the loop instead of killing the process with the default action.
        signals_.emplace(ioc_, SIGTERM, SIGINT, SIGHUP);
    }
    std::optional<watchdog_options> wd = opts_.watchdog;
    if (!wd && notify_.watchdog_timeout()) wd = watchdog_options_for(*notify_.watchdog_timeout());
    if (wd) {
        watchdog_ = std::make_unique<watchdog>(notify_, *wd, log_);
        // The scheduler heartbeat: an idle job well past its due time means its loop is not
        // being served (or died). Running jobs never count: a long sync is not a stall.
        const auto grace = 2 * wd->period + wd->max_lateness;
        watchdog_->add_check("scheduler", [this, grace] {
            auto late = jobs_.overdue(clock::now(), grace);
            if (!late.empty()) log_->warn("scheduler: jobs overdue: {}", join(late));
            return late.empty();
        });
    }
    jobs_.on_run_finished([this](const job_status&) { refresh_status(); });
}

runtime::~runtime() = default;

void runtime::add_job(std::string name, job_schedule schedule, job_fn fn) {
    jobs_.add_job(std::move(name), schedule, std::move(fn));
}

void runtime::spawn(std::string name, std::function<asio::awaitable<void>()> service,
                    bool critical) {
    auto done = [this, name, critical](std::exception_ptr e) {
        if (stopping_) return;
        if (e)
            log_->error("service {} failed: {}", name, what(e));
        else
            log_->info("service {} finished", name);
        if (critical) {
            exit_code_ = exit_unclean;
            begin_shutdown("critical service " + name + " ended");
        }
    };
    // The coroutine refers to the callable's captures, so the callable must outlive it: keep
    // it for the runtime's lifetime (services are few and long-lived).
    service_fns_.push_back(std::move(service));
    services_.spawn(name, service_fns_.back()(), std::move(done));
}

void runtime::on_reload(std::function<reload_result()> fn) {
    if (!fn) {
        reload_ = nullptr;
        return;
    }
    reload_ = [fn = std::move(fn)]() -> asio::awaitable<reload_result> { co_return fn(); };
}

void runtime::on_reload_async(std::function<asio::awaitable<reload_result>()> fn) {
    reload_ = std::move(fn);
}

void runtime::set_status_provider(std::function<std::string()> fn) {
    status_provider_ = std::move(fn);
}

void runtime::add_liveness_check(std::string name, std::function<bool()> healthy) {
    if (watchdog_) watchdog_->add_check(std::move(name), std::move(healthy));
}

void runtime::notify_ready() {
    notify_.ready();
    log_->info("ready");
    refresh_status(true);
}

std::string runtime::status_line() const {
    std::string line = summarize(jobs_.status(), clock::now());
    auto add = [&line](const std::string& part) {
        if (part.empty()) return;
        line += (line.empty() ? "" : "; ") + part;
    };
    if (status_provider_) {
        try {
            add(status_provider_());
        } catch (const std::exception& e) {
            add(std::string("status unavailable: ") + e.what());
        }
    }
    if (reload_error_) add("reload failed, old config kept: " + *reload_error_);
    if (stopping_) line = "stopping" + (line.empty() ? "" : "; " + line);
    return line.empty() ? "running" : line;
}

void runtime::refresh_status(bool force) {
    auto line = status_line();
    if (!force && line == last_status_) return;
    notify_.status(line);
    last_status_ = std::move(line);
}

void runtime::request_stop() {
    asio::post(ioc_, [this] { begin_shutdown("stop requested"); });
}

void runtime::request_reload() {
    asio::post(ioc_, [this] { start_reload(); });
}

int runtime::run() {
    if (!started_) {
        started_ = true;
        if (signals_) internal_.spawn("signals", signal_loop());
        if (watchdog_) internal_.spawn("watchdog", watchdog_->run());
        internal_.spawn("status", status_loop());
        jobs_.start();
    }
    if (ioc_.stopped()) ioc_.restart();
    ioc_.run();
    return exit_code_;
}

asio::awaitable<void> runtime::signal_loop() {
    for (;;) {
        const int sig = co_await signals_->async_wait(asio::use_awaitable);
        if (sig == SIGHUP) {
            if (stopping_)
                log_->info("SIGHUP ignored: shutting down");
            else
                start_reload();
            continue;
        }
        const char* name = sig == SIGTERM ? "SIGTERM" : "SIGINT";
        if (stopping_) {
            log_->warn("{} during shutdown: exiting now", name);
            exit_code_ = exit_unclean;
            abandoned_ = true;
            ioc_.stop();
            co_return;
        }
        begin_shutdown(name);
    }
}

void runtime::start_reload() {
    if (stopping_) return;
    // One reload at a time; a SIGHUP during a reload runs one more afterwards, so the last
    // edit of the file is always the one applied.
    if (reloading_) {
        reload_again_ = true;
        return;
    }
    reloading_ = true;
    internal_.spawn("reload", reload_loop(), [this](std::exception_ptr e) {
        reloading_ = false;
        if (e && !stopping_) log_->error("reload: {}", what(e));
    });
}

asio::awaitable<void> runtime::reload_loop() {
    do {
        reload_again_ = false;
        notify_.reloading();
        log_->info("reloading configuration");
        reload_result r;
        if (!reload_) {
            r = reload_result::success("nothing to reload");
        } else {
            try {
                r = co_await reload_();
            } catch (const std::exception& e) {
                r = reload_result::failure(e.what());
            }
        }
        if (r.ok) {
            reload_error_.reset();
            log_->info("configuration reloaded{}{}", r.message.empty() ? "" : ": ", r.message);
        } else {
            reload_error_ = r.message.empty() ? std::string("invalid configuration") : r.message;
            log_->error("reload failed, keeping the current configuration: {}", *reload_error_);
        }
        // READY=1 either way: the daemon runs on (with the old config after a failure), and
        // systemd 253's notify-reload waits for it to leave the "reloading" state.
        notify_.ready();
        refresh_status(true);
    } while (reload_again_ && !stopping_);
}

asio::awaitable<void> runtime::status_loop() {
    asio::steady_timer timer(ioc_);
    for (;;) {
        timer.expires_after(opts_.status_refresh);
        co_await timer.async_wait(asio::use_awaitable);
        refresh_status();
    }
}

void runtime::begin_shutdown(std::string reason) {
    if (stopping_) return;
    stopping_ = true;
    asio::co_spawn(ioc_, shutdown_sequence(std::move(reason)), asio::detached);
}

asio::awaitable<void> runtime::shutdown_sequence(std::string reason) {
    try {
        log_->info("{}: stopping, waiting up to {} for running work", reason,
                   format_duration(opts_.shutdown_timeout));
        notify_.stopping();
        refresh_status(true);
        const auto deadline = clock::now() + opts_.shutdown_timeout;
        // No new runs; running jobs and services see the cancellation at their next co_await.
        jobs_.begin_stop();
        services_.emit(asio::cancellation_type::terminal);
        bool clean = co_await jobs_.wait_stopped(deadline - clock::now());
        const auto left = std::max(clock::duration::zero(), deadline - clock::now());
        clean = co_await services_.wait(left) && clean;
        if (clean) {
            log_->info("all jobs and services stopped");
        } else {
            auto names = jobs_.active_loops();
            for (auto& n : services_.names()) names.push_back(n);
            log_->error("shutdown timeout ({}) passed with work still running ({}); exiting anyway",
                        format_duration(opts_.shutdown_timeout), join(names));
            exit_code_ = exit_unclean;
            abandoned_ = true;
        }
        internal_.emit(asio::cancellation_type::terminal);
        if (signals_) signals_->cancel();
        co_await internal_.wait(std::chrono::seconds(1));
    } catch (const std::exception& e) {
        log_->error("shutdown: {}", e.what());
        exit_code_ = exit_unclean;
    }
    ioc_.stop();
}

}  // namespace ksync::runtime
