#include "daemon/runtime/watchdog.hpp"
#include "daemon/runtime/scheduler.hpp"
#include "daemon/runtime/task_group.hpp"
#include "tests/support/log_capture.hpp"
#include "tests/support/run_coro.hpp"
#include "tests/unit/runtime/notify_receiver.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <gtest/gtest.h>

#include <stdexcept>
#include <thread>

namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using ksync::runtime::clock;
using ksync::runtime::notifier;
using ksync::runtime::watchdog;
using ksync::runtime::watchdog_options;
using ksync::test::notify_receiver;
using ksync::test::run_coro;

constexpr auto ceiling = 20s;

template <class Pred>
bool run_until(asio::io_context& ioc, Pred pred, clock::duration limit = ceiling) {
    const auto deadline = clock::now() + limit;
    while (!pred()) {
        if (clock::now() > deadline) return false;
        ioc.run_for(5ms);
    }
    return true;
}

struct watchdog_test : ::testing::Test {
    asio::io_context ioc;
    ksync::test::log_capture logs;
    notify_receiver rx;
    notifier notify{rx.address(), 40ms};
    // Lateness limit well above the period: a loaded CI machine must not look "blocked".
    watchdog dog{notify, watchdog_options{20ms, 150ms}, logs.logger("watchdog")};
    ksync::runtime::task_group tasks{ioc.get_executor()};

    void start() { tasks.spawn("watchdog", dog.run()); }
    // Stops the watchdog; a test whose checks capture its locals calls this before they go
    // (the watchdog may tick once more while it is being cancelled).
    void stop() {
        tasks.emit();
        EXPECT_TRUE(run_coro(ioc, tasks.wait(ceiling)));
    }
    void TearDown() override { stop(); }
};

TEST(watchdog_options, follow_watchdog_sec) {
    const auto o = ksync::runtime::watchdog_options_for(60s);
    EXPECT_EQ(o.period, 30s);
    EXPECT_EQ(o.max_lateness, 15s);
}

TEST_F(watchdog_test, pings_while_the_loop_is_responsive) {
    start();
    ASSERT_TRUE(run_until(ioc, [&] { return rx.count("WATCHDOG=1") >= 5; }));
    EXPECT_GE(dog.stats().pings, 5u);
    for (auto& t : rx.texts()) EXPECT_EQ(t, "WATCHDOG=1");
}

TEST_F(watchdog_test, a_blocked_loop_stops_the_pings) {
    start();
    ASSERT_TRUE(run_until(ioc, [&] { return rx.count("WATCHDOG=1") >= 3; }));
    clock::time_point block_start{}, block_end{};
    asio::post(ioc, [&] {
        // The one place where blocking the event loop is the point: a handler that hogs
        // the thread for many watchdog periods.
        block_start = clock::now();
        std::this_thread::sleep_for(600ms);
        block_end = clock::now();
    });
    ASSERT_TRUE(run_until(ioc, [&] { return block_end != clock::time_point{}; }));
    const auto before = rx.count("WATCHDOG=1");
    ASSERT_TRUE(run_until(ioc, [&] { return rx.count("WATCHDOG=1") >= before + 3; }));

    // Nothing arrived while the loop was blocked (100 ms allowance for a ping in flight).
    for (auto& m : rx.messages())
        EXPECT_FALSE(m.at > block_start + 100ms && m.at < block_end)
            << "ping "
            << std::chrono::duration_cast<std::chrono::milliseconds>(m.at - block_start).count()
            << " ms into the block";
    // The wake-up right after the block was late: that ping was withheld, then pings resumed.
    EXPECT_GE(dog.stats().skipped_late, 1u);
    EXPECT_TRUE(logs.contains("event loop stalled"));
    EXPECT_TRUE(logs.contains("WATCHDOG=1 resumed"));
}

TEST_F(watchdog_test, a_failing_liveness_check_withholds_pings_until_it_recovers) {
    bool healthy = true;
    dog.add_check("push worker", [&] { return healthy; });
    start();
    ASSERT_TRUE(run_until(ioc, [&] { return dog.stats().pings >= 2; }));
    healthy = false;  // on the io thread, between ticks
    const auto pings = dog.stats().pings;
    ASSERT_TRUE(run_until(ioc, [&] { return dog.stats().skipped_unhealthy >= 3; }));
    EXPECT_EQ(dog.stats().pings, pings);
    EXPECT_TRUE(logs.contains("liveness check failing (push worker)"));
    healthy = true;
    ASSERT_TRUE(run_until(ioc, [&] { return dog.stats().pings >= pings + 2; }));
    stop();  // before `healthy`, which the check reads, goes out of scope
}

TEST_F(watchdog_test, keeps_pinging_while_a_job_keeps_failing) {
    // An open circuit breaker: every run of the stream fails at once. The watchdog watches the
    // loop, not the sync, so systemd must keep getting pings.
    ksync::runtime::scheduler sched(ioc.get_executor(), logs.logger("scheduler"), 1);
    ksync::runtime::job_schedule s;
    s.interval = 10ms;
    s.failure_backoff = 5ms;
    s.failure_backoff_max = 10ms;
    sched.add_job("tickets", s, []() -> asio::awaitable<void> {
        throw std::runtime_error("circuit breaker open");
        co_return;
    });
    dog.add_check("scheduler", [&] { return sched.overdue(clock::now(), 500ms).empty(); });
    sched.start();
    start();
    ASSERT_TRUE(run_until(ioc, [&] {
        return rx.count("WATCHDOG=1") >= 10 && sched.status("tickets")->failures >= 10;
    }));
    EXPECT_EQ(dog.stats().skipped_unhealthy, 0u);
    EXPECT_EQ(sched.status("tickets")->last_error, "circuit breaker open");
    stop();  // before `sched`, which the check reads, goes out of scope
    EXPECT_TRUE(run_coro(ioc, sched.stop(ceiling)));
}

}  // namespace
