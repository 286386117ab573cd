#include "daemon/runtime/scheduler.hpp"
#include "tests/support/log_capture.hpp"
#include "tests/support/run_coro.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <gtest/gtest.h>

#include <stdexcept>
#include <thread>

namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using ksync::runtime::clock;
using ksync::runtime::job_schedule;
using ksync::runtime::run_outcome;
using ksync::runtime::scheduler;
using ksync::test::run_coro;

// Generous ceiling for "eventually": the tests never depend on how fast the machine is.
constexpr auto ceiling = 20s;

job_schedule every(std::chrono::milliseconds interval, bool at_start = true) {
    job_schedule s;
    s.interval = interval;
    s.jitter = 0.0;
    s.failure_backoff = 10ms;
    s.failure_backoff_max = 40ms;
    s.run_at_start = at_start;
    return s;
}

template <class Pred>
bool run_until(asio::io_context& ioc, Pred pred, clock::duration limit = ceiling) {
    const auto deadline = clock::now() + limit;
    while (!pred()) {
        if (clock::now() > deadline) return false;
        ioc.run_for(5ms);
    }
    return true;
}

asio::awaitable<void> sleep_for(clock::duration d) {
    asio::steady_timer t(co_await asio::this_coro::executor, d);
    co_await t.async_wait(asio::use_awaitable);
}

struct fixture : ::testing::Test {
    asio::io_context ioc;
    ksync::test::log_capture logs;
    scheduler sched{ioc.get_executor(), logs.logger("scheduler"), 1234};

    // Stops the jobs while the test's locals they capture are still alive.
    void finish() { EXPECT_TRUE(run_coro(ioc, sched.stop(ceiling))); }
    void TearDown() override { finish(); }
};

using scheduler_test = fixture;

TEST_F(scheduler_test, runs_at_start_and_then_every_interval) {
    int runs = 0;
    sched.add_job("tickets", every(20ms), [&]() -> asio::awaitable<void> {
        ++runs;
        co_return;
    });
    sched.start();
    ASSERT_TRUE(run_until(ioc, [&] { return runs >= 4; }));
    const auto st = *sched.status("tickets");
    EXPECT_GE(st.runs, 4u);
    EXPECT_EQ(st.failures, 0u);
    EXPECT_EQ(st.last_outcome, run_outcome::success);
    EXPECT_TRUE(st.last_start && st.last_success && st.last_end);
    EXPECT_FALSE(st.running);
    finish();
}

TEST_F(scheduler_test, without_run_at_start_the_first_run_waits_one_interval) {
    int runs = 0;
    const auto start = clock::now();
    clock::time_point first{};
    sched.add_job("users", every(200ms, false), [&]() -> asio::awaitable<void> {
        if (runs++ == 0) first = clock::now();
        co_return;
    });
    sched.start();
    ASSERT_TRUE(run_until(ioc, [&] { return runs >= 1; }));
    EXPECT_GE(first - start, 200ms);  // a timer never fires early
    finish();
}

TEST_F(scheduler_test, a_failing_job_backs_off_and_never_stops_another) {
    std::vector<clock::time_point> bad_starts;
    int good = 0;
    sched.add_job("bad", every(10ms), [&]() -> asio::awaitable<void> {
        bad_starts.push_back(clock::now());
        co_await sleep_for(1ms);
        throw std::runtime_error("kayako down");
    });
    sched.add_job("good", every(10ms), [&]() -> asio::awaitable<void> {
        ++good;
        co_return;
    });
    sched.start();
    ASSERT_TRUE(run_until(ioc, [&] { return bad_starts.size() >= 6 && good >= 10; }));

    const auto bad = *sched.status("bad");
    EXPECT_EQ(bad.last_outcome, run_outcome::failure);
    EXPECT_EQ(bad.last_error, "kayako down");
    EXPECT_EQ(bad.consecutive_failures, bad.failures);
    EXPECT_GE(bad.failures, 5u);
    EXPECT_EQ(sched.status("good")->failures, 0u);
    EXPECT_TRUE(logs.contains("job bad failed"));
    EXPECT_TRUE(logs.contains("kayako down"));

    // Gaps between starts follow 10, 20, 40, 40 ms (jitter 0) at least: capped doubling.
    const std::chrono::milliseconds min_gap[] = {10ms, 20ms, 40ms, 40ms, 40ms};
    for (std::size_t i = 1; i < 6; ++i)
        EXPECT_GE(bad_starts[i] - bad_starts[i - 1], min_gap[i - 1]) << "gap " << i;
    finish();
}

TEST_F(scheduler_test, a_repeated_failure_is_warned_about_at_powers_of_two) {
    int runs = 0;
    sched.add_job("tickets", every(5ms), [&]() -> asio::awaitable<void> {
        ++runs;
        throw std::runtime_error(runs == 6 ? "HTTP 401" : "circuit breaker open");
        co_return;
    });
    sched.start();
    ASSERT_TRUE(run_until(ioc, [&] { return runs >= 8; }));
    finish();
    auto has = [&](const std::string& prefix) {
        for (auto& l : logs.lines())
            if (l.rfind(prefix, 0) == 0) return true;
        return false;
    };
    for (int n : {1, 2, 4, 6, 7, 8}) {  // 6: a new error; 7: back to the old one
        EXPECT_TRUE(has("warning [scheduler] job tickets failed (x" + std::to_string(n) + " "))
            << n;
    }
    for (int n : {3, 5}) {
        EXPECT_TRUE(has("debug [scheduler] job tickets failed (x" + std::to_string(n) + " ")) << n;
    }
}

TEST_F(scheduler_test, success_resets_the_failure_streak) {
    int runs = 0;
    sched.add_job("posts", every(10ms), [&]() -> asio::awaitable<void> {
        if (++runs <= 2) throw std::runtime_error("HTTP 503");
        co_return;
    });
    sched.start();
    ASSERT_TRUE(run_until(ioc, [&] { return runs >= 3; }));
    const auto st = *sched.status("posts");
    EXPECT_EQ(st.consecutive_failures, 0u);
    EXPECT_EQ(st.failures, 2u);
    EXPECT_EQ(st.last_outcome, run_outcome::success);
    EXPECT_EQ(st.last_error, "HTTP 503");  // kept for /metrics
    EXPECT_TRUE(logs.contains("job posts recovered after 2 failed run(s)"));
    finish();
}

TEST_F(scheduler_test, run_now_runs_an_idle_job_promptly) {
    int runs = 0;
    sched.add_job("orgs", every(3600s, false), [&]() -> asio::awaitable<void> {
        ++runs;
        co_return;
    });
    sched.start();
    ioc.run_for(30ms);
    EXPECT_EQ(runs, 0);
    EXPECT_TRUE(sched.run_now("orgs"));
    EXPECT_FALSE(sched.run_now("nope"));
    ASSERT_TRUE(run_until(ioc, [&] { return runs == 1; }));
    ioc.run_for(30ms);
    EXPECT_EQ(runs, 1);  // then back to its hour
    finish();
}

TEST_F(scheduler_test, run_now_during_a_run_runs_again_right_after) {
    int runs = 0;
    sched.add_job("tickets", every(3600s), [&]() -> asio::awaitable<void> {
        if (++runs == 1) {
            EXPECT_TRUE(sched.status("tickets")->running);
            EXPECT_TRUE(sched.run_now("tickets"));
            co_await sleep_for(20ms);
        }
    });
    sched.start();
    ASSERT_TRUE(run_until(ioc, [&] { return runs == 2; }));
    finish();
}

TEST_F(scheduler_test, an_interval_change_takes_effect_without_waiting_out_the_old_one) {
    int runs = 0;
    sched.add_job("tickets", every(3600s), [&]() -> asio::awaitable<void> {
        ++runs;
        co_return;
    });
    sched.start();
    ASSERT_TRUE(run_until(ioc, [&] { return runs == 1; }));
    ioc.run_for(20ms);
    EXPECT_EQ(runs, 1);
    EXPECT_TRUE(sched.update_schedule("tickets", every(20ms)));
    ASSERT_TRUE(run_until(ioc, [&] { return runs >= 3; }));
    EXPECT_EQ(sched.status("tickets")->schedule.interval, 20ms);
    EXPECT_FALSE(sched.update_schedule("nope", every(20ms)));
    EXPECT_THROW(sched.update_schedule("tickets", every(0ms)), std::invalid_argument);
    EXPECT_TRUE(logs.contains("job tickets interval is now 20ms"));
    finish();
}

TEST_F(scheduler_test, rejects_bad_jobs) {
    auto fn = []() -> asio::awaitable<void> { co_return; };
    sched.add_job("a", every(1s), fn);
    EXPECT_THROW(sched.add_job("a", every(1s), fn), std::invalid_argument);
    EXPECT_THROW(sched.add_job("", every(1s), fn), std::invalid_argument);
    EXPECT_THROW(sched.add_job("b", every(0ms), fn), std::invalid_argument);
    EXPECT_THROW(sched.add_job("c", every(1s), nullptr), std::invalid_argument);
    finish();
}

TEST_F(scheduler_test, a_job_added_after_start_runs) {
    sched.start();
    int runs = 0;
    sched.add_job("late", every(20ms), [&]() -> asio::awaitable<void> {
        ++runs;
        co_return;
    });
    ASSERT_TRUE(run_until(ioc, [&] { return runs >= 2; }));
    finish();
}

TEST_F(scheduler_test, reports_every_finished_run) {
    std::vector<std::string> finished;
    sched.on_run_finished([&](const ksync::runtime::job_status& s) {
        finished.push_back(s.name + (s.last_outcome == run_outcome::success ? ":ok" : ":fail"));
    });
    sched.add_job("x", every(3600s), []() -> asio::awaitable<void> { co_return; });
    sched.add_job("y", every(3600s), []() -> asio::awaitable<void> {
        throw std::runtime_error("no");
        co_return;
    });
    sched.start();
    ASSERT_TRUE(run_until(ioc, [&] { return finished.size() >= 2; }));
    std::sort(finished.begin(), finished.end());
    EXPECT_EQ(finished, (std::vector<std::string>{"x:ok", "y:fail"}));
    finish();
}

TEST_F(scheduler_test, stop_cancels_a_running_job_at_its_next_co_await) {
    bool in_transaction = false, committed = false, rolled_back = false;
    sched.add_job("tickets", every(3600s), [&]() -> asio::awaitable<void> {
        in_transaction = true;
        try {
            co_await sleep_for(30s);  // a network call in the middle of the cycle
            committed = true;
        } catch (...) {
            rolled_back = true;
            in_transaction = false;
            throw;
        }
    });
    sched.start();
    ASSERT_TRUE(run_until(ioc, [&] { return in_transaction; }));
    const auto start = clock::now();
    EXPECT_TRUE(run_coro(ioc, sched.stop(ceiling)));
    EXPECT_LT(clock::now() - start, 10s);
    EXPECT_TRUE(rolled_back);
    EXPECT_FALSE(committed);
    const auto st = *sched.status("tickets");
    EXPECT_EQ(st.failures, 0u);  // a shutdown is not a failure of the stream
    EXPECT_EQ(st.runs, 1u);
    EXPECT_TRUE(sched.active_loops().empty());
    EXPECT_FALSE(sched.run_now("tickets"));
    EXPECT_THROW(sched.add_job("new", every(1s), []() -> asio::awaitable<void> { co_return; }),
                 std::logic_error);
    EXPECT_TRUE(logs.contains("job tickets stopped by shutdown"));
    finish();
}

TEST_F(scheduler_test, stop_is_bounded_when_a_job_ignores_cancellation) {
    bool finished = false;
    sched.add_job("stubborn", every(3600s), [&]() -> asio::awaitable<void> {
        co_await asio::this_coro::reset_cancellation_state(asio::disable_cancellation());
        co_await sleep_for(300ms);
        finished = true;
    });
    sched.start();
    ASSERT_TRUE(run_until(ioc, [&] { return sched.status("stubborn")->running; }));
    EXPECT_FALSE(run_coro(ioc, sched.stop(30ms)));
    EXPECT_EQ(sched.active_loops(), std::vector<std::string>{"stubborn"});
    EXPECT_TRUE(run_coro(ioc, sched.wait_stopped(ceiling)));
    EXPECT_TRUE(finished);
    finish();
}

TEST_F(scheduler_test, overdue_names_jobs_whose_loop_is_not_served) {
    sched.add_job("tickets", every(20ms), []() -> asio::awaitable<void> { co_return; });
    EXPECT_TRUE(sched.overdue(clock::now(), 0ms).empty());  // not started
    sched.start();
    // Due at once, but the io_context is not running: nobody serves the loop.
    std::this_thread::sleep_for(30ms);
    EXPECT_EQ(sched.overdue(clock::now(), 10ms), std::vector<std::string>{"tickets"});
    EXPECT_TRUE(sched.overdue(clock::now(), 1h).empty());
    ASSERT_TRUE(run_until(ioc, [&] { return sched.status("tickets")->runs >= 1; }));
    EXPECT_TRUE(sched.overdue(clock::now(), 1s).empty());
    finish();
}

}  // namespace
