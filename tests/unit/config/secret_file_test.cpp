#include "config/config.hpp"

#include "tests/unit/config/temp_dir.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>
#include <chrono>

namespace {

using ksync::config::config_error;
using ksync::config::read_secret_file;

constexpr const char* secret_value = "Zq9-secret-VALUE-never-printed";

// The reason read_secret_file gives for refusing `path`, or "accepted".
std::string refusal(const std::filesystem::path& path, bool trusted = false) {
    try {
        (void)read_secret_file(path, "kayako.secret_file", trusted);
    } catch (const config_error& e) {
        EXPECT_EQ(e.key(), "kayako.secret_file");
        EXPECT_EQ(std::string(e.what()).find(secret_value), std::string::npos) << e.what();
        return e.what();
    }
    return "accepted";
}

TEST(secret_file, reads_and_strips_exactly_one_trailing_newline) {
    ksync::test::temp_dir dir;
    const auto one = dir.write("one", std::string(secret_value) + "\n");
    EXPECT_EQ(read_secret_file(one, "k", false).reveal(), secret_value);
    const auto two = dir.write("two", std::string(secret_value) + "\n\n");
    EXPECT_EQ(read_secret_file(two, "k", false).reveal(), std::string(secret_value) + "\n");
    const auto none = dir.write("none", secret_value);
    EXPECT_EQ(read_secret_file(none, "k", false).reveal(), secret_value);
    const auto spaces = dir.write("spaces", " a b \n");
    EXPECT_EQ(read_secret_file(spaces, "k", false).reveal(), " a b ");
}

TEST(secret_file, accepts_owner_only_modes) {
    ksync::test::temp_dir dir;
    EXPECT_EQ(refusal(dir.write("s600", secret_value, 0600)), "accepted");
    EXPECT_EQ(refusal(dir.write("s400", secret_value, 0400)), "accepted");
}

TEST(secret_file, refuses_group_or_world_access) {
    ksync::test::temp_dir dir;
    const auto world = dir.write("world", secret_value, 0644);
    const std::string r = refusal(world);
    EXPECT_NE(r.find("group or others"), std::string::npos) << r;
    EXPECT_NE(r.find("0644"), std::string::npos) << r;
    EXPECT_NE(r.find("chmod 600"), std::string::npos) << r;
    EXPECT_NE(refusal(dir.write("group", secret_value, 0640)).find("group or others"),
              std::string::npos);
    EXPECT_NE(refusal(dir.write("other", secret_value, 0604)).find("group or others"),
              std::string::npos);
}

TEST(secret_file, credentials_directory_waives_the_mode_rule_only) {
    ksync::test::temp_dir dir;
    const auto world = dir.write("world", std::string(secret_value) + "\n", 0644);
    EXPECT_EQ(read_secret_file(world, "k", true).reveal(), secret_value);
    // Everything else still applies there.
    EXPECT_NE(refusal(dir.write("empty", "", 0644), true).find("is empty"), std::string::npos);
}

TEST(secret_file, refuses_another_owner) {
    ksync::test::temp_dir dir;
    std::filesystem::path foreign = "/etc/passwd";  // root's file when we are not root
    if (::geteuid() == 0) {
        foreign = dir.write("foreign", secret_value, 0600);
        ASSERT_EQ(::chown(foreign.c_str(), 65534, 65534), 0);
    }
    const std::string r = refusal(foreign);
    EXPECT_NE(r.find("is owned by uid"), std::string::npos) << r;
}

TEST(secret_file, refuses_a_symlink_even_to_a_good_file) {
    ksync::test::temp_dir dir;
    const auto target = dir.write("target", secret_value, 0600);
    const auto link = dir.path() / "link";
    std::filesystem::create_symlink(target, link);
    const std::string r = refusal(link);
    EXPECT_NE(r.find("symbolic link"), std::string::npos) << r;
}

TEST(secret_file, refuses_a_directory) {
    ksync::test::temp_dir dir;
    std::filesystem::create_directory(dir.path() / "sub");
    ::chmod((dir.path() / "sub").c_str(), 0700);
    const std::string r = refusal(dir.path() / "sub");
    EXPECT_NE(r.find("a directory"), std::string::npos) << r;
}

TEST(secret_file, refuses_a_fifo_without_blocking) {
    ksync::test::temp_dir dir;
    const auto fifo = dir.path() / "fifo";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    const std::string r = refusal(fifo);  // would hang in open() without O_NONBLOCK
    EXPECT_NE(r.find("a FIFO"), std::string::npos) << r;
}

TEST(secret_file, refuses_empty_newline_only_missing_and_oversize) {
    ksync::test::temp_dir dir;
    EXPECT_NE(refusal(dir.write("empty", "")).find("is empty"), std::string::npos);
    EXPECT_NE(refusal(dir.write("nl", "\n")).find("only a newline"), std::string::npos);
    EXPECT_NE(refusal(dir.path() / "absent").find("does not exist"), std::string::npos);
    const std::string big = refusal(dir.write("big", std::string(4097, 'x')));
    EXPECT_NE(big.find("larger than 4096 bytes"), std::string::npos) << big;
    EXPECT_EQ(
        read_secret_file(dir.write("max", std::string(4096, 'x')), "k", false).reveal().size(),
        4096u);
}

TEST(secret_file, error_names_path_but_never_content) {
    ksync::test::temp_dir dir;
    const auto world = dir.write("leaky", secret_value, 0666);
    const std::string r = refusal(world);
    EXPECT_NE(r.find(world.string()), std::string::npos);
    EXPECT_EQ(r.find(secret_value), std::string::npos);
}

}  // namespace
