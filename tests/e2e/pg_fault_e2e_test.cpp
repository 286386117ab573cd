// PostgreSQL faults under a running daemon (reliability.md §7 rows 4, 5 and 22): a restart with
// `pg_ctl restart -m fast` and `-m immediate` in the middle of a backfill transaction, the
// daemon's sessions terminated with pg_terminate_backend, and a full disk (a trigger raising
// disk_full on a mirror table, dropped later). Each time the daemon reports the fault, keeps
// running, never moves a cursor past data that did not commit, and converges once the fault is
// gone: then the checker (mirror = model, one POST per creation, feed without gaps, no secret).
//
// The cluster is private to this test binary (initdb into a temp dir, its own port): restarting
// scripts/test's shared cluster would break the tests running beside this one.
#include "connectors/postgres/migrator.hpp"
#include "tests/e2e/process_support.hpp"
#include "tests/e2e/reliability_checker.hpp"
#include "tests/emulator/server.hpp"

#include <fmt/format.h>
#include <pqxx/pqxx>

#include <gtest/gtest.h>

#include <iostream>

namespace {

using namespace ksync;
using namespace ksync::test;

std::size_t count_of(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
}

class pg_fault_e2e : public ::testing::Test {
protected:
    static void SetUpTestSuite() { cluster = std::make_unique<private_cluster>(); }
    static void TearDownTestSuite() { cluster.reset(); }

    void SetUp() override {
        static int counter = 0;
        dbname = fmt::format("ksync_fault_{}", ++counter);
        {
            pqxx::connection c{cluster->dsn()};
            pqxx::nontransaction tx{c};
            tx.exec("CREATE DATABASE " + tx.quote_name(dbname));
        }
        pg::connection_options co;
        co.conninfo = dsn();
        pg::migrate(co, std::string(KSYNC_SOURCE_DIR) + "/migrations", pg::schema_names{});

        dir = fs::temp_directory_path() / fmt::format("ksync-pgfault-{}-{}", ::getpid(), counter);
        fs::remove_all(dir);
        fs::create_directories(dir / "out");
        emulator::emulator_options eo;
        // (A seed whose trashed tickets all have global statuses: Kayako's ListAll of the trash
        // drops department-specific statuses, so such a ticket is never listed.)
        eo.seed = 11;
        eo.size.tickets = 140;
        eo.size.users = 60;
        eo.size.organizations = 8;
        emu = std::make_unique<emulator::emulator>(eo);
        emu->start();
        std::ofstream(dir / "secret") << emu->api().options().secret << "\n";
        ::chmod((dir / "secret").c_str(), 0600);
        metrics_port = free_port();
        std::ofstream cfg(dir / "ksync.yaml");
        cfg << "kayako:\n  base_url: "
            << emu->base_url().substr(0, emu->base_url().rfind("index.php")) << "\n"
            << "  api_key: " << emu->api().options().apikey
            << "\n  secret_file: secret\n  allow_plain_http: true\n"
            << "  max_in_flight: 4\n  requests_per_second: 1000\n"
            << "postgres:\n  host: 127.0.0.1\n  port: " << cluster->port()
            << "\n  dbname: " << dbname << "\n  user: postgres\n  sslmode: disable\n"
            << "streams:\n  tickets: {page_size: 20, interval: 2s, jitter: 500ms}\n"
            << "  reconcile: {interval: 4s, jitter: 1s}\n"
            << "push:\n  enabled: true\n  sweep_interval: 1s\n"
            << "metrics:\n  enabled: true\n  listen: 127.0.0.1:" << metrics_port << "\n";
    }
    void TearDown() override {
        gate.reset();
        daemon.reset();
        emu->stop();
        if (HasFailure()) {
            std::cout << "pg fault test: outputs kept in " << dir << "\n";
            dump_state();
            std::cout << "server log (tail):\n" << tail(cluster->server_log(), 4000) << "\n";
        } else {
            fs::remove_all(dir);
        }
        try {
            pqxx::connection c{cluster->dsn()};
            pqxx::nontransaction tx{c};
            tx.exec("DROP DATABASE IF EXISTS " + tx.quote_name(dbname) + " WITH (FORCE)");
        } catch (const std::exception& e) {
            std::cout << "could not drop " << dbname << ": " << e.what() << "\n";
        }
    }

    // On failure: the newest feed rows, the outbox and the conflicts, for the diagnosis.
    void dump_state() {
        try {
            pqxx::connection c{dsn()};
            pqxx::read_transaction tx{c};
            for (const char* q :
                 {"SELECT position, entity, object_id, version, op, changed_columns::text, "
                  "left(old_values::text, 200), left(new_values::text, 200), source, "
                  "committed_at::text FROM kayako_sync.changes WHERE op <> 'insert' OR position > "
                  "(SELECT max(position) - 5 FROM kayako_sync.changes) ORDER BY position",
                  "SELECT id, entity, object_id, operation, state, attempts, last_error, "
                  "left(old_values::text, 200), left(new_values::text, 200), result::text, "
                  "done_at::text FROM kayako_sync.outbox ORDER BY id",
                  "SELECT * FROM kayako_sync.conflicts ORDER BY id",
                  "SELECT stream, cursor::text, last_error FROM kayako_sync.stream_cursors"}) {
                std::cout << q << "\n";
                for (const auto& row : tx.exec(q)) {
                    std::string line;
                    for (const auto& f : row)
                        line += std::string(f.is_null() ? "NULL" : f.c_str()) + " | ";
                    std::cout << "  " << line << "\n";
                }
            }
        } catch (const std::exception& e) {
            std::cout << "state dump failed: " << e.what() << "\n";
        }
    }
    static std::string tail(const std::string& s, std::size_t n) {
        return s.size() > n ? s.substr(s.size() - n) : s;
    }
    std::string dsn() const { return cluster->dsn(dbname); }
    fs::path daemon_log() const { return dir / "out" / "daemon.log"; }

    void start_daemon() {
        daemon = std::make_unique<background_process>(
            KSYNC_BINARY,
            std::vector<std::string>{"--config", (dir / "ksync.yaml").string(), "run"},
            daemon_log());
    }
    std::string log() const { return read_file(daemon_log()); }

    // "" when the query fails (the server is restarting).
    std::string value(const std::string& query) {
        try {
            pqxx::connection c{dsn()};
            pqxx::read_transaction tx{c};
            const auto r = tx.exec(query);
            if (r.empty() || r[0][0].is_null()) return "";
            return r[0][0].c_str();
        } catch (const std::exception&) {
            return "";
        }
    }
    void sql(const std::string& statement) {
        pqxx::connection c{dsn()};
        pqxx::work tx{c};
        tx.exec(statement);
        tx.commit();
    }
    void control(const std::string& method, const std::string& target, const std::string& body) {
        emulator::http_request r;
        r.method = method;
        r.target = target;
        r.content_type = "application/x-www-form-urlencoded";
        r.body = body;
        auto res = emu->api().handle(r);
        ASSERT_EQ(res.status, 200) << method << " " << target << ": " << res.body;
    }

    // The backfill's cursor never runs ahead of what committed: in one snapshot, the mirror holds
    // at least as many listed (not trashed) tickets as the cursor's offset. False if violated.
    bool cursor_within_committed_data() {
        try {
            pqxx::connection c{dsn()};
            pqxx::read_transaction tx{c};
            const auto r = tx.exec(
                "SELECT (cursor->>'offset')::bigint, (SELECT count(*) FROM kayako.tickets WHERE "
                "department_id <> 0) FROM kayako_sync.stream_cursors WHERE stream = 'tickets' AND "
                "cursor->>'phase' = 'backfill'");
            if (r.empty()) return true;
            const auto offset = r[0][0].as<std::int64_t>();
            const auto rows = r[0][1].as<std::int64_t>();
            EXPECT_GE(rows, offset) << "the tickets cursor is past uncommitted data";
            return rows >= offset;
        } catch (const std::exception&) {
            return true;  // the server is away: nothing to read
        }
    }
    std::int64_t backfill_offset() {
        const auto v = value(
            "SELECT (cursor->>'offset') FROM kayako_sync.stream_cursors WHERE stream = 'tickets' "
            "AND cursor->>'phase' = 'backfill'");
        return v.empty() ? -1 : std::stoll(v);
    }
    bool backfill_done() {
        return value(
                   "SELECT cursor->>'phase' FROM kayako_sync.stream_cursors WHERE stream = "
                   "'tickets'") == "incremental";
    }

    // A gate inside every write of the tickets table: a statement trigger takes a shared advisory
    // lock that this test can hold exclusively. With the gate closed, the daemon's next tickets
    // page waits inside its transaction (upserted; cursor, feed and commit still to come), so the
    // fault lands there, not by luck.
    static constexpr int gate_key = 4242;
    void install_ticket_gate() {
        sql("CREATE FUNCTION public.ksync_test_gate() RETURNS trigger LANGUAGE plpgsql AS $$"
            " BEGIN PERFORM pg_advisory_xact_lock_shared(" +
            std::to_string(gate_key) +
            "); RETURN NULL; END $$;"
            " CREATE TRIGGER ksync_test_gate AFTER INSERT OR UPDATE ON kayako.tickets"
            " FOR EACH STATEMENT EXECUTE FUNCTION public.ksync_test_gate()");
    }
    // Once some pages committed, closes the gate and waits for a daemon session to wait at it.
    void close_gate_inside_a_ticket_transaction() {
        ASSERT_TRUE(eventually(
            [&] {
                cursor_within_committed_data();
                return backfill_offset() >= 20;
            },
            std::chrono::seconds(120)))
            << log();
        gate = std::make_unique<pqxx::connection>(dsn());
        {
            pqxx::nontransaction tx{*gate};
            tx.exec("SELECT pg_advisory_lock(" + std::to_string(gate_key) + ")");
        }
        ASSERT_TRUE(eventually(
            [&] {
                return value(
                           "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND "
                           "objid = " +
                           std::to_string(gate_key) + " AND NOT granted") != "0";
            },
            std::chrono::seconds(120)))
            << log();
    }
    // Our session ends: the gate is open (after a restart it is gone already).
    void open_gate() { gate.reset(); }

    // Converged: the backfill is done and the mirror equals the model (polled; the scheduler's
    // backoff decides when). Then the daemon stops cleanly and the whole checker runs.
    void expect_convergence_and_check() {
        auto mirror_equal = [&] {
            cursor_within_committed_data();
            if (!backfill_done()) return false;
            if (value("SELECT count(*) FROM kayako_sync.outbox WHERE state <> 'done'") != "0")
                return false;
            check_options o;
            o.dsn = dsn();
            o.check_posts = o.check_feed = o.check_secrets = false;
            try {
                const auto expected = emu->api().read(
                    [](const emulator::helpdesk& m) { return expected_from_model(m); });
                return check_all(o, expected, {}).ok();
            } catch (const std::exception&) {
                return false;
            }
        };
        EXPECT_TRUE(eventually(mirror_equal, std::chrono::seconds(180))) << log();
        ASSERT_TRUE(daemon->running()) << "the daemon ended:\n" << log();
        EXPECT_EQ(daemon->stop(), 0) << log();
        check_options o;
        o.dsn = dsn();
        o.secret = emu->api().options().secret;
        o.scan_files = {dir / "out"};
        const auto expected =
            emu->api().read([](const emulator::helpdesk& m) { return expected_from_model(m); });
        const auto report = check_all(o, expected, emu->api().request_log());
        EXPECT_TRUE(report.ok()) << report.text();
        const auto l = log();
        EXPECT_EQ(l.find("AddressSanitizer"), std::string::npos) << l;
        EXPECT_EQ(l.find("runtime error:"), std::string::npos) << l;
    }

    // Faults restarting the server: the sessions end; the daemon must notice, back off, take the
    // leadership again and go on where the committed cursor says.
    void restart_mid_backfill(const std::string& mode) {
        install_ticket_gate();
        start_daemon();
        close_gate_inside_a_ticket_transaction();
        if (HasFatalFailure()) return;
        const auto before = backfill_offset();
        cluster->restart(mode);
        open_gate();
        std::cout << "restarted (-m " << mode << ") at backfill offset " << before << std::endl;
        // The transaction in flight is gone; the cursor is where its last commit put it.
        EXPECT_TRUE(cursor_within_committed_data());
        EXPECT_TRUE(
            eventually([&] { return log().find("lost the leadership") != std::string::npos; },
                       std::chrono::seconds(60)))
            << log();
        EXPECT_TRUE(eventually([&] { return count_of(log(), "this daemon is the leader") >= 2; },
                               std::chrono::seconds(60)))
            << log();
        EXPECT_TRUE(daemon->running()) << log();
        expect_convergence_and_check();
    }

    static std::unique_ptr<private_cluster> cluster;
    std::string dbname;
    fs::path dir;
    int metrics_port = 0;
    std::unique_ptr<emulator::emulator> emu;
    std::unique_ptr<background_process> daemon;
    std::unique_ptr<pqxx::connection> gate;  // holds the ticket gate's lock while open
};

std::unique_ptr<private_cluster> pg_fault_e2e::cluster;

TEST_F(pg_fault_e2e, fast_restart_in_the_middle_of_a_backfill_transaction) {
    restart_mid_backfill("fast");
}

TEST_F(pg_fault_e2e, immediate_restart_in_the_middle_of_a_backfill_transaction) {
    restart_mid_backfill("immediate");
}

TEST_F(pg_fault_e2e, the_daemons_sessions_terminated_in_the_middle_of_a_backfill) {
    install_ticket_gate();
    start_daemon();
    close_gate_inside_a_ticket_transaction();
    ASSERT_FALSE(HasFatalFailure());
    const int gate_pid = gate->backendpid();
    const auto killed = value(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = "
        "current_database() AND pid <> pg_backend_pid() AND pid <> " +
        std::to_string(gate_pid) + " AND backend_type = 'client backend'");
    std::cout << "terminated " << killed << " sessions" << std::endl;
    open_gate();
    EXPECT_NE(killed, "0");
    EXPECT_TRUE(cursor_within_committed_data());
    // The leader's session went with them: the fence stops its writes, the leadership loop
    // notices and takes the lock again.
    EXPECT_TRUE(eventually([&] { return log().find("lost the leadership") != std::string::npos; },
                           std::chrono::seconds(60)))
        << log();
    EXPECT_TRUE(eventually([&] { return count_of(log(), "this daemon is the leader") >= 2; },
                           std::chrono::seconds(60)))
        << log();
    expect_convergence_and_check();
}

TEST_F(pg_fault_e2e, a_full_disk_fails_writes_until_space_returns_then_everything_converges) {
    start_daemon();
    ASSERT_TRUE(eventually([&] { return backfill_done(); }, std::chrono::seconds(120))) << log();
    ASSERT_TRUE(eventually(
        [&] {
            return value(
                       "SELECT count(*) FROM kayako_sync.stream_cursors WHERE stream = "
                       "'tickets' AND last_success_at IS NOT NULL") == "1";
        },
        std::chrono::seconds(60)));
    // The disk fills: every write of the daemon into kayako.tickets fails with disk_full (53100).
    sql("CREATE FUNCTION public.ksync_test_disk_full() RETURNS trigger LANGUAGE plpgsql AS $$"
        " BEGIN RAISE EXCEPTION 'could not extend file: No space left on device (simulated)'"
        " USING ERRCODE = 'disk_full'; END $$;"
        " CREATE TRIGGER ksync_test_disk_full BEFORE INSERT OR UPDATE ON kayako.tickets"
        " FOR EACH ROW WHEN (current_setting('kayako_sync.writer', true) = 'daemon')"
        " EXECUTE FUNCTION public.ksync_test_disk_full()");
    const auto cursor_before =
        value("SELECT cursor::text FROM kayako_sync.stream_cursors WHERE stream = 'tickets'");
    const auto ids = [&] {
        std::vector<std::string> v;
        pqxx::connection c{dsn()};
        pqxx::read_transaction tx{c};
        for (const auto& r : tx.exec("SELECT id FROM kayako.tickets WHERE department_id <> 0 "
                                     "ORDER BY id LIMIT 2"))
            v.emplace_back(r[0].c_str());
        return v;
    }();
    ASSERT_EQ(ids.size(), 2u);
    // A change in Kayako to sync, and a local edit to push (Kayako takes the PUT; recording its
    // answer in the mirror then fails on the full disk).
    control("POST", "/_control/tickets/" + ids[0], "subject=edited+while+the+disk+is+full");
    sql("UPDATE kayako.tickets SET subject = 'pushed while the disk is full' WHERE id = " + ids[1]);

    // Reported: the stream fails with the error in the log and in /metrics, and backs off.
    ASSERT_TRUE(eventually(
        [&] {
            const auto l = log();
            return l.find("job tickets failed") != std::string::npos &&
                   l.find("No space left on device (simulated)") != std::string::npos;
        },
        std::chrono::seconds(60)))
        << log();
    EXPECT_TRUE(eventually(
        [&] {
            return http_get(metrics_port, "/metrics")
                       .find("kayako_sync_stream_error{stream=\"tickets\"} 1") != std::string::npos;
        },
        std::chrono::seconds(60)))
        << http_get(metrics_port, "/metrics");
    EXPECT_TRUE(eventually(
        [&] {
            return emu->api().read([&](const emulator::helpdesk& m) {
                return m.find_ticket(std::stoll(ids[1]))->subject ==
                       "pushed while the disk is full";
            });
        },
        std::chrono::seconds(60)))
        << log();
    // Let a second failed cycle pass: nothing of the failed pages committed.
    EXPECT_TRUE(eventually([&] { return count_of(log(), "job tickets failed") >= 2; },
                           std::chrono::seconds(60)))
        << log();
    EXPECT_TRUE(daemon->running()) << log();
    EXPECT_EQ(value("SELECT cursor::text FROM kayako_sync.stream_cursors WHERE stream = 'tickets'"),
              cursor_before);
    EXPECT_NE(value("SELECT subject FROM kayako.tickets WHERE id = " + ids[0]),
              "edited while the disk is full");

    // Space returns.
    sql("DROP TRIGGER ksync_test_disk_full ON kayako.tickets");
    EXPECT_TRUE(eventually(
        [&] {
            return value("SELECT subject FROM kayako.tickets WHERE id = " + ids[0]) ==
                   "edited while the disk is full";
        },
        std::chrono::seconds(90)))
        << log();
    EXPECT_TRUE(eventually(
        [&] {
            return http_get(metrics_port, "/metrics")
                       .find("kayako_sync_stream_error{stream=\"tickets\"} 0") != std::string::npos;
        },
        std::chrono::seconds(60)));
    expect_convergence_and_check();
    EXPECT_EQ(value("SELECT string_agg(state, ',') FROM kayako_sync.outbox"), "done");
}

}  // namespace
