// The HTTPS transport against real loopback servers: TLS verification, deadlines, framing,
// limits, redirects, keep-alive and the CONNECT proxy. Everything listens on 127.0.0.1, port 0.
#include "connectors/http/client.hpp"
#include "tests/support/log_capture.hpp"
#include "tests/support/run_coro.hpp"
#include "tests/unit/http/test_pki.hpp"
#include "tests/unit/http/test_server.hpp"

#include <boost/asio/ssl/error.hpp>

#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <chrono>
#include <memory>

namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using ksync::http::client;
using ksync::http::client_options;
using ksync::http::errc;
using ksync::http::request;
using ksync::http::result;
using ksync::http::result_kind;
using ksync::test::http::http_response;
using ksync::test::http::server_conn;
using ksync::test::http::test_pki;
using ksync::test::http::test_proxy;
using ksync::test::http::test_server;
using ksync::test::http::wait_until;

// ---- scripted server behaviours ------------------------------------------------------------

// Answers every request on the connection (keep-alive) with 200 "hello".
asio::awaitable<void> serve_hello(server_conn& c) {
    bhttp::request<bhttp::string_body> req;
    while (co_await c.read_request(req)) {
        auto resp = http_response(200, "hello " + std::string(req.target()),
                                  "Content-Type: text/xml; charset=UTF-8\r\n");
        if (!co_await c.write(std::move(resp))) co_return;
    }
}

// Answers one request with keep-alive, then closes the connection the way the name says.
asio::awaitable<void> serve_one_then_close_abruptly(server_conn& c) {
    bhttp::request<bhttp::string_body> req;
    if (!co_await c.read_request(req)) co_return;
    auto resp = http_response(200, "one");
    co_await c.write(std::move(resp));
    co_await c.sleep(50ms);
    c.close_abruptly();
}

asio::awaitable<void> serve_one_then_close_gracefully(server_conn& c) {
    bhttp::request<bhttp::string_body> req;
    if (!co_await c.read_request(req)) co_return;
    auto resp = http_response(200, "one");
    co_await c.write(std::move(resp));
    co_await c.close_gracefully();
}

// Reads the request and never answers (until the client gives up).
asio::awaitable<void> serve_silence(server_conn& c) {
    bhttp::request<bhttp::string_body> req;
    if (!co_await c.read_request(req)) co_return;
    co_await c.drain(60s);
}

// Never even reads (used as a plain TCP server under a TLS client: the handshake stalls).
asio::awaitable<void> serve_nothing(server_conn& c) { co_await c.drain(60s); }

// A valid header, then the body one byte every 250 ms: no single read is ever idle for long,
// so only a deadline over the whole response can stop it.
asio::awaitable<void> serve_drip(server_conn& c) {
    bhttp::request<bhttp::string_body> req;
    if (!co_await c.read_request(req)) co_return;
    if (!co_await c.write("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")) co_return;
    for (int i = 0; i < 1000; ++i) {
        co_await c.sleep(250ms);
        if (!co_await c.write("x")) co_return;
    }
}

asio::awaitable<void> serve_truncated_abrupt(server_conn& c) {
    bhttp::request<bhttp::string_body> req;
    if (!co_await c.read_request(req)) co_return;
    co_await c.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789");
    co_await c.sleep(50ms);
    c.close_abruptly();
}

asio::awaitable<void> serve_truncated_graceful(server_conn& c) {
    bhttp::request<bhttp::string_body> req;
    if (!co_await c.read_request(req)) co_return;
    co_await c.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789");
    co_await c.close_gracefully();
}

// A response framed by EOF (no Content-Length, no chunking).
asio::awaitable<void> serve_eof_framed_abrupt(server_conn& c) {
    bhttp::request<bhttp::string_body> req;
    if (!co_await c.read_request(req)) co_return;
    co_await c.write("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n<partial");
    co_await c.sleep(50ms);
    c.close_abruptly();
}

asio::awaitable<void> serve_eof_framed_graceful(server_conn& c) {
    bhttp::request<bhttp::string_body> req;
    if (!co_await c.read_request(req)) co_return;
    co_await c.write("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n<complete/>");
    co_await c.close_gracefully();
}

asio::awaitable<void> serve_reset_before_response(server_conn& c) {
    bhttp::request<bhttp::string_body> req;
    if (!co_await c.read_request(req)) co_return;
    c.reset();
}

asio::awaitable<void> serve_reset_mid_body(server_conn& c) {
    bhttp::request<bhttp::string_body> req;
    if (!co_await c.read_request(req)) co_return;
    co_await c.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789");
    co_await c.sleep(50ms);
    c.reset();
}

asio::awaitable<void> serve_big_body(server_conn& c) {
    bhttp::request<bhttp::string_body> req;
    if (!co_await c.read_request(req)) co_return;
    auto resp = http_response(200, std::string(5000, 'b'));
    co_await c.write(std::move(resp));
    co_await c.drain(5s);
}

asio::awaitable<void> serve_big_chunked(server_conn& c) {
    bhttp::request<bhttp::string_body> req;
    if (!co_await c.read_request(req)) co_return;
    std::string r = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (int i = 0; i < 4; ++i) r += "258\r\n" + std::string(600, 'c') + "\r\n";  // 4 x 600 bytes
    r += "0\r\n\r\n";
    co_await c.write(std::move(r));
    co_await c.drain(5s);
}

asio::awaitable<void> serve_big_header(server_conn& c) {
    bhttp::request<bhttp::string_body> req;
    if (!co_await c.read_request(req)) co_return;
    auto resp = http_response(200, "x", "X-Padding: " + std::string(4000, 'p') + "\r\n");
    co_await c.write(std::move(resp));
    co_await c.drain(5s);
}

asio::awaitable<void> serve_redirect(server_conn& c) {
    bhttp::request<bhttp::string_body> req;
    while (co_await c.read_request(req)) {
        auto resp = http_response(
            302, "", "Location: https://127.0.0.1:1/elsewhere?apikey=location-secret\r\n");
        if (!co_await c.write(std::move(resp))) co_return;
    }
}

asio::awaitable<void> serve_connection_close(server_conn& c) {
    bhttp::request<bhttp::string_body> req;
    if (!co_await c.read_request(req)) co_return;
    auto resp = http_response(200, "bye", "", false);
    co_await c.write(std::move(resp));
    co_await c.close_gracefully();
}

asio::awaitable<void> serve_429(server_conn& c) {
    bhttp::request<bhttp::string_body> req;
    if (!co_await c.read_request(req)) co_return;
    auto resp = http_response(429, "slow down", "Retry-After: 7\r\nContent-Type: text/plain\r\n");
    co_await c.write(std::move(resp));
    co_await c.drain(5s);
}

asio::awaitable<void> serve_continue_then_ok(server_conn& c) {
    bhttp::request<bhttp::string_body> req;
    if (!co_await c.read_request(req)) co_return;
    co_await c.write("HTTP/1.1 100 Continue\r\n\r\n" + http_response(200, "after continue"));
    co_await c.drain(5s);
}

asio::awaitable<void> serve_garbage(server_conn& c) {
    bhttp::request<bhttp::string_body> req;
    if (!co_await c.read_request(req)) co_return;
    co_await c.write("SSH-2.0-OpenSSH_9.2\r\n\r\n");
    co_await c.drain(5s);
}

// HEAD: a Content-Length but (correctly) no body.
asio::awaitable<void> serve_head(server_conn& c) {
    bhttp::request<bhttp::string_body> req;
    while (co_await c.read_request(req)) {
        if (!co_await c.write("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")) co_return;
    }
}

// Echoes method, content type and body, so a test can see what arrived.
asio::awaitable<void> serve_echo(server_conn& c) {
    bhttp::request<bhttp::string_body> req;
    while (co_await c.read_request(req)) {
        std::string body = std::string(req.method_string()) + "|" +
                           std::string(req[bhttp::field::content_type]) + "|" +
                           std::string(req["X-Custom"]) + "|" + std::string(req[bhttp::field::host]) +
                           "|" + req.body();
        auto resp = http_response(200, std::move(body));
        if (!co_await c.write(std::move(resp))) co_return;
    }
}

// ---- fixture ---------------------------------------------------------------------------------

class http_client : public ::testing::Test {
protected:
    static void SetUpTestSuite() { pki_ = new test_pki(); }
    static void TearDownTestSuite() {
        delete pki_;
        pki_ = nullptr;
    }

    static test_server::tls_files tls(const test_pki::leaf& l) { return {l.cert_file, l.key_file}; }
    static test_server::tls_files valid_tls() { return tls(pki_->valid()); }

    client_options options() const {
        client_options o;
        o.ca_file = pki_->ca_file();
        o.resolve_timeout = 5s;
        o.connect_timeout = 5s;
        o.handshake_timeout = 5s;
        o.write_timeout = 5s;
        o.read_timeout = 5s;
        return o;
    }

    std::unique_ptr<client> make(client_options o) {
        return std::make_unique<client>(ioc_.get_executor(), std::move(o), logs_.logger("http"));
    }

    result send(client& c, request r) { return ksync::test::run_coro(ioc_, c.send(std::move(r))); }

    static request get(std::uint16_t port, std::string target = "/x",
                       std::string host = "127.0.0.1", bool use_tls = true) {
        request r;
        r.to.tls = use_tls;
        r.to.host = std::move(host);
        r.to.port = port;
        r.method = bhttp::verb::get;
        r.target = std::move(target);
        return r;
    }

    static request post(std::uint16_t port, std::string body) {
        request r = get(port, "/api/index.php?e=/Tickets/Ticket");
        r.method = bhttp::verb::post;
        r.content_type = "application/x-www-form-urlencoded";
        r.body = std::move(body);
        return r;
    }

    static inline test_pki* pki_ = nullptr;
    asio::io_context ioc_;
    ksync::test::log_capture logs_;
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// ---- TLS -------------------------------------------------------------------------------------

TEST_F(http_client, valid_certificate_works_by_ip_and_by_name) {
    test_server server(valid_tls(), serve_hello);
    auto c = make(options());

    auto r = send(*c, get(server.port(), "/a"));
    ASSERT_EQ(r.kind, result_kind::response) << r.message;
    EXPECT_FALSE(r.error);
    EXPECT_EQ(r.res.status, 200u);
    EXPECT_EQ(r.res.body, "hello /a");
    EXPECT_EQ(r.res.content_type(), "text/xml; charset=UTF-8");
    EXPECT_EQ(server.last_sni(), "");  // no SNI for an IP literal (RFC 6066)

    auto r2 = send(*c, get(server.port(), "/b", "localhost"));
    ASSERT_EQ(r2.kind, result_kind::response) << r2.message;
    EXPECT_EQ(r2.res.body, "hello /b");
    EXPECT_EQ(server.last_sni(), "localhost");
    EXPECT_EQ(server.requests(), 2u);
}

TEST_F(http_client, system_store_does_not_trust_the_test_ca) {
    test_server server(valid_tls(), serve_hello);
    client_options o = options();
    o.ca_file.clear();  // system CAs only
    auto c = make(o);
    auto r = send(*c, get(server.port()));
    EXPECT_EQ(r.kind, result_kind::not_connected);
    EXPECT_EQ(r.error, errc::certificate_rejected) << r.message;
    EXPECT_EQ(server.request_bytes(), 0u);
}

struct bad_cert_case {
    const char* name;
    const test_pki::leaf& (test_pki::*leaf)() const;
    const char* host;
    const char* reason;  // expected in the message (OpenSSL's verify-result text)
};

class http_client_bad_cert : public http_client,
                             public ::testing::WithParamInterface<bad_cert_case> {};

TEST_P(http_client_bad_cert, refused_before_any_request_byte) {
    const auto& p = GetParam();
    test_server server(tls((pki_->*p.leaf)()), serve_hello);
    auto c = make(options());
    auto r = send(*c, get(server.port(), "/x?apikey=k&salt=s&signature=sig", p.host));
    EXPECT_EQ(r.kind, result_kind::not_connected) << r.message;
    EXPECT_EQ(r.error, errc::certificate_rejected) << r.message;
    EXPECT_NE(r.message.find(p.reason), std::string::npos) << r.message;
    EXPECT_EQ(server.accepts(), 1u);
    EXPECT_EQ(server.handshakes_ok(), 0u);
    EXPECT_TRUE(wait_until([&] { return server.handshakes_failed() == 1; }));
    EXPECT_EQ(server.request_bytes(), 0u);
    EXPECT_EQ(server.requests(), 0u);
    EXPECT_EQ(c->stats().bytes_sent, 0u);
}

INSTANTIATE_TEST_SUITE_P(
    certs, http_client_bad_cert,
    ::testing::Values(bad_cert_case{"wrong_host_by_name", &test_pki::wrong_host, "localhost",
                                    "mismatch"},
                      bad_cert_case{"wrong_host_by_ip", &test_pki::wrong_host, "127.0.0.1",
                                    "mismatch"},
                      bad_cert_case{"self_signed", &test_pki::self_signed, "localhost",
                                    "self-signed"},
                      bad_cert_case{"expired", &test_pki::expired, "localhost", "expired"},
                      bad_cert_case{"unknown_ca", &test_pki::unknown_ca, "localhost",
                                    "local issuer"}),
    [](const auto& tp) { return std::string(tp.param.name); });

TEST_F(http_client, missing_ca_file_is_a_construction_error) {
    client_options o = options();
    o.ca_file = (pki_->dir() / "does-not-exist.pem").string();
    EXPECT_THROW(make(o), std::runtime_error);
}

// ---- deadlines -------------------------------------------------------------------------------

TEST_F(http_client, server_that_never_answers_times_out_as_maybe_sent) {
    test_server server(valid_tls(), serve_silence);
    client_options o = options();
    o.read_timeout = 1s;
    auto c = make(o);
    const auto t0 = std::chrono::steady_clock::now();
    auto r = send(*c, get(server.port(), "/x?apikey=topsecret"));
    const double took = seconds_since(t0);
    EXPECT_EQ(r.kind, result_kind::maybe_sent) << r.message;
    EXPECT_EQ(r.error, errc::timeout);
    EXPECT_LT(took, 10.0);  // generous ceiling: the deadline is 1 s
    EXPECT_EQ(server.requests(), 1u);
    EXPECT_EQ(r.message.find("topsecret"), std::string::npos) << r.message;
    EXPECT_NE(r.message.find("apikey=***"), std::string::npos) << r.message;
}

TEST_F(http_client, byte_drip_is_stopped_by_the_whole_response_deadline) {
    test_server server(valid_tls(), serve_drip);
    client_options o = options();
    o.read_timeout = 1s;
    auto c = make(o);
    const auto t0 = std::chrono::steady_clock::now();
    auto r = send(*c, get(server.port()));
    const double took = seconds_since(t0);
    EXPECT_EQ(r.kind, result_kind::maybe_sent) << r.message;
    EXPECT_EQ(r.error, errc::timeout) << r.message;
    EXPECT_LT(took, 10.0);
}

TEST_F(http_client, stalled_tls_handshake_times_out_as_not_connected) {
    test_server server(std::nullopt, serve_nothing);  // plain TCP: never speaks TLS
    client_options o = options();
    o.handshake_timeout = 1s;
    auto c = make(o);
    const auto t0 = std::chrono::steady_clock::now();
    auto r = send(*c, get(server.port()));
    EXPECT_EQ(r.kind, result_kind::not_connected) << r.message;
    EXPECT_EQ(r.error, errc::timeout) << r.message;
    EXPECT_LT(seconds_since(t0), 10.0);
    EXPECT_EQ(server.request_bytes(), 0u);
}

// A listener whose accept queue is full drops SYNs, so connect() hangs until our deadline.
TEST_F(http_client, hanging_connect_times_out_as_not_connected) {
    const int lfd = ::socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(lfd, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ASSERT_EQ(::listen(lfd, 0), 0);
    socklen_t len = sizeof addr;
    ASSERT_EQ(::getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    std::vector<int> fillers;
    for (int i = 0; i < 4; ++i) {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        (void)::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
        fillers.push_back(fd);
    }
    client_options o = options();
    o.connect_timeout = 500ms;
    auto c = make(o);
    const auto t0 = std::chrono::steady_clock::now();
    auto r = send(*c, get(ntohs(addr.sin_port)));
    EXPECT_EQ(r.kind, result_kind::not_connected) << r.message;
    EXPECT_EQ(r.error, errc::timeout) << r.message;
    EXPECT_LT(seconds_since(t0), 10.0);
    for (int fd : fillers) ::close(fd);
    ::close(lfd);
}

TEST_F(http_client, refused_connection_is_not_connected) {
    std::uint16_t port = 0;
    {
        asio::ip::tcp::acceptor a(ioc_, {asio::ip::make_address("127.0.0.1"), 0});
        port = a.local_endpoint().port();
    }  // closed: nothing listens there now
    auto c = make(options());
    auto r = send(*c, get(port));
    EXPECT_EQ(r.kind, result_kind::not_connected);
    EXPECT_EQ(r.error, errc::connect_failed) << r.message;
}

TEST_F(http_client, unresolvable_host_is_not_connected_and_bounded) {
    client_options o = options();
    o.resolve_timeout = 3s;
    auto c = make(o);
    const auto t0 = std::chrono::steady_clock::now();
    auto r = send(*c, get(443, "/", "no-such-host.invalid"));
    EXPECT_EQ(r.kind, result_kind::not_connected) << r.message;
    // Without network access the lookup may fail fast or hang; both must end as not_connected.
    EXPECT_TRUE(r.error == errc::resolve_failed || r.error == errc::timeout) << r.message;
    EXPECT_LT(seconds_since(t0), 20.0);
}

// ---- framing, resets, limits -------------------------------------------------------------------

struct failure_case {
    const char* name;
    test_server::handler handler;
    result_kind kind;
    errc error;
};

class http_client_failure : public http_client,
                            public ::testing::WithParamInterface<failure_case> {};

TEST_P(http_client_failure, is_reported_with_the_right_kind) {
    const auto& p = GetParam();
    test_server server(valid_tls(), p.handler);
    client_options o = options();
    o.body_limit = 1000;
    o.header_limit = 2000;
    auto c = make(o);
    auto r = send(*c, get(server.port()));
    EXPECT_EQ(r.kind, p.kind) << r.message;
    EXPECT_EQ(r.error, p.error) << r.message << " / cause: " << r.cause.message();
    EXPECT_TRUE(r.res.body.empty() || r.kind == result_kind::response);
    EXPECT_EQ(server.requests(), 1u);
    EXPECT_EQ(c->idle_connections(), 0u);  // a failed connection is never pooled
}

INSTANTIATE_TEST_SUITE_P(
    responses, http_client_failure,
    ::testing::Values(
        failure_case{"truncated_body_abrupt_close", serve_truncated_abrupt, result_kind::maybe_sent,
                     errc::truncated},
        failure_case{"truncated_body_clean_close", serve_truncated_graceful,
                     result_kind::maybe_sent, errc::truncated},
        failure_case{"eof_framed_body_without_close_notify", serve_eof_framed_abrupt,
                     result_kind::maybe_sent, errc::truncated},
        failure_case{"reset_before_response", serve_reset_before_response,
                     result_kind::maybe_sent, errc::connection_closed},
        failure_case{"reset_mid_body", serve_reset_mid_body, result_kind::maybe_sent,
                     errc::truncated},
        failure_case{"body_over_limit", serve_big_body, result_kind::response_too_large,
                     errc::body_limit_exceeded},
        failure_case{"chunked_body_over_limit", serve_big_chunked, result_kind::response_too_large,
                     errc::body_limit_exceeded},
        failure_case{"header_over_limit", serve_big_header, result_kind::response_too_large,
                     errc::header_limit_exceeded},
        failure_case{"garbage_response", serve_garbage, result_kind::maybe_sent,
                     errc::bad_response},
        failure_case{"server_closes_fresh_connection_without_answer",
                     [](server_conn& c) -> asio::awaitable<void> {
                         bhttp::request<bhttp::string_body> req;
                         if (co_await c.read_request(req)) co_await c.close_gracefully();
                     },
                     result_kind::maybe_sent, errc::connection_closed}),
    [](const auto& tp) { return std::string(tp.param.name); });

TEST_F(http_client, reset_keeps_the_underlying_cause) {
    test_server server(valid_tls(), serve_reset_before_response);
    auto c = make(options());
    auto r = send(*c, get(server.port()));
    EXPECT_EQ(r.kind, result_kind::maybe_sent);
    EXPECT_EQ(r.cause, asio::error::connection_reset) << r.cause.message();
}

TEST_F(http_client, body_over_limit_keeps_status_and_headers) {
    test_server server(valid_tls(), serve_big_body);
    client_options o = options();
    o.body_limit = 1000;
    auto c = make(o);
    auto r = send(*c, get(server.port()));
    ASSERT_EQ(r.kind, result_kind::response_too_large);
    EXPECT_EQ(r.res.status, 200u);
    EXPECT_EQ(r.res.header("content-length").value_or(""), "5000");
    EXPECT_TRUE(r.res.body.empty());
}

TEST_F(http_client, body_exactly_at_the_limit_is_accepted) {
    test_server server(valid_tls(), serve_big_body);
    client_options o = options();
    o.body_limit = 5000;
    auto c = make(o);
    auto r = send(*c, get(server.port()));
    ASSERT_EQ(r.kind, result_kind::response) << r.message;
    EXPECT_EQ(r.res.body.size(), 5000u);
}

TEST_F(http_client, eof_framed_body_with_close_notify_is_complete) {
    test_server server(valid_tls(), serve_eof_framed_graceful);
    auto c = make(options());
    auto r = send(*c, get(server.port()));
    ASSERT_EQ(r.kind, result_kind::response) << r.message;
    EXPECT_EQ(r.res.body, "<complete/>");
    EXPECT_EQ(c->idle_connections(), 0u);
}

TEST_F(http_client, redirect_is_refused_not_followed) {
    test_server server(valid_tls(), serve_redirect);
    auto c = make(options());
    auto r = send(*c, get(server.port(), "/api/index.php?e=/Tickets&apikey=topsecret&salt=s1&"
                                          "signature=sig-value"));
    EXPECT_EQ(r.kind, result_kind::redirect_refused) << r.message;
    EXPECT_EQ(r.error, errc::redirect_refused);
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.res.status, 302u);
    EXPECT_TRUE(r.res.header("Location").has_value());
    EXPECT_EQ(server.requests(), 1u);
    EXPECT_EQ(server.accepts(), 1u);
    for (const char* secret : {"topsecret", "sig-value", "location-secret"}) {
        EXPECT_EQ(r.message.find(secret), std::string::npos) << r.message;
        EXPECT_FALSE(logs_.contains(secret));
    }
}

TEST_F(http_client, status_codes_and_retry_after_reach_the_caller) {
    test_server server(valid_tls(), serve_429);
    auto c = make(options());
    auto r = send(*c, get(server.port()));
    ASSERT_EQ(r.kind, result_kind::response) << r.message;
    EXPECT_TRUE(r.ok());
    EXPECT_EQ(r.res.status, 429u);
    EXPECT_EQ(r.res.retry_after().value_or(""), "7");
    EXPECT_EQ(r.res.content_type(), "text/plain");
    EXPECT_EQ(r.res.body, "slow down");
}

TEST_F(http_client, interim_100_continue_is_skipped) {
    test_server server(valid_tls(), serve_continue_then_ok);
    auto c = make(options());
    auto r = send(*c, get(server.port()));
    ASSERT_EQ(r.kind, result_kind::response) << r.message;
    EXPECT_EQ(r.res.status, 200u);
    EXPECT_EQ(r.res.body, "after continue");
}

TEST_F(http_client, head_response_has_no_body) {
    test_server server(valid_tls(), serve_head);
    auto c = make(options());
    auto req = get(server.port());
    req.method = bhttp::verb::head;
    auto r = send(*c, req);
    ASSERT_EQ(r.kind, result_kind::response) << r.message;
    EXPECT_TRUE(r.res.body.empty());
    auto r2 = send(*c, req);  // the connection stayed in sync
    ASSERT_EQ(r2.kind, result_kind::response) << r2.message;
    EXPECT_TRUE(r2.reused_connection);
}

TEST_F(http_client, post_sends_body_content_type_and_headers) {
    test_server server(valid_tls(), serve_echo);
    auto c = make(options());
    auto req = post(server.port(), "subject=Hi&apikey=k");
    req.headers.push_back({"X-Custom", "yes"});
    req.headers.push_back({"Host", "evil.example"});  // reserved: ignored
    auto r = send(*c, req);
    ASSERT_EQ(r.kind, result_kind::response) << r.message;
    EXPECT_EQ(r.res.body,
              "POST|application/x-www-form-urlencoded|yes|127.0.0.1:" +
                  std::to_string(server.port()) + "|subject=Hi&apikey=k");
    EXPECT_GT(c->stats().bytes_sent, 0u);
    EXPECT_GE(c->stats().bytes_received, r.res.body.size());
}

TEST_F(http_client, invalid_requests_never_connect) {
    test_server server(valid_tls(), serve_hello);
    auto c = make(options());
    auto bad_header = get(server.port());
    bad_header.headers.push_back({"X-Injected", "a\r\nX-Evil: 1"});
    auto bad_target = get(server.port(), "no-slash");
    auto no_host = get(server.port(), "/", "");
    for (auto& req : {bad_header, bad_target, no_host}) {
        auto r = send(*c, req);
        EXPECT_EQ(r.kind, result_kind::not_connected);
        EXPECT_EQ(r.error, errc::invalid_request);
    }
    EXPECT_EQ(server.accepts(), 0u);
}

// ---- keep-alive ------------------------------------------------------------------------------

TEST_F(http_client, two_gets_reuse_one_connection) {
    test_server server(valid_tls(), serve_hello);
    auto c = make(options());
    auto r1 = send(*c, get(server.port(), "/1"));
    auto r2 = send(*c, get(server.port(), "/2"));
    ASSERT_TRUE(r1.ok()) << r1.message;
    ASSERT_TRUE(r2.ok()) << r2.message;
    EXPECT_FALSE(r1.reused_connection);
    EXPECT_TRUE(r2.reused_connection);
    EXPECT_EQ(r2.res.body, "hello /2");
    EXPECT_EQ(server.accepts(), 1u);
    EXPECT_EQ(c->stats().connections_opened, 1u);
    EXPECT_EQ(c->stats().connections_reused, 1u);
    EXPECT_EQ(c->idle_connections(), 1u);
    c->close_idle();
    EXPECT_EQ(c->idle_connections(), 0u);
}

TEST_F(http_client, idle_connection_past_idle_timeout_is_not_reused) {
    test_server server(valid_tls(), serve_hello);
    client_options o = options();
    o.idle_timeout = 0ms;
    auto c = make(o);
    ASSERT_TRUE(send(*c, get(server.port())).ok());
    auto r = send(*c, get(server.port()));
    ASSERT_TRUE(r.ok()) << r.message;
    EXPECT_FALSE(r.reused_connection);
    EXPECT_EQ(server.accepts(), 2u);
}

TEST_F(http_client, connection_close_response_is_not_pooled) {
    test_server server(valid_tls(), serve_connection_close);
    auto c = make(options());
    auto r1 = send(*c, get(server.port()));
    ASSERT_TRUE(r1.ok()) << r1.message;
    EXPECT_EQ(c->idle_connections(), 0u);
    auto r2 = send(*c, get(server.port()));
    ASSERT_TRUE(r2.ok()) << r2.message;
    EXPECT_FALSE(r2.reused_connection);
    EXPECT_EQ(server.accepts(), 2u);
}

class http_client_stale : public http_client,
                          public ::testing::WithParamInterface<test_server::handler> {};

TEST_P(http_client_stale, get_on_a_closed_pooled_connection_is_retried_once_fresh) {
    test_server server(valid_tls(), GetParam());
    auto c = make(options());
    auto r1 = send(*c, get(server.port(), "/1"));
    ASSERT_TRUE(r1.ok()) << r1.message;
    ASSERT_EQ(c->idle_connections(), 1u);
    ASSERT_TRUE(wait_until([&] { return server.handlers_done() == 1; }));  // server closed it

    auto r2 = send(*c, get(server.port(), "/2"));
    ASSERT_TRUE(r2.ok()) << r2.message;
    EXPECT_TRUE(r2.retried_stale);
    EXPECT_FALSE(r2.reused_connection);
    EXPECT_EQ(r2.res.body, "one");
    EXPECT_EQ(server.accepts(), 2u);
    EXPECT_EQ(server.requests(), 2u);  // the stale attempt reached nobody
    EXPECT_EQ(c->stats().stale_retries, 1u);
}

INSTANTIATE_TEST_SUITE_P(closes, http_client_stale,
                         ::testing::Values(serve_one_then_close_abruptly,
                                           serve_one_then_close_gracefully));

TEST_F(http_client, post_never_uses_a_pooled_connection) {
    test_server server(valid_tls(), serve_echo);
    auto c = make(options());
    ASSERT_TRUE(send(*c, get(server.port())).ok());
    ASSERT_EQ(c->idle_connections(), 1u);
    auto r = send(*c, post(server.port(), "a=1"));
    ASSERT_TRUE(r.ok()) << r.message;
    EXPECT_FALSE(r.reused_connection);
    EXPECT_EQ(server.accepts(), 2u);
    EXPECT_EQ(c->stats().connections_reused, 0u);
}

TEST_F(http_client, post_whose_connection_dies_is_maybe_sent_and_not_retried) {
    test_server server(valid_tls(), [](server_conn& c) -> asio::awaitable<void> {
        bhttp::request<bhttp::string_body> req;
        if (co_await c.read_request(req)) c.close_abruptly();
    });
    auto c = make(options());
    auto r = send(*c, post(server.port(), "subject=x"));
    EXPECT_EQ(r.kind, result_kind::maybe_sent) << r.message;
    EXPECT_FALSE(r.retried_stale);
    EXPECT_EQ(server.accepts(), 1u);
    EXPECT_EQ(server.requests(), 1u);
    EXPECT_EQ(c->stats().stale_retries, 0u);
}

TEST_F(http_client, get_on_a_fresh_connection_is_not_retried) {
    test_server server(valid_tls(), serve_reset_before_response);
    auto c = make(options());
    auto r = send(*c, get(server.port()));
    EXPECT_EQ(r.kind, result_kind::maybe_sent);
    EXPECT_FALSE(r.retried_stale);
    EXPECT_EQ(server.accepts(), 1u);
}

// ---- proxy -----------------------------------------------------------------------------------

TEST_F(http_client, connect_proxy_tunnels_to_the_origin_with_its_certificate) {
    test_server origin(valid_tls(), serve_hello);
    test_proxy proxy;
    client_options o = options();
    o.proxy = "http://127.0.0.1:" + std::to_string(proxy.port());
    auto c = make(o);
    auto r = send(*c, get(origin.port(), "/via-proxy", "localhost"));
    ASSERT_EQ(r.kind, result_kind::response) << r.message;
    EXPECT_EQ(r.res.body, "hello /via-proxy");
    EXPECT_EQ(proxy.tunnels(), 1u);
    EXPECT_EQ(proxy.last_connect_target(), "localhost:" + std::to_string(origin.port()));
    EXPECT_EQ(origin.last_sni(), "localhost");
    EXPECT_EQ(origin.requests(), 1u);
    // keep-alive works through the tunnel too
    auto r2 = send(*c, get(origin.port(), "/again", "localhost"));
    ASSERT_TRUE(r2.ok()) << r2.message;
    EXPECT_TRUE(r2.reused_connection);
    EXPECT_EQ(proxy.tunnels(), 1u);
}

TEST_F(http_client, proxy_does_not_weaken_certificate_checks) {
    test_server origin(tls(pki_->wrong_host()), serve_hello);
    test_proxy proxy;
    client_options o = options();
    o.proxy = "http://127.0.0.1:" + std::to_string(proxy.port());
    auto c = make(o);
    auto r = send(*c, get(origin.port(), "/", "localhost"));
    EXPECT_EQ(r.kind, result_kind::not_connected);
    EXPECT_EQ(r.error, errc::certificate_rejected) << r.message;
    EXPECT_EQ(origin.request_bytes(), 0u);
}

TEST_F(http_client, proxy_refusal_is_not_connected) {
    test_server origin(valid_tls(), serve_hello);
    test_proxy proxy(/*refuse=*/true);
    client_options o = options();
    o.proxy = "http://127.0.0.1:" + std::to_string(proxy.port());
    auto c = make(o);
    auto r = send(*c, post(origin.port(), "x=1"));
    EXPECT_EQ(r.kind, result_kind::not_connected);
    EXPECT_EQ(r.error, errc::proxy_refused) << r.message;
    EXPECT_EQ(origin.accepts(), 0u);
}

TEST_F(http_client, bad_proxy_setting_is_a_construction_error) {
    for (const char* bad : {"https://127.0.0.1:3128", "127.0.0.1:3128", "http://h:3128/path"}) {
        client_options o = options();
        o.proxy = bad;
        EXPECT_THROW(make(o), std::invalid_argument) << bad;
    }
}

// ---- plain http ------------------------------------------------------------------------------

TEST_F(http_client, plain_http_is_refused_unless_allowed) {
    test_server server(std::nullopt, serve_hello);
    auto strict = make(options());
    auto r = send(*strict, get(server.port(), "/plain", "127.0.0.1", false));
    EXPECT_EQ(r.kind, result_kind::not_connected);
    EXPECT_EQ(r.error, errc::plain_http_refused);
    EXPECT_EQ(server.accepts(), 0u);
    EXPECT_FALSE(logs_.contains("plain http"));

    client_options o = options();
    o.allow_plain_http = true;
    auto lax = make(o);
    EXPECT_TRUE(logs_.contains("plain http is allowed"));
    auto r2 = send(*lax, get(server.port(), "/plain", "127.0.0.1", false));
    ASSERT_EQ(r2.kind, result_kind::response) << r2.message;
    EXPECT_EQ(r2.res.body, "hello /plain");
    EXPECT_TRUE(logs_.contains("plain http connection"));
    // Several connections to one origin (this server closes each): warned about once, not once
    // per connection.
    test_server closing(std::nullopt, serve_connection_close);
    for (int i = 0; i < 3; ++i) {
        auto again = send(*lax, get(closing.port(), "/plain", "127.0.0.1", false));
        ASSERT_EQ(again.kind, result_kind::response) << again.message;
    }
    ASSERT_EQ(closing.accepts(), 3u) << "connections were reused: the test shows nothing";
    const std::string origin = ":" + std::to_string(closing.port());
    std::size_t warned = 0;
    for (const auto& line : logs_.lines())
        if (line.find("warning") != std::string::npos &&
            line.find("plain http connection") != std::string::npos &&
            line.find(origin) != std::string::npos)
            ++warned;
    EXPECT_EQ(warned, 1u) << logs_.text();
}

}  // namespace
