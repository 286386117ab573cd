// A tiny daemon built on ksync_runtime, for the process-level test (runtime_process_test.cpp):
// systemd's side of the protocol is played by the test through NOTIFY_SOCKET/WATCHDOG_USEC and
// real signals from another process.
//
//   ksync_runtime_probe CONFIG_FILE
// CONFIG_FILE holds "interval_ms=<n>"; anything else is an invalid config (exit 78 at start,
// kept-old-config on SIGHUP). The one job's first run is a long "transaction" that rolls back
// when shutdown cancels it. On exit it prints what happened to stdout.

#include "common/logging.hpp"
#include "daemon/runtime/runtime.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

std::optional<int> read_interval(const std::string& path) {
    std::ifstream in(path);
    std::string line;
    if (!std::getline(in, line) || line.rfind("interval_ms=", 0) != 0) return std::nullopt;
    try {
        const int v = std::stoi(line.substr(12));
        return v > 0 ? std::optional<int>(v) : std::nullopt;
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) return 64;
    const std::string path = argv[1];
    auto interval = read_interval(path);
    if (!interval) return 78;

    ksync::logging::options lo;
    lo.timestamps = !ksync::logging::journald_attached();
    ksync::logging::factory logs(lo);

    asio::io_context ioc;
    ksync::runtime::runtime_options opts;
    opts.shutdown_timeout = 10s;
    ksync::runtime::runtime rt(ioc, opts, logs.make("runtime"));

    int runs = 0;
    bool rolled_back = false;
    ksync::runtime::job_schedule s;
    s.interval = std::chrono::milliseconds(*interval);
    rt.add_job("tickets", s, [&]() -> asio::awaitable<void> {
        if (runs++ > 0) co_return;
        try {
            asio::steady_timer t(co_await asio::this_coro::executor, 60s);
            co_await t.async_wait(asio::use_awaitable);
        } catch (...) {
            rolled_back = true;
            throw;
        }
    });
    rt.on_reload([&] {
        auto next = read_interval(path);
        if (!next) return ksync::runtime::reload_result::failure("bad config in " + path);
        interval = next;
        rt.update_schedule("tickets", [&] {
            auto copy = s;
            copy.interval = std::chrono::milliseconds(*next);
            return copy;
        }());
        return ksync::runtime::reload_result::success();
    });
    rt.notify_ready();
    const int rc = rt.run();
    std::cout << "interval_ms=" << *interval << " rolled_back=" << rolled_back << std::endl;
    return rc;
}
