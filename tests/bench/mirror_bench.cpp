// Benchmark of the mirror apply path (issue 8), one run reports:
//   * first load of N tickets through mirror_repository (map + hash + COPY + diff + upsert + feed),
//   * the same N tickets again with nothing changed,
//   * the baseline: `psql \copy` of exactly the mirror rows and feed rows the first load produced,
//     into tables of the same shape (same columns, constraints and indexes, no trigger).
// Goals: first load >= 0.7x the COPY baseline; no-change re-apply >= 3x the first load's rate.
//
// Usage: mirror_bench [--tickets N] [--batch B] [--psql PATH] [--verbose] [--keep]
// (--keep: leave the database behind for EXPLAIN and experiments; its name is printed)
// Needs KSYNC_TEST_PG_DSN (scripts/lib/pg.sh pg_start); creates and drops its own database.

#include "common/logging.hpp"
#include "connectors/postgres/db_executor.hpp"
#include "connectors/postgres/migrator.hpp"
#include "connectors/postgres/mirror_repository.hpp"
#include "tests/pg/postgres/test_data.hpp"

#include <pqxx/pqxx>

#include <sys/resource.h>
#include <unistd.h>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

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

// CPU seconds from /proc/PID/stat: the process's own (utime+stime) or, with `children`, those of
// its children that it has waited for (cutime+cstime: PostgreSQL's postmaster reaps every backend,
// so the CPU of psql's backend lands there when it exits). -1 when unreadable (a remote server).
double proc_cpu(int pid, bool children) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(f, line)) return -1;
    const auto close = line.rfind(')');
    if (close == std::string::npos) return -1;
    std::istringstream rest(line.substr(close + 2));
    std::vector<std::string> fields;  // fields[0] is field 3 (state)
    for (std::string x; rest >> x;) fields.push_back(x);
    if (fields.size() < 15) return -1;
    const std::size_t first = children ? 13 : 11;  // cutime,cstime : utime,stime
    return static_cast<double>(std::stoll(fields[first]) + std::stoll(fields[first + 1])) /
           static_cast<double>(::sysconf(_SC_CLK_TCK));
}

int parent_of(int pid) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(f, line)) return -1;
    const auto close = line.rfind(')');
    if (close == std::string::npos) return -1;
    std::istringstream rest(line.substr(close + 2));
    std::string state;
    int ppid = -1;
    rest >> state >> ppid;
    return ppid;
}

double self_cpu(int who) {
    rusage u{};
    ::getrusage(who, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

std::string cpu_text(double client, double server) {
    char buf[128];
    if (server < 0)
        std::snprintf(buf, sizeof buf, "CPU %.2f s client, server n/a", client);
    else
        std::snprintf(buf, sizeof buf, "CPU %.2f s = %.2f client + %.2f server", client + server,
                      client, server);
    return buf;
}

void run_psql(const std::string& psql, const std::string& dsn,
              const std::vector<std::string>& commands) {
    std::string cmd = psql + " -X -q -v ON_ERROR_STOP=1 " + shell_quote(dsn);
    for (const auto& c : commands) cmd += " -c " + shell_quote(c);
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error("psql failed: " + cmd);
}

// The same, printing the backend's pid first (read back here): the baseline's server CPU is
// read from the postmaster once it has reaped that backend.
int run_psql_pid(const std::string& psql, const std::string& dsn,
                 const std::vector<std::string>& commands) {
    std::string cmd = psql + " -X -q -At -v ON_ERROR_STOP=1 " + shell_quote(dsn) +
                      " -c 'SELECT pg_backend_pid()'";
    for (const auto& c : commands) cmd += " -c " + shell_quote(c);
    FILE* out = ::popen(cmd.c_str(), "r");
    if (out == nullptr) throw std::runtime_error("cannot run " + cmd);
    char buf[64] = {};
    const bool got = std::fgets(buf, sizeof buf, out) != nullptr;
    if (::pclose(out) != 0 || !got) throw std::runtime_error("psql failed: " + cmd);
    return std::atoi(buf);
}

void wait_reaped(int pid) {
    for (int i = 0; i < 5000 && std::filesystem::exists("/proc/" + std::to_string(pid)); ++i)
        ::usleep(1000);
}

}  // namespace

int main(int argc, char** argv) try {
    std::size_t n = 100000;
    std::size_t batch = 1000;
    std::string psql = "psql";
    bool verbose = false;
    bool keep = false;
    for (int i = 1; i < argc; i += 2) {
        const std::string a = argv[i];
        if (a == "--verbose") {
            verbose = true;
            --i;
            continue;
        }
        if (a == "--keep") {
            keep = true;
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
    if (admin == nullptr)
        throw std::runtime_error("set KSYNC_TEST_PG_DSN (source scripts/lib/pg.sh && pg_start)");

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
    // CPU seconds: client = this process, server = its backend (or psql's, for the baseline).
    double first_cl = 0, first_sv = -1, again_cl = 0, again_sv = -1, copy_cl = 0, copy_sv = -1;
    int postmaster = -1;
    pg::apply_stats s1, s2;
    {
        pg::db_executor exec{conn, pg::executor_options{}, logging::null_logger()};
        // --verbose: the repository's per-transaction step timings (debug level) on stderr.
        logging::factory logs{logging::options{logging::format::text, spdlog::level::debug, true}};
        pg::mirror_repository repo{exec, pg::schema_names{},
                                   verbose ? logs.make("mirror") : logging::null_logger()};
        // Warm the connection and its temp tables outside the timing.
        exec.run_blocking(0, [&](pqxx::connection& c) {
            return repo.apply_on(c, pg::entity::tickets, {}, std::nullopt);
        });
        auto apply_all = [&](pg::apply_stats& total) {
            for (std::size_t b = 0; b < batches.size(); ++b) {
                const auto st = exec.run_blocking(0, [&](pqxx::connection& c) {
                    return repo.apply_on(
                        c, pg::entity::tickets, pg::map_records(batches[b]),
                        pg::cursor_update{"tickets", "{\"batch\": " + std::to_string(b) + "}"});
                });
                total.inserted += st.inserted;
                total.updated += st.updated;
                total.unchanged += st.unchanged;
            }
        };
        const int backend =
            exec.run_blocking(0, [](pqxx::connection& c) { return c.backendpid(); });
        postmaster = parent_of(backend);
        auto measure = [&](pg::apply_stats& total, double& wall, double& cl, double& sv) {
            const double c0 = self_cpu(RUSAGE_SELF), s0 = proc_cpu(backend, false);
            const auto t0 = clock_type::now();
            apply_all(total);
            wall = seconds_since(t0);
            cl = self_cpu(RUSAGE_SELF) - c0;
            const double s1_ = proc_cpu(backend, false);
            if (s0 >= 0 && s1_ >= 0) sv = s1_ - s0;
        };
        measure(s1, first, first_cl, first_sv);
        measure(s2, again, again_cl, again_sv);
    }
    if (s1.inserted != n || s2.unchanged != n) throw std::runtime_error("unexpected apply counts");

    // Baseline: the same rows, exported and loaded again with psql \copy.
    const auto dir = std::filesystem::temp_directory_path() / dbname;
    std::filesystem::create_directories(dir);
    const std::string tickets_file = (dir / "tickets.copy").string();
    const std::string changes_file = (dir / "changes.copy").string();
    run_psql(
        psql, dsn,
        {"\\copy kayako.tickets TO " + shell_quote(tickets_file),
         "\\copy kayako_sync.changes TO " + shell_quote(changes_file), "CREATE SCHEMA baseline",
         "CREATE TABLE baseline.tickets (LIKE kayako.tickets INCLUDING DEFAULTS INCLUDING "
         "CONSTRAINTS"
         " INCLUDING INDEXES)",
         "CREATE TABLE baseline.changes (LIKE kayako_sync.changes INCLUDING DEFAULTS INCLUDING "
         "CONSTRAINTS"
         " INCLUDING INDEXES)"});
    {
        const double c0 = self_cpu(RUSAGE_CHILDREN),
                     s0 = postmaster > 0 ? proc_cpu(postmaster, true) : -1;
        const auto t0 = clock_type::now();
        const int backend =
            run_psql_pid(psql, dsn,
                         {"\\copy baseline.tickets FROM " + shell_quote(tickets_file),
                          "\\copy baseline.changes FROM " + shell_quote(changes_file)});
        copy = seconds_since(t0);
        copy_cl = self_cpu(RUSAGE_CHILDREN) - c0;
        if (s0 >= 0) wait_reaped(backend);
        const double s1_ = postmaster > 0 ? proc_cpu(postmaster, true) : -1;
        if (s0 >= 0 && s1_ >= 0) copy_sv = s1_ - s0;
    }
    long long feed_rows = 0;
    {
        pqxx::connection c{dsn};
        pqxx::read_transaction tx{c};
        feed_rows = tx.exec1("SELECT count(*) FROM baseline.changes")[0].as<long long>();
    }
    std::filesystem::remove_all(dir);
    if (keep) {
        std::printf("kept database %s\n", dbname.c_str());
    } else {
        pqxx::connection c{admin};
        pqxx::nontransaction tx{c};
        tx.exec("DROP DATABASE " + tx.quote_name(dbname) + " WITH (FORCE)");
    }

    const double nd = static_cast<double>(n);
    std::printf("mirror_bench: %zu tickets in batches of %zu (one transaction per batch)\n", n,
                batch);
    std::printf("  first load           %8.3f s  %9.0f tickets/s  (%zu rows + %zu feed rows; %s)\n",
                first, nd / first, s1.inserted, s1.inserted, cpu_text(first_cl, first_sv).c_str());
    std::printf("  no-change re-apply   %8.3f s  %9.0f tickets/s  (0 rows written; %s)\n", again,
                nd / again, cpu_text(again_cl, again_sv).c_str());
    std::printf(
        "  psql \\copy baseline  %8.3f s  %9.0f tickets/s  (%zu rows + %lld feed rows; %s)\n", copy,
        nd / copy, n, feed_rows, cpu_text(copy_cl, copy_sv).c_str());
    std::printf("  first load / COPY          %.2fx  (goal >= 0.70x)\n", copy / first);
    std::printf("  no-change / first load     %.2fx  (goal >= 3.00x)\n", first / again);
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "mirror_bench: %s\n", e.what());
    return 1;
}
