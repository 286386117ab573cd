// kayako-sync as a process against the emulator (in this test process, on 127.0.0.1) and the
// throwaway PostgreSQL: `once` killed abruptly in the middle of the backfill (KSYNC_FAILPOINT ends
// it with _exit, as kill -9 would), then run again, converges with no duplicate feed event.
#include "tests/e2e/mirror_checker.hpp"
#include "tests/emulator/server.hpp"
#include "tests/support/pg_database.hpp"

#include <pqxx/pqxx>

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

namespace {

using namespace ksync;
namespace fs = std::filesystem;

struct process_result {
    int exit_code = -1;
    std::string output;
};

// Runs the binary with the given environment additions; stdout and stderr captured.
process_result run_binary(const std::vector<std::string>& args,
                          const std::vector<std::string>& env_add, const fs::path& dir) {
    const fs::path out_file = dir / "output.txt";
    std::string cmd;
    for (const auto& e : env_add) cmd += e + " ";
    cmd += KSYNC_BINARY;
    for (const auto& a : args) cmd += " '" + a + "'";
    cmd += " > '" + out_file.string() + "' 2>&1";
    const int status = std::system(cmd.c_str());
    process_result r;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    std::ifstream in(out_file);
    r.output.assign(std::istreambuf_iterator<char>(in), {});
    return r;
}

class cli_e2e : public test::pg_suite {
protected:
    void SetUp() override {
        dir = fs::temp_directory_path() / ("ksync-cli-" + std::to_string(::getpid()));
        fs::create_directories(dir);
        emulator::emulator_options eo;
        eo.seed = 11;
        eo.size.tickets = 350;
        eo.size.users = 300;
        emu = std::make_unique<emulator::emulator>(eo);
        emu->start();
        {
            std::ofstream s(dir / "secret");
            s << emu->api().options().secret << "\n";
        }
        ::chmod((dir / "secret").c_str(), 0600);
        pqxx::connection c{db().dsn()};
        const std::string port = c.port();
        std::ofstream cfg(dir / "ksync.yaml");
        cfg << "kayako:\n  base_url: "
            << emu->base_url().substr(0, emu->base_url().rfind("index.php")) << "\n"
            << "  api_key: " << emu->api().options().apikey
            << "\n  secret_file: secret\n  allow_plain_http: true\n"
            << "  max_in_flight: 4\n  requests_per_second: 1000\n"
            << "postgres:\n  host: 127.0.0.1\n  port: " << port << "\n  dbname: " << db().name()
            << "\n  user: postgres\n  sslmode: disable\n"
            << "streams:\n  tickets: {page_size: 100}\n";
    }
    void TearDown() override {
        emu->stop();
        fs::remove_all(dir);
    }

    fs::path dir;
    std::unique_ptr<emulator::emulator> emu;
};

TEST_F(cli_e2e, once_killed_mid_backfill_then_rerun_converges_without_duplicate_events) {
    const std::string config = (dir / "ksync.yaml").string();
    auto crashed =
        run_binary({"--config", config, "once"}, {"KSYNC_FAILPOINT=ticket_page_applied:2"}, dir);
    ASSERT_EQ(crashed.exit_code, 137) << crashed.output;
    {
        pqxx::connection c{db().dsn()};
        pqxx::read_transaction tx{c};
        auto cursor =
            tx.exec1(
                  "SELECT cursor::text FROM kayako_sync.stream_cursors WHERE stream = 'tickets'")[0]
                .as<std::string>();
        EXPECT_NE(cursor.find("backfill"), std::string::npos) << cursor;
    }
    auto rerun = run_binary({"--config", config, "once"}, {}, dir);
    ASSERT_EQ(rerun.exit_code, 0) << rerun.output;
    EXPECT_NE(rerun.output.find("backfill complete"), std::string::npos) << rerun.output;

    auto expected =
        emu->api().read([](const emulator::helpdesk& m) { return test::expected_from_model(m); });
    auto diff = test::differences(expected, test::actual_from_mirror(db().dsn()));
    for (const auto& d : diff) ADD_FAILURE() << d;

    pqxx::connection c{db().dsn()};
    pqxx::read_transaction tx{c};
    EXPECT_EQ(tx.exec1("SELECT count(*) FROM (SELECT 1 FROM kayako_sync.changes GROUP BY entity, "
                       "object_id, version "
                       "HAVING count(*) > 1) d")[0]
                  .as<int>(),
              0);
    EXPECT_EQ(tx.exec1("SELECT count(*) FROM kayako_sync.changes WHERE entity = 'tickets' AND op "
                       "<> 'insert'")[0]
                  .as<int>(),
              0);
    // The secret never reaches the output.
    EXPECT_EQ(crashed.output.find(emu->api().options().secret), std::string::npos);
    EXPECT_EQ(rerun.output.find(emu->api().options().secret), std::string::npos);
}

TEST_F(cli_e2e, status_reports_streams_and_the_feed) {
    const std::string config = (dir / "ksync.yaml").string();
    ASSERT_EQ(run_binary({"--config", config, "once"}, {}, dir).exit_code, 0);
    auto status = run_binary({"--config", config, "status"}, {}, dir);
    ASSERT_EQ(status.exit_code, 0) << status.output;
    EXPECT_NE(status.output.find("schema version 3"), std::string::npos) << status.output;
    EXPECT_NE(status.output.find("tickets"), std::string::npos) << status.output;
    auto json = run_binary({"--config", config, "status", "--json"}, {}, dir);
    ASSERT_EQ(json.exit_code, 0) << json.output;
    EXPECT_NE(json.output.find("\"feed_position\""), std::string::npos) << json.output;
    auto bad = run_binary({"--config", (dir / "missing.yaml").string(), "status"}, {}, dir);
    EXPECT_EQ(bad.exit_code, 78) << bad.output;
}

}  // namespace
