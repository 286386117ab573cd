#pragma once
// Helpers for tests that run kayako-sync (or another binary) as a process: one-shot runs with
// captured output, a background daemon that is stopped or SIGKILLed, loopback ports, a private
// PostgreSQL cluster that a test may restart or crash without disturbing the shared one.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace ksync::test {

namespace fs = std::filesystem;

inline std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

struct process_result {
    int exit_code = -1;  // -1: killed by a signal
    std::string output;
};

// `binary args...` with `env_add` (NAME=value) prepended, stdout and stderr into `out_file`.
inline process_result run_process(const std::string& binary, const std::vector<std::string>& args,
                                  const std::vector<std::string>& env_add,
                                  const fs::path& out_file) {
    std::string cmd;
    for (const auto& e : env_add) cmd += "'" + e + "' ";
    cmd = (cmd.empty() ? "" : "env " + cmd) + "'" + binary + "'";
    for (const auto& a : args) cmd += " '" + a + "'";
    cmd += " > '" + out_file.string() + "' 2>&1";
    const int status = std::system(cmd.c_str());
    process_result r;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.output = read_file(out_file);
    return r;
}

// A shell command, stdout and stderr captured.
inline process_result run_shell(const std::string& command, const fs::path& out_file) {
    const int status = std::system((command + " > '" + out_file.string() + "' 2>&1").c_str());
    process_result r;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.output = read_file(out_file);
    return r;
}

// A background process (the daemon), output to a log file; SIGKILLed on destruction if still
// running. Only the pid it started is ever signalled.
class background_process {
public:
    background_process(const std::string& binary, const std::vector<std::string>& args,
                       const fs::path& log_file, const std::vector<std::string>& env_add = {})
        : log_(log_file) {
        // Everything exec needs is built before fork (the test process has threads).
        std::vector<std::string> argv_s{binary};
        argv_s.insert(argv_s.end(), args.begin(), args.end());
        std::vector<char*> argv;
        for (auto& a : argv_s) argv.push_back(a.data());
        argv.push_back(nullptr);
        std::vector<std::string> env_s;
        for (char** e = environ; *e; ++e) env_s.emplace_back(*e);
        for (const auto& e : env_add) env_s.push_back(e);
        std::vector<char*> envp;
        for (auto& e : env_s) envp.push_back(e.data());
        envp.push_back(nullptr);
        const int fd = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        pid_ = ::fork();
        if (pid_ == 0) {
            ::dup2(fd, 1);
            ::dup2(fd, 2);
            ::execve(binary.c_str(), argv.data(), envp.data());
            ::_exit(127);
        }
        ::close(fd);
    }
    ~background_process() {
        if (pid_ > 0) kill9();
    }
    background_process(const background_process&) = delete;
    background_process& operator=(const background_process&) = delete;

    [[nodiscard]] pid_t pid() const { return pid_; }
    // True while it runs; reaps it (and keeps its status) once it has ended.
    bool running() {
        if (pid_ <= 0) return false;
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
            return false;
        }
        return true;
    }
    // SIGTERM and wait: the exit status (-1 after a signal).
    int stop() {
        if (pid_ <= 0) return exit_code_;
        ::kill(pid_, SIGTERM);
        int status = 0;
        ::waitpid(pid_, &status, 0);
        pid_ = -1;
        exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        return exit_code_;
    }
    // SIGTERM, then waits up to `limit` (a generous ceiling): true when it ended in time, its
    // status in exit_code(); false when it still runs (the destructor SIGKILLs it).
    bool terminate_within(std::chrono::seconds limit) {
        if (pid_ <= 0) return true;
        ::kill(pid_, SIGTERM);
        const auto end = std::chrono::steady_clock::now() + limit;
        while (running()) {
            if (std::chrono::steady_clock::now() >= end) return false;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        return true;
    }
    void kill9() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
        pid_ = -1;
        exit_code_ = -1;
    }
    [[nodiscard]] int exit_code() const { return exit_code_; }
    [[nodiscard]] std::string log() const { return read_file(log_); }

private:
    pid_t pid_ = -1;
    int exit_code_ = -1;
    fs::path log_;
};

// A free loopback port (bound and released: a race with another process is possible but rare).
inline int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
}

// GET http://127.0.0.1:port/path: the whole response ("" when nothing listens).
inline std::string http_get(int port, const std::string& path) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    std::string out;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
        const std::string req =
            "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
        (void)::send(fd, req.data(), req.size(), MSG_NOSIGNAL);  // no SIGPIPE if it closed
        char buf[65536];
        for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;)
            out.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return out;
}

// Polls `ok` every 100 ms for up to `limit` (a generous ceiling, not a timing assertion).
inline bool eventually(const std::function<bool()>& ok, std::chrono::seconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
        if (ok()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return ok();
}

// A PostgreSQL 15 cluster of this test process alone (initdb into a temp dir, its own port on
// 127.0.0.1), for tests that restart or crash the server: scripts/test's shared cluster serves
// every other test in parallel. Stopped and removed on destruction; a watcher process stops it
// too if this process dies first (a crash, a ctest timeout's SIGKILL).
class private_cluster {
public:
    private_cluster() {
        bin_ = bindir();
        char tmpl[] = "/tmp/ksync-private-pg.XXXXXX";
        if (!::mkdtemp(tmpl)) throw std::runtime_error("private_cluster: mkdtemp failed");
        dir_ = tmpl;
        if (::getuid() == 0) {
            owner_ = "runuser -u postgres -- ";
            sh("chown postgres: '" + dir_.string() + "'");
        }
        ::chmod(dir_.c_str(), 0700);
        sh(owner_ + "'" + bin_ + "/initdb' -D '" + (dir_ / "data").string() +
           "' -U postgres --auth=trust --no-locale -E UTF8");
        // The watcher: once this test process is gone, stop the server and remove the files.
        sh("setsid sh -c 'while kill -0 " + std::to_string(::getpid()) +
           " 2>/dev/null; do sleep 1; done; " + owner_ + "\"" + bin_ + "/pg_ctl\" -D \"" +
           (dir_ / "data").string() + "\" -m immediate stop; rm -rf \"" + dir_.string() +
           "\"' </dev/null >/dev/null 2>&1 &");
        for (int attempt = 0;; ++attempt) {
            port_ = free_port();
            const int rc =
                std::system((owner_ + "'" + bin_ + "/pg_ctl' -D '" + (dir_ / "data").string() +
                             "' -l '" + (dir_ / "server.log").string() + "' -w -t 120 -o '-p " +
                             std::to_string(port_) + " -k " + dir_.string() +
                             " -c listen_addresses=127.0.0.1 -c max_connections=100 -c fsync=off"
                             " -c full_page_writes=off' start >/dev/null 2>&1")
                                .c_str());
            if (rc == 0) break;
            if (attempt == 4)
                throw std::runtime_error("private_cluster: pg_ctl start failed: " +
                                         read_file(dir_ / "server.log"));
        }
    }
    ~private_cluster() {
        std::system((owner_ + "'" + bin_ + "/pg_ctl' -D '" + (dir_ / "data").string() +
                     "' -m immediate -w -t 60 stop >/dev/null 2>&1")
                        .c_str());
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }
    private_cluster(const private_cluster&) = delete;
    private_cluster& operator=(const private_cluster&) = delete;

    [[nodiscard]] int port() const { return port_; }
    [[nodiscard]] std::string dsn(const std::string& dbname = "postgres") const {
        return "host=127.0.0.1 port=" + std::to_string(port_) + " user=postgres dbname=" + dbname;
    }
    // pg_ctl restart -m fast|immediate, waiting until it accepts connections again.
    void restart(const std::string& mode) {
        sh(owner_ + "'" + bin_ + "/pg_ctl' -D '" + (dir_ / "data").string() + "' -l '" +
           (dir_ / "server.log").string() + "' -m " + mode + " -w -t 120 restart");
    }
    [[nodiscard]] std::string server_log() const { return read_file(dir_ / "server.log"); }

private:
    static std::string bindir() {
        if (const char* b = std::getenv("PG_BIN"); b && *b) return b;
        for (const char* d : {"/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin"})
            if (fs::exists(fs::path(d) / "pg_ctl")) return d;
        throw std::runtime_error("private_cluster: pg_ctl not found (set PG_BIN)");
    }
    void sh(const std::string& cmd) const {
        const std::string out =
            (dir_.empty() ? fs::temp_directory_path() : dir_).string() + "/.sh-output";
        const int rc = std::system((cmd + " >'" + out + "' 2>&1").c_str());
        if (rc != 0)
            throw std::runtime_error("private_cluster: `" + cmd + "` failed: " + read_file(out));
    }

    std::string bin_, owner_;
    fs::path dir_;
    int port_ = 0;
};

}  // namespace ksync::test
