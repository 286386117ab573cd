#pragma once

// Sends WATCHDOG=1 from the event loop itself, every `period` (WatchdogSec/2), but only while
// the loop is responsive (reliability.md §5: "from the main loop when it makes progress, never
// from a timer thread"). Responsive means:
//  - its own timer woke up no later than `max_lateness` after it was due (a handler that
//    blocks the thread shows up as a late wake-up), and
//  - every registered liveness check passes (the scheduler reports jobs its loop failed to
//    serve).
// What it deliberately ignores: whether syncing succeeds. An open circuit breaker or a stream
// that fails every run is the scheduler's business (backoff, STATUS=), and restarting the
// process would not fix Kayako; a stalled loop is what a restart does fix.

#include "daemon/runtime/notifier.hpp"

#include <spdlog/logger.h>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace ksync::runtime {

struct watchdog_options {
    std::chrono::steady_clock::duration period{std::chrono::seconds(30)};
    std::chrono::steady_clock::duration max_lateness{std::chrono::seconds(15)};
};

// The options systemd's WatchdogSec implies: ping every half, tolerate a quarter of lateness.
watchdog_options watchdog_options_for(std::chrono::microseconds watchdog_sec);

class watchdog {
public:
    watchdog(notifier& notify, watchdog_options opts, std::shared_ptr<spdlog::logger> log);

    // A check returns true while its component is alive. Checks run on the io thread, once
    // per period, and must be cheap.
    void add_check(std::string name, std::function<bool()> healthy);

    // Pings until cancelled (the cancellation ends it with operation_aborted).
    boost::asio::awaitable<void> run();

    struct counters {
        std::uint64_t pings = 0;
        std::uint64_t skipped_late = 0;       // loop was blocked
        std::uint64_t skipped_unhealthy = 0;  // a liveness check failed
    };
    [[nodiscard]] const counters& stats() const noexcept { return stats_; }
    [[nodiscard]] const watchdog_options& options() const noexcept { return opts_; }

private:
    struct check {
        std::string name;
        std::function<bool()> healthy;
    };
    notifier& notify_;
    watchdog_options opts_;
    std::shared_ptr<spdlog::logger> log_;
    std::vector<check> checks_;
    counters stats_;
    bool withholding_ = false;
};

}  // namespace ksync::runtime
