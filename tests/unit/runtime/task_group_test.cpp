#include "daemon/runtime/task_group.hpp"
#include "tests/support/run_coro.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <gtest/gtest.h>

#include <stdexcept>

namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using ksync::runtime::task_group;
using ksync::test::run_coro;

asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
    asio::steady_timer t(co_await asio::this_coro::executor, d);
    co_await t.async_wait(asio::use_awaitable);
}

TEST(task_group, an_empty_group_is_done_at_once) {
    asio::io_context ioc;
    task_group g(ioc.get_executor());
    EXPECT_TRUE(run_coro(ioc, g.wait(0s)));
}

asio::awaitable<void> wait_long(bool* aborted) {
    try {
        co_await sleep_for(30s);
    } catch (const boost::system::system_error& e) {
        *aborted = e.code() == asio::error::operation_aborted;
        throw;
    }
}

TEST(task_group, emit_cancels_at_the_next_co_await_and_wait_sees_the_group_empty) {
    asio::io_context ioc;
    task_group g(ioc.get_executor());
    bool aborted1 = false, aborted2 = false;
    int done = 0;
    std::exception_ptr seen;
    g.spawn("one", wait_long(&aborted1), [&](std::exception_ptr e) { ++done, seen = e; });
    g.spawn("two", wait_long(&aborted2), [&](std::exception_ptr) { ++done; });
    ioc.run_for(20ms);  // both are now suspended in their timers
    EXPECT_EQ(g.size(), 2u);
    EXPECT_EQ(g.names(), (std::vector<std::string>{"one", "two"}));
    g.emit();
    const auto start = std::chrono::steady_clock::now();
    EXPECT_TRUE(run_coro(ioc, g.wait(20s)));
    EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);  // generous ceiling, not 30s
    EXPECT_TRUE(aborted1);
    EXPECT_TRUE(aborted2);
    EXPECT_EQ(done, 2);
    EXPECT_TRUE(seen);  // the task ended with the operation_aborted it did not catch
    EXPECT_EQ(g.size(), 0u);
}

asio::awaitable<void> ignore_cancellation(std::chrono::milliseconds d, bool* finished) {
    // Stands for work that must not be interrupted (a commit already sent to the database).
    co_await asio::this_coro::reset_cancellation_state(asio::disable_cancellation());
    co_await sleep_for(d);
    *finished = true;
}

TEST(task_group, wait_is_bounded_when_a_task_ignores_cancellation) {
    asio::io_context ioc;
    task_group g(ioc.get_executor());
    bool finished = false;
    g.spawn("stubborn", ignore_cancellation(300ms, &finished));
    ioc.run_for(10ms);
    g.emit();
    EXPECT_FALSE(run_coro(ioc, g.wait(30ms)));
    EXPECT_EQ(g.names(), std::vector<std::string>{"stubborn"});
    EXPECT_TRUE(run_coro(ioc, g.wait(20s)));  // it does end on its own
    EXPECT_TRUE(finished);
}

asio::awaitable<void> fail_soon() {
    co_await sleep_for(1ms);
    throw std::runtime_error("boom");
}

TEST(task_group, reports_how_a_task_ended) {
    asio::io_context ioc;
    task_group g(ioc.get_executor());
    std::string what;
    g.spawn("failing", fail_soon(), [&](std::exception_ptr e) {
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& ex) {
            what = ex.what();
        }
    });
    EXPECT_TRUE(run_coro(ioc, g.wait(20s)));
    EXPECT_EQ(what, "boom");
}

}  // namespace
