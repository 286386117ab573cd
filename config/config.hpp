#pragma once

// The typed configuration of one kayako-sync instance (one helpdesk). Every component takes its
// options from these structs; nothing else reads the YAML. load_config() is the only way in: it
// parses, validates, reads the secrets and throws config_error (exit status 78) on the first
// problem, naming the full key path ("kayako.retry.max_attempts") and the reason.

#include "common/logging.hpp"
#include "common/secret.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ksync::config {

using duration = std::chrono::milliseconds;
using namespace std::chrono_literals;

// A problem in the configuration. what() is "<key path>: <reason>" (with the file line when
// known); it never contains a secret value.
class config_error : public std::runtime_error {
public:
    config_error(std::string key, std::string reason);
    [[nodiscard]] const std::string& key() const noexcept { return key_; }
    [[nodiscard]] const std::string& reason() const noexcept { return reason_; }

private:
    std::string key_;
    std::string reason_;
};

// Where a credential came from: shown by check-config (the value itself never is), and kept so
// a reload can read it again.
struct secret_source {
    enum class kind { none, file, credential, inline_value };
    kind from = kind::none;
    std::string location;  // file: resolved absolute path; credential: the credential name
};

// ---------------------------------------------------------------------------------------------
// kayako: the helpdesk API

enum class url_type {
    standard,  // <base>/index.php?/Tickets/... (Kayako's default)
    e,         // <base>/index.php?e=/Tickets/...
};

struct kayako_timeouts {
    duration connect = 10s;          // TCP connect (per resolved address)
    duration tls = 10s;              // TLS handshake
    duration request = 60s;          // write the request and read the response headers
    duration whole_response = 300s;  // the whole exchange including the body (bounds a slow drip)
};

struct retry_options {
    duration base = 500ms;  // full jitter: sleep = random(0, min(cap, base * 2^n))
    duration cap = 30s;
    int max_attempts = 5;       // attempts per request, the first one included
    double budget_ratio = 0.1;  // retries allowed as a fraction of requests (client-wide)
};

struct breaker_options {
    int failure_threshold = 5;       // consecutive failures that open the breaker
    duration cooldown = 60s;         // open -> half-open (one probe)
    duration auth_cooldown = 15min;  // after 401/403: long, so a bad key does not hot-loop
};

// The parts of base_url, already validated.
struct endpoint {
    bool tls = true;
    std::string host;
    std::uint16_t port = 443;
    std::string path = "/";  // always ends with '/'; "index.php" is not part of it
};

// "https://host[:port]/path/" (the port only when not the scheme's default).
[[nodiscard]] std::string to_url(const endpoint& ep);

// The highest kayako.requests_per_second accepted. A backfill costs one Ticket/get per ticket (the
// listing carries no posts), so this bounds how fast one can be: 10,000 tickets/s. Above what
// the helpdesk serves, max_in_flight is the limit anyway.
inline constexpr double max_requests_per_second = 10000;

struct kayako_options {
    std::string base_url;  // required, e.g. https://helpdesk.example.com/api/
    endpoint url;          // base_url parsed
    url_type type = url_type::standard;
    std::string api_key;  // required; an identifier, not a secret (it travels in every request)
    secret api_secret;    // required
    secret_source api_secret_from;
    bool allow_plain_http = false;
    std::string ca_file;  // extra trust anchor (PEM), resolved absolute; empty = system store only
    std::optional<endpoint> proxy;        // `proxy: http://host:port` (HTTP CONNECT); absent = none
    bool proxy_from_environment = false;  // honour $https_proxy when proxy is empty
    kayako_timeouts timeouts;
    std::uint64_t body_limit = 64ull << 20;  // bytes per response body
    int max_in_flight = 2;
    double requests_per_second = 5.0;  // at most max_requests_per_second
    retry_options retry;
    breaker_options breaker;
};

// ---------------------------------------------------------------------------------------------
// postgres: the mirror database

struct keepalive_options {
    bool enabled = true;
    duration idle = 30s;
    duration interval = 10s;
    int count = 3;
};

struct postgres_options {
    std::string host;  // empty = libpq default (local Unix socket); "a,b" for failover
    std::uint16_t port = 5432;
    std::string dbname;  // required
    std::string user = "kayako_sync";
    std::optional<secret> password;  // absent = no password (peer, cert or trust auth)
    secret_source password_from;
    std::string sslmode = "prefer";  // disable|allow|prefer|require|verify-ca|verify-full
    std::string sslrootcert;         // resolved absolute; empty = libpq default
    std::string target_session_attrs = "read-write";
    duration connect_timeout = 5s;  // whole seconds (libpq's unit)
    duration statement_timeout = 30s;
    duration lock_timeout = 5s;
    keepalive_options keepalives;
    duration tcp_user_timeout = 30s;
    std::string application_name = "kayako-sync";
    std::string mirror_schema = "kayako";      // a plain lower-case SQL identifier
    std::string state_schema = "kayako_sync";  // idem, different from mirror_schema
    int pool_size = 1;  // connections (one strand each); 1 serialises every write

    // libpq keyword/value pairs for PQconnectdbParams. The password is included only when asked
    // for, so the list can be logged otherwise.
    [[nodiscard]] std::vector<std::pair<std::string, std::string>> libpq_keywords(
        bool include_password) const;
};

// ---------------------------------------------------------------------------------------------
// streams: what is polled and how often

struct stream_options {
    bool enabled = true;
    duration interval = 5min;
    duration jitter = 0ms;  // random extra delay in [0, jitter] per cycle
};

struct users_stream_options : stream_options {
    duration full_scan_interval = 24h;  // the slow keyset scan over every user
    int page_size = 1000;               // Base/User/Filter maxitems (Kayako caps it at 1000)
};

struct tickets_stream_options : stream_options {
    int page_size = 100;       // ListAll count
    duration overlap = 10min;  // re-read below the watermark (clock skew, same-second updates)
    bool backfill = true;      // resumable walk over every ticket id at start
};

struct reconcile_options : stream_options {
    double mass_delete_fraction = 0.1;  // block deletes above this fraction of the known ids ...
    int mass_delete_min = 50;           // ... when they are also at least this many
};

struct streams_options {
    stream_options lookups{true, 1h, 1min};
    stream_options organizations{true, 15min, 1min};
    users_stream_options users{{true, 5min, 30s}};
    tickets_stream_options tickets{{true, 1min, 10s}};
    stream_options posts{true, 1min, 10s};  // for tickets whose lastactivity moved
    stream_options notes{true, 1min, 10s};
    stream_options custom_fields{true, 1min, 10s};
    stream_options attachments{false, 5min, 30s};  // metadata only
    stream_options time_tracks{false, 5min, 30s};
    reconcile_options reconcile{{true, 24h, 10min}};
};

// The stream names, as used in the config, on the command line and in the state tables.
[[nodiscard]] std::span<const std::string_view> stream_names() noexcept;
[[nodiscard]] bool is_stream_name(std::string_view name) noexcept;
// The common options of a stream by name (nullptr when unknown).
[[nodiscard]] const stream_options* find_stream(const streams_options& s, std::string_view name);

// ---------------------------------------------------------------------------------------------
// push, feed, log, metrics

enum class conflict_policy { kayako_wins, local_wins, manual };

struct push_options {
    bool enabled = false;  // pushed tickets and posts can e-mail customers: opt in
    duration sweep_interval = 30s;
    conflict_policy on_conflict = conflict_policy::kayako_wins;
    int max_attempts = 10;  // then the row stays as a dead letter
    // Outbox rows in progress at once (changes to one object still go one after the other); the
    // Kayako requests they make are bounded by kayako.max_in_flight and requests_per_second.
    int concurrency = 8;
};

struct feed_options {
    duration retention = 24h * 14;  // prune rows older than this once every bookmark passed them
};

enum class log_format { text, json };
enum class log_timestamps { automatic, on, off };

struct log_options {
    std::string level = "info";  // trace|debug|info|warn|error|critical|off
    log_format format = log_format::text;
    log_timestamps timestamps = log_timestamps::automatic;  // auto: off under journald
};

struct metrics_options {
    bool enabled = false;
    // `listen: 127.0.0.1:9464` (or `[::1]:9464`): an IP address literal, never a name to resolve.
    std::string listen_host = "127.0.0.1";
    std::uint16_t listen_port = 9464;
};

// ---------------------------------------------------------------------------------------------

struct config {
    std::string source;  // the file it was loaded from
    kayako_options kayako;
    postgres_options postgres;
    streams_options streams;
    push_options push;
    feed_options feed;
    log_options log;
    metrics_options metrics;
    duration shutdown_timeout = 25s;  // below systemd's TimeoutStopSec=30s
    // Things an operator must see, e.g. an inline secret. Printed to stderr by the CLI and
    // logged at startup; they never contain a secret value.
    std::vector<std::string> warnings;
};

// What load_config reads from the process environment; a parameter so tests need no setenv.
struct environment {
    std::string credentials_directory;  // $CREDENTIALS_DIRECTORY (empty when unset)
    static environment from_process();
};

// Reads, validates and returns the configuration, including both secrets. Relative paths in the
// file (secret_file, ca_file, ...) are relative to the file's directory.
// Throws config_error.
[[nodiscard]] config load_config(const std::filesystem::path& file);
[[nodiscard]] config load_config(const std::filesystem::path& file, const environment& env);
// The same from text; relative paths are relative to base_dir.
[[nodiscard]] config parse_config(std::string_view yaml_text, const std::string& source_name,
                                  const std::filesystem::path& base_dir, const environment& env);

// The effective configuration as YAML (every key, defaults included), loadable again except that
// an inline secret shows as "***". No secret value ever appears in it.
[[nodiscard]] std::string to_yaml(const config& cfg);

// Logging options for this config; under_journald = $JOURNAL_STREAM is set, which turns
// `timestamps: auto` off (journald stamps every line itself).
[[nodiscard]] logging::options logging_options(const log_options& log, bool under_journald);

// ---------------------------------------------------------------------------------------------
// Building blocks, public for their tests and for the CLI.

// "500ms", "90s", "15m", "1h30m", "2d": a positive sum of <integer><unit> parts, unit one of
// ms s m h d. Throws std::invalid_argument with the reason.
[[nodiscard]] duration parse_duration(std::string_view text);
[[nodiscard]] std::string format_duration(duration d);
// "4096", "512KiB", "64MiB", "1GiB", "10MB" (decimal): bytes.
[[nodiscard]] std::uint64_t parse_size(std::string_view text);
[[nodiscard]] std::string format_size(std::uint64_t bytes);

// Reads a credential file under reliability.md §5: opened with O_NOFOLLOW, a regular non-empty
// file of at most 4 KiB; unless trusted_directory (systemd's credentials directory), owned by the
// effective user with no group/other permission bits. One trailing newline is stripped.
// Throws config_error naming `key`.
inline constexpr std::size_t max_secret_size = 4096;
[[nodiscard]] secret read_secret_file(const std::filesystem::path& path, const std::string& key,
                                      bool trusted_directory);

}  // namespace ksync::config
