#pragma once

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <chrono>
#include <future>
#include <stdexcept>

namespace ksync::test {

// Runs one coroutine to completion on `ioc` and returns its result (or rethrows).
// It pumps run_one() until *its* future is ready instead of ioc.run(): a server started on the
// same context (the emulator's accept loop) would otherwise keep run() from ever returning.
// A test that hangs fails after `limit` instead of blocking ctest until its timeout.
template <class T>
T run_coro(boost::asio::io_context& ioc, boost::asio::awaitable<T> aw,
           std::chrono::steady_clock::duration limit = std::chrono::seconds(60)) {
    auto fut = boost::asio::co_spawn(ioc, std::move(aw), boost::asio::use_future);
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (fut.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
        if (ioc.stopped()) ioc.restart();
        ioc.run_one_for(std::chrono::milliseconds(50));
        if (std::chrono::steady_clock::now() > deadline)
            throw std::runtime_error("run_coro: coroutine did not finish within the limit");
    }
    return fut.get();
}

}  // namespace ksync::test
