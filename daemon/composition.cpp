#include "daemon/composition.hpp"

#include "common/version.hpp"

#include <algorithm>
#include <stdexcept>

namespace ksync::app {

namespace {

// A libpq conninfo value, quoted so spaces, quotes and backslashes survive.
std::string conninfo_value(const std::string& v) {
    std::string out = "'";
    for (char c : v) {
        if (c == '\'' || c == '\\') out += '\\';
        out += c;
    }
    return out + "'";
}

std::chrono::seconds whole_seconds(config::duration d) {
    return std::max(std::chrono::seconds(1), std::chrono::duration_cast<std::chrono::seconds>(d));
}

}  // namespace

pg::connection_options pg_connection_options(const config::postgres_options& p) {
    pg::connection_options o;
    std::string info;
    for (const auto& [k, v] : p.libpq_keywords(false)) {
        if (k == "connect_timeout" || k == "keepalives" || k == "keepalives_idle" ||
            k == "tcp_user_timeout" || k == "application_name" || k == "options")
            continue;  // connection_options carries these itself
        if (!info.empty()) info += ' ';
        info += k + "=" + conninfo_value(v);
    }
    // JIT off for every session: the mirror's upsert-and-feed statements run on temp stage tables
    // just filled (no statistics), so their estimated cost passes jit_above_cost and each batch
    // paid ~0.45 s of LLVM compilation for ~0.1 s of work (issue 14, docs/benchmarks.md).
    if (!info.empty()) info += ' ';
    info += "options=" + conninfo_value("-c jit=off");
    o.conninfo = info;
    if (p.password) o.password = *p.password;
    o.connect_timeout = whole_seconds(p.connect_timeout);
    o.keepalives = p.keepalives.enabled;
    o.keepalives_idle = whole_seconds(p.keepalives.idle);
    o.tcp_user_timeout = p.tcp_user_timeout;
    o.statement_timeout = p.statement_timeout;
    o.lock_timeout = p.lock_timeout;
    o.application_name = p.application_name;
    return o;
}

pg::schema_names schema_names_of(const config::postgres_options& p) {
    pg::schema_names n;
    n.mirror = p.mirror_schema;
    n.state = p.state_schema;
    return n;
}

http::client_options http_options(const config::kayako_options& k) {
    http::client_options o;
    o.connect_timeout = k.timeouts.connect;
    o.handshake_timeout = k.timeouts.tls;
    o.write_timeout = k.timeouts.request;
    o.read_timeout = k.timeouts.whole_response;
    o.body_limit = static_cast<std::size_t>(k.body_limit);
    o.ca_file = k.ca_file;
    o.allow_plain_http = k.allow_plain_http;
    if (k.proxy) o.proxy = "http://" + k.proxy->host + ":" + std::to_string(k.proxy->port);
    o.user_agent = std::string("kayako-sync/") + ksync::version;
    return o;
}

double pacing_burst(double requests_per_second) {
    return std::clamp(requests_per_second, 1.0, max_pacing_burst);
}

kayako::client_options kayako_client_options(const config::kayako_options& k) {
    kayako::client_options o;
    o.retry.base = k.retry.base;
    o.retry.cap = k.retry.cap;
    o.retry.max_attempts = k.retry.max_attempts;
    o.retry_budget_ratio = k.retry.budget_ratio;
    o.breaker.failure_threshold = k.breaker.failure_threshold;
    o.breaker.cooldown = k.breaker.cooldown;
    o.breaker.auth_cooldown = k.breaker.auth_cooldown;
    o.pacing.max_in_flight = k.max_in_flight;
    o.pacing.rate_per_second = k.requests_per_second;
    o.pacing.burst = pacing_burst(k.requests_per_second);
    return o;
}

kayako::request_builder kayako_request_builder(const config::kayako_options& k) {
    auto base = kayako::parse_base_url(config::to_url(k.url) + "index.php");
    return kayako::request_builder(
        base, k.type == config::url_type::e ? kayako::url_type::e : kayako::url_type::standard,
        kayako::credentials{k.api_key, k.api_secret});
}

sync::engine_options engine_options_of(const config::config& cfg) {
    sync::engine_options o;
    o.page_size = cfg.streams.tickets.page_size;
    o.overlap_seconds =
        std::chrono::duration_cast<std::chrono::seconds>(cfg.streams.tickets.overlap).count();
    o.detail_concurrency = std::max(1, cfg.kayako.max_in_flight);
    o.guard.fraction = cfg.streams.reconcile.mass_delete_fraction;
    o.guard.min_count = cfg.streams.reconcile.mass_delete_min;
    const auto seconds = [](auto d) {
        return std::chrono::duration_cast<std::chrono::seconds>(d).count();
    };
    o.full_scan_interval_seconds = seconds(cfg.streams.users.full_scan_interval);
    o.reconcile_interval_seconds = seconds(cfg.streams.reconcile.interval);
    return o;
}

std::filesystem::path find_migrations_dir() {
    std::vector<std::filesystem::path> candidates;
    if (const char* env = std::getenv("KSYNC_MIGRATIONS_DIR"); env && *env)
        candidates.emplace_back(env);
    candidates.emplace_back(ksync::migrations_install_dir);
#ifdef KSYNC_SOURCE_MIGRATIONS_DIR
    candidates.emplace_back(KSYNC_SOURCE_MIGRATIONS_DIR);
#endif
    std::string tried;
    for (const auto& c : candidates) {
        std::error_code ec;
        if (std::filesystem::is_directory(c, ec)) return c;
        tried += (tried.empty() ? "" : ", ") + c.string();
    }
    throw std::runtime_error("cannot find the SQL migrations (looked in " + tried +
                             "; set KSYNC_MIGRATIONS_DIR)");
}

stack::stack(const config::config& cfg, boost::asio::io_context& ioc, logging::factory& logs)
    : db(
          pg_connection_options(cfg.postgres),
          [&] {
              pg::executor_options e;
              e.connections = static_cast<std::size_t>(std::max(1, cfg.postgres.pool_size));
              return e;
          }(),
          logs.make("db")),
      mirror(db, schema_names_of(cfg.postgres), logs.make("mirror")),
      outbox(db, mirror, logs.make("push")),
      reads(db, schema_names_of(cfg.postgres)),
      transport(ioc.get_executor(), http_options(cfg.kayako), logs.make("http")),
      kayako(ioc.get_executor(), transport, kayako_request_builder(cfg.kayako),
             kayako_client_options(cfg.kayako), logs.make("kayako")),
      engine(kayako, mirror, reads, engine_options_of(cfg), logs.make("sync")) {}

}  // namespace ksync::app
