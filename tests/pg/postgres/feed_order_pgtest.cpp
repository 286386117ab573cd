#include "common/logging.hpp"
#include "connectors/postgres/db_executor.hpp"
#include "connectors/postgres/migrator.hpp"
#include "connectors/postgres/mirror_repository.hpp"
#include "tests/pg/postgres/test_data.hpp"
#include "tests/support/pg_database.hpp"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <atomic>
#include <random>
#include <set>
#include <thread>

namespace {

using namespace ksync;

// Two writers apply batches concurrently while a reader polls "position > last". The reader
// misses a row when a lower position becomes visible after it has already moved past it.
struct race_result {
    std::size_t written = 0;
    std::size_t missed = 0;
};

race_result race(const std::string& dsn, const pg::schema_names& names, int batches_per_writer) {
    pg::connection_options conn;
    conn.conninfo = dsn;
    std::atomic<int> writers_done{0};
    std::vector<std::thread> writers;
    for (int w = 0; w < 2; ++w) {
        writers.emplace_back([&, w] {
            pg::db_executor exec{conn, pg::executor_options{}, logging::null_logger()};
            pg::mirror_repository repo{exec, names, logging::null_logger()};
            std::mt19937 rng(static_cast<unsigned>(w + 1));
            // Between drawing its positions and committing, a writer pauses for a moment, as a
            // busy server would: the window in which the other writer's later positions commit.
            repo.set_test_hook([&rng](std::string_view at, int) {
                if (at == "before_commit")
                    std::this_thread::sleep_for(std::chrono::microseconds(
                        std::uniform_int_distribution<int>(0, 3000)(rng)));
            });
            for (int b = 0; b < batches_per_writer; ++b) {
                const kayako::id_t first = (w + 1) * 1000000 + b * 3;
                auto job = [&](pqxx::connection& c) {
                    return repo.apply_on(
                        c, pg::entity::tickets, pg::map_records(test::make_tickets(first, 3)),
                        pg::cursor_update{"writer" + std::to_string(w), std::to_string(b)});
                };
                exec.run_blocking(0, job);
            }
            ++writers_done;
        });
    }
    std::set<long long> seen;
    {
        pqxx::connection reader{dsn};
        long long last = 0;
        const std::string sql = "SELECT position FROM " + pg::quote_ident(names.state) +
                                ".changes WHERE position > $1 ORDER BY position";
        auto poll = [&] {
            pqxx::read_transaction tx{reader};
            for (const auto& r : tx.exec_params(sql, last)) {
                last = r[0].as<long long>();
                seen.insert(last);
            }
        };
        while (writers_done.load() < 2) poll();
        poll();
    }
    for (auto& t : writers) t.join();

    race_result out;
    pqxx::connection c{dsn};
    pqxx::read_transaction tx{c};
    for (const auto& r :
         tx.exec("SELECT position FROM " + pg::quote_ident(names.state) + ".changes")) {
        ++out.written;
        if (!seen.count(r[0].as<long long>())) ++out.missed;
    }
    return out;
}

TEST(feed_order, a_plain_sequence_feed_loses_rows_and_ours_does_not) {
    test::pg_database db;
    pg::connection_options conn;
    conn.conninfo = db.dsn();
    const auto migrations = std::string(KSYNC_SOURCE_DIR) + "/migrations";
    const pg::schema_names ours{"ordered", "ordered_sync"};
    const pg::schema_names plain{"plain", "plain_sync"};
    pg::migrate(conn, migrations, ours);
    pg::migrate(conn, migrations, plain);
    {
        // The control: the same feed table with only its BIGSERIAL-style identity, no commit-order
        // lock.
        pqxx::connection c{db.dsn()};
        pqxx::work tx{c};
        tx.exec("ALTER TABLE plain_sync.changes DISABLE TRIGGER changes_commit_order");
        tx.commit();
    }

    const auto control = race(db.dsn(), plain, 300);
    EXPECT_EQ(control.written, 1800u);
    EXPECT_GT(control.missed, 0u)
        << "the control should lose rows; if it does not, the test cannot tell";
    std::printf("plain sequence feed: %zu of %zu rows missed by the reader\n", control.missed,
                control.written);

    const auto result = race(db.dsn(), ours, 300);
    EXPECT_EQ(result.written, 1800u);
    EXPECT_EQ(result.missed, 0u);
    std::printf("commit-ordered feed: %zu of %zu rows missed by the reader\n", result.missed,
                result.written);
}

}  // namespace
