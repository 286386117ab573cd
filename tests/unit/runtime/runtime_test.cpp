#include "daemon/runtime/runtime.hpp"
#include "tests/support/log_capture.hpp"
#include "tests/unit/runtime/notify_receiver.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using ksync::runtime::clock;
using ksync::runtime::job_schedule;
using ksync::runtime::notifier;
using ksync::runtime::reload_result;
using ksync::runtime::runtime;
using ksync::runtime::runtime_options;
using ksync::test::find_message;
using ksync::test::notify_receiver;

// Generous: these bound "eventually", they do not measure speed.
constexpr auto ceiling = 20s;

asio::awaitable<void> sleep_for(clock::duration d) {
    asio::steady_timer t(co_await asio::this_coro::executor, d);
    co_await t.async_wait(asio::use_awaitable);
}

job_schedule every(std::chrono::milliseconds interval, bool at_start = true) {
    job_schedule s;
    s.interval = interval;
    s.jitter = 0.0;
    s.failure_backoff = 5ms;
    s.failure_backoff_max = 10ms;
    s.run_at_start = at_start;
    return s;
}

// A thread that drives the test from outside the event loop, as systemd or an operator would.
// If the runtime has not stopped after `limit`, it asks it to, so a broken test fails instead
// of hanging. Joined before the runtime goes away.
class driver {
public:
    driver(runtime& rt, std::function<void()> script, clock::duration limit = 60s)
        : rt_(rt), thread_([this, script = std::move(script), limit] {
              if (script) script();
              std::unique_lock lock(mu_);
              if (!cv_.wait_for(lock, limit, [&] { return done_; })) rt_.request_stop();
          }) {}
    ~driver() { join(); }
    void join() {
        {
            std::lock_guard lock(mu_);
            done_ = true;
        }
        cv_.notify_all();
        if (thread_.joinable()) thread_.join();
    }

private:
    runtime& rt_;
    std::mutex mu_;
    std::condition_variable cv_;
    bool done_ = false;
    std::thread thread_;
};

struct runtime_test : ::testing::Test {
    asio::io_context ioc;
    ksync::test::log_capture logs;
    notify_receiver rx;
    std::unique_ptr<runtime> rt;

    runtime& make(runtime_options opts) {
        rt = std::make_unique<runtime>(ioc, opts, logs.logger("runtime"), notifier(rx.address()));
        return *rt;
    }
    static runtime_options options(bool signals = true) {
        runtime_options o;
        o.shutdown_timeout = 10s;
        o.handle_signals = signals;
        o.seed = 5;
        return o;
    }
    // Everything the runtime sent went out synchronously before run() returned; a marker sent
    // now queues behind it, so once the marker arrives the receiver has seen it all.
    void flush() {
        notifier(rx.address()).send("X-FLUSH=1");
        ASSERT_TRUE(rx.wait_for_count("X-FLUSH=1", 1, ceiling));
    }
    bool has_status(std::string_view needle) const {
        for (auto& t : rx.texts())
            if (t.rfind("STATUS=", 0) == 0 && t.find(needle) != std::string::npos) return true;
        return false;
    }
    bool wait_status(std::string_view needle) const {
        return rx.wait_for(
            [&](const std::vector<notify_receiver::message>& ms) {
                for (auto& m : ms)
                    if (m.text.rfind("STATUS=", 0) == 0 && m.text.find(needle) != std::string::npos)
                        return true;
                return false;
            },
            ceiling);
    }
};

TEST_F(runtime_test, ready_status_and_stopping_in_order) {
    auto& r = make(options(false));
    r.add_job("tickets", every(3600s), []() -> asio::awaitable<void> { co_return; });
    r.notify_ready();
    driver d(r, [&] {
        EXPECT_TRUE(wait_status("tickets ok"));
        r.request_stop();
    });
    EXPECT_EQ(r.run(), ksync::runtime::exit_clean);
    d.join();
    flush();
    const auto t = rx.texts();
    ASSERT_GE(t.size(), 3u);
    EXPECT_EQ(t[0], "READY=1");
    EXPECT_EQ(t[1], "STATUS=tickets waiting (next in 0ms)");
    const auto ok = find_message(t, "STATUS=tickets ok");
    const auto stopping = find_message(t, "STOPPING=1");
    ASSERT_NE(ok, std::string::npos);
    ASSERT_NE(stopping, std::string::npos);
    EXPECT_LT(ok, stopping);
    EXPECT_EQ(find_message(t, "READY=1", 1), std::string::npos);  // READY once
    EXPECT_EQ(find_message(t, "WATCHDOG=1"), std::string::npos);  // no WATCHDOG_USEC given
}

TEST_F(runtime_test, sigterm_mid_job_stops_within_the_bound_and_rolls_back) {
    auto& r = make(options());
    bool committed = false, rolled_back = false;
    r.add_job("tickets", every(3600s), [&]() -> asio::awaitable<void> {
        // BEGIN; ... SIGTERM arrives while the cycle waits on the network ...
        ::raise(SIGTERM);
        try {
            co_await sleep_for(30s);
            committed = true;
        } catch (...) {
            rolled_back = true;  // the transaction's destructor rolls back on the way out
            throw;
        }
    });
    r.notify_ready();
    driver d(r, nullptr);
    const auto start = clock::now();
    EXPECT_EQ(r.run(), ksync::runtime::exit_clean);
    EXPECT_LT(clock::now() - start, 10s);  // the 30 s wait was cut short
    d.join();
    flush();
    EXPECT_TRUE(rolled_back);
    EXPECT_FALSE(committed);
    const auto t = rx.texts();
    const auto ready = find_message(t, "READY=1");
    const auto stopping = find_message(t, "STOPPING=1");
    ASSERT_NE(stopping, std::string::npos);
    EXPECT_LT(ready, stopping);
    EXPECT_NE(find_message(t, "STATUS=stopping", stopping), std::string::npos);
    EXPECT_TRUE(logs.contains("SIGTERM: stopping"));
    EXPECT_TRUE(logs.contains("all jobs and services stopped"));
}

TEST_F(runtime_test, sigterm_lets_a_commit_in_flight_finish) {
    auto& r = make(options());
    asio::thread_pool db(1);  // stands for the libpqxx thread pool
    std::atomic<bool> committed{false};
    bool second_step = false;
    r.add_job("tickets", every(3600s), [&]() -> asio::awaitable<void> {
        ::raise(SIGTERM);
        auto commit = [&]() -> asio::awaitable<void> {
            std::this_thread::sleep_for(200ms);  // COMMIT on the database thread
            committed = true;
            co_return;
        };
        co_await asio::co_spawn(db, std::move(commit), asio::use_awaitable);
        co_await sleep_for(30s);  // the next step sees the cancellation
        second_step = true;
    });
    driver d(r, nullptr);
    EXPECT_EQ(r.run(), ksync::runtime::exit_clean);
    d.join();
    flush();
    EXPECT_TRUE(committed);
    EXPECT_FALSE(second_step);
    db.join();
}

TEST_F(runtime_test, sigint_stops_like_sigterm) {
    auto& r = make(options());
    r.add_job("users", every(3600s), []() -> asio::awaitable<void> {
        ::raise(SIGINT);
        co_await sleep_for(30s);
    });
    driver d(r, nullptr);
    EXPECT_EQ(r.run(), ksync::runtime::exit_clean);
    d.join();
    flush();
    EXPECT_EQ(rx.count("STOPPING=1"), 1u);
    EXPECT_TRUE(logs.contains("SIGINT: stopping"));
}

TEST_F(runtime_test, the_shutdown_timeout_bounds_a_job_that_ignores_cancellation) {
    auto opts = options();
    opts.shutdown_timeout = 200ms;
    auto& r = make(opts);
    r.add_job("tickets", every(3600s), []() -> asio::awaitable<void> {
        co_await asio::this_coro::reset_cancellation_state(asio::disable_cancellation());
        ::raise(SIGTERM);
        co_await sleep_for(30s);
    });
    driver d(r, nullptr);
    const auto start = clock::now();
    EXPECT_EQ(r.run(), ksync::runtime::exit_unclean);
    EXPECT_LT(clock::now() - start, 10s);
    d.join();
    flush();
    EXPECT_TRUE(logs.contains("shutdown timeout (200ms) passed with work still running (tickets)"));
}

TEST_F(runtime_test, a_second_sigterm_exits_at_once) {
    auto opts = options();
    opts.shutdown_timeout = 60s;
    auto& r = make(opts);
    r.add_job("tickets", every(3600s), []() -> asio::awaitable<void> {
        co_await asio::this_coro::reset_cancellation_state(asio::disable_cancellation());
        ::raise(SIGTERM);
        co_await sleep_for(30s);
    });
    driver d(r, [&] {
        if (rx.wait_for_count("STOPPING=1", 1, ceiling)) ::kill(::getpid(), SIGTERM);
    });
    const auto start = clock::now();
    EXPECT_EQ(r.run(), ksync::runtime::exit_unclean);
    EXPECT_LT(clock::now() - start, 15s);
    d.join();
    flush();
    EXPECT_TRUE(logs.contains("SIGTERM during shutdown: exiting now"));
}

TEST_F(runtime_test, sighup_reloads_between_RELOADING_and_READY) {
    auto& r = make(options());
    std::atomic<int> version{1}, calls{0};
    r.on_reload([&] {
        ++calls;
        version = 2;
        return reload_result::success("config v2");
    });
    r.notify_ready();
    driver d(r, [&] {
        ::kill(::getpid(), SIGHUP);
        EXPECT_TRUE(rx.wait_for_count("READY=1", 2, ceiling));
        r.request_stop();
    });
    EXPECT_EQ(r.run(), ksync::runtime::exit_clean);
    d.join();
    flush();
    EXPECT_EQ(calls, 1);
    EXPECT_EQ(version, 2);
    const auto t = rx.texts();
    const auto ready1 = find_message(t, "READY=1");
    const auto reloading = find_message(t, "RELOADING=1\nMONOTONIC_USEC=");
    const auto ready2 = find_message(t, "READY=1", ready1 + 1);
    const auto stopping = find_message(t, "STOPPING=1");
    ASSERT_NE(reloading, std::string::npos);
    ASSERT_NE(ready2, std::string::npos);
    EXPECT_LT(ready1, reloading);
    EXPECT_LT(reloading, ready2);
    EXPECT_LT(ready2, stopping);
    EXPECT_TRUE(logs.contains("configuration reloaded: config v2"));
    EXPECT_FALSE(r.last_reload_error());
}

TEST_F(runtime_test, sighup_with_a_broken_config_keeps_the_old_one_and_still_sends_READY) {
    auto& r = make(options());
    std::atomic<int> version{1}, calls{0};
    std::atomic<bool> broken{true};
    r.on_reload([&] {
        ++calls;
        // Validate everything first; apply nothing unless all of it is valid.
        if (broken) return reload_result::failure("line 3: unknown key 'intervall'");
        version = 2;
        return reload_result::success();
    });
    r.notify_ready();
    std::atomic<int> version_after_failure{0};
    driver d(r, [&] {
        ::kill(::getpid(), SIGHUP);
        EXPECT_TRUE(rx.wait_for_count("READY=1", 2, ceiling));
        EXPECT_TRUE(wait_status("reload failed"));
        version_after_failure = version.load();
        broken = false;  // the operator fixes the file
        ::kill(::getpid(), SIGHUP);
        EXPECT_TRUE(rx.wait_for_count("READY=1", 3, ceiling));
        r.request_stop();
    });
    EXPECT_EQ(r.run(), ksync::runtime::exit_clean);
    d.join();
    flush();
    EXPECT_EQ(calls, 2);
    EXPECT_EQ(version_after_failure, 1);  // the failed reload changed nothing
    EXPECT_EQ(version, 2);
    const auto t = rx.texts();
    const auto reloading = find_message(t, "RELOADING=1");
    const auto ready2 = find_message(t, "READY=1", find_message(t, "READY=1") + 1);
    ASSERT_NE(reloading, std::string::npos);
    EXPECT_LT(reloading, ready2);
    EXPECT_TRUE(has_status("reload failed, old config kept: line 3: unknown key 'intervall'"));
    EXPECT_TRUE(logs.contains(
        "reload failed, keeping the current configuration: line 3: unknown key 'intervall'"));
    // After the good reload the status no longer reports the failure.
    const auto last_status = t[find_message(t, "STATUS=", find_message(t, "READY=1", ready2 + 1))];
    EXPECT_EQ(last_status.find("reload failed"), std::string::npos) << last_status;
    EXPECT_FALSE(r.last_reload_error());
}

TEST_F(runtime_test, a_reload_callback_that_throws_is_a_failed_reload) {
    auto& r = make(options(false));
    r.on_reload([]() -> reload_result { throw std::runtime_error("yaml: bad indentation"); });
    r.notify_ready();
    driver d(r, [&] {
        r.request_reload();
        EXPECT_TRUE(rx.wait_for_count("READY=1", 2, ceiling));
        r.request_stop();
    });
    EXPECT_EQ(r.run(), ksync::runtime::exit_clean);
    d.join();
    flush();
    ASSERT_TRUE(r.last_reload_error());
    EXPECT_EQ(*r.last_reload_error(), "yaml: bad indentation");
    EXPECT_TRUE(has_status("reload failed, old config kept: yaml: bad indentation"));
}

TEST_F(runtime_test, an_async_reload_can_wait_and_change_a_job_interval) {
    auto& r = make(options(false));
    std::atomic<int> runs{0};
    r.add_job("tickets", every(3600s), [&]() -> asio::awaitable<void> {
        ++runs;
        co_return;
    });
    r.on_reload_async([&]() -> asio::awaitable<reload_result> {
        co_await sleep_for(10ms);  // e.g. a database round trip
        r.update_schedule("tickets", every(10ms));
        co_return reload_result::success();
    });
    driver d(r, [&] {
        EXPECT_TRUE(wait_status("tickets ok"));
        r.request_reload();
        EXPECT_TRUE(rx.wait_for_count("READY=1", 1, ceiling));
        const auto deadline = clock::now() + ceiling;
        while (runs < 3 && clock::now() < deadline) std::this_thread::sleep_for(5ms);
        r.request_stop();
    });
    EXPECT_EQ(r.run(), ksync::runtime::exit_clean);
    d.join();
    flush();
    EXPECT_GE(runs, 3);
}

TEST_F(runtime_test, watchdog_keeps_pinging_while_a_stream_fails_and_status_says_why) {
    auto opts = options(false);
    opts.watchdog = ksync::runtime::watchdog_options{20ms, 150ms};
    auto& r = make(opts);
    std::atomic<int> failures{0};
    r.add_job("tickets", every(10ms), [&]() -> asio::awaitable<void> {
        ++failures;
        throw std::runtime_error("circuit breaker open");
        co_return;
    });
    r.set_status_provider([] { return std::string("breaker open (retry in 40s)"); });
    driver d(r, [&] {
        EXPECT_TRUE(rx.wait_for_count("WATCHDOG=1", 10, ceiling));
        EXPECT_TRUE(wait_status("tickets failing x"));
        r.request_stop();
    });
    EXPECT_EQ(r.run(), ksync::runtime::exit_clean);
    d.join();
    flush();
    EXPECT_GE(failures, 1);
    EXPECT_GE(rx.count("WATCHDOG=1"), 10u);
    EXPECT_TRUE(has_status("breaker open (retry in 40s)"));
    EXPECT_TRUE(has_status("circuit breaker open"));
    EXPECT_EQ(r.watchdog_state()->stats().skipped_unhealthy, 0u);
}

TEST_F(runtime_test, watchdog_stops_while_a_job_blocks_the_loop) {
    auto opts = options(false);
    opts.watchdog = ksync::runtime::watchdog_options{20ms, 100ms};
    auto& r = make(opts);
    std::atomic<clock::rep> block_start{0}, block_end{0};
    r.add_job("blocker", every(100ms, false), [&]() -> asio::awaitable<void> {
        if (block_end == 0) {
            // The bug the watchdog exists for: a blocking call on the event loop.
            block_start = clock::now().time_since_epoch().count();
            std::this_thread::sleep_for(600ms);
            block_end = clock::now().time_since_epoch().count();
        }
        co_return;
    });
    driver d(r, [&] {
        const auto deadline = clock::now() + ceiling;
        while (block_end == 0 && clock::now() < deadline) std::this_thread::sleep_for(5ms);
        const auto n = rx.count("WATCHDOG=1");
        EXPECT_TRUE(rx.wait_for_count("WATCHDOG=1", n + 3, ceiling));  // pings resume
        r.request_stop();
    });
    EXPECT_EQ(r.run(), ksync::runtime::exit_clean);
    d.join();
    flush();
    ASSERT_NE(block_end, 0);
    const clock::time_point start{clock::duration(block_start.load())};
    const clock::time_point end{clock::duration(block_end.load())};
    for (auto& m : rx.messages()) {
        if (m.text == "WATCHDOG=1") {
            EXPECT_FALSE(m.at > start + 100ms && m.at < end);
        }
    }
    EXPECT_GE(r.watchdog_state()->stats().skipped_late, 1u);
    EXPECT_TRUE(logs.contains("event loop stalled"));
}

TEST_F(runtime_test, a_critical_service_that_dies_shuts_down_unclean) {
    auto& r = make(options(false));
    r.spawn(
        "push",
        []() -> asio::awaitable<void> {
            co_await sleep_for(10ms);
            throw std::runtime_error("listen connection lost");
        },
        /*critical=*/true);
    driver d(r, nullptr);
    EXPECT_EQ(r.run(), ksync::runtime::exit_unclean);
    d.join();
    flush();
    EXPECT_EQ(rx.count("STOPPING=1"), 1u);
    EXPECT_TRUE(logs.contains("service push failed: listen connection lost"));
}

TEST_F(runtime_test, services_are_cancelled_at_shutdown) {
    auto& r = make(options(false));
    bool cancelled = false;
    r.spawn("push", [&]() -> asio::awaitable<void> {
        try {
            co_await sleep_for(30s);
        } catch (const boost::system::system_error&) {
            cancelled = true;
            throw;
        }
    });
    r.request_stop();
    driver d(r, nullptr);
    EXPECT_EQ(r.run(), ksync::runtime::exit_clean);
    d.join();
    flush();
    EXPECT_TRUE(cancelled);
    EXPECT_FALSE(logs.contains("service push failed"));  // cancellation at shutdown is normal
}

TEST_F(runtime_test, works_without_systemd) {
    rt = std::make_unique<runtime>(ioc, options(false), logs.logger("runtime"), notifier{});
    std::atomic<int> runs{0};
    rt->add_job("tickets", every(10ms), [&]() -> asio::awaitable<void> {
        ++runs;
        co_return;
    });
    rt->notify_ready();
    driver d(*rt, [&] {
        const auto deadline = clock::now() + ceiling;
        while (runs < 2 && clock::now() < deadline) std::this_thread::sleep_for(5ms);
        rt->request_stop();
    });
    EXPECT_EQ(rt->run(), ksync::runtime::exit_clean);
    d.join();
    flush();
    EXPECT_GE(runs, 2);
    EXPECT_EQ(rx.texts(), std::vector<std::string>{"X-FLUSH=1"});  // only the test's marker
}

}  // namespace
