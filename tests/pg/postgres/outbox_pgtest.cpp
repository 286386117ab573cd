// outbox_repository against the real PostgreSQL: recording a push result.
#include "common/logging.hpp"
#include "connectors/postgres/db_executor.hpp"
#include "connectors/postgres/mirror_repository.hpp"
#include "connectors/postgres/outbox_repository.hpp"
#include "connectors/postgres/row_mapping.hpp"
#include "tests/pg/postgres/test_data.hpp"
#include "tests/support/pg_database.hpp"
#include "tests/support/run_coro.hpp"

#include <boost/asio/io_context.hpp>
#include <pqxx/pqxx>

#include <gtest/gtest.h>

namespace {

using namespace ksync;

class outbox_test : public test::pg_suite {
protected:
    void SetUp() override {
        pg::connection_options o;
        o.conninfo = db().dsn();
        dbx = std::make_unique<pg::db_executor>(o, pg::executor_options{}, logging::null_logger());
        mirror = std::make_unique<pg::mirror_repository>(*dbx, pg::schema_names{},
                                                         logging::null_logger());
        outbox = std::make_unique<pg::outbox_repository>(*dbx, *mirror, logging::null_logger());
    }
    template <class T>
    T run(boost::asio::awaitable<T> aw) {
        return test::run_coro(ioc, std::move(aw));
    }
    std::string text(const std::string& sql) {
        pqxx::connection c{db().dsn()};
        pqxx::read_transaction tx{c};
        const auto r = tx.exec1(sql);
        return r[0].is_null() ? "<null>" : r[0].as<std::string>();
    }
    void sql(const std::string& statement) {
        pqxx::connection c{db().dsn()};
        pqxx::work tx{c};
        tx.exec(statement);
        tx.commit();
    }

    boost::asio::io_context ioc;
    std::unique_ptr<pg::db_executor> dbx;
    std::unique_ptr<pg::mirror_repository> mirror;
    std::unique_ptr<pg::outbox_repository> outbox;
};

// A local edit is pushed; before the worker records Kayako's answer, the sync already stored
// Kayako's new version of the ticket (which carries the pushed value). Recording the answer puts
// the edit's base values back first (for the feed); Kayako's row must then still be written,
// although its content hash equals the one the sync stored. Found by the full-disk test of
// tests/e2e/pg_fault_e2e_test.cpp, where the failing record left that window open for seconds:
// the mirror kept the old subject for good, with Kayako's hash, so no later sync repaired it.
TEST_F(outbox_test,
       a_recorded_push_rewrites_the_row_even_when_the_sync_stored_kayakos_version_first) {
    auto before = test::make_ticket(42);
    before.subject = "before the edit";
    run(mirror->apply(std::vector<kayako::ticket>{before}));
    sql("UPDATE kayako.tickets SET subject = 'the local edit' WHERE id = 42");  // queues a PUT

    // Kayako took the PUT; the sync reads the ticket back before the worker records it.
    auto after = before;
    after.subject = "the local edit";
    after.lastactivity = before.lastactivity + 60;
    run(mirror->apply(std::vector<kayako::ticket>{after}));

    auto rows = run(outbox->claim(10, std::chrono::seconds(600)));
    ASSERT_EQ(rows.size(), 1u);
    pg::push_result result;
    result.revert_edit = true;
    result.source = pg::change_source::local;
    std::vector<pg::mapped_row> mapped;
    pg::map_record(after, mapped);
    result.mirror_rows.emplace_back(pg::entity::tickets, std::move(mapped));
    ASSERT_TRUE(run(outbox->complete(rows[0], std::move(result))));

    EXPECT_EQ(text("SELECT subject FROM kayako.tickets WHERE id = 42"), "the local edit");
    EXPECT_EQ(text("SELECT state FROM kayako_sync.outbox"), "done");
    // The feed shows the edit once: the base value before, the pushed one after.
    EXPECT_EQ(text("SELECT string_agg(source || ':' || (old_values->>'subject') || '->' || "
                   "(new_values->>'subject'), ',' ORDER BY position) FROM kayako_sync.changes "
                   "WHERE object_id = 42 AND changed_columns @> '{subject}'"),
              "local:before the edit->the local edit");
}

}  // namespace
