#include "connectors/postgres/errors.hpp"
#include "connectors/postgres/migrator.hpp"
#include "connectors/postgres/row_mapping.hpp"
#include "tests/support/pg_database.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <unistd.h>
#include <filesystem>
#include <fstream>
#include <thread>

namespace {

namespace fs = std::filesystem;
using ksync::pg::schema_names;
using ksync::test::pg_database;

const fs::path source_migrations = fs::path(KSYNC_SOURCE_DIR) / "migrations";

ksync::pg::connection_options opts(const pg_database& db) {
    ksync::pg::connection_options o;
    o.conninfo = db.dsn();
    return o;
}

// A private copy of migrations/, so a test may edit or drop files.
struct temp_migrations {
    fs::path dir;
    explicit temp_migrations(int up_to = 1000) {
        dir = fs::temp_directory_path() / ("ksync_migrations_" + std::to_string(::getpid()) + "_" +
                                           std::to_string(reinterpret_cast<std::uintptr_t>(this)));
        fs::create_directories(dir);
        for (const auto& e : fs::directory_iterator(source_migrations))
            if (e.path().extension() == ".sql" &&
                std::stoi(e.path().filename().string().substr(0, 4)) <= up_to)
                fs::copy_file(e.path(), dir / e.path().filename());
    }
    ~temp_migrations() { fs::remove_all(dir); }
};

long long count(pqxx::connection& c, const std::string& sql) {
    pqxx::read_transaction tx{c};
    return tx.exec1(sql)[0].as<long long>();
}

TEST(migrator, the_directory_holds_exactly_the_version_this_build_expects) {
    const auto files = ksync::pg::load_migrations(source_migrations);
    ASSERT_FALSE(files.empty());
    EXPECT_EQ(files.back().version, ksync::pg::expected_schema_version);
}

TEST(migrator, migrates_an_empty_database_with_every_table_and_column_commented) {
    pg_database db;
    const auto r = ksync::pg::migrate(opts(db), source_migrations, schema_names{});
    EXPECT_THAT(r.applied, ::testing::ElementsAre(1, 2, 3, 4, 5));
    EXPECT_EQ(r.version, ksync::pg::expected_schema_version);

    pqxx::connection c{db.dsn()};
    EXPECT_EQ(ksync::pg::schema_version(c, schema_names{}), ksync::pg::expected_schema_version);
    EXPECT_NO_THROW(ksync::pg::check_schema_version(c, schema_names{}));
    EXPECT_EQ(count(c, "SELECT count(*) FROM pg_tables WHERE schemaname = 'kayako'"), 17);
    for (const char* t : {"stream_cursors", "changes", "consumer_bookmarks", "outbox",
                          "intake_tickets", "intake_posts", "intake_notes", "intake_users",
                          "intake_organizations", "conflicts", "quarantine", "schema_migrations"})
        EXPECT_EQ(count(c, std::string("SELECT count(*) FROM pg_tables WHERE schemaname = "
                                       "'kayako_sync' AND tablename = '") +
                               t + "'"),
                  1)
            << t;
    // COMMENT ON every table and every column of both schemas.
    EXPECT_EQ(count(c,
                    "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                    " WHERE n.nspname IN ('kayako', 'kayako_sync') AND c.relkind = 'r'"
                    " AND obj_description(c.oid, 'pg_class') IS NULL"),
              0);
    pqxx::read_transaction tx{c};
    const auto missing = tx.exec(
        "SELECT c.relname || '.' || a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = "
        "a.attrelid"
        " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname IN ('kayako', "
        "'kayako_sync')"
        " AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped AND col_description(c.oid, "
        "a.attnum) IS NULL");
    for (const auto& row : missing) ADD_FAILURE() << "column without a comment: " << row[0].c_str();
}

TEST(migrator, entity_column_lists_match_the_tables) {
    pg_database db;
    ksync::pg::migrate(opts(db), source_migrations, schema_names{});
    pqxx::connection c{db.dsn()};
    pqxx::read_transaction tx{c};
    for (std::size_t i = 0; i < ksync::pg::entity_count; ++i) {
        const auto& s = ksync::pg::spec(static_cast<ksync::pg::entity>(i));
        const auto r = tx.exec_params(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'kayako' AND "
            "table_name = $1"
            " AND column_name NOT IN ('content_hash', 'version', 'first_seen_at', "
            "'last_changed_at', 'deleted_at')"
            " ORDER BY ordinal_position",
            std::string(s.table));
        std::vector<std::string> db_cols, spec_cols(s.columns.begin(), s.columns.end());
        for (const auto& row : r) db_cols.push_back(row[0].as<std::string>());
        EXPECT_EQ(db_cols, spec_cols) << s.table;
    }
}

TEST(migrator, migrates_into_non_default_schema_names_beside_the_default_pair) {
    pg_database db;
    ksync::pg::migrate(opts(db), source_migrations, schema_names{});
    const schema_names second{"helpdesk2", "helpdesk2_sync"};
    const auto r = ksync::pg::migrate(opts(db), source_migrations, second);
    EXPECT_THAT(r.applied, ::testing::ElementsAre(1, 2, 3, 4, 5));

    pqxx::connection c{db.dsn()};
    EXPECT_EQ(count(c, "SELECT count(*) FROM pg_tables WHERE schemaname = 'helpdesk2'"), 17);
    EXPECT_EQ(count(c, "SELECT count(*) FROM helpdesk2_sync.schema_migrations"), ksync::pg::expected_schema_version);
    EXPECT_EQ(count(c, "SELECT count(*) FROM kayako_sync.schema_migrations"), ksync::pg::expected_schema_version);
    // Each pair orders its feed under its own lock key.
    pqxx::read_transaction tx{c};
    const auto src = tx.exec1(
                           "SELECT prosrc FROM pg_proc WHERE proname = 'changes_commit_order'"
                           " AND pronamespace = 'helpdesk2_sync'::regnamespace")[0]
                         .as<std::string>();
    EXPECT_THAT(src, ::testing::HasSubstr(std::to_string(ksync::pg::feed_lock_key(second))));
    EXPECT_NE(ksync::pg::feed_lock_key(second), ksync::pg::feed_lock_key(schema_names{}));
}

TEST(migrator, rerunning_is_a_no_op) {
    pg_database db;
    ksync::pg::migrate(opts(db), source_migrations, schema_names{});
    pqxx::connection c{db.dsn()};
    const auto before = pqxx::read_transaction{c}
                            .exec1(
                                "SELECT string_agg(version || ':' || xmin::text || ':' || "
                                "applied_at, ',' ORDER BY version)"
                                " FROM kayako_sync.schema_migrations")[0]
                            .as<std::string>();
    const auto r = ksync::pg::migrate(opts(db), source_migrations, schema_names{});
    EXPECT_TRUE(r.applied.empty());
    EXPECT_EQ(r.version, ksync::pg::expected_schema_version);
    const auto after = pqxx::read_transaction{c}
                           .exec1(
                               "SELECT string_agg(version || ':' || xmin::text || ':' || "
                               "applied_at, ',' ORDER BY version)"
                               " FROM kayako_sync.schema_migrations")[0]
                           .as<std::string>();
    EXPECT_EQ(before, after);
}

TEST(migrator, an_edited_applied_migration_is_an_error) {
    temp_migrations m;
    pg_database db;
    ksync::pg::migrate(opts(db), m.dir, schema_names{});
    {
        std::ofstream f(m.dir / "0002_state_tables.sql", std::ios::app);
        f << "\n-- an innocent-looking edit\n";
    }
    try {
        ksync::pg::migrate(opts(db), m.dir, schema_names{});
        FAIL() << "an edited migration was accepted";
    } catch (const ksync::pg::migration_error& e) {
        EXPECT_THAT(e.what(),
                    ::testing::HasSubstr("0002_state_tables.sql was edited after it was applied"));
    }
}

TEST(migrator, a_failing_migration_leaves_nothing_and_names_the_file) {
    temp_migrations m;
    {
        std::ofstream f(m.dir / "0006_broken.sql");
        f << "CREATE TABLE {{mirror}}.half_done (id int);\nSELECT no_such_function();\n";
    }
    pg_database db;
    try {
        ksync::pg::migrate(opts(db), m.dir, schema_names{});
        FAIL() << "a broken migration was accepted";
    } catch (const ksync::pg::migration_error& e) {
        EXPECT_THAT(e.what(), ::testing::HasSubstr("0006_broken.sql failed"));
    }
    pqxx::connection c{db.dsn()};
    EXPECT_EQ(ksync::pg::schema_version(c, schema_names{}), ksync::pg::expected_schema_version);
    EXPECT_EQ(count(c, "SELECT count(*) FROM pg_tables WHERE tablename = 'half_done'"), 0);
}

TEST(migrator, the_version_check_says_what_to_do) {
    temp_migrations older(2);
    pg_database db;
    pqxx::connection c{db.dsn()};
    try {
        ksync::pg::check_schema_version(c, schema_names{});
        FAIL() << "an empty database passed the check";
    } catch (const ksync::pg::schema_mismatch& e) {
        EXPECT_THAT(e.what(), ::testing::HasSubstr("version 0"));
        EXPECT_THAT(e.what(), ::testing::HasSubstr("run kayako-sync migrate"));
    }
    ksync::pg::migrate(opts(db), older.dir, schema_names{});
    EXPECT_THROW(ksync::pg::check_schema_version(c, schema_names{}), ksync::pg::schema_mismatch);
    ksync::pg::migrate(opts(db), source_migrations, schema_names{});
    EXPECT_NO_THROW(ksync::pg::check_schema_version(c, schema_names{}));
    try {
        ksync::pg::check_schema_version(c, schema_names{}, 2);  // an older daemon binary
        FAIL() << "a newer schema passed the check";
    } catch (const ksync::pg::schema_mismatch& e) {
        EXPECT_THAT(e.what(), ::testing::HasSubstr("upgrade kayako-sync"));
    }
    // An older migrations directory against the newer database refuses too.
    EXPECT_THROW(ksync::pg::migrate(opts(db), older.dir, schema_names{}),
                 ksync::pg::migration_error);
}

TEST(migrator, concurrent_runs_serialise_on_the_advisory_lock) {
    pg_database db;
    std::vector<ksync::pg::migrate_result> results(3);
    std::vector<std::thread> threads;
    for (auto& r : results)
        threads.emplace_back(
            [&db, &r] { r = ksync::pg::migrate(opts(db), source_migrations, schema_names{}); });
    for (auto& t : threads) t.join();
    std::size_t applied = 0;
    for (const auto& r : results) {
        applied += r.applied.size();
        EXPECT_EQ(r.version, ksync::pg::expected_schema_version);
    }
    // each file applied exactly once in all
    EXPECT_EQ(applied, static_cast<std::size_t>(ksync::pg::expected_schema_version));
    pqxx::connection c{db.dsn()};
    EXPECT_EQ(count(c, "SELECT count(*) FROM kayako_sync.schema_migrations"), ksync::pg::expected_schema_version);
}

TEST(migrator, rejects_bad_schema_names_before_touching_the_database) {
    pg_database db;
    EXPECT_THROW(ksync::pg::migrate(opts(db), source_migrations, schema_names{"kayako; DROP", "s"}),
                 std::invalid_argument);
    EXPECT_THROW(ksync::pg::migrate(opts(db), source_migrations, schema_names{"same", "same"}),
                 std::invalid_argument);
}

TEST(migrator, roles_get_their_privileges) {
    pg_database db;
    ksync::pg::migrate(opts(db), source_migrations, schema_names{});
    pqxx::connection c{db.dsn()};
    pqxx::read_transaction tx{c};
    auto yes = [&](const std::string& sql) { return tx.exec1(sql)[0].as<bool>(); };
    EXPECT_TRUE(yes("SELECT has_table_privilege('kayako_sync', 'kayako.tickets', 'INSERT')"));
    EXPECT_TRUE(
        yes("SELECT has_database_privilege('kayako_sync', current_database(), 'TEMPORARY')"));
    EXPECT_FALSE(yes("SELECT has_schema_privilege('kayako_sync', 'kayako', 'CREATE')"));
    EXPECT_TRUE(yes(
        "SELECT has_column_privilege('kayako_writer', 'kayako.tickets', 'status_id', 'UPDATE')"));
    EXPECT_FALSE(yes(
        "SELECT has_column_privilege('kayako_writer', 'kayako.tickets', 'display_id', 'UPDATE')"));
    EXPECT_TRUE(
        yes("SELECT has_table_privilege('kayako_writer', 'kayako_sync.intake_tickets', 'INSERT')"));
    EXPECT_FALSE(
        yes("SELECT has_table_privilege('kayako_writer', 'kayako_sync.changes', 'INSERT')"));
    EXPECT_TRUE(yes("SELECT has_table_privilege('warehouse_ro', 'kayako_sync.changes', 'SELECT')"));
    EXPECT_FALSE(yes("SELECT has_table_privilege('warehouse_ro', 'kayako.tickets', 'UPDATE')"));
    EXPECT_FALSE(yes("SELECT rolcanlogin FROM pg_roles WHERE rolname = 'kayako_owner'"));
}

}  // namespace
