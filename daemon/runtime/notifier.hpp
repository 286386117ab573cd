#pragma once

// The sd_notify(3) protocol, written out instead of linking libsystemd: one AF_UNIX datagram of
// newline-separated assignments to $NOTIFY_SOCKET (a path, or "@name" for the abstract
// namespace). Doing it ourselves keeps the messages observable in tests through a socket the
// test binds, never blocks the event loop (MSG_DONTWAIT: a full receive queue drops the message
// rather than stalling the loop that sends WATCHDOG=1), and costs about forty lines.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace ksync::runtime {

class notifier {
public:
    // No socket: every send is a no-op that returns false (the daemon was not started by systemd).
    notifier() = default;
    // `socket` as in $NOTIFY_SOCKET. `watchdog` is the full WatchdogSec (WATCHDOG_USEC); pings
    // are due every half of it (sd_watchdog_enabled(3)).
    explicit notifier(std::string socket, std::optional<std::chrono::microseconds> watchdog = {});
    ~notifier();
    notifier(notifier&& other) noexcept;
    notifier& operator=(notifier&& other) noexcept;
    notifier(const notifier&) = delete;
    notifier& operator=(const notifier&) = delete;

    // Reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID. The watchdog counts only when
    // WATCHDOG_PID is unset or names this process (systemd sets it for the main PID; a child
    // that inherited the environment must not ping). The variables are left in place.
    static notifier from_environment();

    [[nodiscard]] bool enabled() const noexcept { return fd_ >= 0; }
    [[nodiscard]] const std::string& socket() const noexcept { return socket_; }
    // WatchdogSec as systemd configured it, or nothing when the watchdog is off.
    [[nodiscard]] std::optional<std::chrono::microseconds> watchdog_timeout() const noexcept {
        return watchdog_;
    }

    // Sends one datagram. Returns false when disabled or when the kernel refused it (errno
    // kept in last_error()); a lost notification is never fatal to the daemon.
    bool send(std::string_view message);

    bool ready() { return send("READY=1"); }
    // RELOADING=1 with MONOTONIC_USEC= (CLOCK_MONOTONIC): systemd 253+ requires it for
    // Type=notify-reload; systemd 252 ignores the extra field.
    bool reloading();
    bool stopping() { return send("STOPPING=1"); }
    bool watchdog_ping() { return send("WATCHDOG=1"); }
    // One line: newlines would start a new assignment, so they become spaces.
    bool status(std::string_view text);
    bool extend_timeout(std::chrono::microseconds usec);

    [[nodiscard]] int last_error() const noexcept { return last_errno_; }

private:
    void close_fd() noexcept;

    std::string socket_;
    std::optional<std::chrono::microseconds> watchdog_;
    int fd_ = -1;
    int last_errno_ = 0;
};

// Parses a WATCHDOG_USEC value ("60000000"); nothing for empty, zero, or malformed text.
std::optional<std::chrono::microseconds> parse_watchdog_usec(std::string_view text);

}  // namespace ksync::runtime
