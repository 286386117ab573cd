#include "connectors/kayako/pacer.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

namespace ksync::kayako {

namespace asio = boost::asio;

token_bucket::token_bucket(double rate_per_second, double burst, clock::time_point now)
    : rate_(rate_per_second), burst_(std::max(burst, 1.0)), tokens_(burst_), last_(now) {}

void token_bucket::refill(clock::time_point now) {
    if (now <= last_) return;
    const double elapsed = std::chrono::duration<double>(now - last_).count();
    tokens_ = std::min(burst_, tokens_ + elapsed * rate_);
    last_ = now;
}

std::optional<token_bucket::clock::duration> token_bucket::take(clock::time_point now) {
    refill(now);
    if (tokens_ >= 1.0) {
        tokens_ -= 1.0;
        return std::nullopt;
    }
    if (rate_ <= 0) return std::chrono::hours(24);  // a zero rate never refills
    const double missing = 1.0 - tokens_;
    return std::chrono::duration_cast<clock::duration>(
               std::chrono::duration<double>(missing / rate_)) +
           std::chrono::microseconds(1);
}

pacer::permit& pacer::permit::operator=(permit&& o) noexcept {
    if (this != &o) {
        if (owner_) owner_->release();
        owner_ = std::exchange(o.owner_, nullptr);
    }
    return *this;
}

pacer::permit::~permit() {
    if (owner_) owner_->release();
}

pacer::pacer(asio::any_io_executor ex, pacer_options opts)
    : ex_(ex),
      opts_(opts),
      bucket_(opts.rate_per_second, opts.burst, token_bucket::clock::now()),
      refill_timer_(ex) {}

std::size_t pacer::waiting() const noexcept {
    std::size_t n = 0;
    for (const auto& q : queues_) n += q.size();
    return n;
}

asio::awaitable<pacer::permit> pacer::acquire(request_priority prio) {
    auto w = std::make_shared<waiter>(ex_);
    w->timer.expires_at(asio::steady_timer::time_point::max());
    queues_[static_cast<std::size_t>(prio)].push_back(w);
    dispatch();
    while (!w->granted) {
        auto [ec] = co_await w->timer.async_wait(asio::as_tuple(asio::use_awaitable));
        if (w->granted) break;
        // Woken without a grant: the wait was cancelled from outside (shutdown). Leave the queue.
        (void)ec;
        remove(w);
        throw boost::system::system_error(asio::error::operation_aborted, "pacer wait cancelled");
    }
    co_return permit{this};
}

void pacer::remove(const std::shared_ptr<waiter>& w) {
    for (auto& q : queues_) std::erase(q, w);
}

void pacer::release() {
    --in_flight_;
    dispatch();
}

void pacer::dispatch() {
    while (in_flight_ < opts_.max_in_flight) {
        auto it = std::find_if(queues_.begin(), queues_.end(), [](auto& q) { return !q.empty(); });
        if (it == queues_.end()) return;
        if (auto wait = bucket_.take(token_bucket::clock::now())) {
            // Out of tokens: come back when one has accrued.
            if (!refill_armed_) {
                refill_armed_ = true;
                refill_timer_.expires_after(*wait);
                refill_timer_.async_wait([this](boost::system::error_code ec) {
                    // Aborted only when the pacer is being destroyed: touch nothing.
                    if (ec == asio::error::operation_aborted) return;
                    refill_armed_ = false;
                    dispatch();
                });
            }
            return;
        }
        auto w = it->front();
        it->pop_front();
        ++in_flight_;
        w->granted = true;
        w->timer.cancel();
    }
}

}  // namespace ksync::kayako
