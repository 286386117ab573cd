#include "tests/unit/http/test_server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <openssl/ssl.h>

#include <array>

namespace ksync::test::http {
namespace {

using tcp = asio::ip::tcp;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

}  // namespace

// ---------------------------------------------------------------------------------------------
server_conn::server_conn(test_server& owner, tcp::socket sock, asio::ssl::context* ctx)
    : owner_(owner) {
    if (ctx)
        tls_.emplace(std::move(sock), *ctx);
    else
        plain_.emplace(std::move(sock));
}

tcp::socket& server_conn::lowest() { return tls_ ? tls_->next_layer() : *plain_; }

asio::awaitable<bool> server_conn::handshake() {
    if (!tls_) co_return true;
    auto [ec] = co_await tls_->async_handshake(asio::ssl::stream_base::server, use_tuple);
    if (ec) co_return false;
    const char* sni = SSL_get_servername(tls_->native_handle(), TLSEXT_NAMETYPE_host_name);
    std::lock_guard lock(owner_.mutex_);
    owner_.last_sni_ = sni ? sni : "";
    co_return true;
}

asio::awaitable<bool> server_conn::read_request(bhttp::request<bhttp::string_body>& out) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.body_limit(16u * 1024 * 1024);
    boost::system::error_code ec;
    std::size_t n = 0;
    if (tls_)
        std::tie(ec, n) = co_await bhttp::async_read(*tls_, buffer_, parser, use_tuple);
    else
        std::tie(ec, n) = co_await bhttp::async_read(*plain_, buffer_, parser, use_tuple);
    owner_.request_bytes_ += n;
    if (ec) co_return false;
    out = parser.release();
    ++owner_.requests_;
    std::lock_guard lock(owner_.mutex_);
    owner_.last_target_ = std::string(out.target());
    co_return true;
}

asio::awaitable<bool> server_conn::write(std::string data) {
    boost::system::error_code ec;
    std::size_t n = 0;
    if (tls_)
        std::tie(ec, n) = co_await asio::async_write(*tls_, asio::buffer(data), use_tuple);
    else
        std::tie(ec, n) = co_await asio::async_write(*plain_, asio::buffer(data), use_tuple);
    (void)n;
    co_return !ec;
}

asio::awaitable<void> server_conn::close_gracefully() {
    using namespace asio::experimental::awaitable_operators;
    if (tls_) {
        asio::steady_timer timer(co_await asio::this_coro::executor);
        timer.expires_after(std::chrono::seconds(2));
        co_await (tls_->async_shutdown(use_tuple) || timer.async_wait(use_tuple));
    }
    boost::system::error_code ignored;
    lowest().shutdown(tcp::socket::shutdown_both, ignored);
    lowest().close(ignored);
}

void server_conn::close_abruptly() {
    boost::system::error_code ignored;
    lowest().close(ignored);
}

void server_conn::reset() {
    boost::system::error_code ignored;
    lowest().set_option(asio::socket_base::linger(true, 0), ignored);
    lowest().close(ignored);
}

asio::awaitable<void> server_conn::sleep(std::chrono::milliseconds d) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    timer.expires_after(d);
    co_await timer.async_wait(use_tuple);
}

asio::awaitable<void> server_conn::drain(std::chrono::milliseconds limit) {
    using namespace asio::experimental::awaitable_operators;
    asio::steady_timer timer(co_await asio::this_coro::executor);
    timer.expires_after(limit);
    std::array<char, 4096> buf{};
    while (true) {
        boost::system::error_code ec;
        if (tls_) {
            auto r = co_await (tls_->async_read_some(asio::buffer(buf), use_tuple) ||
                               timer.async_wait(use_tuple));
            if (r.index() == 1) co_return;
            ec = std::get<0>(std::get<0>(r));
        } else {
            auto r = co_await (plain_->async_read_some(asio::buffer(buf), use_tuple) ||
                               timer.async_wait(use_tuple));
            if (r.index() == 1) co_return;
            ec = std::get<0>(std::get<0>(r));
        }
        if (ec) co_return;
    }
}

// ---------------------------------------------------------------------------------------------
test_server::test_server(std::optional<tls_files> tls, handler h)
    : handler_(std::move(h)), acceptor_(ioc_) {
    if (tls) {
        ctx_.emplace(asio::ssl::context::tls_server);
        ctx_->use_certificate_chain_file(tls->cert_file);
        ctx_->use_private_key_file(tls->key_file, asio::ssl::context::pem);
    }
    const tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(ep.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(ep);
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    asio::co_spawn(ioc_, accept_loop(), asio::detached);
    thread_ = std::thread([this] { ioc_.run(); });
}

test_server::~test_server() {
    ioc_.stop();
    thread_.join();
}

std::string test_server::last_sni() const {
    std::lock_guard lock(mutex_);
    return last_sni_;
}

std::string test_server::last_target() const {
    std::lock_guard lock(mutex_);
    return last_target_;
}

asio::awaitable<void> test_server::accept_loop() {
    while (true) {
        auto [ec, sock] = co_await acceptor_.async_accept(use_tuple);
        if (ec) co_return;
        const std::size_t index = accepts_++;
        auto conn = std::make_shared<server_conn>(*this, std::move(sock), ctx_ ? &*ctx_ : nullptr);
        conn->index_ = index;
        asio::co_spawn(ioc_, serve(std::move(conn)), asio::detached);
    }
}

asio::awaitable<void> test_server::serve(std::shared_ptr<server_conn> conn) {
    const bool shook = co_await conn->handshake();
    if (!shook) {
        ++handshakes_failed_;
        co_return;
    }
    if (ctx_) ++handshakes_ok_;
    co_await handler_(*conn);
    ++handlers_done_;
}

// ---------------------------------------------------------------------------------------------
test_proxy::test_proxy(bool refuse) : refuse_(refuse), acceptor_(ioc_) {
    const tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(ep.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(ep);
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    asio::co_spawn(ioc_, accept_loop(), asio::detached);
    thread_ = std::thread([this] { ioc_.run(); });
}

test_proxy::~test_proxy() {
    ioc_.stop();
    thread_.join();
}

std::string test_proxy::last_connect_target() const {
    std::lock_guard lock(mutex_);
    return last_target_;
}

asio::awaitable<void> test_proxy::accept_loop() {
    while (true) {
        auto [ec, sock] = co_await acceptor_.async_accept(use_tuple);
        if (ec) co_return;
        asio::co_spawn(ioc_, serve(std::move(sock)), asio::detached);
    }
}

namespace {
asio::awaitable<void> pump(tcp::socket& from, tcp::socket& to) {
    std::array<char, 16384> buf{};
    while (true) {
        auto [rec, n] = co_await from.async_read_some(asio::buffer(buf), use_tuple);
        if (rec) co_return;
        auto [wec, wn] = co_await asio::async_write(to, asio::buffer(buf.data(), n), use_tuple);
        (void)wn;
        if (wec) co_return;
    }
}
}  // namespace

asio::awaitable<void> test_proxy::serve(tcp::socket sock) {
    using namespace asio::experimental::awaitable_operators;
    boost::beast::flat_buffer buffer;
    bhttp::request_parser<bhttp::empty_body> parser;
    auto [ec, n] = co_await bhttp::async_read(sock, buffer, parser, use_tuple);
    (void)n;
    if (ec) co_return;
    const auto& req = parser.get();
    const std::string target(req.target());
    {
        std::lock_guard lock(mutex_);
        last_target_ = target;
    }
    auto send_status = [](tcp::socket& s, std::string text) -> asio::awaitable<void> {
        auto [wec, wn] = co_await asio::async_write(s, asio::buffer(text), use_tuple);
        (void)wec;
        (void)wn;
    };
    const auto colon = target.rfind(':');
    if (refuse_ || req.method() != bhttp::verb::connect || colon == std::string::npos) {
        auto reply = send_status(sock, "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
        co_await std::move(reply);
        co_return;
    }
    tcp::resolver resolver(co_await asio::this_coro::executor);
    auto [rec, results] =
        co_await resolver.async_resolve(target.substr(0, colon), target.substr(colon + 1), use_tuple);
    tcp::socket upstream(co_await asio::this_coro::executor);
    if (!rec) {
        auto [cec, ep] = co_await asio::async_connect(upstream, results, use_tuple);
        (void)ep;
        rec = cec;
    }
    if (rec) {
        auto reply = send_status(sock, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
        co_await std::move(reply);
        co_return;
    }
    ++tunnels_;
    auto reply = send_status(sock, "HTTP/1.1 200 Connection established\r\n\r\n");
    co_await std::move(reply);
    co_await (pump(sock, upstream) || pump(upstream, sock));
}

// ---------------------------------------------------------------------------------------------
std::string http_response(unsigned status, std::string body, std::string extra_headers,
                          bool keep_alive) {
    std::string r = "HTTP/1.1 " + std::to_string(status) + " X\r\n";
    r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    if (!keep_alive) r += "Connection: close\r\n";
    r += extra_headers;
    r += "\r\n";
    r += body;
    return r;
}

bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!pred()) {
        if (std::chrono::steady_clock::now() > deadline) return pred();
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
}

}  // namespace ksync::test::http
