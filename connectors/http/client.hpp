#pragma once

#include "connectors/http/transport.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <spdlog/logger.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace ksync::http {

struct client_options {
    // Every step has its own deadline; none of them can be switched off.
    std::chrono::milliseconds resolve_timeout{10'000};
    std::chrono::milliseconds connect_timeout{10'000};    // TCP connect; also the proxy CONNECT exchange
    std::chrono::milliseconds handshake_timeout{10'000};  // TLS handshake incl. certificate checks
    std::chrono::milliseconds write_timeout{30'000};      // the whole request
    std::chrono::milliseconds read_timeout{60'000};       // the whole response: a slow drip is bounded
    std::chrono::milliseconds shutdown_timeout{1'000};    // TLS close_notify exchange on close
    // A pooled keep-alive connection idle for longer is closed instead of reused (servers drop
    // idle connections themselves; Apache's default is 5 s).
    std::chrono::milliseconds idle_timeout{4'000};
    std::size_t max_idle_per_origin = 4;
    std::size_t body_limit = 64u * 1024 * 1024;
    std::size_t header_limit = 64u * 1024;
    // PEM file of trusted CAs. When set it REPLACES the system store (a private CA, or the tests'
    // CA); when empty the system store is used (OpenSSL's default paths, /etc/ssl/certs).
    std::string ca_file;
    // http:// origins are refused unless this is true; when true, the client logs a warning.
    bool allow_plain_http = false;
    // "" (direct) or "http://proxyhost:port": every connection goes through an HTTP CONNECT tunnel;
    // TLS runs end-to-end with the origin, whose name is used for SNI and verification.
    std::string proxy;
    std::string user_agent = "kayako-sync";
};

// Cumulative counters (for metrics); application-level bytes (TLS overhead not counted).
struct client_stats {
    std::uint64_t requests = 0;            // send() calls that passed validation
    std::uint64_t connections_opened = 0;  // fresh connections established (TCP+proxy+TLS done)
    std::uint64_t connections_reused = 0;  // requests that started on a pooled connection
    std::uint64_t stale_retries = 0;       // pooled connections found dead, request retried fresh
    std::uint64_t bytes_sent = 0;
    std::uint64_t bytes_received = 0;
};

// The production transport: Beast + OpenSSL on Asio coroutines.
//
// - TLS 1.2 minimum, verify_peer against the system CAs or ca_file, SNI (names only, not IP
//   literals, per RFC 6066), host-name verification (ssl::host_name_verification + SSL_set1_host).
// - Connection reuse: only GET and HEAD take a pooled connection. If a pooled connection turns out
//   to be dead (write error, or EOF/reset before the first response byte; not a timeout), the
//   request is retried once on a fresh connection (result::retried_stale). POST, PUT, DELETE and
//   everything else always open a fresh connection, so their failure is never a stale-socket
//   artefact and they are never resent by this class. A connection that completed a response
//   with keep-alive goes back to the pool, whatever the method (it was just proven good).
// - Redirects are never followed (result_kind::redirect_refused). No compression is offered.
//
// Not thread-safe: use it from the one io_context thread that runs its executor. It must outlive
// every send() it started.
class client final : public transport {
public:
    // Throws std::invalid_argument for a bad proxy, std::runtime_error when ca_file cannot be loaded.
    client(boost::asio::any_io_executor ex, client_options opts,
           std::shared_ptr<spdlog::logger> log);
    ~client() override;
    client(const client&) = delete;
    client& operator=(const client&) = delete;

    boost::asio::awaitable<result> send(request req) override;

    [[nodiscard]] const client_stats& stats() const noexcept;
    [[nodiscard]] std::size_t idle_connections() const noexcept;
    // Closes every pooled connection (e.g. after a long pause or on shutdown).
    void close_idle();

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace ksync::http
