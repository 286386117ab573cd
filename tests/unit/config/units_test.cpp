#include "config/config.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace {

using ksync::config::duration;
using ksync::config::format_duration;
using ksync::config::format_size;
using ksync::config::parse_duration;
using ksync::config::parse_size;
using namespace std::chrono_literals;

TEST(durations, parse_every_unit_and_combinations) {
    EXPECT_EQ(parse_duration("500ms"), 500ms);
    EXPECT_EQ(parse_duration("90s"), 90s);
    EXPECT_EQ(parse_duration("15m"), 15min);
    EXPECT_EQ(parse_duration("1h30m"), 90min);
    EXPECT_EQ(parse_duration("2d"), std::chrono::hours(48));
    EXPECT_EQ(parse_duration("1d2h3m4s5ms"), duration(93'784'005));
    EXPECT_EQ(parse_duration("0s"), 0ms);
}

TEST(durations, reject_malformed_text_with_a_reason) {
    auto reason = [](const char* text) {
        try {
            (void)parse_duration(text);
        } catch (const std::invalid_argument& e) {
            return std::string(e.what());
        }
        return std::string("accepted");
    };
    EXPECT_NE(reason("-5m").find("negative"), std::string::npos);
    EXPECT_NE(reason("90").find("needs a unit"), std::string::npos);
    EXPECT_NE(reason("5x").find("unknown unit"), std::string::npos);
    EXPECT_NE(reason("30m1h").find("largest to smallest"), std::string::npos);
    EXPECT_NE(reason("1h1h").find("largest to smallest"), std::string::npos);
    EXPECT_NE(reason("1.5h").find("fractions are not allowed"), std::string::npos);
    EXPECT_NE(reason("h").find("expected a number"), std::string::npos);
    EXPECT_NE(reason("").find("empty"), std::string::npos);
    EXPECT_NE(reason(" 5s").find("expected a number"), std::string::npos);
    EXPECT_NE(reason("99999999999999999999s").find("too large"), std::string::npos);
    EXPECT_NE(reason("9999999999999999d").find("too large"), std::string::npos);
}

TEST(durations, format_round_trips) {
    for (const char* text : {"500ms", "90s", "15m", "1h30m", "2d", "1d2h3m4s5ms", "0s"}) {
        EXPECT_EQ(format_duration(parse_duration(text)),
                  text == std::string("90s") ? "1m30s" : text)
            << text;
        EXPECT_EQ(parse_duration(format_duration(parse_duration(text))), parse_duration(text));
    }
}

TEST(sizes, parse_binary_decimal_and_plain) {
    EXPECT_EQ(parse_size("4096"), 4096u);
    EXPECT_EQ(parse_size("10B"), 10u);
    EXPECT_EQ(parse_size("512KiB"), 512u * 1024);
    EXPECT_EQ(parse_size("64MiB"), 64ull << 20);
    EXPECT_EQ(parse_size("1GiB"), 1ull << 30);
    EXPECT_EQ(parse_size("10MB"), 10'000'000u);
    EXPECT_EQ(parse_size("2KB"), 2'000u);
}

TEST(sizes, reject_malformed_text) {
    EXPECT_THROW((void)parse_size(""), std::invalid_argument);
    EXPECT_THROW((void)parse_size("-1"), std::invalid_argument);
    EXPECT_THROW((void)parse_size("MiB"), std::invalid_argument);
    EXPECT_THROW((void)parse_size("5XB"), std::invalid_argument);
    EXPECT_THROW((void)parse_size("5 MiB"), std::invalid_argument);
    EXPECT_THROW((void)parse_size("99999999999999999999"), std::invalid_argument);
    EXPECT_THROW((void)parse_size("17179869184GiB"), std::invalid_argument);
}

TEST(sizes, format_uses_the_largest_exact_binary_unit) {
    EXPECT_EQ(format_size(64ull << 20), "64MiB");
    EXPECT_EQ(format_size(1ull << 30), "1GiB");
    EXPECT_EQ(format_size(1536), "1536B");
    EXPECT_EQ(format_size(3 * 1024), "3KiB");
    EXPECT_EQ(format_size(1000), "1000B");
    EXPECT_EQ(parse_size(format_size(1000)), 1000u);
}

}  // namespace
