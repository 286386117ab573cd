#pragma once

// Forward-only SQL migrations (migrations/NNNN_name.sql), written against placeholders for the
// configured schema names so one database can hold several helpdesks:
//   {{mirror}} {{state}}                  quoted identifiers of the schema pair
//   {{mirror_literal}} {{state_literal}}  the same names as SQL string literals
//   {{push_channel_literal}}              NOTIFY channel of the outbox (push_channel), a literal
//   {{feed_lock_key}}                     bigint key that orders feed commits (schema_names.hpp)
//   {{owner_role}} {{daemon_role}} {{writer_role}} {{warehouse_role}}   role names (quoted)
//   {{..._role_literal}}                  the role names as string literals
// Each file runs in its own transaction under pg_advisory_xact_lock(migration key of the state
// schema) with SET LOCAL lock_timeout, and is recorded in <state>.schema_migrations with the
// SHA-256 of the file as written; editing an applied file is an error.

#include "connectors/postgres/connection.hpp"
#include "connectors/postgres/schema_names.hpp"

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace pqxx {
class connection_base;
}

namespace ksync::pg {

// The schema version this build of kayako-sync works with: the daemon refuses any other.
inline constexpr int expected_schema_version = 5;

struct role_names {
    std::string owner = "kayako_owner";      // NOLOGIN, owns the schemas
    std::string daemon = "kayako_sync";      // the daemon's login
    std::string writer = "kayako_writer";    // internal systems that push changes
    std::string warehouse = "warehouse_ro";  // read-only: mirror and feed
};

struct migration_file {
    int version = 0;
    std::string name;  // file name, e.g. 0001_mirror_tables.sql
    std::filesystem::path path;
    std::string sql;       // as written, with placeholders
    std::string checksum;  // lowercase hex SHA-256 of `sql`
};

// Reads NNNN_*.sql from `dir`, sorted by version. Throws migration_error on a missing directory,
// a duplicate or zero version, or a gap in the numbering.
std::vector<migration_file> load_migrations(const std::filesystem::path& dir);

// The file's SQL with every placeholder replaced.
std::string render_migration(const std::string& sql, const schema_names& names,
                             const role_names& roles = {});

struct migrate_options {
    std::chrono::milliseconds lock_timeout{5000};
    role_names roles;
};

struct migrate_result {
    std::vector<int> applied;  // versions applied by this run (empty: already up to date)
    int version = 0;           // schema version afterwards
};

// Applies every migration not yet recorded. Re-running is a no-op. Throws migration_error when an
// applied file's checksum differs from the file on disk, or when the database has a version this
// directory does not know (a newer kayako-sync migrated it).
migrate_result migrate(const connection_options& conn, const std::filesystem::path& dir,
                       const schema_names& names, const migrate_options& opts = {});
migrate_result migrate(pqxx::connection_base& c, const std::filesystem::path& dir,
                       const schema_names& names, const migrate_options& opts = {});

// Highest applied version, 0 when the state schema or its schema_migrations table is missing.
int schema_version(pqxx::connection_base& c, const schema_names& names);

// For the daemon at start and after every reconnect: throws schema_mismatch, whose message says
// what to do ("run kayako-sync migrate" / "upgrade kayako-sync"), unless the database is exactly
// at `expected`.
void check_schema_version(pqxx::connection_base& c, const schema_names& names,
                          int expected = expected_schema_version);
// The check as text, for `kayako-sync status`: empty when it matches.
std::string schema_version_problem(int found, int expected, const schema_names& names);

}  // namespace ksync::pg
