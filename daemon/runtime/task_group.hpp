#pragma once

// Beast's task_group (boost/beast/core/... in 1.82+), shaped for Boost 1.81: every long-lived
// coroutine is spawned with its own cancellation_signal bound through bind_cancellation_slot,
// so shutdown can emit a cancellation to all of them and then wait, bounded, until they are
// gone. Cancellation reaches a coroutine at its next co_await of an asynchronous operation
// (Asio's awaitable throws operation_aborted there), so a job finishes or rolls back the work
// between two suspension points instead of being torn down in the middle of it.
//
// Single-threaded: use it from the io_context thread only.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <exception>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <vector>

namespace ksync::runtime {

class task_group {
public:
    using done_handler = std::function<void(std::exception_ptr)>;

    explicit task_group(boost::asio::any_io_executor ex);
    ~task_group();
    task_group(const task_group&) = delete;
    task_group& operator=(const task_group&) = delete;

    // Starts `task` on the group's executor. `on_done` runs on completion with the exception
    // the task ended with (nullptr on a normal return), before the task leaves the group.
    void spawn(std::string name, boost::asio::awaitable<void> task, done_handler on_done = {});

    // Delivers `type` to every task still running.
    void emit(boost::asio::cancellation_type type = boost::asio::cancellation_type::terminal);

    // Completes when the group is empty (true) or when `timeout` passes first (false).
    boost::asio::awaitable<bool> wait(std::chrono::steady_clock::duration timeout);

    [[nodiscard]] std::size_t size() const noexcept { return tasks_->size(); }
    [[nodiscard]] std::vector<std::string> names() const;

private:
    struct entry {
        explicit entry(std::string n) : name(std::move(n)) {}
        std::string name;
        boost::asio::cancellation_signal signal;
    };
    using list = std::list<entry>;

    boost::asio::any_io_executor ex_;
    // Shared with the completion handlers: a task that completes after the group is gone
    // (the io_context is destroyed later and drops its handlers) must not touch freed memory.
    std::shared_ptr<list> tasks_ = std::make_shared<list>();
    // Used as a condition variable: cancelled whenever a task leaves the group.
    std::shared_ptr<boost::asio::steady_timer> changed_;
};

}  // namespace ksync::runtime
