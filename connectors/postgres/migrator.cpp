#include "connectors/postgres/migrator.hpp"

#include "connectors/postgres/errors.hpp"

#include <openssl/evp.h>
#include <pqxx/pqxx>

#include <algorithm>
#include <array>
#include <chrono>
#include <fstream>
#include <map>
#include <sstream>

namespace ksync::pg {
namespace {

std::string sha256_hex(const std::string& data) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
    unsigned int len = 0;
    if (EVP_Digest(data.data(), data.size(), md.data(), &len, EVP_sha256(), nullptr) != 1)
        throw std::runtime_error("SHA-256 failed");
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    for (unsigned int i = 0; i < len; ++i) {
        out += hex[md[i] >> 4];
        out += hex[md[i] & 0xf];
    }
    return out;
}

void replace_all(std::string& s, const std::string& from, const std::string& to) {
    for (std::size_t pos = s.find(from); pos != std::string::npos;
         pos = s.find(from, pos + to.size()))
        s.replace(pos, from.size(), to);
}

std::string table(const schema_names& n, const char* name) {
    return quote_ident(n.state) + "." + name;
}

struct applied_row {
    std::string name;
    std::string checksum;
};

// Creates the state schema and its bookkeeping table; runs under the migration lock.
void bootstrap(pqxx::work& tx, const schema_names& n) {
    if (tx.exec_params("SELECT 1 FROM pg_namespace WHERE nspname = $1", n.state).empty())
        tx.exec("CREATE SCHEMA " + quote_ident(n.state));
    if (tx.exec_params("SELECT to_regclass($1)", quote_ident(n.state) + ".schema_migrations")[0][0]
            .is_null()) {
        tx.exec("CREATE TABLE " + table(n, "schema_migrations") +
                " (version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now(), applied_by text NOT NULL DEFAULT "
                "current_user,"
                " duration_ms bigint NOT NULL)");
        tx.exec("COMMENT ON TABLE " + table(n, "schema_migrations") +
                " IS 'Migrations applied by kayako-sync migrate (one row per migrations/NNNN_*.sql "
                "file).'");
        const char* comments[][2] = {{"version", "Migration number (the NNNN of the file name)."},
                                     {"name", "File name."},
                                     {"checksum",
                                      "SHA-256 of the file as written; kayako-sync refuses to run "
                                      "if an applied file was edited."},
                                     {"applied_at", "When it was applied."},
                                     {"applied_by", "Database role that applied it."},
                                     {"duration_ms", "How long it took."}};
        for (auto& c : comments)
            tx.exec("COMMENT ON COLUMN " + table(n, "schema_migrations") + "." + c[0] + " IS " +
                    quote_literal(c[1]));
    }
}

std::map<int, applied_row> read_applied(pqxx::transaction_base& tx, const schema_names& n) {
    std::map<int, applied_row> out;
    for (const auto& r :
         tx.exec("SELECT version, name, checksum FROM " + table(n, "schema_migrations")))
        out[r[0].as<int>()] = applied_row{r[1].as<std::string>(), r[2].as<std::string>()};
    return out;
}

void verify(const std::map<int, applied_row>& applied, const std::vector<migration_file>& files,
            const std::filesystem::path& dir, const schema_names& n) {
    const int newest_file = files.empty() ? 0 : files.back().version;
    for (const auto& [version, row] : applied) {
        if (version > newest_file)
            throw migration_error(
                "schema " + n.state + " has migration " + std::to_string(version) + " (" +
                row.name + ") which " + dir.string() +
                " does not have: a newer kayako-sync migrated this database; upgrade kayako-sync");
        auto it = std::find_if(files.begin(), files.end(),
                               [&](const auto& f) { return f.version == version; });
        if (it == files.end())
            throw migration_error("applied migration " + std::to_string(version) + " (" + row.name +
                                  ") is missing from " + dir.string());
        if (it->checksum != row.checksum)
            throw migration_error("migration " + it->name +
                                  " was edited after it was applied to schema " + n.state +
                                  " (checksum " + row.checksum.substr(0, 12) +
                                  "... in the database, " + it->checksum.substr(0, 12) +
                                  "... on disk); applied migrations are never changed: restore the "
                                  "file and add a new "
                                  "migration instead");
    }
}

}  // namespace

std::vector<migration_file> load_migrations(const std::filesystem::path& dir) {
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec))
        throw migration_error("migrations directory " + dir.string() + " does not exist");
    std::vector<migration_file> files;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        const std::string name = entry.path().filename().string();
        if (!entry.is_regular_file() || name.size() < 10 || name.substr(name.size() - 4) != ".sql")
            continue;
        if (!std::all_of(name.begin(), name.begin() + 4,
                         [](char c) { return c >= '0' && c <= '9'; }) ||
            name[4] != '_')
            throw migration_error("migration file " + name + " is not named NNNN_description.sql");
        migration_file f;
        f.version = std::stoi(name.substr(0, 4));
        f.name = name;
        f.path = entry.path();
        std::ifstream in(entry.path(), std::ios::binary);
        std::ostringstream ss;
        ss << in.rdbuf();
        if (!in && !in.eof()) throw migration_error("cannot read " + entry.path().string());
        f.sql = ss.str();
        f.checksum = sha256_hex(f.sql);
        files.push_back(std::move(f));
    }
    std::sort(files.begin(), files.end(),
              [](const auto& a, const auto& b) { return a.version < b.version; });
    for (std::size_t i = 0; i < files.size(); ++i)
        if (files[i].version != static_cast<int>(i) + 1)
            throw migration_error("migrations in " + dir.string() +
                                  " must be numbered 0001, 0002, ... without gaps or "
                                  "duplicates; found " +
                                  files[i].name);
    if (files.empty()) throw migration_error("no migrations found in " + dir.string());
    return files;
}

std::string render_migration(const std::string& sql, const schema_names& names,
                             const role_names& roles) {
    validate(names);
    std::string out = sql;
    replace_all(out, "{{mirror_literal}}", quote_literal(names.mirror));
    replace_all(out, "{{state_literal}}", quote_literal(names.state));
    replace_all(out, "{{mirror}}", quote_ident(names.mirror));
    replace_all(out, "{{state}}", quote_ident(names.state));
    replace_all(out, "{{push_channel_literal}}", quote_literal(push_channel(names)));
    replace_all(out, "{{feed_lock_key}}", std::to_string(feed_lock_key(names)));
    const std::pair<const char*, const std::string*> role_tokens[] = {
        {"owner", &roles.owner},
        {"daemon", &roles.daemon},
        {"writer", &roles.writer},
        {"warehouse", &roles.warehouse}};
    for (const auto& [token, value] : role_tokens) {
        replace_all(out, std::string("{{") + token + "_role_literal}}", quote_literal(*value));
        replace_all(out, std::string("{{") + token + "_role}}", quote_ident(*value));
    }
    if (auto pos = out.find("{{");
        pos != std::string::npos && out.find("}}", pos) != std::string::npos)
        throw migration_error("unknown placeholder in migration: " +
                              out.substr(pos, out.find("}}", pos) - pos + 2));
    return out;
}

migrate_result migrate(pqxx::connection_base& c, const std::filesystem::path& dir,
                       const schema_names& names, const migrate_options& opts) {
    validate(names);
    const auto files = load_migrations(dir);
    migrate_result result;
    for (const auto& f : files) {
        pqxx::work tx{c};
        try {
            tx.exec("SET LOCAL lock_timeout = " + std::to_string(opts.lock_timeout.count()));
            tx.exec("SELECT pg_advisory_xact_lock(" + std::to_string(migration_lock_key(names)) +
                    ")");
        } catch (const pqxx::sql_error& e) {
            throw migration_error("could not take the migration lock of schema " + names.state +
                                      " (another kayako-sync migrate running?): " + e.what(),
                                  e.sqlstate());
        }
        bootstrap(tx, names);
        const auto applied = read_applied(tx, names);
        verify(applied, files, dir, names);
        if (applied.count(f.version) != 0) {
            result.version = std::max(result.version, f.version);
            tx.abort();
            continue;
        }
        const auto started = std::chrono::steady_clock::now();
        try {
            tx.exec(render_migration(f.sql, names, opts.roles));
        } catch (const pqxx::sql_error& e) {
            throw migration_error(
                "migration " + f.name + " failed (nothing of it was applied): " + e.what(),
                e.sqlstate());
        }
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now() - started)
                            .count();
        tx.exec_params("INSERT INTO " + table(names, "schema_migrations") +
                           " (version, name, checksum, duration_ms) VALUES ($1, $2, $3, $4)",
                       f.version, f.name, f.checksum, static_cast<long long>(ms));
        tx.commit();
        result.applied.push_back(f.version);
        result.version = f.version;
    }
    return result;
}

migrate_result migrate(const connection_options& conn, const std::filesystem::path& dir,
                       const schema_names& names, const migrate_options& opts) {
    std::string info = full_conninfo(conn);
    std::unique_ptr<pqxx::connection> c;
    try {
        c = std::make_unique<pqxx::connection>(info);
    } catch (...) {
        std::fill(info.begin(), info.end(), '\0');
        throw;
    }
    std::fill(info.begin(), info.end(), '\0');
    return migrate(*c, dir, names, opts);
}

int schema_version(pqxx::connection_base& c, const schema_names& names) {
    pqxx::read_transaction tx{c};
    if (tx.exec_params("SELECT to_regclass($1)",
                       quote_ident(names.state) + ".schema_migrations")[0][0]
            .is_null())
        return 0;
    auto r = tx.exec("SELECT coalesce(max(version), 0) FROM " + table(names, "schema_migrations"));
    return r[0][0].as<int>();
}

std::string schema_version_problem(int found, int expected, const schema_names& names) {
    if (found == expected) return {};
    if (found < expected)
        return "database schema " + names.state + " is at version " + std::to_string(found) +
               " but this kayako-sync needs version " + std::to_string(expected) +
               ": run kayako-sync migrate";
    return "database schema " + names.state + " is at version " + std::to_string(found) +
           ", newer than this kayako-sync understands (version " + std::to_string(expected) +
           "): upgrade kayako-sync";
}

void check_schema_version(pqxx::connection_base& c, const schema_names& names, int expected) {
    const std::string problem = schema_version_problem(schema_version(c, names), expected, names);
    if (!problem.empty()) throw schema_mismatch(problem);
}

}  // namespace ksync::pg
