// The randomized kill -9 loop (reliability.md §7 rows 1-3): kayako-sync (`once` or `run`) is
// started again and again with a random failpoint (KSYNC_FAILPOINT=<point>:<n>, which ends the
// process with _exit like kill -9) or killed with SIGKILL after a random delay, while both sides
// change between rounds: staff edits in the emulator, local UPDATEs of writable mirror columns and
// intake rows that become POSTs. Then clean passes until quiet, and the checker: the mirror equals
// the model, one successful POST per outbox creation, feed versions without gaps, and neither the
// secret nor a signature in any output or in the database.
//
// The seed is printed; KSYNC_CRASH_SEED=<n> replays it (the kill timing of `run` rounds still
// varies), KSYNC_CRASH_ROUNDS=<n> changes the number of rounds (default 10).
#include "tests/e2e/process_support.hpp"
#include "tests/e2e/reliability_checker.hpp"
#include "tests/emulator/server.hpp"
#include "tests/support/pg_database.hpp"

#include <fmt/format.h>
#include <pqxx/pqxx>

#include <gtest/gtest.h>

#include <iostream>
#include <random>

namespace {

using namespace ksync;
using namespace ksync::test;

// Every failpoint of daemon/operations.cpp (keep in step) and how many times one pass of this
// test's data passes it at most: n is drawn from 1..max (a larger n may not be reached: then the
// round ends normally or by a SIGKILL).
struct failpoint_spec {
    const char* name;
    int max;
};
constexpr failpoint_spec kFailpoints[] = {
    {"lookup_list_fetched", 7},
    {"lookup_list_applied", 7},
    {"organization_list_fetched", 1},
    {"organization_list_applied", 1},
    {"user_page_fetched", 2},
    {"user_page_applied", 2},
    {"ticket_page_fetched", 5},
    {"ticket_details_fetched", 5},
    {"ticket_children_applied", 5},
    {"ticket_page_applied", 5},
    {"ticket_watermark_applied", 1},
    {"reconcile_page_fetched", 5},
    {"deletions_confirmed", 2},
    {"deletions_applied", 2},
    {"mirror_staged", 25},
    {"mirror_before_commit", 40},
    {"push_claimed", 2},
    {"push_searched", 2},
    {"push_sent", 8},
    {"push_recorded", 8},
};

std::uint64_t env_number(const char* name, std::uint64_t fallback) {
    const char* v = std::getenv(name);
    return v && *v ? std::strtoull(v, nullptr, 10) : fallback;
}

bool sanitizer_report(const std::string& output) {
    return output.find("AddressSanitizer") != std::string::npos ||
           output.find("LeakSanitizer") != std::string::npos ||
           output.find("runtime error:") != std::string::npos;
}

class crash_loop_e2e : public pg_suite {
protected:
    void SetUp() override {
        dir = fs::temp_directory_path() / ("ksync-crash-" + std::to_string(::getpid()));
        fs::remove_all(dir);
        fs::create_directories(dir / "out");
        emulator::emulator_options eo;
        eo.seed = 23;
        eo.size.tickets = 100;
        eo.size.users = 120;
        eo.size.organizations = 10;
        emu = std::make_unique<emulator::emulator>(eo);
        emu->start();
        std::ofstream(dir / "secret") << emu->api().options().secret << "\n";
        ::chmod((dir / "secret").c_str(), 0600);
        pqxx::connection c{db().dsn()};
        std::ofstream cfg(dir / "ksync.yaml");
        cfg << "kayako:\n  base_url: "
            << emu->base_url().substr(0, emu->base_url().rfind("index.php")) << "\n"
            << "  api_key: " << emu->api().options().apikey
            << "\n  secret_file: secret\n  allow_plain_http: true\n"
            << "  max_in_flight: 4\n  requests_per_second: 1000\n"
            << "postgres:\n  host: 127.0.0.1\n  port: " << c.port() << "\n  dbname: " << db().name()
            << "\n  user: postgres\n  sslmode: disable\n"
            << "streams:\n"
            << "  lookups: {interval: 2s, jitter: 500ms}\n"
            << "  organizations: {interval: 2s, jitter: 500ms}\n"
            << "  users: {interval: 2s, jitter: 500ms, full_scan_interval: 3s}\n"
            << "  tickets: {page_size: 25, interval: 1s, jitter: 500ms}\n"
            << "  reconcile: {interval: 3s, jitter: 1s}\n"
            << "push:\n  enabled: true\n  sweep_interval: 1s\n  max_attempts: 100\n";
    }
    void TearDown() override {
        emu->stop();
        if (HasFailure())
            std::cout << "crash loop: outputs kept in " << dir << "\n";
        else
            fs::remove_all(dir);
    }

    std::string config() const { return (dir / "ksync.yaml").string(); }
    fs::path out_file(const std::string& name) const { return dir / "out" / name; }

    std::string value(const std::string& query) {
        pqxx::connection c{db().dsn()};
        pqxx::read_transaction tx{c};
        const auto r = tx.exec(query);
        if (r.empty() || r[0][0].is_null()) return "";
        return r[0][0].c_str();
    }
    std::vector<std::int64_t> ids(const std::string& query) {
        pqxx::connection c{db().dsn()};
        pqxx::read_transaction tx{c};
        std::vector<std::int64_t> out;
        for (const auto& r : tx.exec(query)) out.push_back(r[0].as<std::int64_t>());
        return out;
    }
    void sql(const std::string& statement) {
        pqxx::connection c{db().dsn()};
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
        r.from_loopback = true;
        auto res = emu->api().handle(r);
        EXPECT_EQ(res.status, 200) << method << " " << target << " " << body << ": " << res.body;
    }
    template <class T>
    T pick(const std::vector<T>& v) {
        return v[std::uniform_int_distribution<std::size_t>(0, v.size() - 1)(rng)];
    }
    bool chance(double p) { return std::bernoulli_distribution(p)(rng); }

    // Staff edits in Kayako. Tickets with id % 3 == 0 may be trashed or deleted here and are never
    // edited locally (a local edit of a deleted ticket fails for good, rightly).
    void change_kayako(int round) {
        struct view {
            std::vector<std::int64_t> tickets, deletable, users, orgs;
            std::int64_t dept = 0, status = 0, prio = 0, type = 0;
        };
        auto v = emu->api().read([](const emulator::helpdesk& m) {
            view x;
            for (const auto& t : m.tickets) {
                if (t.departmentid == 0) continue;
                x.tickets.push_back(t.ticketid);
                if (t.ticketid % 3 == 0) x.deletable.push_back(t.ticketid);
            }
            for (const auto& u : m.users) x.users.push_back(u.userid);
            for (const auto& o : m.organizations) x.orgs.push_back(o.userorganizationid);
            for (const auto& d : m.departments)
                if (d.departmentapp == "tickets" && d.departmenttype == "public" && !x.dept)
                    x.dept = d.departmentid;
            x.status = m.statuses.front().ticketstatusid;
            x.prio = m.priorities.front().priorityid;
            x.type = m.types.front().tickettypeid;
            return x;
        });
        const std::string tag = fmt::format("r{}s{}", round, seed);
        for (int i = 0, n = 1 + static_cast<int>(rng() % 3); i < n; ++i)
            control("POST", fmt::format("/_control/tickets/{}", pick(v.tickets)),
                    fmt::format("subject=staff+edit+{}+{}", tag, i));
        if (chance(0.6))
            control("POST", fmt::format("/_control/tickets/{}/posts", pick(v.tickets)),
                    fmt::format("staffid=1&contents=staff+reply+{}", tag));
        if (chance(0.4))
            control("POST", fmt::format("/_control/tickets/{}/notes", pick(v.tickets)),
                    fmt::format("staffid=1&contents=staff+note+{}", tag));
        if (chance(0.5))
            control("POST", "/_control/tickets",
                    fmt::format("subject=staff+ticket+{}&fullname=Sam&email=sam%40example.com"
                                "&contents=opened+by+staff&departmentid={}&ticketstatusid={}"
                                "&ticketpriorityid={}&tickettypeid={}&autouserid=1",
                                tag, v.dept, v.status, v.prio, v.type));
        if (chance(0.3) && !v.deletable.empty()) {
            // Gone from the candidates at once: the trashing below may not pick it (404).
            const auto gone = pick(v.deletable);
            control("DELETE", fmt::format("/_control/tickets/{}", gone), "");
            std::erase(v.deletable, gone);
        }
        if (chance(0.2) && !v.deletable.empty())
            control("POST", fmt::format("/_control/tickets/{}", pick(v.deletable)),
                    "departmentid=0");
        if (chance(0.5))
            control("POST", fmt::format("/_control/users/{}", pick(v.users)),
                    fmt::format("fullname=Staff+Renamed+{}", tag));
        if (chance(0.3))
            control("POST", fmt::format("/_control/organizations/{}", pick(v.orgs)),
                    fmt::format("name=Org+{}&organizationtype=shared", tag));
    }

    // Local changes: UPDATEs of writable mirror columns (PUTs) and intake rows (POSTs), each
    // value unique so that the checker can count its POSTs.
    void change_locally(int round) {
        const std::string tag = fmt::format("r{}s{}", round, seed);
        const auto tickets =
            ids("SELECT id FROM kayako.tickets WHERE deleted_at IS NULL AND department_id <> 0 AND "
                "id % 3 <> 0 ORDER BY id");
        const auto users = ids("SELECT id FROM kayako.users WHERE deleted_at IS NULL ORDER BY id");
        if (!tickets.empty())
            sql(fmt::format("UPDATE kayako.tickets SET subject = 'local edit {}' WHERE id = {}",
                            tag, pick(tickets)));
        if (!users.empty() && chance(0.5))
            sql(fmt::format("UPDATE kayako.users SET full_name = 'Local Renamed {}' WHERE id = {}",
                            tag, pick(users)));
        const std::string dept = value(
            "SELECT min(id) FROM kayako.departments WHERE app = 'tickets' AND type = "
            "'public' AND deleted_at IS NULL");
        if (!dept.empty() && !value("SELECT min(id) FROM kayako.ticket_types").empty()) {
            sql(fmt::format(
                "INSERT INTO kayako_sync.intake_tickets (subject, full_name, email, contents, "
                "department_id, status_id, priority_id, type_id, auto_user) SELECT 'intake "
                "ticket {}', 'Ida', 'ida-{}@example.com', 'intake body {}', {}, min(s.id), "
                "min(p.id), min(t.id), true FROM kayako.ticket_statuses s, "
                "kayako.ticket_priorities p, kayako.ticket_types t",
                tag, tag, tag, dept));
            if (chance(0.6))
                sql(
                    fmt::format("INSERT INTO kayako_sync.intake_posts (intake_ticket_id, contents, "
                                "staff_id) SELECT max(id), 'intake follow-up {}', (SELECT min(id) "
                                "FROM kayako.staff) FROM kayako_sync.intake_tickets",
                                tag));
        }
        if (!tickets.empty() && chance(0.6))
            sql(
                fmt::format("INSERT INTO kayako_sync.intake_posts (ticket_id, contents, staff_id) "
                            "SELECT {}, 'intake reply {}', min(id) FROM kayako.staff",
                            pick(tickets), tag));
        if (!tickets.empty() && chance(0.4))
            sql(
                fmt::format("INSERT INTO kayako_sync.intake_notes (ticket_id, contents, staff_id) "
                            "SELECT {}, 'intake note {}', min(id) FROM kayako.staff",
                            pick(tickets), tag));
        if (!value("SELECT min(id) FROM kayako.user_groups WHERE group_type = 'registered'")
                 .empty() &&
            chance(0.5))
            sql(
                fmt::format("INSERT INTO kayako_sync.intake_users (full_name, emails, password, "
                            "user_group_id) SELECT 'Intake User {}', '{{intake-{}@example.com}}', "
                            "'pw-{}', min(id) FROM kayako.user_groups WHERE group_type = "
                            "'registered'",
                            tag, tag, tag));
        if (chance(0.3))
            sql(
                fmt::format("INSERT INTO kayako_sync.intake_organizations (name) VALUES ('Intake "
                            "Org {}')",
                            tag));
    }

    // A killed daemon's sessions end when PostgreSQL notices; until then `once` would find the
    // leader lock taken.
    void wait_for_sessions_to_end() {
        ASSERT_TRUE(eventually(
            [&] {
                return value("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'") == "0";
            },
            std::chrono::seconds(30)));
    }

    fs::path dir;
    std::unique_ptr<emulator::emulator> emu;
    std::uint64_t seed = 0;
    std::mt19937_64 rng;
};

TEST_F(crash_loop_e2e, random_kills_at_every_failpoint_then_the_checker_finds_no_divergence) {
    seed = env_number("KSYNC_CRASH_SEED", std::random_device{}());
    const int rounds = static_cast<int>(env_number("KSYNC_CRASH_ROUNDS", 10));
    rng.seed(seed);
    std::cout << "crash loop: seed " << seed << " (KSYNC_CRASH_SEED=" << seed << " replays it), "
              << rounds << " rounds" << std::endl;
    RecordProperty("seed", std::to_string(seed));
    SCOPED_TRACE("KSYNC_CRASH_SEED=" + std::to_string(seed));

    int crashed = 0, killed = 0, finished = 0;
    std::map<std::string, int> hits;
    for (int round = 1; round <= rounds; ++round) {
        if (round > 1) {
            change_kayako(round);
            change_locally(round);
        }
        const auto& fp = kFailpoints[rng() % std::size(kFailpoints)];
        const int nth = 1 + static_cast<int>(rng() % static_cast<std::uint64_t>(fp.max));
        const std::string spec = fmt::format("{}:{}", fp.name, nth);
        const bool daemon = chance(0.35);
        const bool with_failpoint = !daemon || chance(0.7);
        std::vector<std::string> env;
        if (with_failpoint) env.push_back("KSYNC_FAILPOINT=" + spec);
        const auto out = out_file(fmt::format("round-{:02}.txt", round));
        std::string how;
        int code = 0;
        if (!daemon) {
            // --full: the full user scan and the reconciler too, due or not.
            const bool full = chance(0.5);
            std::vector<std::string> args{"--config", config(), "once"};
            if (full) args.emplace_back("--full");
            auto r = run_process(KSYNC_BINARY, args, env, out);
            code = r.exit_code;
            how = std::string(full ? "once --full " : "once ") + spec;
            EXPECT_TRUE(code == 0 || code == 137) << how << " exited " << code << "\n" << r.output;
        } else {
            background_process d(KSYNC_BINARY, {"--config", config(), "run"}, out, env);
            // With a failpoint, time to reach it (the daemon ends itself there); without one, a
            // SIGKILL at a random moment.
            const auto limit = std::chrono::milliseconds(with_failpoint ? 2000 + rng() % 4000
                                                                        : 300 + rng() % 3000);
            const auto end = std::chrono::steady_clock::now() + limit;
            while (d.running() && std::chrono::steady_clock::now() < end)
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
            const bool ended = !d.running();
            if (!ended) d.kill9();
            code = ended ? d.exit_code() : -9;
            how = fmt::format("run{} killed after {} ms", with_failpoint ? " " + spec : "",
                              limit.count());
            if (ended) {
                EXPECT_EQ(code, 137) << how << "\n" << read_file(out);
            }
        }
        if (code == 137) {
            ++crashed;
            ++hits[fp.name];
        } else if (code == -9) {
            ++killed;
        } else {
            ++finished;
        }
        std::cout << fmt::format("round {:2}: {} -> {}", round, how,
                                 code == 137  ? "failpoint hit"
                                 : code == -9 ? "SIGKILL"
                                              : "finished")
                  << std::endl;
        EXPECT_FALSE(sanitizer_report(read_file(out))) << how << "\n" << read_file(out);
        wait_for_sessions_to_end();
        if (HasFatalFailure()) return;
    }
    std::string hit_list;
    for (const auto& [k, n] : hits) hit_list += fmt::format(" {}x{}", k, n);
    std::cout << fmt::format("crash loop: {} failpoint crashes ({}), {} SIGKILLs, {} clean ends",
                             crashed, hit_list, killed, finished)
              << std::endl;

    // Clean passes until one writes nothing and pushes nothing.
    bool quiet = false;
    for (int pass = 1; pass <= 6 && !quiet; ++pass) {
        auto r = run_process(KSYNC_BINARY, {"--config", config(), "once", "--full"}, {},
                             out_file(fmt::format("final-{}.txt", pass)));
        ASSERT_EQ(r.exit_code, 0) << r.output;
        EXPECT_FALSE(sanitizer_report(r.output)) << r.output;
        quiet = r.output.find("push: 0 outbox rows handled") != std::string::npos;
        for (const char* moved : {" inserted, ", " updated, ", " deleted, "}) {
            for (auto at = r.output.find(moved); at != std::string::npos;
                 at = r.output.find(moved, at + 1)) {
                const auto start = r.output.rfind(' ', at - 1);
                if (r.output.substr(start + 1, at - start - 1) != "0") quiet = false;
            }
        }
    }
    EXPECT_TRUE(quiet) << "still writing after 6 clean passes";

    // The checker, in process (the model and log objects) ...
    check_options o;
    o.dsn = db().dsn();
    o.secret = emu->api().options().secret;
    o.scan_files = {dir / "out"};
    const auto expected =
        emu->api().read([](const emulator::helpdesk& m) { return expected_from_model(m); });
    const auto report = check_all(o, expected, emu->api().request_log());
    std::cout << report.text();
    EXPECT_TRUE(report.ok()) << report.text();
    EXPECT_GT(report.creations, 0u);
    EXPECT_GT(report.signatures, 0u);

    // ... and as the ksync-check tool, through the control interface's JSON.
    const std::string emulator_url = "http://127.0.0.1:" + std::to_string(emu->port());
    auto tool = run_process(KSYNC_CHECK_BINARY,
                            {"--dsn", db().dsn(), "--emulator", emulator_url, "--secret-file",
                             (dir / "secret").string(), "--scan", (dir / "out").string()},
                            {}, dir / "check.txt");
    EXPECT_EQ(tool.exit_code, 0) << tool.output;
    EXPECT_NE(tool.output.find("mirror equals the model: ok"), std::string::npos) << tool.output;

    // The tool fails on a divergence: a mirror row changed behind everyone's back.
    const auto victim = value("SELECT min(id) FROM kayako.tickets WHERE deleted_at IS NULL");
    sql("SET LOCAL kayako_sync.writer = 'daemon'; UPDATE kayako.tickets SET subject = 'diverged' "
        "WHERE id = " +
        victim);
    auto diverged = run_process(
        KSYNC_CHECK_BINARY, {"--dsn", db().dsn(), "--emulator", emulator_url, "--only", "mirror"},
        {}, dir / "check-diverged.txt");
    EXPECT_EQ(diverged.exit_code, 1) << diverged.output;
    EXPECT_NE(diverged.output.find("tickets " + victim + ": mirror"), std::string::npos)
        << diverged.output;
}

// The checker itself: each check fails when its invariant is broken (a checker that cannot fail
// proves nothing).
class checker_e2e : public pg_suite {};

TEST_F(checker_e2e, each_check_reports_a_broken_invariant) {
    const std::string secret = "s3cr+t/with=chars";
    const std::string salt = "abc123";
    const std::string sig = signature_of(salt, secret);
    ASSERT_EQ(sig.size(), 44u);
    const fs::path dir =
        fs::temp_directory_path() / ("ksync-checker-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    std::ofstream(dir / "clean.log") << "nothing to see\n";
    std::ofstream(dir / "sig.log") << "GET /x?salt=abc123&signature=" << sig << " 200\n";
    std::string encoded;
    for (char c : sig)
        encoded += c == '+' ? "%2B" : c == '/' ? "%2F" : c == '=' ? "%3D" : std::string(1, c);
    std::ofstream(dir / "sig-encoded.log") << "signature=" << encoded << "&x=1\n";
    std::ofstream(dir / "secret.log") << "oops " << secret << "\n";

    emulator::log_entry get;
    get.method = "GET";
    get.path = "/Tickets/Ticket/ListAll";
    get.salt = salt;
    get.status = 200;
    emulator::log_entry post = get;
    post.method = "POST";
    post.path = "/Base/User";
    post.fields = {{"fullname", "Checker Person"}};
    // An answer replaced by a fault was never executed: it is not a POST that created anything,
    // even when logged with status 200; a damaged answer of an executed one (truncate) is.
    emulator::log_entry replaced = post;
    replaced.fault = "html_200";
    emulator::log_entry damaged = post;
    damaged.fault = "truncate";
    std::vector<emulator::log_entry> log{get, post, replaced, damaged};  // one POST too many

    {
        pqxx::connection c{db().dsn()};
        pqxx::work tx{c};
        tx.exec(
            "INSERT INTO kayako_sync.outbox (entity, intake_id, operation, new_values, state) "
            "VALUES ('users', 1, 'create', '{\"full_name\": \"Checker Person\"}', 'done'),"
            " ('users', 2, 'create', '{\"full_name\": \"Never Sent\"}', 'pending')");
        tx.exec("SET LOCAL kayako_sync.writer = 'daemon'");
        tx.exec(
            "INSERT INTO kayako.organizations (id, name, organization_type, address, city, "
            "state, postal_code, country, phone, fax, website, sla_plan_id, content_hash, "
            "version, first_seen_at, last_changed_at) VALUES (7, 'Org " +
            secret + "', 'shared', '', '', '', '', '', '', '', '', 0, '\\x00', 3, now(), now())");
        tx.exec(
            "INSERT INTO kayako_sync.changes (entity, object_id, version, op, changed_columns, "
            "new_values) VALUES ('organizations', 7, 1, 'insert', '{}', '{}'),"
            " ('organizations', 7, 3, 'update', '{}', '{}')");
        tx.commit();
    }
    check_options o;
    o.dsn = db().dsn();
    o.secret = secret;
    o.check_mirror = false;
    o.scan_files = {dir / "clean.log", dir / "sig.log", dir / "sig-encoded.log",
                    dir / "secret.log"};
    const auto r = check_all(o, snapshot{}, log);
    const std::string text = r.text();
    EXPECT_FALSE(r.ok());
    EXPECT_NE(text.find("outbox row 2 (create users) is pending"), std::string::npos) << text;
    EXPECT_NE(text.find("fullname='Checker Person': 2 successful POST(s) for 1 done"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("feed organizations 7: version 3 at position"), std::string::npos) << text;
    EXPECT_NE(text.find("a request signature appears in " + (dir / "sig.log").string()),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("a request signature (URL-encoded) appears in " +
                        (dir / "sig-encoded.log").string()),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("the API secret appears in " + (dir / "secret.log").string()),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("the API secret appears in a row of table kayako.organizations"),
              std::string::npos)
        << text;
    EXPECT_EQ(text.find("clean.log"), std::string::npos) << text;
    EXPECT_EQ(text.find(secret), std::string::npos) << "the report repeats the secret";
    fs::remove_all(dir);
}

// The tool's path reads the control interface's JSON: it must give the snapshot the model gives,
// and name the tickets no listing of the trash shows.
TEST(checker_json, the_model_dump_gives_the_same_snapshot_and_the_unlistable_trash) {
    emulator::emulator_options eo;
    eo.seed = 31;  // its ticket 250 is in the trash with a department's status
    eo.size.tickets = 300;
    eo.size.users = 150;
    eo.size.organizations = 10;
    emulator::emulator emu(eo);
    emulator::http_request r;
    r.method = "GET";
    r.target = "/_control/model";
    const auto dump = emu.api().handle(r);
    ASSERT_EQ(dump.status, 200);
    const auto direct =
        emu.api().read([](const emulator::helpdesk& m) { return expected_from_model(m); });
    const auto via_json = expected_from_model_json(dump.body);
    EXPECT_TRUE(differences(direct, via_json).empty());
    EXPECT_EQ(direct, via_json);
    const auto unlistable = unlistable_trash_from_model_json(dump.body);
    EXPECT_EQ(unlistable, std::set<std::int64_t>{250});
}

}  // namespace
