#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace ksync::test {

// The throwaway cluster that scripts/test starts exports its conninfo as KSYNC_TEST_PG_DSN
// (a superuser on 127.0.0.1). A PostgreSQL test run without it fails loudly: a skipped
// database suite would be a silent gap in CI.
std::string admin_dsn();

// A database created fresh for one test suite and dropped (WITH FORCE) when it goes away.
class pg_database {
public:
    explicit pg_database(const std::string& prefix = "ksync_t");
    ~pg_database();
    pg_database(const pg_database&) = delete;
    pg_database& operator=(const pg_database&) = delete;

    [[nodiscard]] const std::string& name() const noexcept { return name_; }
    // libpq conninfo of this database, as the superuser.
    [[nodiscard]] const std::string& dsn() const noexcept { return dsn_; }

private:
    std::string name_;
    std::string dsn_;
};

// Base fixture for *_pgtest suites: one fresh database per suite.
class pg_suite : public ::testing::Test {
protected:
    static void SetUpTestSuite();
    static void TearDownTestSuite();
    static pg_database& db();

private:
    static std::unique_ptr<pg_database> db_;
};

}  // namespace ksync::test
