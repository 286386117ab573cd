#pragma once

#include <boost/system/error_code.hpp>

#include <type_traits>

namespace ksync::http {

// Why a request did not produce a usable response. The result kind (transport.hpp) says what a
// caller may assume about the server (nothing sent / maybe sent / answered); this code says why,
// for logs, metrics and tests. The low-level Asio/Beast/OpenSSL code is kept as result::cause.
enum class errc {
    plain_http_refused = 1,  // http:// without client_options::allow_plain_http
    invalid_request,         // empty host, target not starting with '/', CR/LF in a field
    resolve_failed,          // DNS lookup failed
    connect_failed,          // TCP connect (to the origin or the proxy) failed
    proxy_refused,           // the proxy answered CONNECT with something other than 2xx
    certificate_rejected,    // peer verification failed: unknown CA, expired, wrong host name
    tls_failed,              // any other TLS handshake failure
    timeout,                 // a deadline expired (the message names the step)
    write_failed,            // the request could not be written completely
    connection_closed,       // EOF or reset before any response byte
    truncated,               // the connection ended inside the response (partial message)
    bad_response,            // the response could not be parsed as HTTP/1.1
    body_limit_exceeded,     // the response body is larger than client_options::body_limit
    header_limit_exceeded,   // the response header is larger than client_options::header_limit
    redirect_refused,        // a 3xx status: never followed, the URL carries credentials
};

const boost::system::error_category& error_category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), error_category()};
}

}  // namespace ksync::http

template <>
struct boost::system::is_error_code_enum<ksync::http::errc> : std::true_type {};
