#include "common/logging.hpp"
#include "tests/support/log_capture.hpp"

#include <spdlog/sinks/ostream_sink.h>

#include <gtest/gtest.h>

#include <sstream>

namespace {

TEST(logging, loggers_carry_component_name_and_level) {
    ksync::test::log_capture cap;
    auto log = cap.logger("kayako");
    log->info("fetched {} tickets", 3);
    log->trace("detail");
    ASSERT_EQ(cap.lines().size(), 2u);
    EXPECT_EQ(cap.lines()[0], "info [kayako] fetched 3 tickets\n");
}

TEST(logging, json_lines_escape_the_message) {
    std::ostringstream os;
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(os);
    ksync::logging::factory f({ksync::logging::format::json, spdlog::level::info, false}, {sink});
    f.make("mirror")->warn("quote \" backslash \\ newline \n ctrl \x01 end");
    EXPECT_EQ(os.str(),
              "{\"level\":\"warning\",\"logger\":\"mirror\",\"msg\":\"quote \\\" backslash \\\\ "
              "newline \\n ctrl \\u0001 end\"}\n");
}

TEST(logging, reconfigure_changes_level_of_existing_loggers) {
    ksync::test::log_capture cap;
    auto log = cap.logger("x");
    cap.factory().reconfigure({ksync::logging::format::text, spdlog::level::err, false});
    log->info("dropped");
    log->error("kept");
    ASSERT_EQ(cap.lines().size(), 1u);
    EXPECT_EQ(cap.lines()[0], "error [x] kept\n");
}

TEST(logging, parse_level_accepts_known_names_only) {
    spdlog::level::level_enum l{};
    EXPECT_TRUE(ksync::logging::parse_level("debug", l));
    EXPECT_EQ(l, spdlog::level::debug);
    EXPECT_FALSE(ksync::logging::parse_level("verbose", l));
}

}  // namespace
