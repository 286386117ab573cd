#include "daemon/runtime/scheduler.hpp"

#include "daemon/runtime/status.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <map>
#include <stdexcept>

namespace ksync::runtime {

namespace asio = boost::asio;

namespace {

struct job {
    job(asio::any_io_executor ex, std::string name, job_schedule s, job_fn f)
        : fn(std::move(f)), timer(ex) {
        status.name = std::move(name);
        status.schedule = s;
    }
    job_status status;
    job_fn fn;
    asio::steady_timer timer;
    bool triggered = false;  // run_now() arrived
    bool loop_alive = false;
};

std::string describe_exception(const std::exception_ptr& e) {
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& ex) {
        return ex.what();
    } catch (...) {
        return "unknown exception";
    }
}

}  // namespace

struct scheduler::state : std::enable_shared_from_this<scheduler::state> {
    state(asio::any_io_executor e, std::shared_ptr<spdlog::logger> l, std::uint64_t seed)
        : ex(e), log(std::move(l)), rng(seed), loops(e) {}

    asio::any_io_executor ex;
    std::shared_ptr<spdlog::logger> log;
    std::mt19937_64 rng;
    task_group loops;
    std::map<std::string, std::shared_ptr<job>, std::less<>> jobs;
    std::function<void(const job_status&)> on_finished;
    bool started = false;
    bool stopping = false;

    void spawn_loop(const std::shared_ptr<job>& j);
};

namespace {

// One run: bookkeeping around the job's awaitable. Never throws for the job's own failures.
asio::awaitable<void> run_once(std::shared_ptr<scheduler::state> st, std::shared_ptr<job> j) {
    auto& s = j->status;
    s.running = true;
    s.last_start = clock::now();
    std::exception_ptr failure;
    bool error_changed = false;
    try {
        co_await j->fn();
    } catch (...) {
        failure = std::current_exception();
    }
    const auto end = clock::now();
    s.running = false;
    s.last_end = end;
    ++s.runs;
    const auto took = format_duration(end - *s.last_start);
    if (!failure) {
        s.last_outcome = run_outcome::success;
        s.last_success = end;
        if (s.consecutive_failures > 0)
            st->log->info("job {} recovered after {} failed run(s) (took {})", s.name,
                          s.consecutive_failures, took);
        else
            st->log->debug("job {} ok (took {})", s.name, took);
        s.consecutive_failures = 0;
    } else if (st->stopping) {
        // Shutdown cancelled it at a co_await: its transaction finished or rolled back there.
        st->log->info("job {} stopped by shutdown after {}: {}", s.name, took,
                      describe_exception(failure));
    } else {
        s.last_outcome = run_outcome::failure;
        s.last_failure = end;
        auto error = describe_exception(failure);
        error_changed = error != s.last_error;
        s.last_error = std::move(error);
        ++s.failures;
        ++s.consecutive_failures;
    }
    s.next_run = end + next_delay(s.schedule, s.last_outcome, s.consecutive_failures, st->rng);
    if (j->triggered) s.next_run = end;
    if (failure && !st->stopping) {
        // A stream behind an open breaker fails every few seconds for as long as Kayako is
        // down: warn on the first failure, on a new error and at 2, 4, 8, ... in a row; the
        // rest go to debug so months under journald do not drown in one repeated line.
        const unsigned n = s.consecutive_failures;
        const bool loud = n == 1 || error_changed || (n & (n - 1)) == 0;
        st->log->log(loud ? spdlog::level::warn : spdlog::level::debug,
                     "job {} failed (x{} in a row, took {}): {}; next run in {}", s.name, n, took,
                     s.last_error, format_duration(s.next_run - end));
    }
    if (st->on_finished) st->on_finished(s);
}

asio::awaitable<void> job_loop(std::shared_ptr<scheduler::state> st, std::shared_ptr<job> j) {
    while (!st->stopping) {
        j->timer.expires_at(j->status.next_run);
        // Aborted by run_now/update_schedule (re-check below) or by the shutdown cancellation,
        // in which case the co_await itself throws operation_aborted and the loop ends.
        [[maybe_unused]] auto [ec] =
            co_await j->timer.async_wait(asio::as_tuple(asio::use_awaitable));
        if (st->stopping) break;
        if (!j->triggered && clock::now() < j->status.next_run) continue;
        j->triggered = false;
        co_await run_once(st, j);
    }
}

}  // namespace

void scheduler::state::spawn_loop(const std::shared_ptr<job>& j) {
    j->loop_alive = true;
    // Set before the loop's first resumption so overdue() never sees a stale due time.
    j->status.next_run = clock::now() + initial_delay(j->status.schedule, rng);
    // The handler holds the state (not the other way round: the io_context owns the handler),
    // so the bookkeeping stays valid however late the loop ends.
    auto done = [st = shared_from_this(), j](std::exception_ptr e) {
        j->loop_alive = false;
        if (e && !st->stopping)
            st->log->error("job {} loop ended unexpectedly: {}", j->status.name,
                           describe_exception(e));
    };
    loops.spawn(j->status.name, job_loop(shared_from_this(), j), std::move(done));
}

scheduler::scheduler(asio::any_io_executor ex, std::shared_ptr<spdlog::logger> log,
                     std::optional<std::uint64_t> seed)
    : state_(std::make_shared<state>(ex, std::move(log), seed ? *seed : std::random_device{}())) {}

scheduler::~scheduler() {
    // Loops still alive (no stop, or a stop that timed out) keep the state through their
    // handlers; make sure they do not start another run if the io_context runs again.
    state_->stopping = true;
    for (auto& [name, j] : state_->jobs) j->timer.cancel();
}

void scheduler::add_job(std::string name, job_schedule schedule, job_fn fn) {
    if (name.empty()) throw std::invalid_argument("scheduler: a job needs a name");
    if (!fn) throw std::invalid_argument("scheduler: job " + name + " has no function");
    validate(schedule);
    if (state_->stopping) throw std::logic_error("scheduler: add_job after stop");
    if (state_->jobs.count(name) != 0)
        throw std::invalid_argument("scheduler: duplicate job " + name);
    auto j = std::make_shared<job>(state_->ex, name, schedule, std::move(fn));
    state_->jobs.emplace(std::move(name), j);
    if (state_->started) state_->spawn_loop(j);
}

void scheduler::start() {
    if (state_->started || state_->stopping) return;
    state_->started = true;
    for (auto& [name, j] : state_->jobs) state_->spawn_loop(j);
}

bool scheduler::run_now(std::string_view name) {
    if (state_->stopping) return false;
    auto it = state_->jobs.find(name);
    if (it == state_->jobs.end()) return false;
    auto& j = *it->second;
    j.triggered = true;
    if (!j.status.running) j.timer.cancel();
    return true;
}

bool scheduler::update_schedule(std::string_view name, job_schedule schedule) {
    validate(schedule);
    auto it = state_->jobs.find(name);
    if (it == state_->jobs.end()) return false;
    auto& j = *it->second;
    const bool changed = j.status.schedule.interval != schedule.interval;
    j.status.schedule = schedule;
    if (!j.status.running && j.loop_alive) {
        const auto from = j.status.last_end.value_or(clock::now());
        j.status.next_run = from + next_delay(schedule, j.status.last_outcome,
                                              j.status.consecutive_failures, state_->rng);
        j.timer.cancel();
    }
    if (changed)
        state_->log->info("job {} interval is now {}", j.status.name,
                          format_duration(schedule.interval));
    return true;
}

void scheduler::begin_stop() {
    if (state_->stopping) return;
    state_->stopping = true;
    state_->loops.emit(asio::cancellation_type::terminal);
}

asio::awaitable<bool> scheduler::wait_stopped(clock::duration timeout) {
    auto st = state_;  // the scheduler may be destroyed by the time this resumes
    co_return co_await st->loops.wait(timeout);
}

asio::awaitable<bool> scheduler::stop(clock::duration timeout) {
    begin_stop();
    auto st = state_;
    co_return co_await st->loops.wait(timeout);
}

bool scheduler::stopping() const noexcept {
    return state_->stopping;
}

std::vector<job_status> scheduler::status() const {
    std::vector<job_status> out;
    out.reserve(state_->jobs.size());
    for (const auto& [name, j] : state_->jobs) out.push_back(j->status);
    return out;
}

std::optional<job_status> scheduler::status(std::string_view name) const {
    auto it = state_->jobs.find(name);
    if (it == state_->jobs.end()) return std::nullopt;
    return it->second->status;
}

std::vector<std::string> scheduler::active_loops() const {
    return state_->loops.names();
}

std::vector<std::string> scheduler::overdue(clock::time_point now, clock::duration grace) const {
    std::vector<std::string> out;
    if (!state_->started || state_->stopping) return out;
    for (const auto& [name, j] : state_->jobs) {
        if (!j->loop_alive || (!j->status.running && j->status.next_run + grace < now))
            out.push_back(name);
    }
    return out;
}

void scheduler::on_run_finished(std::function<void(const job_status&)> fn) {
    state_->on_finished = std::move(fn);
}

}  // namespace ksync::runtime
