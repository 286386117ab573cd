#pragma once

// A fake systemd: binds the AF_UNIX datagram socket a test passes as NOTIFY_SOCKET and records
// every message with its arrival time on a background thread (stopped and joined by the
// destructor).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace ksync::test {

class notify_receiver {
public:
    using clock = std::chrono::steady_clock;
    struct message {
        std::string text;
        clock::time_point at;
    };

    // A socket file in a fresh temporary directory, or an abstract "@name" socket.
    explicit notify_receiver(bool abstract = false);
    ~notify_receiver();
    notify_receiver(const notify_receiver&) = delete;
    notify_receiver& operator=(const notify_receiver&) = delete;

    // The NOTIFY_SOCKET value.
    [[nodiscard]] const std::string& address() const { return address_; }

    [[nodiscard]] std::vector<message> messages() const;
    [[nodiscard]] std::vector<std::string> texts() const;
    [[nodiscard]] std::size_t count(std::string_view prefix) const;

    // Waits until `pred` holds for the messages so far; false when `timeout` passes first.
    bool wait_for(const std::function<bool(const std::vector<message>&)>& pred,
                  clock::duration timeout) const;
    bool wait_for_count(std::string_view prefix, std::size_t n, clock::duration timeout) const;

private:
    void loop();

    int fd_ = -1;
    std::string address_;
    std::string dir_;
    std::string path_;
    std::atomic<bool> stop_{false};
    mutable std::mutex mu_;
    mutable std::condition_variable cv_;
    std::vector<message> messages_;
    std::thread thread_;
};

// Index of the first message starting with `prefix` at or after `from`, or npos.
std::size_t find_message(const std::vector<std::string>& texts, std::string_view prefix,
                         std::size_t from = 0);

}  // namespace ksync::test
