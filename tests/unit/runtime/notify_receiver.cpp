#include "tests/unit/runtime/notify_receiver.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <random>
#include <stdexcept>

namespace ksync::test {

notify_receiver::notify_receiver(bool abstract) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error("notify_receiver: socket failed");
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    socklen_t len = 0;
    if (abstract) {
        std::random_device rd;
        address_ = "@ksync-test-notify-" + std::to_string(::getpid()) + "-" + std::to_string(rd());
        std::memcpy(addr.sun_path, address_.data(), address_.size());
        addr.sun_path[0] = '\0';
        len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + address_.size());
    } else {
        char tmpl[] = "/tmp/ksync-notify-XXXXXX";
        if (::mkdtemp(tmpl) == nullptr) throw std::runtime_error("notify_receiver: mkdtemp failed");
        dir_ = tmpl;
        path_ = dir_ + "/notify";
        address_ = path_;
        std::memcpy(addr.sun_path, path_.c_str(), path_.size() + 1);
        len = static_cast<socklen_t>(sizeof addr);
    }
    if (::bind(fd_, reinterpret_cast<const sockaddr*>(&addr), len) != 0) {
        ::close(fd_);
        throw std::runtime_error("notify_receiver: bind failed");
    }
    thread_ = std::thread([this] { loop(); });
}

notify_receiver::~notify_receiver() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    ::close(fd_);
    if (!path_.empty()) ::unlink(path_.c_str());
    if (!dir_.empty()) ::rmdir(dir_.c_str());
}

void notify_receiver::loop() {
    char buf[4096];
    while (!stop_) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 20) <= 0) continue;
        const auto n = ::recv(fd_, buf, sizeof buf, 0);
        if (n < 0) continue;
        std::lock_guard lock(mu_);
        messages_.push_back({std::string(buf, static_cast<std::size_t>(n)), clock::now()});
        cv_.notify_all();
    }
}

std::vector<notify_receiver::message> notify_receiver::messages() const {
    std::lock_guard lock(mu_);
    return messages_;
}

std::vector<std::string> notify_receiver::texts() const {
    std::vector<std::string> out;
    for (auto& m : messages()) out.push_back(m.text);
    return out;
}

std::size_t notify_receiver::count(std::string_view prefix) const {
    std::size_t n = 0;
    for (auto& m : messages())
        if (std::string_view(m.text).substr(0, prefix.size()) == prefix) ++n;
    return n;
}

bool notify_receiver::wait_for(const std::function<bool(const std::vector<message>&)>& pred,
                               clock::duration timeout) const {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return pred(messages_); });
}

bool notify_receiver::wait_for_count(std::string_view prefix, std::size_t n,
                                     clock::duration timeout) const {
    return wait_for(
        [&](const std::vector<message>& ms) {
            std::size_t c = 0;
            for (auto& m : ms)
                if (std::string_view(m.text).substr(0, prefix.size()) == prefix) ++c;
            return c >= n;
        },
        timeout);
}

std::size_t find_message(const std::vector<std::string>& texts, std::string_view prefix,
                         std::size_t from) {
    for (std::size_t i = from; i < texts.size(); ++i)
        if (std::string_view(texts[i]).substr(0, prefix.size()) == prefix) return i;
    return std::string::npos;
}

}  // namespace ksync::test
