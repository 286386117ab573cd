// The runtime as systemd sees it: a separate process (ksync_runtime_probe) started with
// NOTIFY_SOCKET and WATCHDOG_USEC, driven with real signals from this process.

#include "tests/unit/runtime/notify_receiver.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;
using ksync::test::find_message;
using ksync::test::notify_receiver;

constexpr auto ceiling = 20s;

struct probe {
    pid_t pid = -1;
    std::string out_path;

    probe(const std::string& config, const std::string& notify_socket, const std::string& out) {
        out_path = out;
        std::vector<std::string> env;
        for (char** e = environ; *e; ++e) {
            const std::string v(*e);
            if (v.rfind("NOTIFY_SOCKET=", 0) == 0 || v.rfind("WATCHDOG_", 0) == 0) continue;
            env.push_back(v);
        }
        env.push_back("NOTIFY_SOCKET=" + notify_socket);
        env.push_back("WATCHDOG_USEC=400000");  // pings every 200 ms
        std::vector<char*> envp;
        for (auto& v : env) envp.push_back(v.data());
        envp.push_back(nullptr);
        std::string exe = KSYNC_RUNTIME_PROBE;
        std::string arg = config;
        char* argv[] = {exe.data(), arg.data(), nullptr};
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        // The child gets default signal dispositions and an empty mask whatever gtest left.
        posix_spawnattr_t attr;
        posix_spawnattr_init(&attr);
        sigset_t none, all;
        sigemptyset(&none);
        sigfillset(&all);
        posix_spawnattr_setsigmask(&attr, &none);
        posix_spawnattr_setsigdefault(&attr, &all);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
        if (posix_spawn(&pid, exe.c_str(), &fa, &attr, argv, envp.data()) != 0) pid = -1;
        posix_spawn_file_actions_destroy(&fa);
        posix_spawnattr_destroy(&attr);
    }
    // Exit status, or -1 if it did not exit within `limit` (then it is killed).
    int wait_exit(clock_type::duration limit) {
        const auto deadline = clock_type::now() + limit;
        int status = 0;
        while (clock_type::now() < deadline) {
            if (::waitpid(pid, &status, WNOHANG) == pid) {
                pid = -1;
                return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            }
            std::this_thread::sleep_for(10ms);
        }
        return -1;
    }
    std::string output() const {
        std::ifstream in(out_path);
        return std::string(std::istreambuf_iterator<char>(in), {});
    }
    ~probe() {
        if (pid > 0) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, nullptr, 0);
        }
        ::unlink(out_path.c_str());
    }
};

void write_file(const std::string& path, const std::string& text) {
    std::ofstream(path, std::ios::trunc) << text << "\n";
}

struct temp_dir {
    std::string path;
    temp_dir() {
        char tmpl[] = "/tmp/ksync-probe-XXXXXX";
        path = ::mkdtemp(tmpl);
    }
    ~temp_dir() { std::system(("rm -rf '" + path + "'").c_str()); }
};

TEST(runtime_process, systemd_view_ready_watchdog_reload_and_sigterm_mid_cycle) {
    temp_dir dir;
    const auto config = dir.path + "/probe.conf";
    write_file(config, "interval_ms=3600000");
    notify_receiver rx;
    probe p(config, rx.address(), dir.path + "/out");
    ASSERT_GT(p.pid, 0);

    ASSERT_TRUE(rx.wait_for_count("READY=1", 1, ceiling));
    // Pings come from the environment's WATCHDOG_USEC (WATCHDOG_PID unset: they are ours).
    ASSERT_TRUE(rx.wait_for_count("WATCHDOG=1", 2, ceiling));

    // A broken file on SIGHUP: RELOADING=1 ... READY=1, the old config stays.
    write_file(config, "interval_ms=oops");
    ASSERT_EQ(::kill(p.pid, SIGHUP), 0);
    ASSERT_TRUE(rx.wait_for_count("READY=1", 2, ceiling));
    ASSERT_TRUE(rx.wait_for(
        [](const std::vector<notify_receiver::message>& ms) {
            for (auto& m : ms)
                if (m.text.find("STATUS=") == 0 &&
                    m.text.find("reload failed") != std::string::npos)
                    return true;
            return false;
        },
        ceiling));

    // The first cycle is still in its 60 s "transaction": SIGTERM must end it within the bound.
    const auto start = clock_type::now();
    ASSERT_EQ(::kill(p.pid, SIGTERM), 0);
    EXPECT_EQ(p.wait_exit(ceiling), 0);
    EXPECT_LT(clock_type::now() - start, ceiling);
    EXPECT_EQ(p.output(), "interval_ms=3600000 rolled_back=1\n");

    // Everything it sent went out before it exited.
    const auto t = rx.texts();
    const auto ready1 = find_message(t, "READY=1");
    const auto reloading = find_message(t, "RELOADING=1\nMONOTONIC_USEC=");
    const auto ready2 = find_message(t, "READY=1", ready1 + 1);
    const auto stopping = find_message(t, "STOPPING=1");
    ASSERT_NE(stopping, std::string::npos);
    EXPECT_LT(ready1, reloading);
    EXPECT_LT(reloading, ready2);
    EXPECT_LT(ready2, stopping);
}

TEST(runtime_process, an_invalid_config_at_start_exits_78_without_READY) {
    temp_dir dir;
    const auto config = dir.path + "/probe.conf";
    write_file(config, "nonsense");
    notify_receiver rx;
    probe p(config, rx.address(), dir.path + "/out");
    ASSERT_GT(p.pid, 0);
    EXPECT_EQ(p.wait_exit(ceiling), 78);
    std::this_thread::sleep_for(50ms);
    EXPECT_EQ(rx.count("READY=1"), 0u);
}

}  // namespace
