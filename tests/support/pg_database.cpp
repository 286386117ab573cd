#include "tests/support/pg_database.hpp"

#include "connectors/postgres/migrator.hpp"

#include <pqxx/pqxx>

#include <atomic>
#include <cstdlib>
#include <stdexcept>
#include <unistd.h>

namespace ksync::test {

std::string admin_dsn() {
    const char* dsn = std::getenv("KSYNC_TEST_PG_DSN");
    if (dsn == nullptr || *dsn == '\0')
        throw std::runtime_error(
            "KSYNC_TEST_PG_DSN is not set: run the PostgreSQL suites through scripts/test, which "
            "starts a throwaway cluster and sets it");
    return dsn;
}

pg_database::pg_database(const std::string& prefix) {
    static std::atomic<int> counter{0};
    name_ = prefix + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
    const std::string admin = admin_dsn();
    pqxx::connection c{admin};
    // CREATE DATABASE cannot run inside a transaction block.
    pqxx::nontransaction tx{c};
    tx.exec("DROP DATABASE IF EXISTS " + tx.quote_name(name_) + " WITH (FORCE)");
    tx.exec("CREATE DATABASE " + tx.quote_name(name_));
    // In a libpq conninfo the last occurrence of a keyword wins.
    dsn_ = admin + " dbname=" + name_;
}

pg_database::~pg_database() {
    try {
        pqxx::connection c{admin_dsn()};
        pqxx::nontransaction tx{c};
        tx.exec("DROP DATABASE IF EXISTS " + tx.quote_name(name_) + " WITH (FORCE)");
    } catch (const std::exception& e) {
        // A leftover database dies with the throwaway cluster; say so rather than abort.
        std::fprintf(stderr, "pg_database: could not drop %s: %s\n", name_.c_str(), e.what());
    }
}

std::unique_ptr<pg_database> pg_suite::db_;

// Each suite's fresh database is built from migrations/ by the real migrator, with the default
// schema names (kayako, kayako_sync).
void pg_suite::SetUpTestSuite() {
    db_ = std::make_unique<pg_database>();
    pg::connection_options conn;
    conn.conninfo = db_->dsn();
    pg::migrate(conn, std::string(KSYNC_SOURCE_DIR) + "/migrations", pg::schema_names{});
}
void pg_suite::TearDownTestSuite() { db_.reset(); }
pg_database& pg_suite::db() { return *db_; }

}  // namespace ksync::test
