#include "connectors/kayako/pacer.hpp"
#include "tests/support/run_coro.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

namespace asio = boost::asio;
using namespace ksync::kayako;
using namespace std::chrono_literals;

TEST(token_bucket, allows_a_burst_then_the_rate) {
    const auto t0 = token_bucket::clock::time_point{} + 1h;
    token_bucket b(10.0, 2.0, t0);
    EXPECT_FALSE(b.take(t0).has_value());
    EXPECT_FALSE(b.take(t0).has_value());
    auto wait = b.take(t0);
    ASSERT_TRUE(wait.has_value());
    EXPECT_GT(*wait, 99ms);
    EXPECT_LE(*wait, 101ms);
    EXPECT_TRUE(b.take(t0 + 50ms).has_value());
    EXPECT_FALSE(b.take(t0 + 100ms).has_value());
    // Idle time accrues at most `burst` tokens.
    EXPECT_FALSE(b.take(t0 + 10s).has_value());
    EXPECT_FALSE(b.take(t0 + 10s).has_value());
    EXPECT_TRUE(b.take(t0 + 10s).has_value());
}

TEST(pacer, never_exceeds_max_in_flight) {
    asio::io_context ioc;
    pacer p(ioc.get_executor(), {3, 1e6, 1e6});
    int current = 0, peak = 0, finished = 0;
    auto worker = [&](request_priority prio) -> asio::awaitable<void> {
        auto permit = co_await p.acquire(prio);
        peak = std::max(peak, ++current);
        asio::steady_timer t(ioc, 5ms);
        co_await t.async_wait(asio::use_awaitable);
        --current;
        ++finished;
    };
    for (int i = 0; i < 20; ++i)
        asio::co_spawn(ioc, worker(static_cast<request_priority>(i % 3)), asio::detached);
    ioc.run();
    EXPECT_EQ(finished, 20);
    EXPECT_EQ(peak, 3);
    EXPECT_EQ(p.in_flight(), 0);
}

TEST(pacer, serves_writes_before_incremental_before_backfill) {
    asio::io_context ioc;
    pacer p(ioc.get_executor(), {1, 1e6, 1e6});
    std::vector<std::string> order;
    auto run = [&]() -> asio::awaitable<void> {
        auto held = co_await p.acquire(request_priority::backfill);
        auto worker = [&](request_priority prio, std::string name) -> asio::awaitable<void> {
            auto permit = co_await p.acquire(prio);
            order.push_back(name);
        };
        auto ex = co_await asio::this_coro::executor;
        asio::co_spawn(ex, worker(request_priority::backfill, "backfill-1"), asio::detached);
        asio::co_spawn(ex, worker(request_priority::backfill, "backfill-2"), asio::detached);
        asio::co_spawn(ex, worker(request_priority::incremental, "incremental"), asio::detached);
        asio::co_spawn(ex, worker(request_priority::write, "write"), asio::detached);
        asio::steady_timer t(ex, 10ms);
        co_await t.async_wait(asio::use_awaitable);
        EXPECT_EQ(p.waiting(), 4u);
    };
    asio::co_spawn(ioc, run(), asio::detached);
    ioc.run();
    EXPECT_EQ(order,
              (std::vector<std::string>{"write", "incremental", "backfill-1", "backfill-2"}));
}

TEST(pacer, paces_to_the_rate_once_the_burst_is_spent) {
    asio::io_context ioc;
    pacer p(ioc.get_executor(), {10, 50.0, 1.0});
    int granted = 0;
    auto run = [&]() -> asio::awaitable<void> {
        for (int i = 0; i < 6; ++i) {
            auto permit = co_await p.acquire(request_priority::incremental);
            ++granted;
        }
    };
    const auto start = std::chrono::steady_clock::now();
    ksync::test::run_coro(ioc, run());
    const auto elapsed = std::chrono::steady_clock::now() - start;
    EXPECT_EQ(granted, 6);
    // 1 from the burst + 5 at 50/s: at least 100 ms must pass (a lower bound, not a timing test).
    EXPECT_GE(elapsed, 95ms);
}

TEST(pacer, a_cancelled_waiter_leaves_the_queue) {
    using namespace asio::experimental::awaitable_operators;
    asio::io_context ioc;
    pacer p(ioc.get_executor(), {1, 1e6, 1e6});
    auto run = [&]() -> asio::awaitable<bool> {
        auto held = co_await p.acquire(request_priority::write);
        asio::steady_timer t(ioc, 10ms);
        // The acquire loses the race against the timer and is cancelled.
        bool threw = false;
        try {
            co_await (p.acquire(request_priority::backfill) || t.async_wait(asio::use_awaitable));
        } catch (const boost::system::system_error&) {
            threw = true;
        }
        EXPECT_EQ(p.waiting(), 0u);
        co_return threw || p.waiting() == 0;
    };
    EXPECT_TRUE(ksync::test::run_coro(ioc, run()));
    EXPECT_EQ(p.in_flight(), 0);
}

}  // namespace
