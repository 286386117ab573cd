#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace ksync::test::http {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;

class test_server;

// One accepted connection, handed to the test's handler. TLS connections arrive after a
// successful handshake; every request byte the handler reads is counted by the server.
class server_conn {
public:
    server_conn(test_server& owner, asio::ip::tcp::socket sock, asio::ssl::context* ctx);

    // Reads one request; false on EOF or any error (the peer went away).
    asio::awaitable<bool> read_request(bhttp::request<bhttp::string_body>& out);
    // Writes raw bytes; false on error.
    asio::awaitable<bool> write(std::string data);
    // TLS close_notify (bounded wait for the peer's), then TCP close. Plain: FIN.
    asio::awaitable<void> close_gracefully();
    // TCP close without TLS close_notify: the client sees a truncated stream.
    void close_abruptly();
    // SO_LINGER 0 then close: the client sees a connection reset.
    void reset();
    asio::awaitable<void> sleep(std::chrono::milliseconds d);
    // Reads (and discards) until the peer closes or `limit` passes.
    asio::awaitable<void> drain(std::chrono::milliseconds limit);

    asio::awaitable<bool> handshake();  // used by the server before the handler runs
    [[nodiscard]] std::size_t index() const { return index_; }

private:
    friend class test_server;
    test_server& owner_;
    asio::ip::tcp::socket& lowest();
    std::optional<asio::ssl::stream<asio::ip::tcp::socket>> tls_;
    std::optional<asio::ip::tcp::socket> plain_;
    boost::beast::flat_buffer buffer_;
    std::size_t index_ = 0;
};

// A loopback HTTP(S) server on its own thread and io_context, port 0. The handler scripts what
// each connection does; the counters let tests assert what reached the server.
class test_server {
public:
    using handler = std::function<asio::awaitable<void>(server_conn&)>;
    struct tls_files {
        std::string cert_file;
        std::string key_file;
    };

    test_server(std::optional<tls_files> tls, handler h);
    ~test_server();  // stops the thread; every connection is closed
    test_server(const test_server&) = delete;
    test_server& operator=(const test_server&) = delete;

    [[nodiscard]] std::uint16_t port() const { return port_; }
    [[nodiscard]] std::size_t accepts() const { return accepts_; }
    [[nodiscard]] std::size_t handshakes_ok() const { return handshakes_ok_; }
    [[nodiscard]] std::size_t handshakes_failed() const { return handshakes_failed_; }
    [[nodiscard]] std::size_t request_bytes() const { return request_bytes_; }
    [[nodiscard]] std::size_t requests() const { return requests_; }
    [[nodiscard]] std::size_t handlers_done() const { return handlers_done_; }
    [[nodiscard]] std::string last_sni() const;
    [[nodiscard]] std::string last_target() const;

private:
    friend class server_conn;
    asio::awaitable<void> accept_loop();
    asio::awaitable<void> serve(std::shared_ptr<server_conn> conn);

    handler handler_;
    std::atomic<std::size_t> accepts_{0}, handshakes_ok_{0}, handshakes_failed_{0},
        request_bytes_{0}, requests_{0}, handlers_done_{0};
    mutable std::mutex mutex_;
    std::string last_sni_, last_target_;
    std::optional<asio::ssl::context> ctx_;
    asio::io_context ioc_;
    asio::ip::tcp::acceptor acceptor_;
    std::uint16_t port_ = 0;
    std::thread thread_;
};

// An HTTP CONNECT proxy on its own thread: records each CONNECT target, connects to it (resolving
// the name itself) and pipes bytes both ways. With `refuse`, it answers 403 and closes.
class test_proxy {
public:
    explicit test_proxy(bool refuse = false);
    ~test_proxy();
    test_proxy(const test_proxy&) = delete;
    test_proxy& operator=(const test_proxy&) = delete;

    [[nodiscard]] std::uint16_t port() const { return port_; }
    [[nodiscard]] std::size_t tunnels() const { return tunnels_; }
    [[nodiscard]] std::string last_connect_target() const;

private:
    asio::awaitable<void> accept_loop();
    asio::awaitable<void> serve(asio::ip::tcp::socket sock);

    bool refuse_;
    std::atomic<std::size_t> tunnels_{0};
    mutable std::mutex mutex_;
    std::string last_target_;
    asio::io_context ioc_;
    asio::ip::tcp::acceptor acceptor_;
    std::uint16_t port_ = 0;
    std::thread thread_;
};

// Raw response text helper: status line, headers, body with a Content-Length.
std::string http_response(unsigned status, std::string body, std::string extra_headers = {},
                          bool keep_alive = true);

// Polls `pred` (set by another thread) until true or `limit` passes; returns pred().
bool wait_until(const std::function<bool()>& pred,
                std::chrono::milliseconds limit = std::chrono::seconds(10));

}  // namespace ksync::test::http
