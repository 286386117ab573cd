#pragma once
// The push worker (design.md "Push-back"): drains the outbox into Kayako.
//
// For each claimed row (the claim is committed before anything is sent):
//   update  Get the object, decide every changed column against Kayako's current value (plan.hpp),
//           PUT what is left, compare Kayako's answer with what was sent (a ticket PUT ignores
//           invalid values silently), record the answer in the mirror, the row done, and the
//           local-source feed event, in one transaction.
//   create  if a POST may already have gone out (an earlier claim died, or the outcome was
//           unknown) Kayako is searched for the object first; found: adopted, several: in_doubt,
//           none: POST. A POST with an unknown outcome is never resent blindly.
// Failures: 400/404 are final (failed, Kayako's message kept); anything else goes back to
// pending with a capped backoff, up to max_attempts; an open breaker costs no attempt.
//
// Up to `concurrency` rows are in progress at once (their requests still pass the client's
// pacer: kayako.max_in_flight, requests_per_second). Order is kept where it matters: the claim
// never hands out a change of an object while an earlier one of that object is unfinished, and
// within this worker two rows that share an order key never overlap and go in queue order: an
// update's key is its object; every creation shares one key (creations run one at a time, as
// before: the search for a POST with an unknown outcome must not race another creation), and a
// post or note also takes its ticket's key (a reply and a status change of one ticket keep
// their order).
//
// It wakes on the outbox's NOTIFY channel (a LISTEN connection of its own, on its own thread:
// libpqxx blocks) and sweeps periodically in case a notification was missed. The sweep (held
// rows whose conflicts were decided, failures passed down waits_for chains, intake states) runs
// at the start of drain() and when the sweep interval passes, not on every NOTIFY.
#include "config/config.hpp"
#include "connectors/kayako/client.hpp"
#include "connectors/postgres/connection.hpp"
#include "connectors/postgres/outbox_repository.hpp"

#include <spdlog/logger.h>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace ksync::push {

struct worker_options {
    config::conflict_policy policy = config::conflict_policy::kayako_wins;
    std::chrono::milliseconds sweep_interval{30000};  // 0: only NOTIFY wakes the worker
    int max_attempts = 10;
    std::chrono::seconds lease{600};  // a live session's claim is taken over after this long
    std::size_t batch = 20;           // rows claimed per claim transaction (at least concurrency)
    std::size_t concurrency = 8;      // rows in progress at once
};

struct worker_stats {
    std::uint64_t done = 0, failed = 0, in_doubt = 0, held = 0, retried = 0, adopted = 0;
    std::uint64_t conflicts = 0, wakeups = 0;
};

// The order keys of a row (see above): rows sharing one never run at the same time.
std::vector<std::string> order_keys(const pg::outbox_row& row);

// Which of the waiting rows (their order keys, in queue order) may start now: at most
// `free_slots` of them, each only when none of its keys is held by a running row (`busy`) or by
// an earlier row that is still waiting. Returns their positions, ascending.
std::vector<std::size_t> startable(const std::vector<std::vector<std::string>>& waiting,
                                   const std::set<std::string>& busy, std::size_t free_slots);

// Crash tests: called at "claimed" (claim committed), "searched" (a creation that may have been
// sent before: Kayako searched, nothing found, nothing sent yet), "sent" (Kayako answered, nothing
// recorded yet) and "recorded" (result committed).
using failpoint_fn = std::function<void(std::string_view point)>;

class worker {
public:
    worker(boost::asio::any_io_executor ex, pg::outbox_repository& outbox, kayako::client& kayako,
           worker_options opts, std::shared_ptr<spdlog::logger> log);
    ~worker();
    worker(const worker&) = delete;
    worker& operator=(const worker&) = delete;

    // Starts the LISTEN thread (its own connection) for `channel`.
    void listen(pg::connection_options conn, std::string channel);

    // Runs until cancelled: drain, then wait for a NOTIFY or the sweep interval.
    boost::asio::awaitable<void> run();

    // Sweeps, then processes every row that may go now; returns the number of rows handled.
    boost::asio::awaitable<std::size_t> drain();

    void wake();  // thread-safe
    void set_failpoint(failpoint_fn f) { failpoint_ = std::move(f); }
    [[nodiscard]] const worker_stats& stats() const noexcept { return stats_; }

private:
    struct drain_state;
    // drain(), with or without the sweep first.
    boost::asio::awaitable<std::size_t> drain_pass(bool sweep);
    // Claims and processes rows until none may go; no sweep.
    boost::asio::awaitable<std::size_t> drain_rows();
    void start_ready(const std::shared_ptr<drain_state>& st);
    boost::asio::awaitable<void> process(pg::outbox_row row);
    boost::asio::awaitable<void> process_claimed(pg::outbox_row row);
    // Claims of rows whose processing threw, back to pending (first in every drain; a
    // database still failing throws again and the run loop waits).
    boost::asio::awaitable<void> give_back_unfinished();
    boost::asio::awaitable<void> process_update(pg::outbox_row row);
    boost::asio::awaitable<void> process_create(pg::outbox_row row);
    boost::asio::awaitable<void> handle_error(pg::outbox_row row, std::exception_ptr e,
                                              bool maybe_sent_if_unknown, bool maybe_sent_before);
    // Records a row's result. Group commit: the results of rows that finish while a record
    // transaction is under way are written together in the next one (complete_all).
    boost::asio::awaitable<void> record(pg::outbox_row row, pg::push_result result);
    struct pending_record;
    boost::asio::awaitable<void> write_records();
    void failpoint(std::string_view point) const {
        if (failpoint_) failpoint_(point);
    }
    void listen_loop(pg::connection_options conn, std::string channel);

    // What a search for an already-created object found.
    struct search_result {
        enum class kind { none, one, several } what = kind::none;
        std::int64_t id = 0;
        pg::push_result found;  // for kind::one: the mirror rows and ids to record
        std::size_t matches = 0;
    };
    boost::asio::awaitable<search_result> search_created(const pg::outbox_row& row);

    boost::asio::any_io_executor ex_;
    pg::outbox_repository& outbox_;
    kayako::client& kayako_;
    worker_options opts_;
    std::shared_ptr<spdlog::logger> log_;
    boost::asio::steady_timer timer_;
    std::atomic<bool> woken_{false};
    bool sweep_again_ = false;  // a creation failed or was rescheduled: sweep at the end
    std::deque<std::shared_ptr<pending_record>> to_record_;  // results waiting for a transaction
    bool recording_ = false;                                 // a record transaction is under way
    std::atomic<bool> stop_listen_{false};
    std::thread listener_;
    failpoint_fn failpoint_;
    worker_stats stats_;
    std::vector<pg::outbox_row> unfinished_;  // claimed here, processing threw
};

}  // namespace ksync::push
