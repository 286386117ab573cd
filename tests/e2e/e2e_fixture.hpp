#pragma once
// The end-to-end fixture: the emulator (in process, on 127.0.0.1) as Kayako, the throwaway
// PostgreSQL as the mirror, our stack between them, and the checker's helpers.
#include "connectors/http/client.hpp"
#include "connectors/kayako/client.hpp"
#include "connectors/postgres/db_executor.hpp"
#include "connectors/postgres/mirror_repository.hpp"
#include "connectors/postgres/sync_reads.hpp"
#include "daemon/sync/engine.hpp"
#include "tests/e2e/mirror_checker.hpp"
#include "tests/emulator/server.hpp"
#include "tests/support/log_capture.hpp"
#include "tests/support/pg_database.hpp"
#include "tests/support/run_coro.hpp"

#include <pqxx/pqxx>

#include <gtest/gtest.h>

#include <map>
#include <thread>
#include <tuple>

namespace ksync::test {

namespace asio = boost::asio;

class e2e_fixture : public test::pg_suite {
protected:
    void SetUp() override {
        // A fresh database per test: the suite's one is reused, so empty it.
        reset_database();
        emu = std::make_unique<emulator::emulator>(emulator_opts());
        emu->start();
        make_stack(engine_opts());
    }
    void TearDown() override {
        eng.reset();
        kayako.reset();
        transport.reset();
        mirror.reset();
        reads.reset();
        dbx.reset();
        if (emu) emu->stop();
    }

    virtual emulator::emulator_options emulator_opts() const {
        emulator::emulator_options eo;
        eo.seed = 7;
        eo.size.tickets = 400;
        eo.size.users = 1300;  // more than one Filter page
        eo.size.organizations = 20;
        return eo;
    }

    static sync::engine_options engine_opts() {
        sync::engine_options o;
        o.page_size = 100;
        return o;
    }

    void reset_database() {
        pqxx::connection c{db_dsn()};
        pqxx::work tx{c};
        for (const char* table :
             {"tickets", "posts", "notes", "users", "organizations", "departments",
              "ticket_statuses", "ticket_priorities", "ticket_types", "user_groups", "staff",
              "staff_groups", "custom_fields", "custom_field_options"})
            tx.exec(std::string("TRUNCATE kayako.") + table);
        tx.exec("TRUNCATE kayako_sync.changes, kayako_sync.stream_cursors, kayako_sync.quarantine");
        tx.exec(
            "TRUNCATE kayako_sync.conflicts, kayako_sync.outbox, kayako_sync.intake_posts,"
            " kayako_sync.intake_notes, kayako_sync.intake_tickets, kayako_sync.intake_users,"
            " kayako_sync.intake_organizations");
        tx.commit();
    }

    static std::string db_dsn() { return test::pg_suite::db().dsn(); }

    void make_stack(sync::engine_options o) {
        eng.reset();
        kayako.reset();
        transport.reset();
        mirror.reset();
        reads.reset();
        dbx.reset();
        pg::connection_options co;
        co.conninfo = db_dsn();
        dbx = std::make_unique<pg::db_executor>(co, pg::executor_options{}, logs.logger("db"));
        mirror = std::make_unique<pg::mirror_repository>(*dbx, pg::schema_names{},
                                                         logs.logger("mirror"));
        reads = std::make_unique<pg::sync_reads>(*dbx, pg::schema_names{});
        http::client_options ho;
        ho.allow_plain_http = true;
        transport = std::make_unique<http::client>(ioc.get_executor(), ho, logs.logger("http"));
        kayako::client_options ko;
        ko.pacing = {4, 1e6, 1e6};
        ko.retry.base = std::chrono::milliseconds(5);
        ko.retry.cap = std::chrono::milliseconds(20);
        ko.breaker.cooldown = std::chrono::milliseconds(100);
        kayako::request_builder b(
            kayako::parse_base_url(emu->base_url()), kayako::url_type::standard,
            kayako::credentials{emu->api().options().apikey, secret{emu->api().options().secret}});
        kayako = std::make_unique<kayako::client>(ioc.get_executor(), *transport, std::move(b), ko,
                                                  logs.logger("kayako"));
        eng = std::make_unique<sync::engine>(*kayako, *mirror, *reads, o, logs.logger("sync"));
    }

    // A full pass: every stream, the slow ones (full user scan, reconciler) whether due or not.
    std::vector<sync::stream_report> once() {
        return test::run_coro(ioc, eng->run_once(sync::slow_streams::always),
                              std::chrono::minutes(5));
    }

    void expect_mirror_equals_model() {
        auto expected = emu->api().read(
            [](const emulator::helpdesk& m) { return test::expected_from_model(m); });
        auto actual = test::actual_from_mirror(db_dsn());
        auto diff = test::differences(expected, actual);
        for (const auto& d : diff) ADD_FAILURE() << d;
        EXPECT_TRUE(diff.empty());
    }

    // The emulator's control interface: changes made as a staff member would make them.
    void control(const std::string& method, const std::string& target, const std::string& body) {
        emulator::http_request r;
        r.method = method;
        r.target = target;
        r.content_type = "application/x-www-form-urlencoded";
        r.body = body;
        auto res = emu->api().handle(r);
        ASSERT_EQ(res.status, 200) << method << " " << target << ": " << res.body;
    }

    // Only tickets, posts and notes (when a test ran no full pass over the other streams).
    void expect_mirror_equals_model_tickets_only() {
        auto expected = emu->api().read(
            [](const emulator::helpdesk& m) { return test::expected_from_model(m); });
        auto actual = test::actual_from_mirror(db_dsn());
        test::snapshot e, a;
        for (const char* k : {"tickets", "posts", "notes"}) {
            e[k] = expected[k];
            a[k] = actual[k];
        }
        // Trashed tickets are the reconciler's job; this pass lists live departments only.
        for (auto it = e["tickets"].begin(); it != e["tickets"].end();)
            it = it->second.starts_with("dept=0 ") ? e["tickets"].erase(it) : std::next(it);
        for (auto it = a["tickets"].begin(); it != a["tickets"].end();)
            it = it->second.starts_with("dept=0 ") ? a["tickets"].erase(it) : std::next(it);
        e.erase("posts");
        a.erase("posts");
        e.erase("notes");
        a.erase("notes");
        auto diff = test::differences(e, a);
        for (const auto& d : diff) ADD_FAILURE() << d;
    }

    std::int64_t feed_position() {
        pqxx::connection c{db_dsn()};
        pqxx::read_transaction tx{c};
        return tx.exec1("SELECT COALESCE(max(position), 0) FROM kayako_sync.changes")[0]
            .as<std::int64_t>();
    }

    // (entity, id) -> number of feed events after `position`
    std::map<std::pair<std::string, std::int64_t>, int> events_after(std::int64_t position) {
        pqxx::connection c{db_dsn()};
        pqxx::read_transaction tx{c};
        std::map<std::pair<std::string, std::int64_t>, int> out;
        for (const auto& r : tx.exec_params(
                 "SELECT entity, object_id, count(*) FROM kayako_sync.changes WHERE position > $1 "
                 "GROUP BY entity, object_id",
                 position))
            out[{r[0].as<std::string>(), r[1].as<std::int64_t>()}] = r[2].as<int>();
        return out;
    }

    // Requests to one endpoint (app/controller/method, lower case) since log entry `from`.
    std::int64_t count_requests(const std::string& endpoint, std::size_t from) {
        auto log = emu->api().request_log();
        std::int64_t n = 0;
        for (std::size_t i = from; i < log.size(); ++i) n += log[i].endpoint == endpoint;
        return n;
    }

    std::string written_state() {
        pqxx::connection c{db_dsn()};
        pqxx::read_transaction tx{c};
        std::string s;
        for (const char* t : {"tickets", "posts", "notes", "users", "organizations", "departments"})
            s += tx.exec1(std::string("SELECT count(*)::text || '/' || COALESCE(sum(version), "
                                      "0)::text || '/' || "
                                      "COALESCE(max(last_changed_at)::text, '') FROM kayako.") +
                          t)[0]
                     .as<std::string>() +
                 " ";
        s += tx.exec1(
                   "SELECT COALESCE(string_agg(stream || '=' || cursor::text, ',' ORDER BY "
                   "stream), '') FROM "
                   "kayako_sync.stream_cursors")[0]
                 .as<std::string>();
        return s;
    }

    asio::io_context ioc;
    test::log_capture logs;
    std::unique_ptr<emulator::emulator> emu;
    std::unique_ptr<pg::db_executor> dbx;
    std::unique_ptr<pg::mirror_repository> mirror;
    std::unique_ptr<pg::sync_reads> reads;
    std::unique_ptr<http::client> transport;
    std::unique_ptr<kayako::client> kayako;
    std::unique_ptr<sync::engine> eng;
};

}  // namespace ksync::test
