#pragma once

// Request pacing for one helpdesk, shared by every caller (sync streams and the push worker):
// at most `max_in_flight` requests at once and `rate_per_second` on average (a token bucket with
// `burst`), and when callers queue, writes go before incremental reads, which go before backfill.
// Kayako runs its cron tasks and mail queue inside every API call (kayako-api.md §2), so keeping
// concurrency low is kindness to the helpdesk, not just to us.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>

namespace ksync::kayako {

enum class request_priority { write = 0, incremental = 1, backfill = 2 };

// Pure token bucket: time is passed in.
class token_bucket {
public:
    using clock = std::chrono::steady_clock;
    token_bucket(double rate_per_second, double burst, clock::time_point now);
    // Takes one token if available; otherwise returns how long until one will be.
    std::optional<clock::duration> take(clock::time_point now);
    [[nodiscard]] double tokens() const noexcept { return tokens_; }

private:
    void refill(clock::time_point now);
    double rate_;
    double burst_;
    double tokens_;
    clock::time_point last_;
};

struct pacer_options {
    int max_in_flight = 2;
    double rate_per_second = 10;
    double burst = 5;
};

class pacer {
public:
    // Returned by acquire(); the in-flight slot is released when it is destroyed.
    class permit {
    public:
        permit() = default;
        permit(permit&& o) noexcept : owner_(std::exchange(o.owner_, nullptr)) {}
        permit& operator=(permit&& o) noexcept;
        ~permit();
        permit(const permit&) = delete;
        permit& operator=(const permit&) = delete;

    private:
        friend class pacer;
        explicit permit(pacer* owner) : owner_(owner) {}
        pacer* owner_ = nullptr;
    };

    pacer(boost::asio::any_io_executor ex, pacer_options opts);
    pacer(const pacer&) = delete;
    pacer& operator=(const pacer&) = delete;

    // Waits for a slot and a token; honours cancellation (the waiter leaves the queue).
    boost::asio::awaitable<permit> acquire(request_priority prio);

    [[nodiscard]] int in_flight() const noexcept { return in_flight_; }
    [[nodiscard]] std::size_t waiting() const noexcept;
    [[nodiscard]] const pacer_options& options() const noexcept { return opts_; }

private:
    struct waiter {
        boost::asio::steady_timer timer;
        bool granted = false;
        explicit waiter(boost::asio::any_io_executor ex) : timer(std::move(ex)) {}
    };

    void release();
    void dispatch();
    void remove(const std::shared_ptr<waiter>& w);

    boost::asio::any_io_executor ex_;
    pacer_options opts_;
    token_bucket bucket_;
    int in_flight_ = 0;
    std::array<std::deque<std::shared_ptr<waiter>>, 3> queues_;
    boost::asio::steady_timer refill_timer_;
    bool refill_armed_ = false;
};

}  // namespace ksync::kayako
