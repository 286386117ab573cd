#include "config/config.hpp"

#include "tests/unit/config/temp_dir.hpp"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>

namespace {

namespace cfgns = ksync::config;
using cfgns::config_error;
using namespace std::chrono_literals;

constexpr const char* api_secret = "Zq9-api-SECRET-never-printed";
constexpr const char* pg_password = "Pw7-pg-PASSWORD-never-printed";

class config_test : public ::testing::Test {
protected:
    void SetUp() override {
        dir_.write("api-secret", std::string(api_secret) + "\n", 0600);
        dir_.write("pg-password", std::string(pg_password) + "\n", 0600);
    }

    // The smallest valid config, with `extra` appended (YAML, may add sections).
    static std::string minimal(const std::string& kayako_extra = "",
                               const std::string& extra = "") {
        return "kayako:\n"
               "  base_url: https://helpdesk.example.com/api/\n"
               "  api_key: key-123\n"
               "  secret_file: api-secret\n" +
               kayako_extra +
               "postgres:\n"
               "  dbname: kayako\n" +
               extra;
    }

    cfgns::config load(const std::string& text, cfgns::environment env = {}) {
        const auto file = dir_.write("kayako-sync.yaml", text, 0600);
        return cfgns::load_config(file, env);
    }

    // The error load() raises; fails the test when it loads.
    config_error error_of(const std::string& text, cfgns::environment env = {}) {
        try {
            (void)load(text, env);
        } catch (const config_error& e) {
            const std::string what = e.what();
            EXPECT_EQ(what.find(api_secret), std::string::npos) << what;
            EXPECT_EQ(what.find(pg_password), std::string::npos) << what;
            return e;
        }
        ADD_FAILURE() << "config was accepted:\n" << text;
        return config_error("(accepted)", "");
    }

    ksync::test::temp_dir dir_;
};

TEST_F(config_test, minimal_config_gets_documented_defaults) {
    const auto c = load(minimal());
    EXPECT_EQ(c.kayako.base_url, "https://helpdesk.example.com/api/");
    EXPECT_EQ(c.kayako.url.host, "helpdesk.example.com");
    EXPECT_EQ(c.kayako.url.port, 443);
    EXPECT_TRUE(c.kayako.url.tls);
    EXPECT_EQ(c.kayako.url.path, "/api/");
    EXPECT_EQ(c.kayako.type, cfgns::url_type::standard);
    EXPECT_EQ(c.kayako.api_key, "key-123");
    EXPECT_EQ(c.kayako.api_secret.reveal(), api_secret);
    EXPECT_EQ(c.kayako.api_secret_from.from, cfgns::secret_source::kind::file);
    EXPECT_EQ(c.kayako.api_secret_from.location, (dir_.path() / "api-secret").string());
    EXPECT_EQ(c.kayako.body_limit, 64ull << 20);
    EXPECT_EQ(c.kayako.retry.max_attempts, 5);
    EXPECT_FALSE(c.kayako.proxy.has_value());
    EXPECT_EQ(c.postgres.dbname, "kayako");
    EXPECT_EQ(c.postgres.mirror_schema, "kayako");
    EXPECT_EQ(c.postgres.state_schema, "kayako_sync");
    EXPECT_FALSE(c.postgres.password.has_value());
    EXPECT_FALSE(c.push.enabled);
    EXPECT_EQ(c.push.on_conflict, cfgns::conflict_policy::kayako_wins);
    EXPECT_EQ(c.push.concurrency, 8);
    EXPECT_TRUE(c.streams.tickets.enabled);
    EXPECT_EQ(c.streams.tickets.interval, 1min);
    EXPECT_EQ(c.log.timestamps, cfgns::log_timestamps::automatic);
    EXPECT_EQ(c.metrics.listen_host, "127.0.0.1");
    EXPECT_EQ(c.metrics.listen_port, 9464);
    EXPECT_EQ(c.shutdown_timeout, 25s);
    EXPECT_TRUE(c.warnings.empty());
}

TEST_F(config_test, every_section_is_read) {
    const auto c = load(minimal(
        "  url_type: e\n"
        "  timeouts: {connect: 3s, tls: 4s, request: 20s, whole_response: 2m}\n"
        "  body_limit: 8MiB\n"
        "  max_in_flight: 4\n"
        "  requests_per_second: 2.5\n"
        "  proxy: http://proxy.internal:3128\n"
        "  retry: {base: 250ms, cap: 10s, max_attempts: 3, budget_ratio: 0.2}\n"
        "  breaker: {failure_threshold: 7, cooldown: 30s, auth_cooldown: 1h}\n",
        "  host: db1,db2\n"
        "  port: 6543\n"
        "  password_file: pg-password\n"
        "  sslmode: verify-full\n"
        "  statement_timeout: 1m\n"
        "  mirror_schema: helpdesk_a\n"
        "  state_schema: helpdesk_a_sync\n"
        "  pool_size: 3\n"
        "streams:\n"
        "  users: {interval: 10m, full_scan_interval: 12h, page_size: 500}\n"
        "  tickets: {page_size: 50, overlap: 0s, backfill: false, jitter: 0s}\n"
        "  attachments: {enabled: true}\n"
        "  reconcile: {mass_delete_fraction: 0.25, mass_delete_min: 10}\n"
        "push: {enabled: true, sweep_interval: 10s, conflict_policy: manual, max_attempts: 3,"
        " concurrency: 16}\n"
        "feed: {retention: 30d}\n"
        "log: {level: debug, format: json, timestamps: false}\n"
        "metrics: {enabled: true, listen: '[::1]:9999'}\n"
        "shutdown_timeout: 10s\n"));
    EXPECT_EQ(c.kayako.type, cfgns::url_type::e);
    EXPECT_EQ(c.kayako.timeouts.tls, 4s);
    EXPECT_EQ(c.kayako.timeouts.whole_response, 2min);
    EXPECT_EQ(c.kayako.body_limit, 8ull << 20);
    EXPECT_EQ(c.kayako.max_in_flight, 4);
    EXPECT_DOUBLE_EQ(c.kayako.requests_per_second, 2.5);
    ASSERT_TRUE(c.kayako.proxy.has_value());
    EXPECT_EQ(c.kayako.proxy->host, "proxy.internal");
    EXPECT_EQ(c.kayako.proxy->port, 3128);
    EXPECT_EQ(c.kayako.retry.base, 250ms);
    EXPECT_DOUBLE_EQ(c.kayako.retry.budget_ratio, 0.2);
    EXPECT_EQ(c.kayako.breaker.auth_cooldown, 1h);
    EXPECT_EQ(c.postgres.host, "db1,db2");
    EXPECT_EQ(c.postgres.port, 6543);
    ASSERT_TRUE(c.postgres.password.has_value());
    EXPECT_EQ(c.postgres.password->reveal(), pg_password);
    EXPECT_EQ(c.postgres.sslmode, "verify-full");
    EXPECT_EQ(c.postgres.mirror_schema, "helpdesk_a");
    EXPECT_EQ(c.postgres.pool_size, 3);
    EXPECT_EQ(c.streams.users.full_scan_interval, 12h);
    EXPECT_EQ(c.streams.users.page_size, 500);
    EXPECT_EQ(c.streams.users.interval, 10min);
    EXPECT_EQ(c.streams.tickets.overlap, 0ms);
    EXPECT_FALSE(c.streams.tickets.backfill);
    EXPECT_TRUE(c.streams.attachments.enabled);
    EXPECT_DOUBLE_EQ(c.streams.reconcile.mass_delete_fraction, 0.25);
    EXPECT_TRUE(c.push.enabled);
    EXPECT_EQ(c.push.on_conflict, cfgns::conflict_policy::manual);
    EXPECT_EQ(c.push.concurrency, 16);
    EXPECT_EQ(c.feed.retention, std::chrono::hours(24 * 30));
    EXPECT_EQ(c.log.format, cfgns::log_format::json);
    EXPECT_EQ(c.log.timestamps, cfgns::log_timestamps::off);
    EXPECT_EQ(c.metrics.listen_host, "::1");
    EXPECT_EQ(c.metrics.listen_port, 9999);
    EXPECT_EQ(c.shutdown_timeout, 10s);
}

TEST_F(config_test, unknown_keys_are_rejected_with_a_suggestion) {
    auto e = error_of(minimal("  retyr: {max_attempts: 3}\n"));
    EXPECT_EQ(e.key(), "kayako.retyr");
    EXPECT_NE(e.reason().find("unknown key"), std::string::npos);
    EXPECT_NE(e.reason().find("did you mean 'retry'"), std::string::npos) << e.what();

    e = error_of(minimal("", "streams:\n  tickts: {enabled: false}\n"));
    EXPECT_EQ(e.key(), "streams.tickts");
    EXPECT_NE(e.reason().find("did you mean 'tickets'"), std::string::npos) << e.what();

    e = error_of(minimal("  retry: {max_atempts: 3}\n"));
    EXPECT_EQ(e.key(), "kayako.retry.max_atempts");

    e = error_of(minimal("", "frobnicate: 1\n"));
    EXPECT_EQ(e.key(), "frobnicate");
    EXPECT_EQ(e.reason().find("did you mean"), std::string::npos);  // nothing close
}

TEST_F(config_test, wrong_types_name_the_key) {
    auto e = error_of(minimal("  max_in_flight: many\n"));
    EXPECT_EQ(e.key(), "kayako.max_in_flight");
    EXPECT_NE(e.reason().find("expected an integer"), std::string::npos);

    e = error_of(minimal("  retry: 5\n"));
    EXPECT_EQ(e.key(), "kayako.retry");
    EXPECT_NE(e.reason().find("expected a mapping"), std::string::npos);

    e = error_of(minimal("", "streams:\n  tickets:\n    enabled: maybe\n"));
    EXPECT_EQ(e.key(), "streams.tickets.enabled");
    EXPECT_NE(e.reason().find("true or false"), std::string::npos);

    e = error_of(
        minimal("  api_key: [a, b]\n").replace(minimal().find("  api_key: key-123\n"), 19, ""));
    EXPECT_EQ(e.key(), "kayako.api_key");
    EXPECT_NE(e.reason().find("got a list"), std::string::npos);

    e = error_of(minimal("", "  port: 70000\n"));
    EXPECT_EQ(e.key(), "postgres.port");

    e = error_of(minimal("  body_limit: lots\n"));
    EXPECT_EQ(e.key(), "kayako.body_limit");

    e = error_of(minimal("", "push:\n  conflict_policy: whoever\n"));
    EXPECT_EQ(e.key(), "push.conflict_policy");
    EXPECT_NE(e.reason().find("kayako_wins|local_wins|manual"), std::string::npos);

    e = error_of(minimal("", "log:\n  level: loud\n"));
    EXPECT_EQ(e.key(), "log.level");
}

TEST_F(config_test, requests_per_second_goes_up_to_ten_thousand) {
    // A backfill is one Ticket/get per ticket: the old ceiling of 1000 held 100k tickets to 100 s.
    EXPECT_DOUBLE_EQ(load(minimal("  requests_per_second: 10000\n")).kayako.requests_per_second,
                     10000.0);
    EXPECT_DOUBLE_EQ(load(minimal("  requests_per_second: 2500.5\n")).kayako.requests_per_second,
                     2500.5);
    auto e = error_of(minimal("  requests_per_second: 10001\n"));
    EXPECT_EQ(e.key(), "kayako.requests_per_second");
    EXPECT_NE(e.reason().find("at most 10000"), std::string::npos) << e.reason();
    e = error_of(minimal("  requests_per_second: 0\n"));
    EXPECT_EQ(e.key(), "kayako.requests_per_second");
    EXPECT_NE(e.reason().find("greater than 0"), std::string::npos) << e.reason();
}

TEST_F(config_test, negative_zero_and_unitless_intervals_are_rejected) {
    auto e = error_of(minimal("", "streams:\n  tickets:\n    interval: -5m\n"));
    EXPECT_EQ(e.key(), "streams.tickets.interval");
    EXPECT_NE(e.reason().find("negative"), std::string::npos);

    e = error_of(minimal("", "streams:\n  users:\n    interval: 0s\n"));
    EXPECT_EQ(e.key(), "streams.users.interval");
    EXPECT_NE(e.reason().find("greater than zero"), std::string::npos);

    e = error_of(minimal("", "push:\n  sweep_interval: 30\n"));
    EXPECT_EQ(e.key(), "push.sweep_interval");
    EXPECT_NE(e.reason().find("needs a unit"), std::string::npos);

    e = error_of(minimal("  timeouts:\n    connect: -1s\n"));
    EXPECT_EQ(e.key(), "kayako.timeouts.connect");

    e = error_of(minimal("", "shutdown_timeout: 0ms\n"));
    EXPECT_EQ(e.key(), "shutdown_timeout");
}

TEST_F(config_test, cross_field_rules) {
    auto e = error_of(minimal("", "streams:\n  tickets: {interval: 1m, jitter: 2m}\n"));
    EXPECT_EQ(e.key(), "streams.tickets.jitter");
    e = error_of(minimal("  retry: {base: 10s, cap: 1s}\n"));
    EXPECT_EQ(e.key(), "kayako.retry.cap");
    e = error_of(minimal("  timeouts: {request: 2m, whole_response: 1m}\n"));
    EXPECT_EQ(e.key(), "kayako.timeouts.whole_response");
    e = error_of(minimal("", "  connect_timeout: 1500ms\n"));
    EXPECT_EQ(e.key(), "postgres.connect_timeout");
    EXPECT_NE(e.reason().find("whole seconds"), std::string::npos);
    e = error_of(minimal("", "  state_schema: kayako\n"));
    EXPECT_EQ(e.key(), "postgres.state_schema");
    e = error_of(minimal("", "  mirror_schema: \"kayako; drop table x\"\n"));
    EXPECT_EQ(e.key(), "postgres.mirror_schema");
    e = error_of(minimal("", "  mirror_schema: pg_catalog\n"));
    EXPECT_EQ(e.key(), "postgres.mirror_schema");
    e = error_of(minimal("", "streams:\n  reconcile: {mass_delete_fraction: 0}\n"));
    EXPECT_EQ(e.key(), "streams.reconcile.mass_delete_fraction");
    e = error_of(minimal("", "metrics: {listen: 'localhost:9464'}\n"));
    EXPECT_EQ(e.key(), "metrics.listen");
}

TEST_F(config_test, plain_http_needs_the_explicit_opt_in) {
    std::string text = minimal();
    text.replace(text.find("https://helpdesk.example.com/api/"), 33, "http://127.0.0.1:8080/api");
    auto e = error_of(text);
    EXPECT_EQ(e.key(), "kayako.base_url");
    EXPECT_NE(e.reason().find("allow_plain_http"), std::string::npos);

    std::string allowed = text;
    allowed.replace(allowed.find("  secret_file"), 0, "  allow_plain_http: true\n");
    const auto c = load(allowed);
    EXPECT_FALSE(c.kayako.url.tls);
    EXPECT_EQ(c.kayako.url.port, 8080);
    EXPECT_EQ(c.kayako.url.path, "/api/");
    EXPECT_EQ(c.kayako.base_url, "http://127.0.0.1:8080/api/");
    ASSERT_EQ(c.warnings.size(), 1u);
    EXPECT_NE(c.warnings[0].find("plain http://"), std::string::npos);
}

TEST_F(config_test, base_url_is_checked_and_normalised) {
    auto with_url = [](const std::string& url) {
        std::string t = minimal();
        return t.replace(t.find("https://helpdesk.example.com/api/"), 33, url);
    };
    auto c = load(with_url("https://Help.example.com:8443/kayako/api/index.php"));
    EXPECT_EQ(c.kayako.url.port, 8443);
    EXPECT_EQ(c.kayako.url.path, "/kayako/api/");
    EXPECT_EQ(c.kayako.base_url, "https://Help.example.com:8443/kayako/api/");
    c = load(with_url("https://[::1]/"));
    EXPECT_EQ(c.kayako.url.host, "::1");
    EXPECT_EQ(c.kayako.base_url, "https://[::1]/");
    for (const char* bad :
         {"ftp://h/", "helpdesk.example.com/api", "https:///api/", "https://h/api/?e=1",
          "https://user@h/", "https://h:0/", "https://h:99999/", "https://h/a b/"}) {
        EXPECT_EQ(error_of(with_url(bad)).key(), "kayako.base_url") << bad;
    }
}

TEST_F(config_test, missing_required_values_name_the_key) {
    EXPECT_EQ(error_of("postgres: {dbname: x}\n").key(), "kayako");
    EXPECT_EQ(error_of("kayako: {}\npostgres: {dbname: x}\n").key(), "kayako.base_url");
    std::string no_secret = minimal();
    no_secret.erase(no_secret.find("  secret_file: api-secret\n"), 26);
    auto e = error_of(no_secret);
    EXPECT_EQ(e.key(), "kayako.secret_file");
    EXPECT_NE(e.reason().find("missing"), std::string::npos);
    std::string no_db = minimal();
    no_db.erase(no_db.find("  dbname: kayako\n"), 17);
    EXPECT_EQ(error_of(no_db).key(), "postgres.dbname");
    EXPECT_EQ(error_of("").key(), "kayako");
}

TEST_F(config_test, secret_file_problems_exit_through_config_error_naming_the_key) {
    auto with_secret_file = [](const std::string& name) {
        std::string t = minimal();
        return t.replace(t.find("secret_file: api-secret"), 23, "secret_file: " + name);
    };
    auto e = error_of(with_secret_file("absent"));
    EXPECT_EQ(e.key(), "kayako.secret_file");
    EXPECT_NE(e.reason().find("does not exist"), std::string::npos);

    dir_.write("world", std::string(api_secret) + "\n", 0644);
    e = error_of(with_secret_file("world"));
    EXPECT_EQ(e.key(), "kayako.secret_file");
    EXPECT_NE(e.reason().find("chmod 600"), std::string::npos);

    std::filesystem::create_symlink(dir_.path() / "api-secret", dir_.path() / "link");
    e = error_of(with_secret_file("link"));
    EXPECT_EQ(e.key(), "kayako.secret_file");
    EXPECT_NE(e.reason().find("symbolic link"), std::string::npos);

    std::filesystem::create_directory(dir_.path() / "adir");
    e = error_of(with_secret_file("adir"));
    EXPECT_EQ(e.key(), "kayako.secret_file");
    EXPECT_NE(e.reason().find("directory"), std::string::npos);

    dir_.write("empty", "", 0600);
    EXPECT_NE(error_of(with_secret_file("empty")).reason().find("empty"), std::string::npos);

    dir_.write("big", std::string(5000, 'x'), 0600);
    EXPECT_NE(error_of(with_secret_file("big")).reason().find("larger than"), std::string::npos);

    dir_.write("pg-world", pg_password, 0644);
    e = error_of(minimal("", "  password_file: pg-world\n"));
    EXPECT_EQ(e.key(), "postgres.password_file");
}

TEST_F(config_test, only_one_secret_source_is_allowed) {
    auto e = error_of(minimal("  secret_credential: kayako-api-secret\n"));
    EXPECT_EQ(e.key(), "kayako.secret_file");
    EXPECT_NE(e.reason().find("only once"), std::string::npos);
}

TEST_F(config_test, systemd_credential_is_read_from_the_credentials_directory) {
    // systemd's credentials directory is protected by systemd itself: a 0644 file is fine there.
    dir_.write("creds/kayako-api-secret", std::string(api_secret) + "\n", 0644);
    std::string text = minimal();
    text.replace(text.find("secret_file: api-secret"), 23, "secret_credential: kayako-api-secret");
    const cfgns::environment env{(dir_.path() / "creds").string()};
    const auto c = load(text, env);
    EXPECT_EQ(c.kayako.api_secret.reveal(), api_secret);
    EXPECT_EQ(c.kayako.api_secret_from.from, cfgns::secret_source::kind::credential);
    EXPECT_EQ(c.kayako.api_secret_from.location, "kayako-api-secret");

    auto e = error_of(text, {});
    EXPECT_EQ(e.key(), "kayako.secret_credential");
    EXPECT_NE(e.reason().find("CREDENTIALS_DIRECTORY"), std::string::npos);

    std::string bad_name = text;
    bad_name.replace(bad_name.find("kayako-api-secret"), 17, "../api-secret");
    EXPECT_EQ(error_of(bad_name, env).key(), "kayako.secret_credential");

    // A secret_file path inside the credentials directory gets the same waiver...
    std::string by_path = minimal();
    by_path.replace(by_path.find("secret_file: api-secret"), 23,
                    "secret_file: creds/kayako-api-secret");
    EXPECT_EQ(load(by_path, env).kayako.api_secret.reveal(), api_secret);
    // ...and not outside it.
    EXPECT_NE(error_of(by_path, {}).reason().find("group or others"), std::string::npos);
}

TEST_F(config_test, inline_secret_loads_with_a_loud_warning_that_hides_it) {
    std::string text = minimal();
    text.replace(text.find("secret_file: api-secret"), 23,
                 std::string("secret: \"") + api_secret + "\"");
    const auto c = load(text);
    EXPECT_EQ(c.kayako.api_secret.reveal(), api_secret);
    ASSERT_EQ(c.warnings.size(), 1u);
    EXPECT_NE(c.warnings[0].find("WARNING: kayako.secret"), std::string::npos);
    EXPECT_EQ(c.warnings[0].find(api_secret), std::string::npos);

    // A group-readable file holding an inline secret earns a second warning.
    const auto file = dir_.write("open.yaml", text, 0644);
    const auto c2 = cfgns::load_config(file, {});
    ASSERT_EQ(c2.warnings.size(), 2u);
    EXPECT_NE(c2.warnings[1].find("chmod 600"), std::string::npos);
}

TEST_F(config_test, duplicate_keys_are_rejected) {
    auto e = error_of(minimal("  max_in_flight: 2\n  max_in_flight: 3\n"));
    EXPECT_EQ(e.key(), "kayako.max_in_flight");
    EXPECT_NE(e.reason().find("duplicate"), std::string::npos);
}

TEST_F(config_test, errors_carry_the_line_number) {
    auto e = error_of(minimal("  max_in_flight: many\n"));
    EXPECT_NE(e.reason().find("(line 5)"), std::string::npos) << e.what();
    e = error_of("kayako: [\n");
    EXPECT_EQ(e.key(), "");
    EXPECT_NE(e.reason().find("invalid YAML at line"), std::string::npos) << e.what();
}

TEST_F(config_test, errors_never_quote_an_inline_secret) {
    // A mis-indented inline secret becomes a mapping; the error must not describe its content.
    std::string text = minimal();
    text.replace(text.find("secret_file: api-secret"), 23,
                 std::string("secret:\n    ") + api_secret + ": x");
    auto e = error_of(text);  // error_of asserts the secret is absent from what()
    EXPECT_EQ(e.key(), "kayako.secret");
}

TEST_F(config_test, config_file_itself_must_be_readable_regular_file) {
    EXPECT_THROW((void)cfgns::load_config(dir_.path() / "nope.yaml", {}), config_error);
    EXPECT_THROW((void)cfgns::load_config(dir_.path(), {}), config_error);
}

TEST_F(config_test, effective_yaml_round_trips_and_hides_secrets) {
    const auto c = load(minimal("  url_type: e\n  max_in_flight: 3\n",
                                "  password_file: pg-password\n"
                                "streams:\n  tickets: {overlap: 1h30m}\n"
                                "log: {timestamps: false}\n"));
    const std::string yaml = cfgns::to_yaml(c);
    EXPECT_EQ(yaml.find(api_secret), std::string::npos);
    EXPECT_EQ(yaml.find(pg_password), std::string::npos);
    EXPECT_NE(yaml.find("contents: ***"), std::string::npos);
    EXPECT_NE(yaml.find("overlap: 1h30m"), std::string::npos);
    // The output is itself a valid config describing the same settings.
    const auto again = cfgns::parse_config(yaml, "again", dir_.path(), {});
    EXPECT_EQ(cfgns::to_yaml(again), yaml);
    EXPECT_EQ(again.kayako.api_secret.reveal(), api_secret);
}

TEST_F(config_test, effective_yaml_shows_an_inline_secret_as_stars) {
    std::string text = minimal("", std::string("  password: \"") + pg_password + "\"\n");
    const auto c = load(text);
    const std::string yaml = cfgns::to_yaml(c);
    EXPECT_EQ(yaml.find(pg_password), std::string::npos);
    EXPECT_NE(yaml.find("password: \"***\""), std::string::npos) << yaml;
}

// Every key path of a YAML document, e.g. "kayako.retry.max_attempts".
void collect_keys(const YAML::Node& n, const std::string& prefix, std::set<std::string>& out) {
    if (!n.IsMap()) return;
    for (const auto& kv : n) {
        const std::string path =
            prefix.empty() ? kv.first.Scalar() : prefix + "." + kv.first.Scalar();
        out.insert(path);
        collect_keys(kv.second, path, out);
    }
}

std::string read_text(const std::filesystem::path& p) {
    std::ifstream in(p);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

TEST_F(config_test, example_file_loads_documents_every_key_and_states_the_defaults) {
    std::string example =
        read_text(std::filesystem::path(KSYNC_SOURCE_DIR) / "config/kayako-sync.example.yaml");
    ASSERT_FALSE(example.empty());
    const std::string original_secret = "secret_file: /etc/kayako-sync/api-secret";
    ASSERT_NE(example.find(original_secret), std::string::npos);
    example.replace(example.find(original_secret), original_secret.size(),
                    "secret_file: " + (dir_.path() / "api-secret").string());
    const auto c = load(example);
    EXPECT_TRUE(c.warnings.empty());

    // Every key the daemon knows appears in the example...
    std::set<std::string> example_keys;
    collect_keys(YAML::Load(example), "", example_keys);
    std::set<std::string> effective_keys;
    collect_keys(YAML::Load(cfgns::to_yaml(c)), "", effective_keys);
    for (const auto& k : effective_keys) EXPECT_TRUE(example_keys.contains(k)) << k;
    // ...the alternatives to secret_file at least as comments...
    for (const char* alt :
         {"secret_credential:", "secret:", "password_file:", "password_credential:"}) {
        EXPECT_NE(example.find(alt), std::string::npos) << alt;
    }
    // ...and every value it shows is the default: the minimal config says the same thing.
    const auto m = load(minimal());
    std::string expected = cfgns::to_yaml(m);
    std::string actual = cfgns::to_yaml(c);
    expected = std::regex_replace(expected, std::regex("api_key: \"key-123\""),
                                  "api_key: \"00000000-0000-0000-0000-000000000000\"");
    EXPECT_EQ(actual, expected);
}

TEST(config_units, libpq_keywords_hold_the_password_only_on_request) {
    cfgns::postgres_options p;
    p.dbname = "kayako";
    p.password = ksync::secret(pg_password);
    const auto without = p.libpq_keywords(false);
    for (const auto& [k, v] : without) {
        EXPECT_NE(k, "password");
        EXPECT_EQ(v.find(pg_password), std::string::npos);
    }
    const auto with = p.libpq_keywords(true);
    const auto find = [&](const std::string& key) {
        for (const auto& [k, v] : with)
            if (k == key) return v;
        return std::string("(absent)");
    };
    EXPECT_EQ(find("password"), pg_password);
    EXPECT_EQ(find("host"), "(absent)");  // libpq default socket
    EXPECT_EQ(find("connect_timeout"), "5");
    EXPECT_EQ(find("keepalives_idle"), "30");
    EXPECT_EQ(find("tcp_user_timeout"), "30000");
    EXPECT_EQ(find("options"), "-c statement_timeout=30000 -c lock_timeout=5000");
    EXPECT_EQ(find("target_session_attrs"), "read-write");
}

TEST(config_units, logging_options_turn_timestamps_off_under_journald_when_auto) {
    cfgns::log_options l;
    EXPECT_TRUE(cfgns::logging_options(l, false).timestamps);
    EXPECT_FALSE(cfgns::logging_options(l, true).timestamps);
    l.timestamps = cfgns::log_timestamps::on;
    EXPECT_TRUE(cfgns::logging_options(l, true).timestamps);
    l.timestamps = cfgns::log_timestamps::off;
    l.format = cfgns::log_format::json;
    l.level = "debug";
    const auto o = cfgns::logging_options(l, false);
    EXPECT_FALSE(o.timestamps);
    EXPECT_EQ(o.fmt, ksync::logging::format::json);
    EXPECT_EQ(o.level, spdlog::level::debug);
}

TEST(config_units, stream_names_match_the_config_sections) {
    cfgns::streams_options s;
    for (auto name : cfgns::stream_names()) {
        EXPECT_TRUE(cfgns::is_stream_name(name));
        EXPECT_NE(cfgns::find_stream(s, name), nullptr) << name;
    }
    EXPECT_FALSE(cfgns::is_stream_name("tickts"));
    EXPECT_EQ(cfgns::find_stream(s, "tickts"), nullptr);
    EXPECT_EQ(cfgns::find_stream(s, "tickets"), &s.tickets);
}

TEST(config_units, config_error_what_is_key_then_reason) {
    const config_error e("kayako.retry.max_attempts", "must be between 1 and 100, got 0");
    EXPECT_STREQ(e.what(), "kayako.retry.max_attempts: must be between 1 and 100, got 0");
    EXPECT_EQ(e.key(), "kayako.retry.max_attempts");
}

}  // namespace
