#include "daemon/runtime/watchdog.hpp"

#include "daemon/runtime/status.hpp"

#include <fmt/format.h>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace ksync::runtime {

namespace asio = boost::asio;
using steady = std::chrono::steady_clock;

watchdog_options watchdog_options_for(std::chrono::microseconds watchdog_sec) {
    watchdog_options o;
    o.period = std::chrono::duration_cast<steady::duration>(watchdog_sec) / 2;
    o.max_lateness = o.period / 2;
    return o;
}

watchdog::watchdog(notifier& notify, watchdog_options opts, std::shared_ptr<spdlog::logger> log)
    : notify_(notify), opts_(opts), log_(std::move(log)) {}

void watchdog::add_check(std::string name, std::function<bool()> healthy) {
    checks_.push_back({std::move(name), std::move(healthy)});
}

asio::awaitable<void> watchdog::run() {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    // The first ping goes out at once: the loop is evidently running.
    auto due = steady::now();
    for (;;) {
        timer.expires_at(due);
        co_await timer.async_wait(asio::use_awaitable);
        const auto now = steady::now();
        const auto late = now - due;
        // Next tick from the actual wake-up: after a stall we want one period of evidence,
        // not a burst of catch-up pings.
        due = now + opts_.period;
        if (late > opts_.max_lateness) {
            ++stats_.skipped_late;
            if (!withholding_)
                log_->warn(
                    "event loop stalled: watchdog timer woke {} late (limit {}); "
                    "withholding WATCHDOG=1",
                    format_duration(late), format_duration(opts_.max_lateness));
            withholding_ = true;
            continue;
        }
        std::string failing;
        for (const auto& c : checks_) {
            bool ok = false;
            try {
                ok = c.healthy();
            } catch (const std::exception& e) {
                log_->error("liveness check {} threw: {}", c.name, e.what());
            }
            if (!ok) failing += (failing.empty() ? "" : ", ") + c.name;
        }
        if (!failing.empty()) {
            ++stats_.skipped_unhealthy;
            if (!withholding_)
                log_->warn("liveness check failing ({}); withholding WATCHDOG=1", failing);
            withholding_ = true;
            continue;
        }
        notify_.watchdog_ping();
        ++stats_.pings;
        if (withholding_) log_->info("event loop responsive again; WATCHDOG=1 resumed");
        withholding_ = false;
    }
}

}  // namespace ksync::runtime
