#include "daemon/app.hpp"

#include "common/version.hpp"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

namespace {

struct cli_result {
    int status;
    std::string out;
    std::string err;
};

cli_result run_cli(std::vector<std::string> args) {
    args.insert(args.begin(), "kayako-sync");
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::ostringstream out, err;
    const int status = ksync::app::run(static_cast<int>(args.size()), argv.data(), out, err);
    return {status, out.str(), err.str()};
}

TEST(app_cli, version_prints_version) {
    auto r = run_cli({"--version"});
    EXPECT_EQ(r.status, 0);
    EXPECT_EQ(r.out, std::string("kayako-sync ") + ksync::version + "\n");
}

TEST(app_cli, help_goes_to_stdout) {
    auto r = run_cli({"--help"});
    EXPECT_EQ(r.status, 0);
    EXPECT_NE(r.out.find("Usage: kayako-sync"), std::string::npos);
}

TEST(app_cli, unknown_command_is_a_usage_error) {
    auto r = run_cli({"frobnicate"});
    EXPECT_EQ(r.status, ksync::app::exit_usage);
    EXPECT_NE(r.err.find("frobnicate"), std::string::npos);
}

}  // namespace
