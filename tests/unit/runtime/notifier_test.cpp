#include "daemon/runtime/notifier.hpp"
#include "tests/unit/runtime/notify_receiver.hpp"

#include <gtest/gtest.h>

#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <optional>
#include <regex>
#include <string>

namespace {

using namespace std::chrono_literals;
using ksync::runtime::notifier;
using ksync::runtime::parse_watchdog_usec;
using ksync::test::notify_receiver;

// Sets environment variables for one test and restores the previous values.
class scoped_env {
public:
    void set(const char* name, const char* value) {
        remember(name);
        if (value)
            ::setenv(name, value, 1);
        else
            ::unsetenv(name);
    }
    ~scoped_env() {
        for (auto& [name, old] : saved_) {
            if (old)
                ::setenv(name.c_str(), old->c_str(), 1);
            else
                ::unsetenv(name.c_str());
        }
    }

private:
    void remember(const char* name) {
        for (auto& s : saved_)
            if (s.first == name) return;
        const char* v = std::getenv(name);
        saved_.emplace_back(name, v ? std::optional<std::string>(v) : std::nullopt);
    }
    std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

TEST(notifier, sends_each_message_exactly_to_a_socket_file) {
    notify_receiver rx;
    notifier n(rx.address());
    ASSERT_TRUE(n.enabled());
    EXPECT_TRUE(n.ready());
    EXPECT_TRUE(n.status("tickets ok 12s ago\nusers running"));
    EXPECT_TRUE(n.watchdog_ping());
    EXPECT_TRUE(n.extend_timeout(5s));
    EXPECT_TRUE(n.stopping());
    ASSERT_TRUE(rx.wait_for_count("", 5, 10s));
    EXPECT_EQ(rx.texts(), (std::vector<std::string>{
                              "READY=1", "STATUS=tickets ok 12s ago users running", "WATCHDOG=1",
                              "EXTEND_TIMEOUT_USEC=5000000", "STOPPING=1"}));
}

TEST(notifier, reloading_carries_the_monotonic_clock) {
    notify_receiver rx;
    notifier n(rx.address());
    timespec before{};
    ::clock_gettime(CLOCK_MONOTONIC, &before);
    ASSERT_TRUE(n.reloading());
    ASSERT_TRUE(rx.wait_for_count("RELOADING=1", 1, 10s));
    const auto text = rx.texts().at(0);
    std::smatch m;
    ASSERT_TRUE(std::regex_match(text, m, std::regex("RELOADING=1\nMONOTONIC_USEC=([0-9]+)")))
        << text;
    const long long usec = std::stoll(m[1].str());
    const long long before_usec = before.tv_sec * 1'000'000LL + before.tv_nsec / 1000;
    EXPECT_GE(usec, before_usec);
    EXPECT_LT(usec, before_usec + 60'000'000LL);
}

TEST(notifier, supports_abstract_sockets) {
    notify_receiver rx(/*abstract=*/true);
    ASSERT_EQ(rx.address().front(), '@');
    notifier n(rx.address());
    EXPECT_TRUE(n.ready());
    ASSERT_TRUE(rx.wait_for_count("READY=1", 1, 10s));
}

TEST(notifier, is_a_no_op_without_a_usable_socket) {
    notifier none;
    EXPECT_FALSE(none.enabled());
    EXPECT_FALSE(none.ready());
    EXPECT_FALSE(notifier("relative/path").enabled());
    EXPECT_FALSE(notifier("@").enabled());
    EXPECT_FALSE(notifier("/" + std::string(200, 'x')).enabled());
}

TEST(notifier, a_missing_socket_fails_quietly) {
    notifier n("/nonexistent-ksync-dir/notify");
    ASSERT_TRUE(n.enabled());
    EXPECT_FALSE(n.ready());
    EXPECT_EQ(n.last_error(), ENOENT);
}

TEST(notifier, survives_a_move) {
    notify_receiver rx;
    notifier a(rx.address(), 2s);
    notifier b = std::move(a);
    EXPECT_FALSE(a.enabled());  // NOLINT(bugprone-use-after-move): the moved-from state matters
    EXPECT_TRUE(b.watchdog_ping());
    EXPECT_EQ(b.watchdog_timeout(), std::optional<std::chrono::microseconds>(2s));
    ASSERT_TRUE(rx.wait_for_count("WATCHDOG=1", 1, 10s));
}

TEST(notifier, parses_watchdog_usec) {
    EXPECT_EQ(parse_watchdog_usec("60000000"), std::optional<std::chrono::microseconds>(60s));
    EXPECT_EQ(parse_watchdog_usec("0"), std::nullopt);
    EXPECT_EQ(parse_watchdog_usec(""), std::nullopt);
    EXPECT_EQ(parse_watchdog_usec("12x"), std::nullopt);
    EXPECT_EQ(parse_watchdog_usec("-5"), std::nullopt);
}

TEST(notifier, reads_the_environment) {
    notify_receiver rx;
    scoped_env env;
    env.set("NOTIFY_SOCKET", nullptr);
    env.set("WATCHDOG_USEC", "4000000");
    env.set("WATCHDOG_PID", nullptr);
    EXPECT_FALSE(notifier::from_environment().enabled());

    env.set("NOTIFY_SOCKET", rx.address().c_str());
    auto n = notifier::from_environment();
    EXPECT_TRUE(n.enabled());
    EXPECT_EQ(n.socket(), rx.address());
    EXPECT_EQ(n.watchdog_timeout(), std::optional<std::chrono::microseconds>(4s));

    // The watchdog belongs to the process systemd named; an inherited environment does not ping.
    const auto me = std::to_string(::getpid());
    env.set("WATCHDOG_PID", me.c_str());
    EXPECT_TRUE(notifier::from_environment().watchdog_timeout().has_value());
    const auto other = std::to_string(::getpid() + 1);
    env.set("WATCHDOG_PID", other.c_str());
    EXPECT_FALSE(notifier::from_environment().watchdog_timeout().has_value());

    env.set("WATCHDOG_PID", nullptr);
    env.set("WATCHDOG_USEC", "soon");
    EXPECT_FALSE(notifier::from_environment().watchdog_timeout().has_value());
}

}  // namespace
