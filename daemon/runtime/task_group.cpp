#include "daemon/runtime/task_group.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace ksync::runtime {

namespace asio = boost::asio;

task_group::task_group(asio::any_io_executor ex)
    : ex_(ex), changed_(std::make_shared<asio::steady_timer>(ex)) {}

// Tasks still suspended when the group goes away are destroyed with the io_context; their
// completion handlers share the list (and so the cancellation signals) and the timer, which
// therefore outlive them.
task_group::~task_group() = default;

void task_group::spawn(std::string name, asio::awaitable<void> task, done_handler on_done) {
    auto it = tasks_->emplace(tasks_->end(), std::move(name));
    auto done = [tasks = tasks_, changed = changed_, it,
                 on_done = std::move(on_done)](std::exception_ptr e) {
        if (on_done) on_done(e);
        tasks->erase(it);
        changed->cancel();
    };
    asio::co_spawn(ex_, std::move(task),
                   asio::bind_cancellation_slot(it->signal.slot(), std::move(done)));
}

void task_group::emit(asio::cancellation_type type) {
    // A handler may erase its entry while we iterate only after this call returns: emit()
    // merely schedules the cancellation of pending operations.
    for (auto& e : *tasks_) e.signal.emit(type);
}

asio::awaitable<bool> task_group::wait(std::chrono::steady_clock::duration timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    auto changed = changed_;
    while (!tasks_->empty()) {
        if (std::chrono::steady_clock::now() >= deadline) co_return false;
        changed->expires_at(deadline);
        // Aborted when a task leaves; expires at the deadline otherwise. Either way re-check.
        [[maybe_unused]] auto [ec] =
            co_await changed->async_wait(asio::as_tuple(asio::use_awaitable));
    }
    co_return true;
}

std::vector<std::string> task_group::names() const {
    std::vector<std::string> out;
    for (const auto& e : *tasks_) out.push_back(e.name);
    return out;
}

}  // namespace ksync::runtime
