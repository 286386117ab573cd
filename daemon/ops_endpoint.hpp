#pragma once
// The operations endpoint: a tiny HTTP/1.1 server for /metrics, /healthz and /readyz, on a
// loopback address by default (config `metrics.listen`). One request per connection, a deadline
// on each, GET only; it never blocks the event loop (the handler is a coroutine).
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <spdlog/logger.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>

namespace ksync::app {

struct ops_response {
    int status = 200;
    std::string content_type = "text/plain; charset=utf-8";
    std::string body;
};

using ops_handler = std::function<boost::asio::awaitable<ops_response>(std::string path)>;

// Listens on host:port (an IP literal) and serves until cancelled. Throws when it cannot bind.
boost::asio::awaitable<void> serve_ops_endpoint(std::string host, std::uint16_t port,
                                                ops_handler handler,
                                                std::shared_ptr<spdlog::logger> log);

}  // namespace ksync::app
