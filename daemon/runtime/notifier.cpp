#include "daemon/runtime/notifier.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <utility>

namespace ksync::runtime {
namespace {

// Fills `addr` for a filesystem path or an abstract name ("@name"); returns the address length,
// or 0 when the socket string is unusable (relative path, too long, empty).
socklen_t make_address(const std::string& socket, sockaddr_un& addr) {
    std::memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    if (socket.size() < 2 || socket.size() > sizeof addr.sun_path) return 0;
    if (socket[0] != '/' && socket[0] != '@') return 0;
    std::memcpy(addr.sun_path, socket.data(), socket.size());
    // Abstract sockets start with a NUL byte and their length is exact (no terminator).
    if (socket[0] == '@')
        addr.sun_path[0] = '\0';
    else if (socket.size() == sizeof addr.sun_path)
        return 0;  // no room for the terminator
    return static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + socket.size());
}

}  // namespace

std::optional<std::chrono::microseconds> parse_watchdog_usec(std::string_view text) {
    unsigned long long value = 0;
    const auto* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (ec != std::errc{} || ptr != end || value == 0) return std::nullopt;
    return std::chrono::microseconds(static_cast<std::chrono::microseconds::rep>(value));
}

notifier::notifier(std::string socket, std::optional<std::chrono::microseconds> watchdog)
    : socket_(std::move(socket)), watchdog_(watchdog) {
    sockaddr_un addr{};
    if (make_address(socket_, addr) == 0) return;
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) last_errno_ = errno;
}

notifier::~notifier() {
    close_fd();
}

notifier::notifier(notifier&& other) noexcept
    : socket_(std::move(other.socket_)),
      watchdog_(other.watchdog_),
      fd_(std::exchange(other.fd_, -1)),
      last_errno_(other.last_errno_) {}

notifier& notifier::operator=(notifier&& other) noexcept {
    if (this != &other) {
        close_fd();
        socket_ = std::move(other.socket_);
        watchdog_ = other.watchdog_;
        fd_ = std::exchange(other.fd_, -1);
        last_errno_ = other.last_errno_;
    }
    return *this;
}

void notifier::close_fd() noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

notifier notifier::from_environment() {
    const char* socket = std::getenv("NOTIFY_SOCKET");
    if (socket == nullptr || *socket == '\0') return notifier{};
    std::optional<std::chrono::microseconds> watchdog;
    if (const char* usec = std::getenv("WATCHDOG_USEC")) watchdog = parse_watchdog_usec(usec);
    if (const char* pid = std::getenv("WATCHDOG_PID"); pid != nullptr && *pid != '\0') {
        long long value = 0;
        const std::string_view text(pid);
        const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (ec != std::errc{} || ptr != text.data() + text.size() || value != ::getpid())
            watchdog.reset();
    }
    return notifier(socket, watchdog);
}

bool notifier::send(std::string_view message) {
    if (fd_ < 0) return false;
    sockaddr_un addr{};
    const socklen_t len = make_address(socket_, addr);
    // The kernel attaches our credentials, which is what NotifyAccess=main checks.
    const auto n = ::sendto(fd_, message.data(), message.size(), MSG_DONTWAIT | MSG_NOSIGNAL,
                            reinterpret_cast<const sockaddr*>(&addr), len);
    if (n < 0) {
        last_errno_ = errno;
        return false;
    }
    return static_cast<std::size_t>(n) == message.size();
}

bool notifier::reloading() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    const auto usec = static_cast<unsigned long long>(ts.tv_sec) * 1'000'000ULL +
                      static_cast<unsigned long long>(ts.tv_nsec) / 1000ULL;
    return send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec));
}

bool notifier::status(std::string_view text) {
    std::string msg = "STATUS=";
    msg.reserve(msg.size() + text.size());
    for (char c : text) msg.push_back(c == '\n' || c == '\r' ? ' ' : c);
    return send(msg);
}

bool notifier::extend_timeout(std::chrono::microseconds usec) {
    return send("EXTEND_TIMEOUT_USEC=" + std::to_string(usec.count()));
}

}  // namespace ksync::runtime
