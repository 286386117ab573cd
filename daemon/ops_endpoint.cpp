#include "daemon/ops_endpoint.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <chrono>

namespace ksync::app {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

asio::awaitable<void> serve_one(tcp::socket socket, ops_handler handler,
                                std::shared_ptr<spdlog::logger> log) {
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    std::string problem;
    try {
        stream.expires_after(std::chrono::seconds(5));
        bhttp::request_parser<bhttp::string_body> parser;
        parser.header_limit(8 * 1024);
        parser.body_limit(1024);
        co_await bhttp::async_read(stream, buffer, parser, asio::use_awaitable);
        const auto& req = parser.get();
        ops_response r;
        if (req.method() != bhttp::verb::get && req.method() != bhttp::verb::head) {
            r.status = 405;
            r.body = "only GET\n";
        } else {
            std::string path(req.target());
            if (auto q = path.find('?'); q != std::string::npos) path.resize(q);
            r = co_await handler(path);
        }
        bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(r.status), 11};
        res.set(bhttp::field::content_type, r.content_type);
        res.set(bhttp::field::cache_control, "no-store");
        res.keep_alive(false);
        if (req.method() != bhttp::verb::head) res.body() = std::move(r.body);
        res.prepare_payload();
        stream.expires_after(std::chrono::seconds(5));
        co_await bhttp::async_write(stream, res, asio::use_awaitable);
        beast::error_code ec;
        stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    } catch (const std::exception& e) {
        problem = e.what();
    }
    if (!problem.empty()) log->debug("ops endpoint: {}", problem);
}

}  // namespace

asio::awaitable<void> serve_ops_endpoint(std::string host, std::uint16_t port, ops_handler handler,
                                         std::shared_ptr<spdlog::logger> log) {
    auto ex = co_await asio::this_coro::executor;
    const tcp::endpoint at{asio::ip::make_address(host), port};
    tcp::acceptor acceptor(ex);
    acceptor.open(at.protocol());
    acceptor.set_option(tcp::acceptor::reuse_address(true));
    acceptor.bind(at);
    acceptor.listen();
    log->info("metrics and health on http://{}:{}/metrics, /healthz, /readyz", host,
              acceptor.local_endpoint().port());
    for (;;) {
        tcp::socket socket = co_await acceptor.async_accept(asio::use_awaitable);
        asio::co_spawn(ex, serve_one(std::move(socket), handler, log), asio::detached);
    }
}

}  // namespace ksync::app
