#include "tests/support/pg_database.hpp"

#include <pqxx/pqxx>

#include <gtest/gtest.h>

namespace {

class pg_database_test : public ksync::test::pg_suite {};

// Proves the suite really talks to the cluster scripts/test started: a table is created,
// written and read back through libpqxx.
TEST_F(pg_database_test, creates_writes_and_reads_back) {
    pqxx::connection c{db().dsn()};
    pqxx::work tx{c};
    tx.exec("CREATE TABLE t (id int PRIMARY KEY, v text NOT NULL)");
    tx.exec_params("INSERT INTO t VALUES ($1, $2), ($3, $4)", 1, "one", 2, "two ünïcödé 🎫");
    tx.commit();

    pqxx::read_transaction rt{c};
    auto r = rt.exec("SELECT id, v FROM t ORDER BY id");
    ASSERT_EQ(r.size(), 2u);
    EXPECT_EQ(r[1][1].as<std::string>(), "two ünïcödé 🎫");
    EXPECT_EQ(rt.exec1("SELECT current_database()")[0].as<std::string>(), db().name());
}

TEST_F(pg_database_test, runs_on_the_loopback_throwaway_cluster) {
    pqxx::connection c{db().dsn()};
    pqxx::read_transaction tx{c};
    EXPECT_EQ(tx.exec1("SELECT host(inet_server_addr())")[0].as<std::string>(), "127.0.0.1");
    EXPECT_EQ(tx.exec1("SHOW server_version_num")[0].as<int>() / 10000, 15);
}

}  // namespace
