// Benchmark of the mirror apply path (issue 8), one run reports:
//   * first load of N tickets through mirror_repository (map + hash + COPY + diff + upsert + feed),
//   * the same N tickets again with nothing changed,
//   * the baseline: `psql \copy` of exactly the mirror rows and feed rows the first load produced,
//     into tables of the same shape (same columns, constraints and indexes, no trigger).
// Goals: first load >= 0.7x the COPY baseline; no-change re-apply >= 3x the first load's rate.
//
// Usage: mirror_bench [--tickets N] [--batch B] [--psql PATH] [--verbose]
// Needs KSYNC_TEST_PG_DSN (scripts/lib/pg.sh pg_start); creates and drops its own database.

#include "common/logging.hpp"
#include "connectors/postgres/db_executor.hpp"
#include "connectors/postgres/migrator.hpp"
#include "connectors/postgres/mirror_repository.hpp"
#include "tests/pg/postgres/test_data.hpp"

#include <pqxx/pqxx>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <unistd.h>

namespace {

using namespace ksync;
using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point t0) {
    return std::chrono::duration<double>(clock_type::now() - t0).count();
}

std::string shell_quote(const std::string& s) {
    std::string out = "'";
    for (char c : s) {
        if (c == '\'')
            out += "'\\''";
        else
            out += c;
    }
    return out + "'";
}

void run_psql(const std::string& psql, const std::string& dsn, const std::vector<std::string>& commands) {
    std::string cmd = psql + " -X -q -v ON_ERROR_STOP=1 " + shell_quote(dsn);
    for (const auto& c : commands) cmd += " -c " + shell_quote(c);
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error("psql failed: " + cmd);
}

}  // namespace

int main(int argc, char** argv) try {
    std::size_t n = 100000;
    std::size_t batch = 1000;
    std::string psql = "psql";
    bool verbose = false;
    for (int i = 1; i < argc; i += 2) {
        const std::string a = argv[i];
        if (a == "--verbose") {
            verbose = true;
            --i;
            continue;
        }
        if (i + 1 >= argc) throw std::invalid_argument("missing value for " + a);
        if (a == "--tickets")
            n = std::stoul(argv[i + 1]);
        else if (a == "--batch")
            batch = std::stoul(argv[i + 1]);
        else if (a == "--psql")
            psql = argv[i + 1];
        else
            throw std::invalid_argument("unknown option " + a);
    }
    const char* admin = std::getenv("KSYNC_TEST_PG_DSN");
    if (admin == nullptr) throw std::runtime_error("set KSYNC_TEST_PG_DSN (source scripts/lib/pg.sh && pg_start)");

    const std::string dbname = "ksync_bench_" + std::to_string(::getpid());
    {
        pqxx::connection c{admin};
        pqxx::nontransaction tx{c};
        tx.exec("CREATE DATABASE " + tx.quote_name(dbname));
    }
    const std::string dsn = std::string(admin) + " dbname=" + dbname;
    pg::connection_options conn;
    conn.conninfo = dsn;
    conn.statement_timeout = std::chrono::milliseconds(0);
    pg::migrate(conn, std::string(KSYNC_SOURCE_DIR) + "/migrations", pg::schema_names{});

    const auto tickets = test::make_tickets(1, n);
    std::vector<std::vector<kayako::ticket>> batches;
    for (std::size_t i = 0; i < n; i += batch)
        batches.emplace_back(tickets.begin() + static_cast<std::ptrdiff_t>(i),
                             tickets.begin() + static_cast<std::ptrdiff_t>(std::min(n, i + batch)));

    double first = 0, again = 0, copy = 0;
    pg::apply_stats s1, s2;
    {
        pg::db_executor exec{conn, pg::executor_options{}, logging::null_logger()};
        // --verbose: the repository's per-transaction step timings (debug level) on stderr.
        logging::factory logs{logging::options{logging::format::text, spdlog::level::debug, true}};
        pg::mirror_repository repo{exec, pg::schema_names{}, verbose ? logs.make("mirror") : logging::null_logger()};
        // Warm the connection and its temp tables outside the timing.
        exec.run_blocking(0, [&](pqxx::connection& c) {
            return repo.apply_on(c, pg::entity::tickets, {}, std::nullopt);
        });
        auto apply_all = [&](pg::apply_stats& total) {
            for (std::size_t b = 0; b < batches.size(); ++b) {
                const auto st = exec.run_blocking(0, [&](pqxx::connection& c) {
                    return repo.apply_on(c, pg::entity::tickets, pg::map_records(batches[b]),
                                         pg::cursor_update{"tickets", "{\"batch\": " + std::to_string(b) + "}"});
                });
                total.inserted += st.inserted;
                total.updated += st.updated;
                total.unchanged += st.unchanged;
            }
        };
        auto t0 = clock_type::now();
        apply_all(s1);
        first = seconds_since(t0);
        t0 = clock_type::now();
        apply_all(s2);
        again = seconds_since(t0);
    }
    if (s1.inserted != n || s2.unchanged != n) throw std::runtime_error("unexpected apply counts");

    // Baseline: the same rows, exported and loaded again with psql \copy.
    const auto dir = std::filesystem::temp_directory_path() / dbname;
    std::filesystem::create_directories(dir);
    const std::string tickets_file = (dir / "tickets.copy").string();
    const std::string changes_file = (dir / "changes.copy").string();
    run_psql(psql, dsn,
             {"\\copy kayako.tickets TO " + shell_quote(tickets_file),
              "\\copy kayako_sync.changes TO " + shell_quote(changes_file),
              "CREATE SCHEMA baseline",
              "CREATE TABLE baseline.tickets (LIKE kayako.tickets INCLUDING DEFAULTS INCLUDING CONSTRAINTS"
              " INCLUDING INDEXES)",
              "CREATE TABLE baseline.changes (LIKE kayako_sync.changes INCLUDING DEFAULTS INCLUDING CONSTRAINTS"
              " INCLUDING INDEXES)"});
    {
        const auto t0 = clock_type::now();
        run_psql(psql, dsn,
                 {"\\copy baseline.tickets FROM " + shell_quote(tickets_file),
                  "\\copy baseline.changes FROM " + shell_quote(changes_file)});
        copy = seconds_since(t0);
    }
    long long feed_rows = 0;
    {
        pqxx::connection c{dsn};
        pqxx::read_transaction tx{c};
        feed_rows = tx.exec1("SELECT count(*) FROM baseline.changes")[0].as<long long>();
    }
    std::filesystem::remove_all(dir);
    {
        pqxx::connection c{admin};
        pqxx::nontransaction tx{c};
        tx.exec("DROP DATABASE " + tx.quote_name(dbname) + " WITH (FORCE)");
    }

    const double nd = static_cast<double>(n);
    std::printf("mirror_bench: %zu tickets in batches of %zu (one transaction per batch)\n", n, batch);
    std::printf("  first load           %8.3f s  %9.0f tickets/s  (%zu rows + %zu feed rows)\n", first, nd / first,
                s1.inserted, s1.inserted);
    std::printf("  no-change re-apply   %8.3f s  %9.0f tickets/s  (0 rows written)\n", again, nd / again);
    std::printf("  psql \\copy baseline  %8.3f s  %9.0f tickets/s  (%zu rows + %lld feed rows)\n", copy, nd / copy, n,
                feed_rows);
    std::printf("  first load / COPY          %.2fx  (goal >= 0.70x)\n", copy / first);
    std::printf("  no-change / first load     %.2fx  (goal >= 3.00x)\n", first / again);
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "mirror_bench: %s\n", e.what());
    return 1;
}
