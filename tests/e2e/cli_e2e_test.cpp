// kayako-sync as a process against the emulator (in this test process, on 127.0.0.1) and the
// throwaway PostgreSQL: `once` killed abruptly in the middle of the backfill (KSYNC_FAILPOINT ends
// it with _exit, as kill -9 would), then run again, converges with no duplicate feed event.
#include "connectors/postgres/migrator.hpp"
#include "tests/e2e/mirror_checker.hpp"
#include "tests/e2e/process_support.hpp"
#include "tests/emulator/server.hpp"
#include "tests/support/pg_database.hpp"
#include "tests/unit/runtime/notify_receiver.hpp"

#include <pqxx/pqxx>

#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <mutex>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

namespace {

const std::string schema_version = std::to_string(ksync::pg::expected_schema_version);

using namespace ksync;
namespace fs = std::filesystem;

using test::eventually;
using test::free_port;
using test::http_get;
using test::process_result;

// Runs the binary with the given environment additions; stdout and stderr captured.
process_result run_binary(const std::vector<std::string>& args,
                          const std::vector<std::string>& env_add, const fs::path& dir) {
    return test::run_process(KSYNC_BINARY, args, env_add, dir / "output.txt");
}

// A shell command, stdout and stderr captured.
process_result run_binary_raw(const std::string& command, const fs::path& dir) {
    return test::run_shell(command, dir / "raw-output.txt");
}

// The daemon (`run`) in the background; SIGTERM and reaped by stop(), SIGKILLed if a test fails
// before that.
class daemon_process : public test::background_process {
public:
    daemon_process(const std::vector<std::string>& args, const fs::path& log_file)
        : background_process(KSYNC_BINARY, args, log_file) {}
};

// A TCP forwarder between the daemon and PostgreSQL that a test can cut and restore: "the
// database went away" without stopping the cluster that other tests use.
class tcp_forwarder {
public:
    explicit tcp_forwarder(int target_port) : target_(target_port), port_(free_port()) { open(); }
    ~tcp_forwarder() {
        cut();
        for (auto& t : acceptors_) t.join();
        for (auto& t : pumps_) t.join();  // no more are added once the acceptors ended
        for (int fd : conns_) ::close(fd);
    }
    int port() const { return port_; }
    void open() {
        const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        const int one = 1;
        ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(static_cast<std::uint16_t>(port_));
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 16) != 0)
            throw std::runtime_error("forwarder: cannot listen");
        {
            std::lock_guard lock(mu_);
            listener_ = fd;
        }
        acceptors_.emplace_back([this, fd] { accept_loop(fd); });
    }
    // Refuses new connections and breaks the open ones.
    void cut() {
        std::lock_guard lock(mu_);
        if (listener_ >= 0) ::shutdown(listener_, SHUT_RDWR);  // wakes accept()
        listener_ = -1;
        for (int fd : conns_) ::shutdown(fd, SHUT_RDWR);
    }

private:
    void accept_loop(int listener) {
        for (;;) {
            const int client = ::accept(listener, nullptr, nullptr);
            if (client < 0) break;
            const int upstream = ::socket(AF_INET, SOCK_STREAM, 0);
            sockaddr_in a{};
            a.sin_family = AF_INET;
            a.sin_port = htons(static_cast<std::uint16_t>(target_));
            a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            if (::connect(upstream, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
                ::close(client);
                ::close(upstream);
                continue;
            }
            std::lock_guard lock(mu_);
            conns_.push_back(client);
            conns_.push_back(upstream);
            pumps_.emplace_back([client, upstream] { pump(client, upstream); });
            pumps_.emplace_back([client, upstream] { pump(upstream, client); });
        }
        ::close(listener);
    }
    static void pump(int from, int to) {
        char buf[16384];
        for (ssize_t n; (n = ::read(from, buf, sizeof buf)) > 0;)
            // send with MSG_NOSIGNAL: after cut() the other side is shut down, and a plain write
            // would raise SIGPIPE and kill the whole test process (seen once in CI).
            if (::send(to, buf, static_cast<std::size_t>(n), MSG_NOSIGNAL) != n) break;
        ::shutdown(to, SHUT_RDWR);
        ::shutdown(from, SHUT_RDWR);
    }
    const int target_, port_;
    std::mutex mu_;
    int listener_ = -1;
    std::vector<int> conns_;
    std::vector<std::thread> acceptors_, pumps_;
};

class cli_e2e : public test::pg_suite {
protected:
    // The push worker of the daemon just started LISTENs for the outbox's NOTIFY: a local change
    // made from now on wakes it.
    bool push_worker_listening() {
        return eventually(
            [&] {
                return value(
                           "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                           "current_database() AND query LIKE 'LISTEN %outbox%'") != "0";
            },
            std::chrono::seconds(60));
    }
    void SetUp() override {
        dir = fs::temp_directory_path() / ("ksync-cli-" + std::to_string(::getpid()));
        fs::create_directories(dir);
        emulator::emulator_options eo;
        eo.seed = 11;
        eo.size.tickets = 350;
        eo.size.users = 300;
        emu = std::make_unique<emulator::emulator>(eo);
        emu->start();
        {
            std::ofstream s(dir / "secret");
            s << emu->api().options().secret << "\n";
        }
        ::chmod((dir / "secret").c_str(), 0600);
        pqxx::connection c{db().dsn()};
        const std::string port = c.port();
        std::ofstream cfg(dir / "ksync.yaml");
        cfg << "kayako:\n  base_url: "
            << emu->base_url().substr(0, emu->base_url().rfind("index.php")) << "\n"
            << "  api_key: " << emu->api().options().apikey
            << "\n  secret_file: secret\n  allow_plain_http: true\n"
            << "  max_in_flight: 4\n  requests_per_second: 1000\n"
            << "postgres:\n  host: 127.0.0.1\n  port: " << port << "\n  dbname: " << db().name()
            << "\n  user: postgres\n  sslmode: disable\n"
            << "streams:\n  tickets: {page_size: 100, interval: 3s, jitter: 1s}\n";
    }
    void TearDown() override {
        emu->stop();
        fs::remove_all(dir);
    }

    // Push-back on, with a periodic sweep so rare that only NOTIFY can wake the worker in a test.
    void enable_push() {
        std::ofstream cfg(dir / "ksync.yaml", std::ios::app);
        cfg << "push:\n  enabled: true\n  sweep_interval: 1h\n";
    }
    std::string config() const { return (dir / "ksync.yaml").string(); }

    std::string value(const std::string& query) {
        pqxx::connection c{db().dsn()};
        pqxx::read_transaction tx{c};
        const auto r = tx.exec(query);
        if (r.empty() || r[0][0].is_null()) return "<null>";
        return r[0][0].c_str();
    }
    void sql(const std::string& statement) {
        pqxx::connection c{db().dsn()};
        pqxx::work tx{c};
        tx.exec(statement);
        tx.commit();
    }
    // Successful POSTs to `path` whose form field `field` equals `v` (the emulator's request log).
    int posts_with(const std::string& path, const std::string& field, const std::string& v) {
        int n = 0;
        for (const auto& e : emu->api().request_log()) {
            if (e.method != "POST" || e.path != path || e.status != 200) continue;
            for (const auto& [k, x] : e.fields)
                if (k == field && x == v) ++n;
        }
        return n;
    }

    // The emulator's control interface: a change made as a staff member would make it.
    void control(const std::string& method, const std::string& target, const std::string& body) {
        emulator::http_request r;
        r.method = method;
        r.target = target;
        r.content_type = "application/x-www-form-urlencoded";
        r.body = body;
        auto res = emu->api().handle(r);
        ASSERT_EQ(res.status, 200) << method << " " << target << ": " << res.body;
    }

    fs::path dir;
    std::unique_ptr<emulator::emulator> emu;
};

TEST_F(cli_e2e, once_killed_mid_backfill_then_rerun_converges_without_duplicate_events) {
    const std::string config = (dir / "ksync.yaml").string();
    auto crashed =
        run_binary({"--config", config, "once"}, {"KSYNC_FAILPOINT=ticket_page_applied:2"}, dir);
    ASSERT_EQ(crashed.exit_code, 137) << crashed.output;
    {
        pqxx::connection c{db().dsn()};
        pqxx::read_transaction tx{c};
        auto cursor =
            tx.exec1(
                  "SELECT cursor::text FROM kayako_sync.stream_cursors WHERE stream = 'tickets'")[0]
                .as<std::string>();
        EXPECT_NE(cursor.find("backfill"), std::string::npos) << cursor;
    }
    auto rerun = run_binary({"--config", config, "once"}, {}, dir);
    ASSERT_EQ(rerun.exit_code, 0) << rerun.output;
    EXPECT_NE(rerun.output.find("backfill complete"), std::string::npos) << rerun.output;

    auto expected =
        emu->api().read([](const emulator::helpdesk& m) { return test::expected_from_model(m); });
    auto diff = test::differences(expected, test::actual_from_mirror(db().dsn()));
    for (const auto& d : diff) ADD_FAILURE() << d;

    pqxx::connection c{db().dsn()};
    pqxx::read_transaction tx{c};
    EXPECT_EQ(tx.exec1("SELECT count(*) FROM (SELECT 1 FROM kayako_sync.changes GROUP BY entity, "
                       "object_id, version "
                       "HAVING count(*) > 1) d")[0]
                  .as<int>(),
              0);
    EXPECT_EQ(tx.exec1("SELECT count(*) FROM kayako_sync.changes WHERE entity = 'tickets' AND op "
                       "<> 'insert'")[0]
                  .as<int>(),
              0);
    // The secret never reaches the output.
    EXPECT_EQ(crashed.output.find(emu->api().options().secret), std::string::npos);
    EXPECT_EQ(rerun.output.find(emu->api().options().secret), std::string::npos);
}

TEST_F(cli_e2e, status_reports_streams_and_the_feed) {
    const std::string config = (dir / "ksync.yaml").string();
    ASSERT_EQ(run_binary({"--config", config, "once"}, {}, dir).exit_code, 0);
    auto status = run_binary({"--config", config, "status"}, {}, dir);
    ASSERT_EQ(status.exit_code, 0) << status.output;
    EXPECT_NE(status.output.find("schema version " + schema_version), std::string::npos)
        << status.output;
    EXPECT_NE(status.output.find("tickets"), std::string::npos) << status.output;
    auto json = run_binary({"--config", config, "status", "--json"}, {}, dir);
    ASSERT_EQ(json.exit_code, 0) << json.output;
    EXPECT_NE(json.output.find("\"feed_position\""), std::string::npos) << json.output;
    auto bad = run_binary({"--config", (dir / "missing.yaml").string(), "status"}, {}, dir);
    EXPECT_EQ(bad.exit_code, 78) << bad.output;
}

TEST_F(cli_e2e, once_runs_the_full_user_scan_and_the_reconciler_when_due_or_forced) {
    // The suite's database is shared by its tests, so this one starts by forcing both.
    const std::string config = (dir / "ksync.yaml").string();
    constexpr auto npos = std::string::npos;
    auto full = run_binary({"--config", config, "once", "--full"}, {}, dir);
    ASSERT_EQ(full.exit_code, 0) << full.output;
    EXPECT_NE(full.output.find("users (full scan):"), npos) << full.output;
    EXPECT_NE(full.output.find("reconcile:"), npos) << full.output;
    // A new process right after: neither is due (their completion times are in the database).
    auto again = run_binary({"--config", config, "once"}, {}, dir);
    ASSERT_EQ(again.exit_code, 0) << again.output;
    EXPECT_NE(again.output.find("users:"), npos) << again.output;
    EXPECT_EQ(again.output.find("users (full scan)"), npos) << again.output;
    EXPECT_EQ(again.output.find("reconcile:"), npos) << again.output;
    auto status = run_binary({"--config", config, "status"}, {}, dir);
    ASSERT_EQ(status.exit_code, 0) << status.output;
    EXPECT_NE(status.output.find("full user scan: last completed"), npos) << status.output;
    EXPECT_NE(status.output.find("reconcile: last completed"), npos) << status.output;
    EXPECT_NE(status.output.find("next due"), npos) << status.output;
    // Naming the reconciler runs it now.
    auto named = run_binary({"--config", config, "once", "--stream", "reconcile"}, {}, dir);
    ASSERT_EQ(named.exit_code, 0) << named.output;
    EXPECT_NE(named.output.find("reconcile:"), npos) << named.output;
    EXPECT_EQ(run_binary({"--config", config, "once", "--fully"}, {}, dir).exit_code, 64);
}

TEST_F(cli_e2e, run_pushes_a_local_update_woken_by_notify_alone) {
    enable_push();
    ASSERT_EQ(run_binary({"--config", config(), "once"}, {}, dir).exit_code, 0);
    daemon_process d({"--config", config(), "run"}, dir / "run.log");
    ASSERT_TRUE(push_worker_listening()) << d.log();
    const auto id =
        std::stoll(value("SELECT min(id) FROM kayako.tickets WHERE department_id <> 0"));
    const auto current = emu->api().read(
        [id](const emulator::helpdesk& m) { return m.find_ticket(id)->ticketstatusid; });
    const auto next = std::stoll(
        value("SELECT min(id) FROM kayako.ticket_statuses WHERE id <> " + std::to_string(current)));
    sql("UPDATE kayako.tickets SET status_id = " + std::to_string(next) +
        " WHERE id = " + std::to_string(id));

    EXPECT_TRUE(eventually(
        [&] {
            return emu->api().read([id](const emulator::helpdesk& m) {
                return m.find_ticket(id)->ticketstatusid;
            }) == next;
        },
        std::chrono::seconds(60)))
        << d.log();
    EXPECT_TRUE(eventually(
        [&] {
            return value("SELECT state FROM kayako_sync.outbox ORDER BY id DESC LIMIT 1") ==
                       "done" &&
                   value("SELECT status_id FROM kayako.tickets WHERE id = " + std::to_string(id)) ==
                       std::to_string(next);
        },
        std::chrono::seconds(60)))
        << d.log();
    EXPECT_EQ(d.stop(), 0) << d.log();
}

// A crash at each step of a push (after the claim, after Kayako answered but before the result
// is committed, after the commit), then a restart: every row done, one successful POST each.
TEST_F(cli_e2e, a_crash_at_each_push_step_then_a_restart_posts_everything_exactly_once) {
    enable_push();
    ASSERT_EQ(run_binary({"--config", config(), "once"}, {}, dir).exit_code, 0);
    for (const std::string point : {"push_claimed", "push_sent", "push_recorded"}) {
        SCOPED_TRACE(point);
        sql("INSERT INTO kayako_sync.intake_tickets (subject, full_name, email, contents, "
            "department_id,"
            " status_id, priority_id, type_id, auto_user) SELECT 'crash " +
            point +
            "', 'Cy', 'cy@example.com',"
            " 'body', (SELECT min(id) FROM kayako.departments WHERE app = 'tickets' AND type = "
            "'public'),"
            " min(s.id), min(p.id), min(t.id), true"
            " FROM kayako.ticket_statuses s, kayako.ticket_priorities p, kayako.ticket_types t");
        sql("INSERT INTO kayako_sync.intake_posts (intake_ticket_id, contents, staff_id)"
            " SELECT max(id), 'post " +
            point + "', (SELECT min(id) FROM kayako.staff) FROM kayako_sync.intake_tickets");
        sql("INSERT INTO kayako_sync.intake_users (full_name, emails, password, user_group_id) "
            "VALUES"
            " ('user " +
            point + "', '{" + point +
            "@example.com}', 'pw', (SELECT min(id) FROM kayako.user_groups WHERE group_type = "
            "'registered'))");

        auto crashed = run_binary({"--config", config(), "once", "--stream", "push"},
                                  {"KSYNC_FAILPOINT=" + point}, dir);
        ASSERT_EQ(crashed.exit_code, 137) << crashed.output;
        auto rerun = run_binary({"--config", config(), "once", "--stream", "push"}, {}, dir);
        ASSERT_EQ(rerun.exit_code, 0) << rerun.output;

        EXPECT_EQ(value("SELECT string_agg(DISTINCT state, ',') FROM kayako_sync.outbox"), "done")
            << rerun.output;
        EXPECT_EQ(posts_with("/Tickets/Ticket", "subject", "crash " + point), 1);
        EXPECT_EQ(posts_with("/Tickets/TicketPost", "contents", "post " + point), 1);
        EXPECT_EQ(posts_with("/Base/User", "fullname", "user " + point), 1);
        EXPECT_EQ(value("SELECT count(*) FROM kayako_sync.intake_tickets WHERE kayako_id IS NULL"),
                  "0");
    }
}

TEST_F(cli_e2e, outbox_commands_list_dry_run_retry_and_discard) {
    ASSERT_EQ(run_binary({"--config", config(), "once"}, {}, dir).exit_code, 0);
    sql("TRUNCATE kayako_sync.conflicts, kayako_sync.outbox, kayako_sync.intake_posts,"
        " kayako_sync.intake_notes, kayako_sync.intake_tickets, kayako_sync.intake_users,"
        " kayako_sync.intake_organizations");
    const auto id = value("SELECT min(id) FROM kayako.tickets WHERE department_id <> 0");
    sql("UPDATE kayako.tickets SET subject = 'Needs \"care\" now', status_id = status_id WHERE id "
        "= " +
        id);
    sql("INSERT INTO kayako_sync.intake_users (full_name, emails, password, user_group_id) VALUES"
        " ('Dry Run', '{dry@example.com}', 'do-not-print-me', 1)");

    auto list = run_binary({"--config", config(), "outbox", "list"}, {}, dir);
    ASSERT_EQ(list.exit_code, 0) << list.output;
    EXPECT_NE(list.output.find("pending   update  tickets"), std::string::npos) << list.output;
    EXPECT_NE(list.output.find("pending   create  users"), std::string::npos) << list.output;

    // Push is off in this config: the dry run shows the calls and says none will be made.
    auto dry = run_binary({"--config", config(), "outbox", "dry-run"}, {}, dir);
    ASSERT_EQ(dry.exit_code, 0) << dry.output;
    EXPECT_NE(dry.output.find("PUT /Tickets/Ticket/" + id + " subject=\"Needs \\\"care\\\" now\""),
              std::string::npos)
        << dry.output;
    EXPECT_NE(
        dry.output.find("POST /Base/User fullname=\"Dry Run\" usergroupid=1 password=<hidden>"),
        std::string::npos)
        << dry.output;
    EXPECT_EQ(dry.output.find("do-not-print-me"), std::string::npos);
    EXPECT_NE(dry.output.find("2 call(s) would be made (push.enabled is false: none will be)"),
              std::string::npos)
        << dry.output;
    EXPECT_EQ(emu->api().read([](const emulator::helpdesk& m) {
        return std::count_if(m.users.begin(), m.users.end(),
                             [](const auto& u) { return u.fullname == "Dry Run"; });
    }),
              0);

    const auto row = value("SELECT min(id) FROM kayako_sync.outbox");
    auto retry_pending = run_binary({"--config", config(), "outbox", "retry", row}, {}, dir);
    EXPECT_EQ(retry_pending.exit_code, 1) << retry_pending.output;  // only failed/in_doubt/held
    auto discard = run_binary({"--config", config(), "outbox", "discard", row}, {}, dir);
    EXPECT_EQ(discard.exit_code, 0) << discard.output;
    EXPECT_EQ(value("SELECT state || ': ' || last_error FROM kayako_sync.outbox WHERE id = " + row),
              "failed: discarded by an operator");
    auto retry = run_binary({"--config", config(), "outbox", "retry", row}, {}, dir);
    EXPECT_EQ(retry.exit_code, 0) << retry.output;
    EXPECT_EQ(value("SELECT state FROM kayako_sync.outbox WHERE id = " + row), "pending");
    EXPECT_EQ(run_binary({"--config", config(), "outbox", "frobnicate"}, {}, dir).exit_code, 64);
    sql("TRUNCATE kayako_sync.conflicts, kayako_sync.outbox, kayako_sync.intake_users");
}

TEST_F(cli_e2e, a_standby_takes_over_when_the_leader_is_killed) {
    enable_push();  // every daemon drains the outbox, leader or not
    ASSERT_EQ(run_binary({"--config", config(), "once"}, {}, dir).exit_code, 0);
    sql("TRUNCATE kayako_sync.conflicts, kayako_sync.outbox, kayako_sync.intake_posts,"
        " kayako_sync.intake_notes, kayako_sync.intake_tickets, kayako_sync.intake_users,"
        " kayako_sync.intake_organizations");
    daemon_process a({"--config", config(), "run"}, dir / "a.log");
    ASSERT_TRUE(
        eventually([&] { return a.log().find("this daemon is the leader") != std::string::npos; },
                   std::chrono::seconds(60)))
        << a.log();
    daemon_process b({"--config", config(), "run"}, dir / "b.log");
    ASSERT_TRUE(eventually([&] { return b.log().find("standing by") != std::string::npos; },
                           std::chrono::seconds(60)))
        << b.log();
    // A second `once` is refused while a daemon leads.
    auto refused = run_binary({"--config", config(), "once", "--stream", "tickets"}, {}, dir);
    EXPECT_EQ(refused.exit_code, 1);
    EXPECT_NE(refused.output.find("is the leader"), std::string::npos) << refused.output;

    sql("INSERT INTO kayako_sync.intake_users (full_name, emails, password, user_group_id) VALUES"
        " ('failover user', '{failover@example.com}', 'pw',"
        " (SELECT min(id) FROM kayako.user_groups WHERE group_type = 'registered'))");
    EXPECT_TRUE(
        eventually([&] { return value("SELECT state FROM kayako_sync.intake_users") == "done"; },
                   std::chrono::seconds(60)));

    a.kill9();
    const auto killed_at = std::chrono::steady_clock::now();
    const auto id = value("SELECT min(id) FROM kayako.tickets WHERE department_id <> 0");
    control("POST", "/_control/tickets/" + id, "subject=after+the+failover");
    ASSERT_TRUE(
        eventually([&] { return b.log().find("this daemon is the leader") != std::string::npos; },
                   std::chrono::seconds(60)))
        << b.log();
    const auto took = std::chrono::duration_cast<std::chrono::seconds>(
        std::chrono::steady_clock::now() - killed_at);
    EXPECT_LE(took.count(), 30) << "the standby took over after " << took.count() << " s";
    EXPECT_TRUE(eventually(
        [&] {
            return value("SELECT subject FROM kayako.tickets WHERE id = " + id) ==
                   "after the failover";
        },
        std::chrono::seconds(60)))
        << b.log();

    EXPECT_EQ(
        value("SELECT count(*) FROM (SELECT 1 FROM kayako_sync.changes GROUP BY entity, object_id,"
              " object_sub_id, version HAVING count(*) > 1) d"),
        "0");
    EXPECT_EQ(posts_with("/Base/User", "fullname", "failover user"), 1);
    EXPECT_EQ(b.stop(), 0) << b.log();
}

// Every command's output and exit status, through the binary; the secret in none of them.
TEST_F(cli_e2e, every_command_prints_what_it_did_and_exits_accordingly) {
    const std::string secret = emu->api().options().secret;
    std::string all_output;
    auto run = [&](const std::vector<std::string>& args) {
        std::vector<std::string> full{"--config", config()};
        full.insert(full.end(), args.begin(), args.end());
        auto r = run_binary(full, {}, dir);
        all_output += r.output;
        return r;
    };
    auto migrate = run({"migrate"});
    EXPECT_EQ(migrate.exit_code, 0) << migrate.output;
    EXPECT_NE(migrate.output.find("schema version " + schema_version), std::string::npos)
        << migrate.output;
    auto again = run({"migrate"});
    EXPECT_NE(again.output.find("is up to date (version " + schema_version + ")"),
              std::string::npos)
        << again.output;

    auto check = run({"check-config"});
    EXPECT_EQ(check.exit_code, 0) << check.output;
    EXPECT_NE(check.output.find("secret_file:"), std::string::npos) << check.output;
    EXPECT_NE(check.output.find("allow_plain_http: true"), std::string::npos) << check.output;

    auto once = run({"once"});
    EXPECT_EQ(once.exit_code, 0) << once.output;
    EXPECT_NE(once.output.find("pass complete"), std::string::npos) << once.output;

    auto reconcile = run({"reconcile"});
    EXPECT_EQ(reconcile.exit_code, 0) << reconcile.output;
    EXPECT_NE(reconcile.output.find("reconcile:"), std::string::npos) << reconcile.output;

    auto reset = run({"reset-cursor", "tickets"});
    EXPECT_EQ(reset.exit_code, 0) << reset.output;
    EXPECT_NE(reset.output.find("cursor of stream tickets removed"), std::string::npos)
        << reset.output;
    EXPECT_EQ(value("SELECT count(*) FROM kayako_sync.stream_cursors WHERE stream = 'tickets'"),
              "0");
    auto reset_again = run({"resync", "tickets"});
    EXPECT_EQ(reset_again.exit_code, 0) << reset_again.output;
    EXPECT_NE(reset_again.output.find("stream tickets had no cursor"), std::string::npos)
        << reset_again.output;
    EXPECT_EQ(run({"reset-cursor", "no-such-stream"}).exit_code, 64);

    auto set = run({"feed", "bookmark", "warehouse", "7"});
    EXPECT_EQ(set.exit_code, 0) << set.output;
    auto get = run({"feed", "bookmark", "warehouse"});
    EXPECT_EQ(get.exit_code, 0);
    EXPECT_TRUE(get.output.ends_with("\n7\n")) << get.output;  // after the plain-http warning
    EXPECT_EQ(run({"feed", "bookmark", "nobody"}).exit_code, 1);

    auto status = run({"status"});
    EXPECT_EQ(status.exit_code, 0) << status.output;
    EXPECT_NE(status.output.find("outbox"), std::string::npos) << status.output;

    EXPECT_EQ(all_output.find(secret), std::string::npos) << "the secret reached the output";
}

// Each class of invalid configuration exits 78 and names the key.
TEST_F(cli_e2e, invalid_configurations_exit_78_naming_the_key) {
    const std::string base = [&] {
        std::ifstream in(dir / "ksync.yaml");
        return std::string(std::istreambuf_iterator<char>(in), {});
    }();
    auto try_config = [&](const std::string& name, const std::string& text,
                          const std::string& key) {
        const auto path = dir / (name + ".yaml");
        {
            std::ofstream out(path);
            out << text;
        }
        auto r = run_binary({"--config", path.string(), "status"}, {}, dir);
        EXPECT_EQ(r.exit_code, 78) << name << ": " << r.output;
        EXPECT_NE(r.output.find(key), std::string::npos) << name << ": " << r.output;
        EXPECT_EQ(r.output.find(emu->api().options().secret), std::string::npos) << name;
    };
    try_config("unknown_key", base + "surprise: 1\n", "surprise");
    try_config("wrong_type", base + "push:\n  enabled: perhaps\n", "push.enabled");
    try_config("negative_interval", base + "push:\n  sweep_interval: -5s\n", "push.sweep_interval");
    std::string http_no_opt_in = base;
    http_no_opt_in.replace(http_no_opt_in.find("  allow_plain_http: true\n"), 25, "");
    try_config("plain_http", http_no_opt_in, "kayako.base_url");
    std::string missing_secret = base;
    missing_secret.replace(missing_secret.find("secret_file: secret"), 19, "secret_file: nowhere");
    try_config("missing_secret", missing_secret, "kayako.secret_file");
    {
        std::ofstream s(dir / "open_secret");
        s << "x\n";
    }
    ::chmod((dir / "open_secret").c_str(), 0644);
    std::string open_secret = base;
    open_secret.replace(open_secret.find("secret_file: secret"), 19, "secret_file: open_secret");
    try_config("world_readable_secret", open_secret, "kayako.secret_file");
}

TEST_F(cli_e2e, metrics_health_and_readiness_endpoints) {
    const int port = free_port();
    {
        std::ofstream cfg(dir / "ksync.yaml", std::ios::app);
        cfg << "metrics:\n  enabled: true\n  listen: 127.0.0.1:" << port << "\n";
    }
    daemon_process d({"--config", config(), "run"}, dir / "metrics.log");
    ASSERT_TRUE(
        eventually([&] { return http_get(port, "/healthz").find("200 OK") != std::string::npos; },
                   std::chrono::seconds(60)))
        << d.log();
    EXPECT_NE(http_get(port, "/readyz").find("ready: leader"), std::string::npos) << d.log();
    EXPECT_NE(http_get(port, "/nothing").find("404"), std::string::npos);
    // Wait for a sync that made requests, then look at every metric family.
    ASSERT_TRUE(eventually(
        [&] {
            return http_get(port, "/metrics")
                       .find("kayako_sync_stream_runs_total{stream=\"tickets\"}") !=
                   std::string::npos;
        },
        std::chrono::seconds(60)))
        << d.log();
    const auto before = http_get(port, "/metrics");
    for (const char* family :
         {"kayako_sync_kayako_requests_total{method=\"GET\",endpoint=\"Tickets/Ticket/"
          "ListAll\",status=\"200\"}",
          "kayako_sync_kayako_request_duration_seconds_bucket{endpoint=\"Tickets/Ticket/"
          "ListAll\",le=\"+Inf\"}",
          "kayako_sync_kayako_calls_total", "kayako_sync_kayako_retries_total",
          "kayako_sync_breaker_state 0",
          "kayako_sync_rows_written_total{stream=\"tickets\",op=\"update\"}",
          "kayako_sync_api_calls_per_changed_object",
          "kayako_sync_stream_last_success_timestamp_seconds{stream=\"tickets\"}",
          "kayako_sync_stream_lag_seconds{stream=\"tickets\"}", "kayako_sync_feed_position",
          "kayako_sync_outbox_rows{state=\"pending\"}",
          "kayako_sync_conflicts{resolution=\"pending\"}", "kayako_sync_leader 1"})
        EXPECT_NE(before.find(family), std::string::npos) << family << "\n" << before;
    // The exposition format is valid for Prometheus itself (Debian's prometheus package, promtool).
    {
        const auto body = before.substr(before.find("\r\n\r\n") + 4);
        std::ofstream(dir / "metrics.txt") << body;
        const auto check = run_binary_raw(
            "promtool check metrics < '" + (dir / "metrics.txt").string() + "'", dir);
        EXPECT_EQ(check.exit_code, 0) << check.output;
    }
    // A change in Kayako moves the counters on the next cycle.
    auto metric = [](const std::string& text, const std::string& name) -> double {
        const auto at = text.find("\n" + name + " ");
        return at == std::string::npos ? -1 : std::stod(text.substr(at + name.size() + 2));
    };
    const auto id = value("SELECT min(id) FROM kayako.tickets WHERE department_id <> 0");
    control("POST", "/_control/tickets/" + id, "subject=metrics+move");
    const std::string updates = "kayako_sync_rows_written_total{stream=\"tickets\",op=\"update\"}";
    EXPECT_TRUE(eventually([&] { return metric(http_get(port, "/metrics"), updates) > 0; },
                           std::chrono::seconds(60)))
        << d.log();
    const auto after = http_get(port, "/metrics");
    for (const char* moving :
         {"kayako_sync_kayako_calls_total",
          "kayako_sync_kayako_requests_total{method=\"GET\",endpoint=\"Tickets/Ticket/"
          "ListAll\",status=\"200\"}",
          "kayako_sync_kayako_request_duration_seconds_count{endpoint=\"Tickets/Ticket/ListAll\"}",
          "kayako_sync_rows_written_total{stream=\"tickets\",op=\"update\"}",
          "kayako_sync_stream_runs_total{stream=\"tickets\"}",
          "kayako_sync_stream_last_success_timestamp_seconds{stream=\"tickets\"}"})
        EXPECT_GT(metric(after, moving), metric(before, moving)) << moving << "\n" << after;
    // A quiet run writes nothing to the database, yet it is a success: the last-success time
    // moves with it, so a stale-stream alert means "not synced", not "nothing changed".
    const std::string runs = "kayako_sync_stream_runs_total{stream=\"tickets\"}";
    const std::string last =
        "kayako_sync_stream_last_success_timestamp_seconds{stream=\"tickets\"}";
    const std::string cursor_before = value(
        "SELECT last_success_at::text FROM kayako_sync.stream_cursors WHERE stream = "
        "'tickets'");
    std::string quiet;
    EXPECT_TRUE(eventually(
        [&] {
            quiet = http_get(port, "/metrics");
            return metric(quiet, runs) >= metric(after, runs) + 2;
        },
        std::chrono::seconds(60)))
        << d.log();
    EXPECT_GT(metric(quiet, last), metric(after, last)) << quiet;
    EXPECT_EQ(value("SELECT last_success_at::text FROM kayako_sync.stream_cursors WHERE stream = "
                    "'tickets'"),
              cursor_before)
        << "the quiet runs wrote their cursor: this test no longer shows the in-memory time";
    EXPECT_EQ(d.stop(), 0) << d.log();
}

TEST_F(cli_e2e, readyz_turns_unready_while_postgresql_is_gone_and_ready_when_it_returns) {
    pqxx::connection c{db().dsn()};
    tcp_forwarder fwd(std::stoi(c.port()));
    const int port = free_port();
    std::string text = [&] {
        std::ifstream in(dir / "ksync.yaml");
        return std::string(std::istreambuf_iterator<char>(in), {});
    }();
    const std::string pg_port_line = "  port: " + std::string(c.port()) + "\n";
    text.replace(text.find(pg_port_line), pg_port_line.size(),
                 "  port: " + std::to_string(fwd.port()) + "\n");
    text += "metrics:\n  enabled: true\n  listen: 127.0.0.1:" + std::to_string(port) + "\n";
    std::ofstream(dir / "ksync.yaml") << text;

    daemon_process d({"--config", config(), "run"}, dir / "readyz.log");
    ASSERT_TRUE(
        eventually([&] { return http_get(port, "/readyz").find("200 OK") != std::string::npos; },
                   std::chrono::seconds(60)))
        << d.log();
    fwd.cut();
    EXPECT_TRUE(
        eventually([&] { return http_get(port, "/readyz").find("503") != std::string::npos; },
                   std::chrono::seconds(60)))
        << d.log();
    EXPECT_NE(http_get(port, "/healthz").find("200 OK"),
              std::string::npos);  // alive, just not ready
    fwd.open();
    EXPECT_TRUE(
        eventually([&] { return http_get(port, "/readyz").find("200 OK") != std::string::npos; },
                   std::chrono::seconds(60)))
        << d.log();
    EXPECT_EQ(d.stop(), 0) << d.log();
}

// Row 23 of the test plan: the daemon keeps no files of its own (its state is in PostgreSQL);
// what it writes is its log (spdlog, stderr) and command output (stdout). With both on /dev/full
// every one of those writes fails with ENOSPC: `once` must still finish the sync and exit 0, and
// `run` must keep syncing and stop cleanly on SIGTERM; the mirror must equal the model.
TEST_F(cli_e2e, output_on_a_full_device_neither_stops_nor_hangs_once_or_run) {
    // The device really refuses writes, so the test cannot pass with the output going nowhere.
    ASSERT_NE(run_binary_raw("{ printf x > /dev/full; }", dir).exit_code, 0);
    const int port = free_port();
    {
        std::ofstream cfg(dir / "ksync.yaml", std::ios::app);
        cfg << "log:\n  level: debug\nmetrics:\n  enabled: true\n  listen: 127.0.0.1:" << port
            << "\n";
    }
    // The inner redirections apply to the binary itself; `timeout` turns a hang into exit 137.
    const auto once =
        run_binary_raw("{ timeout -s KILL 300 '" + std::string(KSYNC_BINARY) + "' --config '" +
                           config() + "' once >/dev/full 2>/dev/full; }",
                       dir);
    ASSERT_EQ(once.exit_code, 0) << once.output;
    auto expected = [&] {
        return emu->api().read(
            [](const emulator::helpdesk& m) { return test::expected_from_model(m); });
    };
    for (const auto& d : test::differences(expected(), test::actual_from_mirror(db().dsn())))
        ADD_FAILURE() << "after once: " << d;

    // The daemon, with the same output; its log cannot be read back, so progress is judged by
    // /readyz and the mirror.
    test::background_process d(KSYNC_BINARY, {"--config", config(), "run"}, "/dev/full");
    ASSERT_TRUE(
        eventually([&] { return http_get(port, "/readyz").find("200 OK") != std::string::npos; },
                   std::chrono::seconds(60)));
    const auto id = value("SELECT min(id) FROM kayako.tickets WHERE department_id <> 0");
    control("POST", "/_control/tickets/" + id, "subject=synced+with+a+full+log+device");
    EXPECT_TRUE(eventually(
        [&] {
            return value("SELECT subject FROM kayako.tickets WHERE id = " + id) ==
                   "synced with a full log device";
        },
        std::chrono::seconds(60)));
    EXPECT_TRUE(d.running());
    ASSERT_TRUE(d.terminate_within(std::chrono::seconds(60))) << "no exit within 60 s of SIGTERM";
    EXPECT_EQ(d.exit_code(), 0);
    for (const auto& diff : test::differences(expected(), test::actual_from_mirror(db().dsn())))
        ADD_FAILURE() << "after run: " << diff;
}

// Row 26: SIGTERM to `run` while a creation POST is in flight. The emulator executes the POST
// (the ticket exists in Kayako, the request log has it) and holds the answer back for 20 s; the
// daemon gets SIGTERM then, with shutdown_timeout 5 s, so it can only exit 0 by abandoning the
// wait (waiting for the answer would pass the timeout: exit 1). The row must not be lost: `done`,
// or `sending` / maybe-sent; a second process then finds the ticket in Kayako instead of posting
// again: one ticket, one executed POST.
TEST_F(cli_e2e, sigterm_while_a_post_is_in_flight_exits_0_and_the_ticket_is_created_once) {
    enable_push();
    std::ofstream(dir / "ksync.yaml", std::ios::app) << "shutdown_timeout: 5s\n";
    ASSERT_EQ(run_binary({"--config", config(), "once"}, {}, dir).exit_code, 0);
    sql("TRUNCATE kayako_sync.conflicts, kayako_sync.outbox, kayako_sync.intake_posts,"
        " kayako_sync.intake_notes, kayako_sync.intake_tickets, kayako_sync.intake_users,"
        " kayako_sync.intake_organizations");
    emulator::fault_rule slow;
    slow.endpoint = "Tickets/Ticket";
    slow.verb = "POST";
    slow.kind = "latency";  // executed, answered late
    slow.delay_ms = 20000;
    slow.remaining = 1;
    emu->api().add_fault(slow);

    test::notify_receiver notify;  // systemd's view: STOPPING=1 must come
    test::background_process d(KSYNC_BINARY, {"--config", config(), "run"},
                               dir / "sigterm-post.log", {"NOTIFY_SOCKET=" + notify.address()});
    ASSERT_TRUE(push_worker_listening()) << d.log();
    const std::string subject = "sigterm while posting";
    sql("INSERT INTO kayako_sync.intake_tickets (subject, full_name, email, contents, "
        "department_id, status_id, priority_id, type_id, auto_user) SELECT '" +
        subject +
        "', 'Sig Term', 'sig@example.com', 'body',"
        " (SELECT min(id) FROM kayako.departments WHERE app = 'tickets' AND type = 'public'),"
        " min(s.id), min(p.id), min(t.id), true"
        " FROM kayako.ticket_statuses s, kayako.ticket_priorities p, kayako.ticket_types t");
    // The emulator logs a request once it has executed it, before the delayed answer.
    ASSERT_TRUE(eventually([&] { return posts_with("/Tickets/Ticket", "subject", subject) == 1; },
                           std::chrono::seconds(60)))
        << d.log();
    for (const auto& e : emu->api().request_log()) {
        const bool the_post = e.method == "POST" && e.path == "/Tickets/Ticket";
        EXPECT_TRUE(!the_post || e.fault == "latency") << "the POST was not the slow one";
    }
    ASSERT_TRUE(d.terminate_within(std::chrono::seconds(60))) << "no exit within 60 s of SIGTERM\n"
                                                              << d.log();
    EXPECT_EQ(d.exit_code(), 0) << d.log();
    EXPECT_EQ(notify.count("STOPPING=1"), 1u) << d.log();
    const auto state = value("SELECT state || ' ' || maybe_sent FROM kayako_sync.outbox");
    std::cout << "outbox row after the SIGTERM (state, maybe_sent): " << state << "\n";
    EXPECT_TRUE(state == "done false" || state == "done true" || state == "sending true" ||
                state == "sending false" || state == "pending true")
        << "outbox row after the stop: " << state << "\n"
        << d.log();

    auto again = run_binary({"--config", config(), "once", "--stream", "push"}, {}, dir);
    ASSERT_EQ(again.exit_code, 0) << again.output;
    EXPECT_EQ(value("SELECT state FROM kayako_sync.outbox"), "done") << again.output;
    EXPECT_EQ(posts_with("/Tickets/Ticket", "subject", subject), 1) << again.output;
    const auto in_kayako = emu->api().read([&](const emulator::helpdesk& m) {
        std::vector<std::int64_t> ids;
        for (const auto& t : m.tickets)
            if (t.subject == subject) ids.push_back(t.ticketid);
        return ids;
    });
    ASSERT_EQ(in_kayako.size(), 1u);
    EXPECT_EQ(value("SELECT kayako_id FROM kayako_sync.intake_tickets"),
              std::to_string(in_kayako.front()));
}

// Work that ignores the shutdown (here a database call waiting on a lock the test holds: database
// jobs are not cancellable) does not keep the daemon past shutdown_timeout: it says so and exits 1
// at once, without running destructors that would join the blocked database thread (a hang until
// systemd's SIGKILL) or free what the abandoned coroutines still use (ASan: use after free).
TEST_F(cli_e2e, a_shutdown_past_its_timeout_exits_at_once_and_abandons_the_stuck_work) {
    std::ofstream(dir / "ksync.yaml", std::ios::app) << "shutdown_timeout: 2s\n";
    ASSERT_EQ(run_binary({"--config", config(), "once"}, {}, dir).exit_code, 0);
    test::background_process d(KSYNC_BINARY, {"--config", config(), "run"}, dir / "stuck.log");
    ASSERT_TRUE(
        eventually([&] { return d.log().find("this daemon is the leader") != std::string::npos; },
                   std::chrono::seconds(60)))
        << d.log();
    pqxx::connection blocker{db().dsn()};
    pqxx::work tx{blocker};
    tx.exec("LOCK TABLE kayako_sync.stream_cursors IN ACCESS EXCLUSIVE MODE");
    // The next stream run reads its cursor row: it waits on the lock, in a database thread.
    ASSERT_TRUE(eventually(
        [&] {
            return value(
                       "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                       "current_database() AND wait_event_type = 'Lock'") != "0";
        },
        std::chrono::seconds(60)))
        << d.log();
    ASSERT_TRUE(d.terminate_within(std::chrono::seconds(60)))
        << "still running 60 s after SIGTERM with a 2 s shutdown timeout\n"
        << d.log();
    const auto log = d.log();
    EXPECT_EQ(d.exit_code(), 1) << log;
    EXPECT_NE(log.find("shutdown timeout (2s) passed with work still running"), std::string::npos)
        << log;
    EXPECT_EQ(log.find("AddressSanitizer"), std::string::npos) << log;
    tx.abort();
}

// Row 9: Kayako answers 403 to everything (the API switched off) while `run` runs. The breaker
// opens on the first 403 for auth_cooldown (8 s here, 15 min by default) whatever the failure
// threshold, which is set high (100) so that only the 403 path can open it: an auth failure
// treated like any other failure would not open it in this window. Every 403 comes from a call
// the breaker let through: the calls already past it when the first 403 arrived (at most one per
// stream polling Kayako here: tickets, users, organizations, each making one listing call at a
// time, so 3), then one half-open probe each time the cooldown ends (at most 20 s / 8 s + 1 = 3).
// Bound: 6 requests in 20 s. Without the breaker, three streams every 2 s with the scheduler's
// failure backoff (5 s, 10 s, ...) would make at least 9.
TEST_F(cli_e2e, a_kayako_answering_403_opens_the_breaker_without_a_hot_loop_then_recovers) {
    const int port = free_port();
    std::string text = test::read_file(dir / "ksync.yaml");
    const std::string rate = "  requests_per_second: 1000\n";
    text.replace(text.find(rate), rate.size(),
                 rate + "  breaker: {failure_threshold: 100, auth_cooldown: 8s}\n");
    const std::string tickets = "  tickets: {page_size: 100, interval: 3s, jitter: 1s}\n";
    text.replace(text.find(tickets), tickets.size(),
                 "  tickets: {page_size: 100, interval: 2s, jitter: 0s}\n"
                 "  users: {interval: 2s, jitter: 0s}\n"
                 "  organizations: {interval: 2s, jitter: 0s}\n");
    text += "metrics:\n  enabled: true\n  listen: 127.0.0.1:" + std::to_string(port) + "\n";
    std::ofstream(dir / "ksync.yaml") << text;
    ASSERT_EQ(run_binary({"--config", config(), "once"}, {}, dir).exit_code, 0);

    daemon_process d({"--config", config(), "run"}, dir / "forbidden.log");
    auto metric = [&](const std::string& name) -> double {
        const auto text_ = http_get(port, "/metrics");
        const auto at = text_.find("\n" + name + " ");
        return at == std::string::npos ? -1 : std::stod(text_.substr(at + name.size() + 2));
    };
    const std::string runs = "kayako_sync_stream_runs_total{stream=\"tickets\"}";
    ASSERT_TRUE(eventually([&] { return metric(runs) >= 2; }, std::chrono::seconds(60))) << d.log();

    emu->api().set_api_enabled(false);
    const auto disabled_at = emu->api().request_log().size();
    const auto window_end = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    bool saw_open = false;
    while (std::chrono::steady_clock::now() < window_end) {
        saw_open = saw_open || metric("kayako_sync_breaker_state") == 2;
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    const auto log = emu->api().request_log();
    const auto forbidden = log.size() - disabled_at;
    std::size_t status_403 = 0;
    for (std::size_t i = disabled_at; i < log.size(); ++i) status_403 += log[i].status == 403;
    std::cout << "requests in 20 s of 403s: " << forbidden << "\n";
    EXPECT_GE(forbidden, 1u) << "nothing was tried";
    EXPECT_EQ(status_403, forbidden);
    EXPECT_LE(forbidden, 6u) << "requests to Kayako in 20 s of 403s\n" << d.log();
    EXPECT_TRUE(saw_open) << "kayako_sync_breaker_state never showed 2 (open)\n" << d.log();
    EXPECT_TRUE(d.running()) << d.log();
    EXPECT_NE(http_get(port, "/healthz").find("200 OK"), std::string::npos);

    emu->api().set_api_enabled(true);
    const auto id = value("SELECT min(id) FROM kayako.tickets WHERE department_id <> 0");
    control("POST", "/_control/tickets/" + id, "subject=after+the+403s");
    EXPECT_TRUE(eventually(
        [&] {
            return value("SELECT subject FROM kayako.tickets WHERE id = " + id) == "after the 403s";
        },
        std::chrono::seconds(120)))
        << d.log();
    EXPECT_TRUE(eventually([&] { return metric("kayako_sync_breaker_state") == 0; },
                           std::chrono::seconds(60)))
        << d.log();
    EXPECT_EQ(d.stop(), 0) << d.log();
}

// Row 6 as systemd sees it: two daemons, each with a fake NOTIFY_SOCKET. The leader reports
// READY=1 and a STATUS= without "standby"; the second one reports READY=1 (so that systemd's
// start does not time out) and STATUS="standby (another daemon is the leader)", and its
// /readyz says "ready: standby". When the leader stops, the standby takes over and says so.
TEST_F(cli_e2e, systemd_sees_one_leader_and_one_standby_through_sd_notify) {
    ASSERT_EQ(run_binary({"--config", config(), "once"}, {}, dir).exit_code, 0);
    const int port_b = free_port();
    {
        std::ofstream cfg(dir / "b.yaml");
        cfg << test::read_file(dir / "ksync.yaml")
            << "metrics:\n  enabled: true\n  listen: 127.0.0.1:" << port_b << "\n";
    }
    auto has = [](const test::notify_receiver& r, const std::string& needle) {
        for (const auto& t : r.texts())
            if (t.find(needle) != std::string::npos) return true;
        return false;
    };
    auto last_status = [](const test::notify_receiver& r) {
        std::string last;
        for (const auto& t : r.texts())
            if (t.rfind("STATUS=", 0) == 0) last = t;
        return last;
    };
    auto all = [](const test::notify_receiver& r) {
        std::string out;
        for (const auto& t : r.texts()) out += t + "\n";
        return out;
    };
    test::notify_receiver na, nb;
    test::background_process a(KSYNC_BINARY, {"--config", config(), "run"}, dir / "a.log",
                               {"NOTIFY_SOCKET=" + na.address()});
    ASSERT_TRUE(eventually(
        [&] {
            return has(na, "READY=1") &&
                   a.log().find("this daemon is the leader") != std::string::npos;
        },
        std::chrono::seconds(60)))
        << a.log() << all(na);
    test::background_process b(KSYNC_BINARY, {"--config", (dir / "b.yaml").string(), "run"},
                               dir / "b.log", {"NOTIFY_SOCKET=" + nb.address()});
    ASSERT_TRUE(eventually(
        [&] { return has(nb, "READY=1") && last_status(nb).find("standby") != std::string::npos; },
        std::chrono::seconds(60)))
        << b.log() << all(nb);
    EXPECT_TRUE(eventually([&] { return last_status(na).find("standby") == std::string::npos; },
                           std::chrono::seconds(30)))
        << all(na);
    EXPECT_NE(last_status(nb).find("standby (another daemon is the leader)"), std::string::npos)
        << all(nb);
    EXPECT_NE(http_get(port_b, "/readyz").find("ready: standby"), std::string::npos);

    // The leader stops: the standby takes the lead and its status says so.
    ASSERT_TRUE(a.terminate_within(std::chrono::seconds(60))) << a.log();
    EXPECT_EQ(a.exit_code(), 0) << a.log();
    EXPECT_TRUE(has(na, "STOPPING=1")) << all(na);
    EXPECT_TRUE(eventually(
        [&] {
            return b.log().find("this daemon is the leader") != std::string::npos &&
                   last_status(nb).find("standby") == std::string::npos;
        },
        std::chrono::seconds(60)))
        << b.log() << all(nb);
    EXPECT_NE(http_get(port_b, "/readyz").find("ready: leader"), std::string::npos);
    ASSERT_TRUE(b.terminate_within(std::chrono::seconds(60))) << b.log();
    EXPECT_EQ(b.exit_code(), 0) << b.log();
}

}  // namespace
