// The configuration schema: every key, its type, its default and its checks, in one place.

#include "config/config.hpp"

#include "config/yaml_reader.hpp"

#include <arpa/inet.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>

namespace ksync::config {

config_error::config_error(std::string key, std::string reason)
    : std::runtime_error(key.empty() ? reason : key + ": " + reason),
      key_(std::move(key)),
      reason_(std::move(reason)) {}

environment environment::from_process() {
    environment env;
    if (const char* dir = std::getenv("CREDENTIALS_DIRECTORY")) env.credentials_directory = dir;
    return env;
}

namespace {

constexpr std::array<std::string_view, 10> all_stream_names{
    "lookups", "organizations", "users",       "tickets",     "posts",
    "notes",   "custom_fields", "attachments", "time_tracks", "reconcile"};

}  // namespace

std::span<const std::string_view> stream_names() noexcept {
    return all_stream_names;
}

bool is_stream_name(std::string_view name) noexcept {
    return std::find(all_stream_names.begin(), all_stream_names.end(), name) !=
           all_stream_names.end();
}

const stream_options* find_stream(const streams_options& s, std::string_view name) {
    if (name == "lookups") return &s.lookups;
    if (name == "organizations") return &s.organizations;
    if (name == "users") return &s.users;
    if (name == "tickets") return &s.tickets;
    if (name == "posts") return &s.posts;
    if (name == "notes") return &s.notes;
    if (name == "custom_fields") return &s.custom_fields;
    if (name == "attachments") return &s.attachments;
    if (name == "time_tracks") return &s.time_tracks;
    if (name == "reconcile") return &s.reconcile;
    return nullptr;
}

namespace {

using detail::as_bool;
using detail::as_choice;
using detail::as_double;
using detail::as_duration;
using detail::as_int;
using detail::as_nonempty_string;
using detail::as_size;
using detail::as_string;
using detail::fail;
using detail::section;

struct context {
    std::filesystem::path base_dir;
    const environment& env;
    std::vector<std::string>& warnings;
};

// Each reader assigns only when the key is present, so the struct's initialiser is the default.
template <class T, class F>
void read(section& s, std::string_view key, T& out, F convert) {
    if (auto n = s.take(key)) out = static_cast<T>(convert(*n, s.path_of(key)));
}

auto positive_duration = [](const YAML::Node& n, const std::string& p) {
    return as_duration(n, p, true);
};
auto any_duration = [](const YAML::Node& n, const std::string& p) {
    return as_duration(n, p, false);
};
auto boolean = [](const YAML::Node& n, const std::string& p) { return as_bool(n, p); };
auto int_range(long long min, long long max) {
    return [=](const YAML::Node& n, const std::string& p) { return as_int(n, p, min, max); };
}

std::filesystem::path resolve(const context& ctx, const std::string& p) {
    std::filesystem::path path(p);
    if (path.is_relative()) path = ctx.base_dir / path;
    return path.lexically_normal();
}

// A file the daemon will read later (CA bundle): checked now so a typo fails at startup.
void check_readable_file(const YAML::Node& n, const std::string& key,
                         const std::filesystem::path& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) fail(n, key, path.string() + " does not exist");
    if (!S_ISREG(st.st_mode)) fail(n, key, path.string() + " is not a regular file");
    if (::access(path.c_str(), R_OK) != 0) fail(n, key, path.string() + " is not readable");
}

bool inside(const std::filesystem::path& path, const std::string& dir) {
    if (dir.empty()) return false;
    const auto rel =
        path.lexically_normal().lexically_relative(std::filesystem::path(dir).lexically_normal());
    if (rel.empty() || rel == ".") return false;
    return *rel.begin() != "..";
}

bool valid_credential_name(std::string_view name) {
    return !name.empty() && name != "." && name != ".." &&
           name.find('/') == std::string_view::npos && name.find('\0') == std::string_view::npos;
}

// One credential from exactly one of `<prefix>_file`, `<prefix>_credential` or `<prefix>`
// (inline, warned about). Returns nothing when none is given.
std::optional<secret> read_credential(section& s, const context& ctx, const std::string& prefix,
                                      const std::string& what, secret_source& source) {
    const std::string file_key = prefix + "_file";
    const std::string cred_key = prefix + "_credential";
    auto file = s.take(file_key);
    auto cred = s.take(cred_key);
    auto inline_value = s.take(prefix);
    const int given = (file ? 1 : 0) + (cred ? 1 : 0) + (inline_value ? 1 : 0);
    if (given > 1) {
        const YAML::Node& at = file ? *file : *cred;
        fail(at, s.path_of(file ? file_key : cred_key),
             "give the " + what + " only once: one of " + file_key + ", " + cred_key + " or " +
                 prefix);
    }
    if (file) {
        const std::string key = s.path_of(file_key);
        const auto path = resolve(ctx, as_nonempty_string(*file, key));
        source = {secret_source::kind::file, path.string()};
        return read_secret_file(path, key, inside(path, ctx.env.credentials_directory));
    }
    if (cred) {
        const std::string key = s.path_of(cred_key);
        const std::string name = as_nonempty_string(*cred, key);
        if (!valid_credential_name(name)) {
            fail(*cred, key,
                 "a credential name is a plain file name (no '/'), got \"" + name + "\"");
        }
        if (ctx.env.credentials_directory.empty()) {
            fail(*cred, key,
                 "$CREDENTIALS_DIRECTORY is not set: systemd sets it for a unit with "
                 "LoadCredential=" +
                     name + ":/path; outside systemd use " + file_key);
        }
        source = {secret_source::kind::credential, name};
        return read_secret_file(std::filesystem::path(ctx.env.credentials_directory) / name, key,
                                true);
    }
    if (inline_value) {
        const std::string key = s.path_of(prefix);
        std::string value = as_string(*inline_value, key, true);
        if (value.empty()) fail(*inline_value, key, "must not be empty");
        source = {secret_source::kind::inline_value, {}};
        ctx.warnings.push_back(
            "WARNING: " + key + ": the " + what +
            " is written inline in the config file. Anyone who can read the file, a backup "
            "of it or a diff of it has the credential. Use " +
            file_key + " (mode 0600) or " + cred_key + " (systemd LoadCredential=) instead.");
        return secret(std::move(value));
    }
    return std::nullopt;
}

// scheme://host[:port][/path] with nothing else; used for base_url and proxy.
struct url_parts {
    std::string scheme;
    endpoint ep;
};

url_parts parse_url(const YAML::Node& n, const std::string& key, const std::string& text) {
    for (char c : text) {
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
            fail(n, key, "must not contain spaces or control characters");
        }
    }
    const auto sep = text.find("://");
    if (sep == std::string::npos) fail(n, key, "expected a URL such as https://host/path/");
    url_parts u;
    u.scheme = text.substr(0, sep);
    std::transform(u.scheme.begin(), u.scheme.end(), u.scheme.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (u.scheme != "https" && u.scheme != "http") {
        fail(n, key, "the scheme must be https (or http), got \"" + u.scheme + "\"");
    }
    u.ep.tls = u.scheme == "https";
    if (text.find_first_of("?#") != std::string::npos) {
        fail(n, key, "must not contain a query or fragment (kayako-sync appends the API route)");
    }
    const std::string rest = text.substr(sep + 3);
    const auto slash = rest.find('/');
    const std::string authority = rest.substr(0, slash);
    u.ep.path = slash == std::string::npos ? "/" : rest.substr(slash);
    if (authority.find('@') != std::string::npos) {
        fail(n, key, "must not contain user information (user@host)");
    }
    std::string host = authority;
    std::string port;
    if (!authority.empty() && authority.front() == '[') {
        const auto close = authority.find(']');
        if (close == std::string::npos) fail(n, key, "unterminated IPv6 address");
        host = authority.substr(1, close - 1);
        const std::string after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') fail(n, key, "unexpected text after the IPv6 address");
            port = after.substr(1);
        }
    } else if (const auto colon = authority.rfind(':'); colon != std::string::npos) {
        host = authority.substr(0, colon);
        port = authority.substr(colon + 1);
    }
    if (host.empty()) fail(n, key, "has no host name");
    u.ep.host = host;
    u.ep.port = u.ep.tls ? 443 : 80;
    if (!port.empty() || authority.back() == ':') {
        long long p = 0;
        const auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
        if (port.empty() || ec != std::errc{} || ptr != port.data() + port.size() || p < 1 ||
            p > 65535) {
            fail(n, key, "invalid port \"" + port + "\"");
        }
        u.ep.port = static_cast<std::uint16_t>(p);
    }
    return u;
}

}  // namespace

std::string to_url(const endpoint& ep) {
    std::string host = ep.host.find(':') != std::string::npos ? "[" + ep.host + "]" : ep.host;
    const bool default_port = ep.port == (ep.tls ? 443 : 80);
    return std::string(ep.tls ? "https" : "http") + "://" + host +
           (default_port ? "" : ":" + std::to_string(ep.port)) + ep.path;
}

namespace {

void read_kayako(section& s, const context& ctx, kayako_options& k) {
    auto base = s.take("base_url");
    if (!base)
        fail(YAML::Node(), s.path_of("base_url"),
             "missing (the helpdesk's API URL, e.g. https://helpdesk.example.com/api/)");
    auto api_key = s.take("api_key");
    if (!api_key) fail(YAML::Node(), s.path_of("api_key"), "missing (Admin CP > REST API)");
    k.api_key = as_nonempty_string(*api_key, s.path_of("api_key"));
    if (auto t = s.take("url_type")) {
        k.type = as_choice(*t, s.path_of("url_type"), {"standard", "e"}) == 0 ? url_type::standard
                                                                              : url_type::e;
    }
    read(s, "allow_plain_http", k.allow_plain_http, boolean);

    const std::string base_key = s.path_of("base_url");
    url_parts u = parse_url(*base, base_key, as_nonempty_string(*base, base_key));
    if (!u.ep.tls && !k.allow_plain_http) {
        fail(*base, base_key,
             "plain http:// is refused: every request carries a replayable API signature. Use "
             "https://, or set kayako.allow_plain_http: true for a loopback test server");
    }
    // Kayako's own client strips a trailing index.php; kayako-sync appends it to the path.
    if (u.ep.path.size() >= 9 && u.ep.path.ends_with("index.php")) {
        u.ep.path.resize(u.ep.path.size() - 9);
    }
    if (!u.ep.path.ends_with('/')) u.ep.path += '/';
    k.url = u.ep;
    k.base_url = to_url(k.url);
    if (!k.url.tls) {
        ctx.warnings.push_back("WARNING: " + base_key +
                               ": plain http:// is allowed by allow_plain_http; the API signature "
                               "travels unencrypted");
    }

    auto sec = read_credential(s, ctx, "secret", "API secret", k.api_secret_from);
    if (!sec) {
        fail(YAML::Node(), s.path_of("secret_file"),
             "missing: the API secret comes from secret_file, secret_credential (systemd "
             "LoadCredential=) or, discouraged, secret");
    }
    k.api_secret = std::move(*sec);

    if (auto ca = s.take("ca_file")) {
        const std::string key = s.path_of("ca_file");
        const std::string v = as_string(*ca, key);
        if (!v.empty()) {
            const auto path = resolve(ctx, v);
            check_readable_file(*ca, key, path);
            k.ca_file = path.string();
        }
    }
    if (auto p = s.take("proxy")) {
        const std::string key = s.path_of("proxy");
        const std::string v = as_string(*p, key);
        if (!v.empty()) {
            url_parts pu = parse_url(*p, key, v);
            if (pu.ep.tls) fail(*p, key, "the proxy is reached with http:// (HTTP CONNECT)");
            if (pu.ep.path != "/") fail(*p, key, "a proxy URL has no path");
            k.proxy = pu.ep;
        }
    }
    read(s, "proxy_from_environment", k.proxy_from_environment, boolean);

    {
        section t = s.child("timeouts");
        read(t, "connect", k.timeouts.connect, positive_duration);
        read(t, "tls", k.timeouts.tls, positive_duration);
        read(t, "request", k.timeouts.request, positive_duration);
        read(t, "whole_response", k.timeouts.whole_response, positive_duration);
        t.finish();
        if (k.timeouts.whole_response < k.timeouts.request) {
            fail(YAML::Node(), t.path_of("whole_response"),
                 "must be at least timeouts.request (" + format_duration(k.timeouts.request) + ")");
        }
    }
    if (auto b = s.take("body_limit")) {
        k.body_limit = as_size(*b, s.path_of("body_limit"), 4ull << 10, 1ull << 30);
    }
    read(s, "max_in_flight", k.max_in_flight, int_range(1, 64));
    if (auto r = s.take("requests_per_second")) {
        k.requests_per_second =
            as_double(*r, s.path_of("requests_per_second"), 0, max_requests_per_second, true);
    }
    {
        section r = s.child("retry");
        read(r, "base", k.retry.base, positive_duration);
        read(r, "cap", k.retry.cap, positive_duration);
        read(r, "max_attempts", k.retry.max_attempts, int_range(1, 100));
        if (auto b = r.take("budget_ratio")) {
            k.retry.budget_ratio = as_double(*b, r.path_of("budget_ratio"), 0, 1, false);
        }
        r.finish();
        if (k.retry.cap < k.retry.base) {
            fail(YAML::Node(), r.path_of("cap"),
                 "must be at least retry.base (" + format_duration(k.retry.base) + ")");
        }
    }
    {
        section b = s.child("breaker");
        read(b, "failure_threshold", k.breaker.failure_threshold, int_range(1, 1000));
        read(b, "cooldown", k.breaker.cooldown, positive_duration);
        read(b, "auth_cooldown", k.breaker.auth_cooldown, positive_duration);
        b.finish();
    }
}

bool valid_schema_name(const std::string& name) {
    if (name.empty() || name.size() > 63) return false;
    if (!(name[0] == '_' || (name[0] >= 'a' && name[0] <= 'z'))) return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return c == '_' || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    });
}

void whole_seconds(const duration& d, const std::string& key) {
    if (d.count() % 1000 != 0) {
        fail(YAML::Node(), key, "must be whole seconds (libpq's unit), got " + format_duration(d));
    }
}

void read_postgres(section& s, const context& ctx, postgres_options& p) {
    read(s, "host", p.host,
         [](const YAML::Node& n, const std::string& k) { return as_string(n, k); });
    read(s, "port", p.port, int_range(1, 65535));
    auto db = s.take("dbname");
    if (!db) fail(YAML::Node(), s.path_of("dbname"), "missing (the database holding the mirror)");
    p.dbname = as_nonempty_string(*db, s.path_of("dbname"));
    read(s, "user", p.user, as_nonempty_string);
    p.password = read_credential(s, ctx, "password", "database password", p.password_from);
    if (auto m = s.take("sslmode")) {
        static const std::vector<std::string_view> modes{"disable", "allow",     "prefer",
                                                         "require", "verify-ca", "verify-full"};
        p.sslmode = std::string(modes[as_choice(*m, s.path_of("sslmode"), modes)]);
    }
    if (auto c = s.take("sslrootcert")) {
        const std::string key = s.path_of("sslrootcert");
        const std::string v = as_string(*c, key);
        if (!v.empty()) {
            const auto path = resolve(ctx, v);
            check_readable_file(*c, key, path);
            p.sslrootcert = path.string();
        }
    }
    if (auto t = s.take("target_session_attrs")) {
        static const std::vector<std::string_view> attrs{"any",     "read-write", "read-only",
                                                         "primary", "standby",    "prefer-standby"};
        p.target_session_attrs =
            std::string(attrs[as_choice(*t, s.path_of("target_session_attrs"), attrs)]);
    }
    read(s, "connect_timeout", p.connect_timeout, positive_duration);
    whole_seconds(p.connect_timeout, s.path_of("connect_timeout"));
    read(s, "statement_timeout", p.statement_timeout, positive_duration);
    read(s, "lock_timeout", p.lock_timeout, positive_duration);
    {
        section k = s.child("keepalives");
        read(k, "enabled", p.keepalives.enabled, boolean);
        read(k, "idle", p.keepalives.idle, positive_duration);
        whole_seconds(p.keepalives.idle, k.path_of("idle"));
        read(k, "interval", p.keepalives.interval, positive_duration);
        whole_seconds(p.keepalives.interval, k.path_of("interval"));
        read(k, "count", p.keepalives.count, int_range(1, 100));
        k.finish();
    }
    read(s, "tcp_user_timeout", p.tcp_user_timeout, positive_duration);
    if (auto a = s.take("application_name")) {
        const std::string key = s.path_of("application_name");
        p.application_name = as_nonempty_string(*a, key);
        const bool printable = std::all_of(p.application_name.begin(), p.application_name.end(),
                                           [](char c) { return c >= 0x20 && c < 0x7f; });
        if (!printable || p.application_name.size() > 63) {
            fail(*a, key, "must be at most 63 printable ASCII characters");
        }
    }
    for (auto [key, target] : {std::pair{"mirror_schema", &p.mirror_schema},
                               std::pair{"state_schema", &p.state_schema}}) {
        if (auto n = s.take(key)) {
            const std::string path = s.path_of(key);
            *target = as_nonempty_string(*n, path);
            // Schema names go into SQL text (they cannot be bind parameters), so only plain
            // identifiers are accepted.
            if (!valid_schema_name(*target)) {
                fail(*n, path,
                     "must be a lower-case SQL identifier ([a-z_][a-z0-9_]*, at most "
                     "63 characters), got \"" +
                         *target + "\"");
            }
            if (target->starts_with("pg_")) fail(*n, path, "names starting with pg_ are reserved");
        }
    }
    if (p.mirror_schema == p.state_schema) {
        fail(YAML::Node(), s.path_of("state_schema"),
             "must differ from mirror_schema (\"" + p.mirror_schema + "\")");
    }
    read(s, "pool_size", p.pool_size, int_range(1, 64));
}

void read_stream(section& streams, std::string_view name, stream_options& out,
                 const std::function<void(section&)>& extra = {}) {
    section s = streams.child(name);
    read(s, "enabled", out.enabled, boolean);
    read(s, "interval", out.interval, positive_duration);
    read(s, "jitter", out.jitter, any_duration);
    if (extra) extra(s);
    s.finish();
    if (out.jitter > out.interval) {
        fail(YAML::Node(), s.path_of("jitter"),
             "must not exceed the interval (" + format_duration(out.interval) + ")");
    }
}

void read_streams(section& s, streams_options& st) {
    read_stream(s, "lookups", st.lookups);
    read_stream(s, "organizations", st.organizations);
    read_stream(s, "users", st.users, [&](section& u) {
        read(u, "full_scan_interval", st.users.full_scan_interval, positive_duration);
        read(u, "page_size", st.users.page_size, int_range(1, 1000));
    });
    read_stream(s, "tickets", st.tickets, [&](section& t) {
        read(t, "page_size", st.tickets.page_size, int_range(1, 1000));
        read(t, "overlap", st.tickets.overlap, any_duration);
        read(t, "backfill", st.tickets.backfill, boolean);
    });
    read_stream(s, "posts", st.posts);
    read_stream(s, "notes", st.notes);
    read_stream(s, "custom_fields", st.custom_fields);
    read_stream(s, "attachments", st.attachments);
    read_stream(s, "time_tracks", st.time_tracks);
    read_stream(s, "reconcile", st.reconcile, [&](section& r) {
        if (auto f = r.take("mass_delete_fraction")) {
            st.reconcile.mass_delete_fraction =
                as_double(*f, r.path_of("mass_delete_fraction"), 0, 1, true);
        }
        read(r, "mass_delete_min", st.reconcile.mass_delete_min, int_range(0, 1'000'000'000));
    });
}

void read_log(section& s, log_options& l) {
    if (auto lv = s.take("level")) {
        const std::string key = s.path_of("level");
        static const std::vector<std::string_view> levels{"trace", "debug",    "info", "warn",
                                                          "error", "critical", "off"};
        l.level = std::string(levels[as_choice(*lv, key, levels)]);
    }
    if (auto f = s.take("format")) {
        l.format = as_choice(*f, s.path_of("format"), {"text", "json"}) == 0 ? log_format::text
                                                                             : log_format::json;
    }
    if (auto t = s.take("timestamps")) {
        const std::string key = s.path_of("timestamps");
        if (t->IsScalar() && t->Scalar() == "auto") {
            l.timestamps = log_timestamps::automatic;
        } else {
            l.timestamps = as_bool(*t, key) ? log_timestamps::on : log_timestamps::off;
        }
    }
}

void read_metrics(section& s, metrics_options& m) {
    read(s, "enabled", m.enabled, boolean);
    if (auto l = s.take("listen")) {
        const std::string key = s.path_of("listen");
        const std::string v = as_nonempty_string(*l, key);
        std::string host;
        std::string port;
        if (v.front() == '[') {
            const auto close = v.find("]:");
            if (close == std::string::npos) fail(*l, key, "expected [ipv6]:port");
            host = v.substr(1, close - 1);
            port = v.substr(close + 2);
        } else {
            const auto colon = v.rfind(':');
            if (colon == std::string::npos)
                fail(*l, key, "expected address:port, e.g. 127.0.0.1:9464");
            host = v.substr(0, colon);
            port = v.substr(colon + 1);
        }
        unsigned char buf[16];
        if (::inet_pton(AF_INET, host.c_str(), buf) != 1 &&
            ::inet_pton(AF_INET6, host.c_str(), buf) != 1) {
            fail(*l, key,
                 "the address must be an IP address (no host names), got \"" + host + "\"");
        }
        long long p = 0;
        const auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
        if (port.empty() || ec != std::errc{} || ptr != port.data() + port.size() || p < 1 ||
            p > 65535) {
            fail(*l, key, "invalid port \"" + port + "\"");
        }
        m.listen_host = host;
        m.listen_port = static_cast<std::uint16_t>(p);
    }
}

}  // namespace

config parse_config(std::string_view yaml_text, const std::string& source_name,
                    const std::filesystem::path& base_dir, const environment& env) {
    YAML::Node root;
    try {
        root = YAML::Load(std::string(yaml_text));
    } catch (const YAML::Exception& e) {
        // yaml-cpp's parser messages are fixed texts ("illegal map value"), never file content.
        std::string where;
        if (!e.mark.is_null()) {
            where = " at line " + std::to_string(e.mark.line + 1) + ", column " +
                    std::to_string(e.mark.column + 1);
        }
        throw config_error("", "invalid YAML" + where + ": " + e.msg);
    }
    config cfg;
    cfg.source = source_name;
    context ctx{base_dir, env, cfg.warnings};
    section top(root, "");
    if (!top.has("kayako")) fail(root, "kayako", "missing (the helpdesk to mirror)");
    if (!top.has("postgres")) fail(root, "postgres", "missing (the database to mirror into)");
    {
        section k = top.child("kayako");
        read_kayako(k, ctx, cfg.kayako);
        k.finish();
    }
    {
        section p = top.child("postgres");
        read_postgres(p, ctx, cfg.postgres);
        p.finish();
    }
    {
        section s = top.child("streams");
        read_streams(s, cfg.streams);
        s.finish();
    }
    {
        section p = top.child("push");
        read(p, "enabled", cfg.push.enabled, boolean);
        read(p, "sweep_interval", cfg.push.sweep_interval, positive_duration);
        if (auto c = p.take("conflict_policy")) {
            cfg.push.on_conflict = static_cast<conflict_policy>(as_choice(
                *c, p.path_of("conflict_policy"), {"kayako_wins", "local_wins", "manual"}));
        }
        read(p, "max_attempts", cfg.push.max_attempts, int_range(1, 1000));
        read(p, "concurrency", cfg.push.concurrency, int_range(1, 64));
        p.finish();
    }
    {
        section f = top.child("feed");
        read(f, "retention", cfg.feed.retention, positive_duration);
        f.finish();
    }
    {
        section l = top.child("log");
        read_log(l, cfg.log);
        l.finish();
    }
    {
        section m = top.child("metrics");
        read_metrics(m, cfg.metrics);
        m.finish();
    }
    read(top, "shutdown_timeout", cfg.shutdown_timeout, positive_duration);
    top.finish();
    return cfg;
}

config load_config(const std::filesystem::path& file) {
    return load_config(file, environment::from_process());
}

config load_config(const std::filesystem::path& file, const environment& env) {
    std::error_code ec;
    const auto absolute = std::filesystem::absolute(file, ec).lexically_normal();
    if (ec) throw config_error("", "cannot resolve " + file.string() + ": " + ec.message());
    struct stat st {};
    if (::stat(absolute.c_str(), &st) != 0) {
        throw config_error(
            "", "cannot read the config file " + absolute.string() + ": " + std::strerror(errno));
    }
    if (!S_ISREG(st.st_mode)) {
        throw config_error("", "the config file " + absolute.string() + " is not a regular file");
    }
    std::ifstream in(absolute, std::ios::binary);
    if (!in) {
        throw config_error(
            "", "cannot read the config file " + absolute.string() + ": " + std::strerror(errno));
    }
    std::ostringstream text;
    text << in.rdbuf();
    config cfg = parse_config(text.str(), absolute.string(), absolute.parent_path(), env);
    const bool has_inline = cfg.kayako.api_secret_from.from == secret_source::kind::inline_value ||
                            cfg.postgres.password_from.from == secret_source::kind::inline_value;
    if (has_inline && (st.st_mode & 077) != 0) {
        cfg.warnings.push_back("WARNING: " + absolute.string() +
                               " holds an inline secret and is readable by group or others; run: "
                               "chmod 600 " +
                               absolute.string());
    }
    return cfg;
}

std::vector<std::pair<std::string, std::string>> postgres_options::libpq_keywords(
    bool include_password) const {
    const auto seconds = [](duration d) { return std::to_string(d.count() / 1000); };
    std::vector<std::pair<std::string, std::string>> kv;
    if (!host.empty()) kv.emplace_back("host", host);
    kv.emplace_back("port", std::to_string(port));
    kv.emplace_back("dbname", dbname);
    kv.emplace_back("user", user);
    if (include_password && password) kv.emplace_back("password", std::string(password->reveal()));
    kv.emplace_back("sslmode", sslmode);
    if (!sslrootcert.empty()) kv.emplace_back("sslrootcert", sslrootcert);
    kv.emplace_back("target_session_attrs", target_session_attrs);
    kv.emplace_back("connect_timeout", seconds(connect_timeout));
    kv.emplace_back("keepalives", keepalives.enabled ? "1" : "0");
    if (keepalives.enabled) {
        kv.emplace_back("keepalives_idle", seconds(keepalives.idle));
        kv.emplace_back("keepalives_interval", seconds(keepalives.interval));
        kv.emplace_back("keepalives_count", std::to_string(keepalives.count));
    }
    kv.emplace_back("tcp_user_timeout", std::to_string(tcp_user_timeout.count()));
    kv.emplace_back("application_name", application_name);
    // Session settings travel in the startup packet, so they hold from the first statement.
    kv.emplace_back("options", "-c statement_timeout=" + std::to_string(statement_timeout.count()) +
                                   " -c lock_timeout=" + std::to_string(lock_timeout.count()));
    return kv;
}

logging::options logging_options(const log_options& log, bool under_journald) {
    logging::options o;
    o.fmt = log.format == log_format::json ? logging::format::json : logging::format::text;
    if (!logging::parse_level(log.level, o.level)) o.level = spdlog::level::info;
    switch (log.timestamps) {
        case log_timestamps::automatic:
            o.timestamps = !under_journald;
            break;
        case log_timestamps::on:
            o.timestamps = true;
            break;
        case log_timestamps::off:
            o.timestamps = false;
            break;
    }
    return o;
}

}  // namespace ksync::config
