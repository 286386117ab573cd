// The effective configuration as YAML, for check-config: every key with the value in force,
// defaults included, so an operator sees what the daemon will do. Secret values never appear:
// a secret read from a file or credential shows where it came from, an inline one shows "***".

#include "config/config.hpp"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

namespace ksync::config {
namespace {

void key(YAML::Emitter& e, const char* name) {
    e << YAML::Key << name << YAML::Value;
}

void dur(YAML::Emitter& e, const char* name, duration d) {
    key(e, name);
    e << format_duration(d);
}

void str(YAML::Emitter& e, const char* name, const std::string& v) {
    key(e, name);
    // Always quoted: an empty string or a value like "on" must read back as the same string.
    e << YAML::DoubleQuoted << v;
}

void boolean(YAML::Emitter& e, const char* name, bool v) {
    key(e, name);
    e << (v ? "true" : "false");
}

template <class T>
void num(YAML::Emitter& e, const char* name, T v) {
    key(e, name);
    // fmt prints the shortest text that reads back as the same value (0.1, not 0.1000000000001).
    e << fmt::format("{}", v);
}

void credential(YAML::Emitter& e, const std::string& prefix, const secret_source& src) {
    switch (src.from) {
        case secret_source::kind::none:
            break;
        case secret_source::kind::file:
            str(e, (prefix + "_file").c_str(), src.location);
            e << YAML::Comment("contents: ***");
            break;
        case secret_source::kind::credential:
            str(e, (prefix + "_credential").c_str(), src.location);
            e << YAML::Comment("$CREDENTIALS_DIRECTORY/" + src.location + ", contents: ***");
            break;
        case secret_source::kind::inline_value:
            str(e, prefix.c_str(), "***");
            e << YAML::Comment("inline secret, redacted");
            break;
    }
}

void stream_common(YAML::Emitter& e, const stream_options& s) {
    boolean(e, "enabled", s.enabled);
    dur(e, "interval", s.interval);
    dur(e, "jitter", s.jitter);
}

void stream(YAML::Emitter& e, const char* name, const stream_options& s) {
    key(e, name);
    e << YAML::BeginMap;
    stream_common(e, s);
    e << YAML::EndMap;
}

}  // namespace

std::string to_yaml(const config& cfg) {
    YAML::Emitter e;
    e.SetIndent(2);
    e << YAML::BeginMap;

    const kayako_options& k = cfg.kayako;
    key(e, "kayako");
    e << YAML::BeginMap;
    str(e, "base_url", k.base_url);
    str(e, "url_type", k.type == url_type::standard ? "standard" : "e");
    str(e, "api_key", k.api_key);
    credential(e, "secret", k.api_secret_from);
    boolean(e, "allow_plain_http", k.allow_plain_http);
    str(e, "ca_file", k.ca_file);
    str(e, "proxy", k.proxy ? to_url(*k.proxy) : std::string());
    boolean(e, "proxy_from_environment", k.proxy_from_environment);
    key(e, "timeouts");
    e << YAML::BeginMap;
    dur(e, "connect", k.timeouts.connect);
    dur(e, "tls", k.timeouts.tls);
    dur(e, "request", k.timeouts.request);
    dur(e, "whole_response", k.timeouts.whole_response);
    e << YAML::EndMap;
    key(e, "body_limit");
    e << format_size(k.body_limit);
    num(e, "max_in_flight", k.max_in_flight);
    num(e, "requests_per_second", k.requests_per_second);
    key(e, "retry");
    e << YAML::BeginMap;
    dur(e, "base", k.retry.base);
    dur(e, "cap", k.retry.cap);
    num(e, "max_attempts", k.retry.max_attempts);
    num(e, "budget_ratio", k.retry.budget_ratio);
    e << YAML::EndMap;
    key(e, "breaker");
    e << YAML::BeginMap;
    num(e, "failure_threshold", k.breaker.failure_threshold);
    dur(e, "cooldown", k.breaker.cooldown);
    dur(e, "auth_cooldown", k.breaker.auth_cooldown);
    e << YAML::EndMap;
    e << YAML::EndMap;

    const postgres_options& p = cfg.postgres;
    key(e, "postgres");
    e << YAML::BeginMap;
    str(e, "host", p.host);
    num(e, "port", p.port);
    str(e, "dbname", p.dbname);
    str(e, "user", p.user);
    credential(e, "password", p.password_from);
    str(e, "sslmode", p.sslmode);
    str(e, "sslrootcert", p.sslrootcert);
    str(e, "target_session_attrs", p.target_session_attrs);
    dur(e, "connect_timeout", p.connect_timeout);
    dur(e, "statement_timeout", p.statement_timeout);
    dur(e, "lock_timeout", p.lock_timeout);
    key(e, "keepalives");
    e << YAML::BeginMap;
    boolean(e, "enabled", p.keepalives.enabled);
    dur(e, "idle", p.keepalives.idle);
    dur(e, "interval", p.keepalives.interval);
    num(e, "count", p.keepalives.count);
    e << YAML::EndMap;
    dur(e, "tcp_user_timeout", p.tcp_user_timeout);
    str(e, "application_name", p.application_name);
    str(e, "mirror_schema", p.mirror_schema);
    str(e, "state_schema", p.state_schema);
    num(e, "pool_size", p.pool_size);
    e << YAML::EndMap;

    const streams_options& s = cfg.streams;
    key(e, "streams");
    e << YAML::BeginMap;
    stream(e, "lookups", s.lookups);
    stream(e, "organizations", s.organizations);
    key(e, "users");
    e << YAML::BeginMap;
    stream_common(e, s.users);
    dur(e, "full_scan_interval", s.users.full_scan_interval);
    num(e, "page_size", s.users.page_size);
    e << YAML::EndMap;
    key(e, "tickets");
    e << YAML::BeginMap;
    stream_common(e, s.tickets);
    num(e, "page_size", s.tickets.page_size);
    dur(e, "overlap", s.tickets.overlap);
    boolean(e, "backfill", s.tickets.backfill);
    e << YAML::EndMap;
    stream(e, "posts", s.posts);
    stream(e, "notes", s.notes);
    stream(e, "custom_fields", s.custom_fields);
    stream(e, "attachments", s.attachments);
    stream(e, "time_tracks", s.time_tracks);
    key(e, "reconcile");
    e << YAML::BeginMap;
    stream_common(e, s.reconcile);
    num(e, "mass_delete_fraction", s.reconcile.mass_delete_fraction);
    num(e, "mass_delete_min", s.reconcile.mass_delete_min);
    e << YAML::EndMap;
    e << YAML::EndMap;

    key(e, "push");
    e << YAML::BeginMap;
    boolean(e, "enabled", cfg.push.enabled);
    dur(e, "sweep_interval", cfg.push.sweep_interval);
    static constexpr const char* policies[] = {"kayako_wins", "local_wins", "manual"};
    str(e, "conflict_policy", policies[static_cast<int>(cfg.push.on_conflict)]);
    num(e, "max_attempts", cfg.push.max_attempts);
    num(e, "concurrency", cfg.push.concurrency);
    e << YAML::EndMap;

    key(e, "feed");
    e << YAML::BeginMap;
    dur(e, "retention", cfg.feed.retention);
    e << YAML::EndMap;

    key(e, "log");
    e << YAML::BeginMap;
    str(e, "level", cfg.log.level);
    str(e, "format", cfg.log.format == log_format::json ? "json" : "text");
    key(e, "timestamps");
    e << (cfg.log.timestamps == log_timestamps::automatic ? "auto"
          : cfg.log.timestamps == log_timestamps::on      ? "true"
                                                          : "false");
    e << YAML::EndMap;

    key(e, "metrics");
    e << YAML::BeginMap;
    boolean(e, "enabled", cfg.metrics.enabled);
    const bool v6 = cfg.metrics.listen_host.find(':') != std::string::npos;
    str(e, "listen",
        (v6 ? "[" + cfg.metrics.listen_host + "]" : cfg.metrics.listen_host) + ":" +
            std::to_string(cfg.metrics.listen_port));
    e << YAML::EndMap;

    dur(e, "shutdown_timeout", cfg.shutdown_timeout);
    e << YAML::EndMap;
    return std::string(e.c_str()) + "\n";
}

}  // namespace ksync::config
