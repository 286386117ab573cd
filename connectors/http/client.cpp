#include "connectors/http/client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <fmt/format.h>

#include <map>
#include <set>
#include <stdexcept>
#include <utility>
#include <vector>

namespace ksync::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;
using boost::system::error_code;
using clock_type = std::chrono::steady_clock;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

using tls_stream = beast::ssl_stream<beast::tcp_stream>;

bool is_ip_literal(const std::string& host) {
    error_code ec;
    asio::ip::make_address(host, ec);
    return !ec;
}

bool is_header_token_char(char c) {
    const auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u < 0x7f && c != ':';
}

bool valid_header_value(std::string_view v) {
    for (char c : v)
        if (c == '\r' || c == '\n' || c == '\0') return false;
    return true;
}

bool is_reserved_header(std::string_view name) {
    static constexpr std::string_view reserved[] = {"host", "content-length", "content-type",
                                                    "connection", "transfer-encoding"};
    for (auto r : reserved) {
        if (r.size() != name.size()) continue;
        bool same = true;
        for (std::size_t i = 0; i < r.size() && same; ++i)
            same = std::tolower(static_cast<unsigned char>(name[i])) == r[i];
        if (same) return true;
    }
    return false;
}

// The errors that mean "the peer closed the connection" rather than "something timed out or
// could not be parsed"; on a pooled connection before any response byte, they mean stale.
bool is_closed_error(const error_code& ec) {
    return ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
           ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
           ec == asio::error::connection_aborted || ec == asio::error::not_connected ||
           ec == ssl::error::stream_truncated;
}

struct connection {
    origin where;
    std::unique_ptr<tls_stream> tls;
    std::unique_ptr<beast::tcp_stream> plain;
    beast::flat_buffer buffer;
    clock_type::time_point idle_since{};

    beast::tcp_stream& tcp() { return tls ? beast::get_lowest_layer(*tls) : *plain; }
    void close() {
        error_code ignored;
        tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
        tcp().close();
    }
};

// Result of one attempt on one connection.
struct attempt {
    result res;
    bool stale = false;       // pooled connection found dead before any response byte
    bool keep_alive = false;  // the connection may serve another request
};

struct resolve_state {
    explicit resolve_state(const asio::any_io_executor& ex) : resolver(ex), signal(ex) {}
    tcp::resolver resolver;
    asio::steady_timer signal;
    bool done = false;
    error_code ec;
    tcp::resolver::results_type results;
};

// getaddrinfo runs on Asio's helper thread and cannot be interrupted; the resolve therefore runs
// detached and the caller waits on a timer that the resolve cancels when it finishes. On timeout
// the caller walks away; the detached task finishes on its own and only touches the shared state.
asio::awaitable<void> run_resolve(std::shared_ptr<resolve_state> st, std::string host,
                                  std::string port) {
    auto [ec, results] = co_await st->resolver.async_resolve(host, port, use_tuple);
    st->ec = ec;
    st->results = std::move(results);
    st->done = true;
    st->signal.cancel();
}

std::string describe(const error_code& ec) { return ec.message(); }

}  // namespace

struct client::impl {
    impl(asio::any_io_executor ex, client_options o, std::shared_ptr<spdlog::logger> l)
        : executor(std::move(ex)),
          opts(std::move(o)),
          log(l ? std::move(l) : logging_null()),
          ctx(ssl::context::tls_client) {
        if (!opts.proxy.empty()) {
            auto p = parse_url(opts.proxy);
            if (!p || p->where.tls || p->target != "/")
                throw std::invalid_argument(
                    "http proxy must look like http://host:port (https proxies are not "
                    "supported)");
            proxy = p->where;
        }
        if (SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION) != 1)
            throw std::runtime_error("cannot set the minimum TLS version");
        ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                        ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                        ssl::context::no_tlsv1_1 | ssl::context::no_compression);
        error_code ec;
        if (opts.ca_file.empty()) {
            ctx.set_default_verify_paths(ec);
            if (ec) throw std::runtime_error("cannot load the system CA store: " + ec.message());
        } else {
            ctx.load_verify_file(opts.ca_file, ec);
            if (ec)
                throw std::runtime_error("cannot load ca_file " + opts.ca_file + ": " +
                                         ec.message());
        }
        ctx.set_verify_mode(ssl::verify_peer);
        if (opts.allow_plain_http)
            log->warn(
                "plain http is allowed by the configuration: requests to http:// URLs travel "
                "unencrypted, with their credentials");
    }

    static std::shared_ptr<spdlog::logger> logging_null() {
        return std::make_shared<spdlog::logger>("http-null");
    }

    asio::any_io_executor executor;
    client_options opts;
    std::shared_ptr<spdlog::logger> log;
    ssl::context ctx;
    std::optional<origin> proxy;
    std::set<std::string> plain_warned;  // origins whose plain connection was warned about
    std::map<std::string, std::vector<std::unique_ptr<connection>>> pool;
    client_stats stats;

    // ---------------------------------------------------------------------------------------
    static std::string label(const request& req) {
        return fmt::format("{} {}{}", std::string_view(bhttp::to_string(req.method)),
                           req.to.to_string(), redact_target(req.target));
    }

    static result fail(result_kind kind, errc code, const error_code& cause, std::string what) {
        result r;
        r.kind = kind;
        r.error = code;
        r.cause = cause;
        r.message = std::move(what);
        return r;
    }

    std::unique_ptr<connection> take_idle(const origin& where) {
        auto it = pool.find(where.to_string());
        if (it == pool.end()) return nullptr;
        auto& list = it->second;
        const auto now = clock_type::now();
        while (!list.empty()) {
            auto conn = std::move(list.back());  // most recently used first
            list.pop_back();
            if (now - conn->idle_since <= opts.idle_timeout) return conn;
            conn->close();  // too old: the server has probably dropped it already
        }
        return nullptr;
    }

    void put_idle(std::unique_ptr<connection> conn) {
        auto& list = pool[conn->where.to_string()];
        if (list.size() >= opts.max_idle_per_origin) {
            conn->close();
            return;
        }
        conn->idle_since = clock_type::now();
        list.push_back(std::move(conn));
    }

    // Closes a connection that is done. TLS gets a bounded close_notify exchange whose errors
    // (stream_truncated in particular: the peer may just drop the socket) are ignored; the
    // response was complete before we got here.
    asio::awaitable<void> retire(std::unique_ptr<connection> conn) {
        if (conn->tls) {
            conn->tcp().expires_after(opts.shutdown_timeout);
            auto [ec] = co_await conn->tls->async_shutdown(use_tuple);
            (void)ec;
        }
        conn->close();
    }

    // ---------------------------------------------------------------------------------------
    // Establishes a connection: resolve, TCP connect, optional proxy CONNECT, TLS handshake. On
    // failure the result is not_connected: not one byte of the request has been written.
    asio::awaitable<std::pair<std::unique_ptr<connection>, result>> open(request req) {
        const origin& where = req.to;
        const origin& hop = proxy ? *proxy : where;
        const std::string what = label(req);
        auto failed = [](result r) {
            return std::pair<std::unique_ptr<connection>, result>{nullptr, std::move(r)};
        };

        // 1. resolve (the proxy's name when proxied: the proxy resolves the origin).
        auto st = std::make_shared<resolve_state>(executor);
        st->signal.expires_after(opts.resolve_timeout);
        auto task = run_resolve(st, hop.host, std::to_string(hop.port));
        asio::co_spawn(executor, std::move(task), asio::detached);
        if (!st->done) {
            auto [wait_ec] = co_await st->signal.async_wait(use_tuple);
            (void)wait_ec;
        }
        if (!st->done) {
            st->resolver.cancel();
            co_return failed(fail(result_kind::not_connected, errc::timeout,
                                  asio::error::timed_out,
                                  fmt::format("{}: resolving {} timed out after {} ms", what,
                                              hop.host, opts.resolve_timeout.count())));
        }
        if (st->ec || st->results.empty())
            co_return failed(fail(result_kind::not_connected, errc::resolve_failed, st->ec,
                                  fmt::format("{}: resolving {} failed: {}", what, hop.host,
                                              describe(st->ec))));

        auto conn = std::make_unique<connection>();
        conn->where = where;
        if (where.tls)
            conn->tls = std::make_unique<tls_stream>(executor, ctx);
        else
            conn->plain = std::make_unique<beast::tcp_stream>(executor);

        // 2. TCP connect; one deadline over all resolved addresses.
        conn->tcp().expires_after(opts.connect_timeout);
        auto [cec, ep] = co_await conn->tcp().async_connect(st->results, use_tuple);
        (void)ep;
        if (cec) {
            const bool timed_out = cec == beast::error::timeout;
            co_return failed(fail(
                result_kind::not_connected, timed_out ? errc::timeout : errc::connect_failed, cec,
                fmt::format("{}: connecting to {}{} {}", what, proxy ? "proxy " : "",
                            hop.to_string(),
                            timed_out ? fmt::format("timed out after {} ms",
                                                    opts.connect_timeout.count())
                                      : "failed: " + describe(cec))));
        }

        // 3. proxy tunnel
        if (proxy) {
            auto r = co_await tunnel(*conn, what);
            if (r) co_return failed(std::move(*r));
        } else if (!where.tls) {
            // Once per origin at warning level: the configuration's warning already covers every
            // request, and a line per connection buried a long-running daemon's log (1,117 of its
            // 2,141 lines in a 30-minute soak).
            auto text = where.to_string();
            if (plain_warned.insert(text).second)
                log->warn("plain http connection to {} (unencrypted; said once per origin)", text);
            else
                log->debug("plain http connection to {} (unencrypted)", text);
        }

        // 4. TLS
        if (where.tls) {
            SSL* handle = conn->tls->native_handle();
            // SNI carries names only (RFC 6066 §3 forbids IP literals).
            const bool ip = is_ip_literal(where.host);
            // SSL_set_tlsext_host_name is a macro with a C cast; this is its expansion.
            if (!ip && SSL_ctrl(handle, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                                const_cast<char*>(where.host.c_str())) != 1)
                co_return failed(fail(result_kind::not_connected, errc::tls_failed, {},
                                      what + ": cannot set SNI"));
            // Host-name check twice over: OpenSSL's own (precise verify-result for the message)
            // and Asio's callback (the documented Beast recipe).
            const int set_ok =
                ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(handle), where.host.c_str())
                   : SSL_set1_host(handle, where.host.c_str());
            if (set_ok != 1)
                co_return failed(fail(result_kind::not_connected, errc::tls_failed, {},
                                      what + ": cannot set the expected host name"));
            conn->tls->set_verify_callback(ssl::host_name_verification(where.host));

            conn->tcp().expires_after(opts.handshake_timeout);
            auto [hec] = co_await conn->tls->async_handshake(ssl::stream_base::client, use_tuple);
            if (hec) {
                if (hec == beast::error::timeout)
                    co_return failed(fail(result_kind::not_connected, errc::timeout, hec,
                                          fmt::format("{}: TLS handshake timed out after {} ms",
                                                      what, opts.handshake_timeout.count())));
                const long verify = SSL_get_verify_result(handle);
                if (verify != X509_V_OK ||
                    (hec.category() == asio::error::get_ssl_category() &&
                     ERR_GET_REASON(static_cast<unsigned long>(hec.value())) ==
                         SSL_R_CERTIFICATE_VERIFY_FAILED))
                    co_return failed(fail(
                        result_kind::not_connected, errc::certificate_rejected, hec,
                        fmt::format("{}: server certificate rejected: {}", what,
                                    verify != X509_V_OK ? X509_verify_cert_error_string(verify)
                                                        : "verification failed")));
                co_return failed(fail(result_kind::not_connected, errc::tls_failed, hec,
                                      fmt::format("{}: TLS handshake failed: {}", what,
                                                  describe(hec))));
            }
        }
        ++stats.connections_opened;
        log->debug("connected to {}{}", where.to_string(),
                   proxy ? " via proxy " + proxy->to_string() : std::string());
        co_return std::pair<std::unique_ptr<connection>, result>{std::move(conn), result{}};
    }

    // CONNECT host:port through the proxy; nullopt on success.
    asio::awaitable<std::optional<result>> tunnel(connection& conn, std::string what) {
        const std::string authority =
            (conn.where.host.find(':') != std::string::npos ? "[" + conn.where.host + "]"
                                                            : conn.where.host) +
            ":" + std::to_string(conn.where.port);
        bhttp::request<bhttp::empty_body> creq{bhttp::verb::connect, authority, 11};
        creq.set(bhttp::field::host, authority);
        creq.set(bhttp::field::user_agent, opts.user_agent);
        auto& sock = conn.tcp();
        sock.expires_after(opts.connect_timeout);
        auto [wec, wn] = co_await bhttp::async_write(sock, creq, use_tuple);
        (void)wn;
        if (wec)
            co_return fail(result_kind::not_connected,
                           wec == beast::error::timeout ? errc::timeout : errc::connect_failed,
                           wec, fmt::format("{}: sending CONNECT to proxy {} failed: {}", what,
                                            proxy->to_string(), describe(wec)));
        bhttp::response_parser<bhttp::empty_body> parser;
        parser.skip(true);  // a 2xx answer to CONNECT has no body: the tunnel starts right after
        parser.header_limit(static_cast<std::uint32_t>(opts.header_limit));
        sock.expires_after(opts.connect_timeout);
        auto [rec, rn] = co_await bhttp::async_read(sock, conn.buffer, parser, use_tuple);
        (void)rn;
        if (rec)
            co_return fail(result_kind::not_connected,
                           rec == beast::error::timeout ? errc::timeout : errc::connect_failed,
                           rec, fmt::format("{}: reading the proxy's CONNECT reply failed: {}",
                                            what, describe(rec)));
        const unsigned status = parser.get().result_int();
        if (status / 100 != 2)
            co_return fail(result_kind::not_connected, errc::proxy_refused, {},
                           fmt::format("{}: proxy {} answered CONNECT with {}", what,
                                       proxy->to_string(), status));
        if (conn.buffer.size() != 0)
            co_return fail(result_kind::not_connected, errc::proxy_refused, {},
                           fmt::format("{}: proxy {} sent data before the TLS handshake", what,
                                       proxy->to_string()));
        co_return std::nullopt;
    }

    // ---------------------------------------------------------------------------------------
    template <class Stream>
    asio::awaitable<attempt> exchange_on(Stream& stream, connection& conn,
                                         const bhttp::request<bhttp::string_body>& msg,
                                         const request& req, bool reused) {
        const std::string what = label(req);
        attempt a;
        a.res.reused_connection = reused;

        conn.tcp().expires_after(opts.write_timeout);
        auto [wec, wn] = co_await bhttp::async_write(stream, msg, use_tuple);
        stats.bytes_sent += wn;
        if (wec) {
            const bool timed_out = wec == beast::error::timeout;
            if (reused && !timed_out) {
                a.stale = true;
                a.res = fail(result_kind::not_connected, errc::write_failed, wec, what);
                co_return a;
            }
            // Not one byte handed to the connection: the server cannot have seen the request.
            const auto kind = wn == 0 ? result_kind::not_connected : result_kind::maybe_sent;
            a.res = fail(kind, timed_out ? errc::timeout : errc::write_failed, wec,
                         timed_out ? fmt::format("{}: writing the request timed out after {} ms",
                                                 what, opts.write_timeout.count())
                                   : fmt::format("{}: writing the request failed: {}", what,
                                                 describe(wec)));
            a.res.reused_connection = reused;
            co_return a;
        }

        // Read the whole response under one deadline. 1xx interim answers are skipped.
        conn.tcp().expires_after(opts.read_timeout);
        while (true) {
            bhttp::response_parser<bhttp::string_body> parser;
            parser.body_limit(opts.body_limit);
            parser.header_limit(static_cast<std::uint32_t>(opts.header_limit));
            if (req.method == bhttp::verb::head) parser.skip(true);
            auto [rec, rn] = co_await bhttp::async_read(stream, conn.buffer, parser, use_tuple);
            stats.bytes_received += rn;
            if (rec) {
                a.res = read_failure(rec, parser, conn, what, reused, a.stale);
                a.res.reused_connection = reused;
                co_return a;
            }
            auto msg_in = parser.release();
            const unsigned status = msg_in.result_int();
            if (status >= 100 && status < 200 && status != 101) continue;

            a.res = result{};
            a.res.kind = result_kind::response;
            a.res.reused_connection = reused;
            a.res.res.status = status;
            for (const auto& f : msg_in)
                a.res.res.headers.push_back({std::string(f.name_string()), std::string(f.value())});
            a.res.res.body = std::move(msg_in.body());
            a.keep_alive = msg_in.keep_alive() && !msg_in.need_eof();
            if (status >= 300 && status < 400) {
                a.res.kind = result_kind::redirect_refused;
                a.res.error = errc::redirect_refused;
                // The Location is not logged: it may echo the credentials of the target.
                a.res.message = fmt::format("{}: redirect ({}) refused, not followed", what, status);
            }
            co_return a;
        }
    }

    result read_failure(const error_code& ec, bhttp::response_parser<bhttp::string_body>& parser,
                        connection& conn, const std::string& what, bool reused, bool& stale) {
        const bool got_any = parser.got_some() || conn.buffer.size() != 0;
        if (ec == beast::error::timeout)
            return fail(result_kind::maybe_sent, errc::timeout, ec,
                        fmt::format("{}: reading the response timed out after {} ms", what,
                                    opts.read_timeout.count()));
        if (ec == bhttp::error::body_limit || ec == bhttp::error::header_limit) {
            const bool body = ec == bhttp::error::body_limit;
            auto r = fail(result_kind::response_too_large,
                          body ? errc::body_limit_exceeded : errc::header_limit_exceeded, ec,
                          body ? fmt::format("{}: response body over the limit of {} bytes", what,
                                             opts.body_limit)
                               : fmt::format("{}: response header over the limit of {} bytes",
                                             what, opts.header_limit));
            if (parser.is_header_done()) {
                const auto& h = parser.get();
                r.res.status = h.result_int();
                for (const auto& f : h)
                    r.res.headers.push_back({std::string(f.name_string()), std::string(f.value())});
            }
            return r;
        }
        if (!got_any && is_closed_error(ec)) {
            if (reused) stale = true;
            return fail(result_kind::maybe_sent, errc::connection_closed, ec,
                        fmt::format("{}: connection closed before the response: {}", what,
                                    describe(ec)));
        }
        if (got_any && (is_closed_error(ec) || ec == bhttp::error::partial_message))
            return fail(result_kind::maybe_sent, errc::truncated, ec,
                        fmt::format("{}: response truncated: {}", what, describe(ec)));
        if (ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category() ||
            ec == bhttp::error::need_more)
            return fail(result_kind::maybe_sent, errc::bad_response, ec,
                        fmt::format("{}: malformed response: {}", what, describe(ec)));
        return fail(result_kind::maybe_sent, got_any ? errc::truncated : errc::connection_closed,
                    ec, fmt::format("{}: reading the response failed: {}", what, describe(ec)));
    }

    asio::awaitable<attempt> exchange(connection& conn, const request& req, bool reused) {
        bhttp::request<bhttp::string_body> msg{req.method, req.target, 11};
        msg.set(bhttp::field::host, req.to.host_header());
        msg.set(bhttp::field::user_agent, opts.user_agent);
        for (const auto& f : req.headers)
            if (!is_reserved_header(f.name)) msg.insert(f.name, f.value);
        if (!req.content_type.empty()) msg.set(bhttp::field::content_type, req.content_type);
        msg.body() = req.body;
        msg.keep_alive(true);
        msg.prepare_payload();
        if (conn.tls) co_return co_await exchange_on(*conn.tls, conn, msg, req, reused);
        co_return co_await exchange_on(*conn.plain, conn, msg, req, reused);
    }

    std::optional<result> validate(const request& req) const {
        const std::string what = label(req);
        if (!req.to.tls && !opts.allow_plain_http)
            return fail(result_kind::not_connected, errc::plain_http_refused, {},
                        what + ": plain http is not allowed (https only)");
        bool ok = !req.to.host.empty() && !req.target.empty() && req.target.front() == '/' &&
                  valid_header_value(req.target) && valid_header_value(req.to.host) &&
                  req.target.find(' ') == std::string::npos &&
                  valid_header_value(req.content_type) && req.method != bhttp::verb::unknown &&
                  req.method != bhttp::verb::connect;
        for (const auto& f : req.headers) {
            ok = ok && !f.name.empty() && valid_header_value(f.value);
            for (char c : f.name) ok = ok && is_header_token_char(c);
        }
        if (!ok)
            return fail(result_kind::not_connected, errc::invalid_request, {},
                        what + ": invalid request");
        return std::nullopt;
    }

    asio::awaitable<result> send(request req) {
        if (auto bad = validate(req)) co_return std::move(*bad);
        ++stats.requests;
        const bool may_reuse = req.method == bhttp::verb::get || req.method == bhttp::verb::head;
        bool retried = false;

        if (may_reuse) {
            if (auto conn = take_idle(req.to)) {
                ++stats.connections_reused;
                attempt a = co_await exchange(*conn, req, true);
                if (!a.stale) co_return co_await finish(std::move(conn), std::move(a), false);
                // The server dropped the idle connection (its keep-alive timeout raced ours):
                // nothing reached it, so the GET goes once more on a fresh connection.
                ++stats.stale_retries;
                retried = true;
                log->debug("{}: pooled connection was stale ({}), retrying on a fresh one",
                           label(req), a.res.cause.message());
                conn->close();
            }
        }

        auto [conn, failure] = co_await open(req);
        if (!conn) {
            failure.retried_stale = retried;
            log->debug("{}", failure.message);
            co_return failure;
        }
        attempt a = co_await exchange(*conn, req, false);
        co_return co_await finish(std::move(conn), std::move(a), retried);
    }

    asio::awaitable<result> finish(std::unique_ptr<connection> conn, attempt a, bool retried) {
        a.res.retried_stale = retried;
        if (a.res.kind == result_kind::response || a.res.kind == result_kind::redirect_refused) {
            if (a.keep_alive)
                put_idle(std::move(conn));
            else
                co_await retire(std::move(conn));
        } else {
            // Anything else leaves the connection in an unknown state: drop it without ceremony.
            conn->close();
        }
        if (!a.res.ok()) log->debug("{}", a.res.message);
        co_return std::move(a.res);
    }
};

client::client(asio::any_io_executor ex, client_options opts, std::shared_ptr<spdlog::logger> log)
    : impl_(std::make_unique<impl>(std::move(ex), std::move(opts), std::move(log))) {}

client::~client() { close_idle(); }

asio::awaitable<result> client::send(request req) { return impl_->send(std::move(req)); }

const client_stats& client::stats() const noexcept { return impl_->stats; }

std::size_t client::idle_connections() const noexcept {
    std::size_t n = 0;
    for (const auto& [key, list] : impl_->pool) n += list.size();
    return n;
}

void client::close_idle() {
    for (auto& [key, list] : impl_->pool)
        for (auto& c : list) c->close();
    impl_->pool.clear();
}

}  // namespace ksync::http
