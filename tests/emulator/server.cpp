#include "tests/emulator/server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace ksync::emulator {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto idle_timeout = std::chrono::seconds(120);
constexpr std::uint64_t body_limit = 64ULL * 1024 * 1024;

// The response as raw bytes, for the faults that must control exactly what reaches the wire.
std::string raw_bytes(const http_response& out, unsigned version, bool keep_alive) {
    std::string s = version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
    s += std::to_string(out.status) + " " +
         std::string(http::obsolete_reason(static_cast<http::status>(out.status))) + "\r\n";
    s += "Server: Apache\r\n";
    if (!out.content_type.empty()) s += "Content-Type: " + out.content_type + "\r\n";
    for (const auto& [k, v] : out.headers) s += k + ": " + v + "\r\n";
    s += "Content-Length: " + std::to_string(out.body.size()) + "\r\n";
    s += keep_alive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n";
    s += out.body;
    return s;
}

template <class Stream>
void hard_reset(Stream& stream) {
    auto& socket = beast::get_lowest_layer(stream).socket();
    beast::error_code ignored;
    socket.set_option(asio::socket_base::linger(true, 0), ignored);  // close sends RST
    socket.close(ignored);
}

template <class Stream>
asio::awaitable<void> serve_requests(Stream& stream, service& svc, bool loopback) {
    beast::flat_buffer buffer;
    for (;;) {
        http::request_parser<http::string_body> parser;
        parser.body_limit(body_limit);
        beast::get_lowest_layer(stream).expires_after(idle_timeout);
        auto [ec, n] =
            co_await http::async_read(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
        if (ec) co_return;
        auto& req = parser.get();
        http_request r;
        r.method = std::string(req.method_string());
        r.target = std::string(req.target());
        r.content_type = std::string(req[http::field::content_type]);
        r.host = std::string(req[http::field::host]);
        r.body = std::move(req.body());
        r.from_loopback = loopback;
        http_response out = svc.handle(r);
        const bool keep_alive = req.keep_alive();

        if (out.delay_ms > 0) {
            asio::steady_timer timer(co_await asio::this_coro::executor);
            timer.expires_after(std::chrono::milliseconds(out.delay_ms));
            co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
        }
        switch (out.transport) {
            case transport_fault::reset:
                hard_reset(stream);
                co_return;
            case transport_fault::hang: {
                // Never answer; wait until the client gives up and closes.
                beast::get_lowest_layer(stream).expires_never();
                char sink[512];
                for (;;) {
                    auto [rec, rn] =
                        co_await beast::get_lowest_layer(stream).socket().async_read_some(
                            asio::buffer(sink), asio::as_tuple(asio::use_awaitable));
                    if (rec) co_return;
                }
            }
            case transport_fault::truncate: {
                std::string bytes = raw_bytes(out, req.version(), false);
                bytes.resize(bytes.size() - out.body.size() / 2);
                auto [wec, wn] = co_await asio::async_write(stream, asio::buffer(bytes),
                                                            asio::as_tuple(asio::use_awaitable));
                (void)wec;
                hard_reset(stream);
                co_return;
            }
            case transport_fault::slow: {
                const std::string bytes = raw_bytes(out, req.version(), keep_alive);
                asio::steady_timer timer(co_await asio::this_coro::executor);
                beast::get_lowest_layer(stream).expires_never();
                for (char c : bytes) {
                    auto [wec, wn] = co_await asio::async_write(
                        stream, asio::buffer(&c, 1), asio::as_tuple(asio::use_awaitable));
                    if (wec) co_return;
                    timer.expires_after(std::chrono::milliseconds(out.byte_interval_ms));
                    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
                }
                if (!keep_alive) co_return;
                continue;
            }
            case transport_fault::normal:
                break;
        }

        http::response<http::string_body> res{static_cast<http::status>(out.status), req.version()};
        res.set(http::field::server, "Apache");
        if (!out.content_type.empty()) res.set(http::field::content_type, out.content_type);
        for (const auto& [k, v] : out.headers) res.set(k, v);
        res.keep_alive(keep_alive);
        if (r.method != "HEAD") res.body() = std::move(out.body);
        res.prepare_payload();
        beast::get_lowest_layer(stream).expires_after(idle_timeout);
        auto [wec, wn] =
            co_await http::async_write(stream, res, asio::as_tuple(asio::use_awaitable));
        if (wec || !res.keep_alive()) co_return;
    }
}

bool is_loopback(const tcp::socket& socket) {
    beast::error_code ec;
    const auto ep = socket.remote_endpoint(ec);
    return !ec && ep.address().is_loopback();
}

asio::awaitable<void> plain_session(tcp::socket socket, service& svc) {
    const bool loopback = is_loopback(socket);
    beast::tcp_stream stream(std::move(socket));
    co_await serve_requests(stream, svc, loopback);
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

asio::awaitable<void> tls_session(tcp::socket socket, asio::ssl::context& ctx, service& svc) {
    const bool loopback = is_loopback(socket);
    beast::ssl_stream<beast::tcp_stream> stream(beast::tcp_stream(std::move(socket)), ctx);
    beast::get_lowest_layer(stream).expires_after(idle_timeout);
    auto [ec] = co_await stream.async_handshake(asio::ssl::stream_base::server,
                                                asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    co_await serve_requests(stream, svc, loopback);
    beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(5));
    auto [sec] = co_await stream.async_shutdown(asio::as_tuple(asio::use_awaitable));
    (void)sec;
}

}  // namespace

struct emulator::impl {
    emulator_options options;
    service svc;
    // Declared before the io_context: sessions still queued in it are destroyed with it and
    // reference the TLS context and the service.
    std::optional<asio::ssl::context> ssl;
    asio::io_context ioc;
    tcp::acceptor acceptor{ioc};
    std::vector<std::thread> threads;
    unsigned short bound_port = 0;
    bool running = false;

    explicit impl(emulator_options o)
        : options(std::move(o)),
          svc(helpdesk::generate(options.seed, options.size), options.api),
          ioc(static_cast<int>(std::max(options.threads, 1U))) {}

    asio::awaitable<void> accept_loop() {
        for (;;) {
            auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
            if (ec) {
                if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
                continue;  // e.g. EMFILE: keep accepting
            }
            socket.set_option(tcp::no_delay(true), ec);
            if (ssl) {
                auto session = tls_session(std::move(socket), *ssl, svc);
                asio::co_spawn(ioc, std::move(session), asio::detached);
            } else {
                auto session = plain_session(std::move(socket), svc);
                asio::co_spawn(ioc, std::move(session), asio::detached);
            }
        }
    }
};

emulator::emulator(emulator_options options) : impl_(std::make_unique<impl>(std::move(options))) {}

emulator::~emulator() {
    stop();
}

void emulator::start() {
    auto& d = *impl_;
    if (d.running) return;
    if (!d.options.tls_cert_file.empty() || !d.options.tls_key_file.empty()) {
        d.ssl.emplace(asio::ssl::context::tls_server);
        d.ssl->use_certificate_chain_file(d.options.tls_cert_file);
        d.ssl->use_private_key_file(d.options.tls_key_file, asio::ssl::context::pem);
    }
    const tcp::endpoint ep(asio::ip::make_address(d.options.bind), d.options.port);
    d.acceptor.open(ep.protocol());
    d.acceptor.set_option(tcp::acceptor::reuse_address(true));
    d.acceptor.bind(ep);
    d.acceptor.listen(asio::socket_base::max_listen_connections);
    d.bound_port = d.acceptor.local_endpoint().port();
    auto loop = d.accept_loop();
    asio::co_spawn(d.ioc, std::move(loop), asio::detached);
    d.running = true;
    for (unsigned i = 0; i < std::max(d.options.threads, 1U); ++i)
        d.threads.emplace_back([&d] { d.ioc.run(); });
}

void emulator::stop() {
    auto& d = *impl_;
    if (!d.running) return;
    asio::post(d.ioc, [&d] {
        beast::error_code ignored;
        d.acceptor.close(ignored);
    });
    d.ioc.stop();
    for (auto& t : d.threads) t.join();
    d.threads.clear();
    d.running = false;
}

unsigned short emulator::port() const {
    return impl_->bound_port;
}

bool emulator::tls() const {
    return impl_->ssl.has_value();
}

std::string emulator::base_url() const {
    return std::string(tls() ? "https" : "http") + "://" + impl_->options.bind + ":" +
           std::to_string(port()) + "/api/index.php";
}

service& emulator::api() {
    return impl_->svc;
}

}  // namespace ksync::emulator
