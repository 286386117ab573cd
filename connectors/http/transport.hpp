#pragma once

#include "connectors/http/error.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/system/result.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ksync::http {

using verb = boost::beast::http::verb;

// Where a request goes: scheme, host and port (the connection pool key).
struct origin {
    bool tls = true;  // https (false = plain http, refused unless client_options allows it)
    std::string host;
    std::uint16_t port = 443;

    // The Host header value: "host", or "host:port" for a non-default port; IPv6 in brackets.
    [[nodiscard]] std::string host_header() const;
    // "https://host:port", for logs and pool keys (never carries a path or query).
    [[nodiscard]] std::string to_string() const;
    friend bool operator==(const origin&, const origin&) = default;
};

// An absolute URL split the way a request needs it.
struct url {
    origin where;
    std::string target;  // path and query, always starting with '/'
};

// Parses "https://host[:port][/path][?query]" (also "http://", and "[::1]" hosts). No user-info,
// no fragment. Errors are errc::invalid_request.
boost::system::result<url> parse_url(std::string_view text);

// The target with the values of credential-bearing query parameters (apikey, salt, signature and
// any name containing "key", "pass", "secret", "token" or "sig") replaced by "***". Every message
// this library produces uses it; callers should log targets only through it.
std::string redact_target(std::string_view target);

struct field {
    std::string name;
    std::string value;
    friend bool operator==(const field&, const field&) = default;
};

struct request {
    origin to;
    verb method = verb::get;
    std::string target = "/";          // path + query; may carry credentials (redacted in messages)
    std::vector<field> headers;        // extra fields; Host, Content-Length, Content-Type and
                                       // Connection are set by the transport and ignored here
    std::string content_type;          // sent when non-empty (e.g. application/x-www-form-urlencoded)
    std::string body;                  // sent with a Content-Length when non-empty or POST/PUT
};

struct response {
    unsigned status = 0;
    std::vector<field> headers;  // in the order received
    std::string body;

    // First value of a header, case-insensitive name; nullopt when absent.
    [[nodiscard]] std::optional<std::string_view> header(std::string_view name) const;
    [[nodiscard]] std::string_view content_type() const;  // "" when absent
    [[nodiscard]] std::optional<std::string_view> retry_after() const;  // raw value, not parsed
};

// What a caller may assume about the server. The retry policy (reliability.md §4) reads this:
enum class result_kind {
    // A complete response with a non-3xx status (any 1xx-final/2xx/4xx/5xx; the caller judges).
    response,
    // No request byte was written: plain http refused, DNS, connect, proxy, TLS handshake or
    // certificate failure. Always safe to retry, also for POST.
    not_connected,
    // Request bytes went out but no complete response came back: timeout, reset, truncation,
    // unparsable response. The server may have applied it: a POST is in doubt (reconcile).
    maybe_sent,
    // The server answered but its header or body was over the limit (errc::*_limit_exceeded).
    // It did process the request. `res` has status and headers; body is empty.
    response_too_large,
    // A complete 3xx response, deliberately not followed (errc::redirect_refused). `res` is full.
    redirect_refused,
};

std::string_view to_string(result_kind k) noexcept;

struct result {
    result_kind kind = result_kind::not_connected;
    boost::system::error_code error;  // errc; empty exactly when kind == response
    boost::system::error_code cause;  // the underlying Asio/Beast/OpenSSL code, when there is one
    std::string message;  // human-readable, names method, origin and REDACTED target; never a secret
    response res;         // valid for response, redirect_refused (full) and response_too_large
    bool reused_connection = false;  // the final attempt ran on a pooled keep-alive connection
    bool retried_stale = false;      // a stale pooled connection failed first; retried once fresh

    [[nodiscard]] bool ok() const noexcept { return kind == result_kind::response; }
};

// The seam between the Kayako connector and the network: the Beast client in production
// (client.hpp), a scripted fake in unit tests. send() never throws for network trouble; every
// failure is a result. It may throw on programming errors or when the coroutine is cancelled.
class transport {
public:
    virtual ~transport() = default;
    virtual boost::asio::awaitable<result> send(request req) = 0;
};

}  // namespace ksync::http
