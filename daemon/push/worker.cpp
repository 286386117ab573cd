#include "daemon/push/worker.hpp"

#include "connectors/kayako/errors.hpp"
#include "connectors/postgres/row_mapping.hpp"
#include "daemon/push/fields.hpp"
#include "daemon/push/plan.hpp"
#include "daemon/push/requests.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>

#include <pqxx/pqxx>

#include <algorithm>
#include <cctype>
#include <deque>
#include <iterator>
#include <list>
#include <set>

namespace ksync::push {

namespace asio = boost::asio;
namespace json = boost::json;
using pg::entity;

namespace {

enum class failure { rejected, unknown_outcome, breaker_open, auth, transient };

struct classified {
    failure kind = failure::transient;
    std::string message;
    std::chrono::milliseconds delay{0};
};

classified classify(std::exception_ptr e) {
    try {
        std::rethrow_exception(e);
    } catch (const kayako::circuit_open_error& x) {
        const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(
            x.retry_at() - kayako::circuit_breaker::clock::now());
        return {failure::breaker_open, x.what(), std::max(wait, std::chrono::milliseconds(1000))};
    } catch (const kayako::outcome_unknown& x) {
        return {failure::unknown_outcome, x.what(), {}};
    } catch (const kayako::kayako_error& x) {
        const int s = x.http_status();
        const std::string msg =
            x.server_message().empty() ? std::string(x.what()) : x.server_message();
        if (s == 400 || s == 404) return {failure::rejected, msg, {}};
        if (s == 401 || s == 403) return {failure::auth, msg, std::chrono::seconds(60)};
        return {failure::transient, x.what(), {}};
    } catch (const std::invalid_argument& x) {
        return {failure::rejected, std::string("cannot build the request: ") + x.what(), {}};
    } catch (const std::exception& x) {
        return {failure::transient, x.what(), {}};
    } catch (...) {
        return {failure::transient, "unknown error", {}};
    }
}

std::chrono::milliseconds backoff(int attempts) {
    const int n = std::clamp(attempts - 1, 0, 9);
    return std::min<std::chrono::milliseconds>(std::chrono::seconds(1) * (1 << n),
                                               std::chrono::minutes(5));
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

template <class R>
std::pair<entity, std::vector<pg::mapped_row>> rows_of(const std::vector<R>& records) {
    std::vector<pg::mapped_row> out;
    for (const auto& r : records) pg::map_record(r, out);
    return {pg::record_entity<R>::value, std::move(out)};
}

template <class R>
std::vector<R> one(const R& r) {
    std::vector<R> v;
    v.push_back(r);
    return v;
}

// A created or fetched ticket: its row and its posts (Get, POST and PUT answers carry them).
std::vector<std::pair<entity, std::vector<pg::mapped_row>>> ticket_rows(const kayako::ticket& t,
                                                                        bool with_posts) {
    std::vector<std::pair<entity, std::vector<pg::mapped_row>>> out;
    out.push_back(rows_of(one(t)));
    if (with_posts && t.posts && !t.posts->empty()) out.push_back(rows_of(*t.posts));
    return out;
}

// (Built outside the coroutines: g++ 12 mishandles braced lists inside coroutine bodies.)
std::string sent_result(const field_values& sent, const std::vector<std::string>& ignored) {
    json::object o;
    json::object fields;
    for (const auto& [k, x] : sent) fields[k] = x;
    o["sent"] = std::move(fields);
    json::array a;
    for (const auto& c : ignored) a.emplace_back(c);
    o["ignored"] = std::move(a);
    return json::serialize(o);
}

std::string id_result(std::int64_t id, bool adopted) {
    json::object o;
    o["id"] = id;
    if (adopted) o["adopted"] = true;
    return json::serialize(o);
}

pg::conflict_record conflict_row(const conflict& k) {
    pg::conflict_record r;
    r.column = k.column;
    r.base = json::serialize(k.base);
    r.local = json::serialize(k.local);
    r.remote = json::serialize(k.remote);
    r.resolution = to_string(k.decided);
    return r;
}

std::string ignored_text(const std::vector<std::string>& ignored, const field_values& sent,
                         const field_values& returned) {
    std::string what;
    for (const auto& c : ignored)
        what += (what.empty() ? "" : ", ") + c + " (sent " + show(sent.at(c)) + ", Kayako kept " +
                show(returned.at(c)) + ")";
    return "Kayako ignored " + what;
}

pg::push_result failed(std::string error, bool revert) {
    pg::push_result r;
    r.final_state = "failed";
    r.error = std::move(error);
    r.revert_edit = revert;
    r.source = pg::change_source::kayako;
    return r;
}

const char* policy_name(config::conflict_policy p) {
    switch (p) {
        case config::conflict_policy::kayako_wins:
            return "kayako_wins";
        case config::conflict_policy::local_wins:
            return "local_wins";
        case config::conflict_policy::manual:
            return "manual";
    }
    return "kayako_wins";
}

}  // namespace

worker::worker(asio::any_io_executor ex, pg::outbox_repository& outbox, kayako::client& kayako,
               worker_options opts, std::shared_ptr<spdlog::logger> log)
    : ex_(ex), outbox_(outbox), kayako_(kayako), opts_(opts), log_(std::move(log)), timer_(ex) {}

worker::~worker() {
    stop_listen_ = true;
    if (listener_.joinable()) listener_.join();
}

void worker::wake() {
    woken_ = true;
    asio::post(ex_, [this] { timer_.cancel(); });
}

void worker::listen(pg::connection_options conn, std::string channel) {
    listener_ = std::thread([this, conn = std::move(conn), channel = std::move(channel)] {
        listen_loop(conn, channel);
    });
}

void worker::listen_loop(pg::connection_options conn, std::string channel) {
    struct receiver : pqxx::notification_receiver {
        receiver(pqxx::connection_base& c, const std::string& ch, worker* w)
            : pqxx::notification_receiver(c, ch), w_(w) {}
        void operator()(const std::string&, int) override { w_->wake(); }
        worker* w_;
    };
    bool warned = false;
    while (!stop_listen_) {
        try {
            std::string info = pg::full_conninfo(conn);
            pqxx::connection c{info};
            std::fill(info.begin(), info.end(), '\0');
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
            c.inhibit_reactivation(true);  // a silent reconnect would drop the LISTEN
#pragma GCC diagnostic pop
            receiver r{c, channel, this};
            if (warned) log_->info("outbox LISTEN connection is back");
            warned = false;
            wake();  // whatever was queued while nobody listened
            while (!stop_listen_) c.await_notification(1, 0);
        } catch (const std::exception& e) {
            if (!warned)
                log_->warn("outbox LISTEN connection failed: {}; retrying every 2 s", e.what());
            warned = true;
            for (int i = 0; i < 20 && !stop_listen_; ++i)
                std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
    }
}

asio::awaitable<void> worker::run() {
    log_->info("push worker started (conflict policy {}, sweep every {} ms, {} rows at once)",
               policy_name(opts_.policy), opts_.sweep_interval.count(), opts_.concurrency);
    // The sweep runs on the first pass, after an error and once per sweep interval; a NOTIFY
    // wake-up only drains.
    auto last_sweep = std::chrono::steady_clock::time_point::min();
    for (;;) {
        woken_ = false;
        std::size_t handled = 0;
        std::exception_ptr err;
        const auto now = std::chrono::steady_clock::now();
        const bool sweep = last_sweep == std::chrono::steady_clock::time_point::min() ||
                           now - last_sweep >= opts_.sweep_interval;
        try {
            handled = co_await drain_pass(sweep);
        } catch (const boost::system::system_error& e) {
            if (e.code() == asio::error::operation_aborted) throw;
            err = std::current_exception();
        } catch (const std::exception&) {
            err = std::current_exception();
        }
        if (sweep) last_sweep = now;
        if (err) {
            try {
                std::rethrow_exception(err);
            } catch (const std::exception& e) {
                log_->warn("push worker: {}; trying again in 5 s", e.what());
            }
            last_sweep = std::chrono::steady_clock::time_point::min();
            timer_.expires_after(std::chrono::seconds(5));
        } else if (woken_) {
            continue;  // a NOTIFY arrived while draining
        } else {
            timer_.expires_after(opts_.sweep_interval.count() > 0 ? opts_.sweep_interval
                                                                  : std::chrono::hours(24));
        }
        if (handled > 0) log_->debug("push worker: {} rows handled", handled);
        (void)co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
        const auto cs = co_await asio::this_coro::cancellation_state;
        if (cs.cancelled() != asio::cancellation_type::none) co_return;
        ++stats_.wakeups;
    }
}

asio::awaitable<std::size_t> worker::drain() {
    co_return co_await drain_pass(true);
}

asio::awaitable<std::size_t> worker::drain_pass(bool sweep) {
    co_await give_back_unfinished();
    if (sweep) (void)co_await outbox_.sweep();
    sweep_again_ = false;
    std::size_t handled = co_await drain_rows();
    // A creation that failed or went back to pending: its waiting rows fail and its intake row
    // shows the state now, not at the next sweep (and rows the sweep freed go in this pass).
    while (sweep_again_) {
        sweep_again_ = false;
        if (co_await outbox_.sweep() == 0) break;
        handled += co_await drain_rows();
    }
    co_return handled;
}

// ---- concurrent processing ------------------------------------------------------------------

struct worker::drain_state {
    explicit drain_state(asio::any_io_executor ex) : changed(std::move(ex)) {}
    std::deque<pg::outbox_row> queued;  // claimed, not started yet, in claim (id) order
    std::set<std::string> busy;         // order keys of the running rows (never shared)
    std::size_t running = 0;
    std::size_t finished = 0;                      // rows ended since the drain loop last looked
    std::exception_ptr error;                      // the first row that threw (a database failure)
    asio::steady_timer changed;                    // cancelled whenever a row ends
    std::list<asio::cancellation_signal> signals;  // one per running row
};

std::vector<std::string> order_keys(const pg::outbox_row& row) {
    std::vector<std::string> keys;
    if (row.operation == "update") {
        keys.push_back(row.entity + ":" + (row.object_id ? std::to_string(*row.object_id) : "?"));
        return keys;
    }
    keys.emplace_back("create");
    if (row.entity == "posts" || row.entity == "notes") {
        std::optional<kayako::id_t> ticket;
        try {
            ticket = intake_target_ticket(parse_object(row.new_values), nullptr);
        } catch (const std::exception&) {
            ticket.reset();  // unreadable: it fails on its own, in the creation lane
        }
        if (ticket) keys.push_back("tickets:" + std::to_string(*ticket));
    }
    return keys;
}

std::vector<std::size_t> startable(const std::vector<std::vector<std::string>>& waiting,
                                   const std::set<std::string>& busy, std::size_t free_slots) {
    std::vector<std::size_t> out;
    std::set<std::string> blocked = busy;
    for (std::size_t i = 0; i < waiting.size() && out.size() < free_slots; ++i) {
        const auto& keys = waiting[i];
        const bool free = std::none_of(keys.begin(), keys.end(),
                                       [&blocked](const auto& k) { return blocked.count(k) > 0; });
        // Started or not, later rows with these keys wait behind this one.
        for (const auto& k : keys) blocked.insert(k);
        if (free) out.push_back(i);
    }
    return out;
}

void worker::start_ready(const std::shared_ptr<drain_state>& st) {
    const std::size_t limit = std::max<std::size_t>(1, opts_.concurrency);
    if (st->running >= limit || st->queued.empty()) return;
    std::vector<std::vector<std::string>> waiting;
    waiting.reserve(st->queued.size());
    for (const auto& r : st->queued) waiting.push_back(order_keys(r));
    const auto go = startable(waiting, st->busy, limit - st->running);
    // Taken out back to front so the positions stay valid; started front to back (queue order).
    std::vector<pg::outbox_row> rows(go.size());
    for (std::size_t j = go.size(); j-- > 0;) {
        rows[j] = std::move(st->queued[go[j]]);
        st->queued.erase(st->queued.begin() + static_cast<std::ptrdiff_t>(go[j]));
    }
    for (std::size_t j = 0; j < go.size(); ++j) {
        auto keys = std::move(waiting[go[j]]);
        for (const auto& k : keys) st->busy.insert(k);
        ++st->running;
        auto sig = st->signals.emplace(st->signals.end());
        auto done = [st, sig, keys](std::exception_ptr e) {
            for (const auto& k : keys) st->busy.erase(k);
            st->signals.erase(sig);
            --st->running;
            ++st->finished;
            if (e && !st->error) st->error = e;
            st->changed.cancel();
        };
        asio::co_spawn(ex_, process(std::move(rows[j])),
                       asio::bind_cancellation_slot(sig->slot(), std::move(done)));
    }
}

asio::awaitable<std::size_t> worker::drain_rows() {
    const std::size_t limit = std::max<std::size_t>(1, opts_.concurrency);
    const std::size_t want = std::max(opts_.batch, limit);
    auto st = std::make_shared<drain_state>(ex_);
    std::size_t handled = 0;
    bool more = true;  // rows may be waiting to be claimed
    bool cancelled = false;
    for (;;) {
        // Claim when few claimed rows wait (a claim is one transaction for up to `want` rows).
        if (more && !st->error && st->queued.size() < limit) {
            std::vector<pg::outbox_row> rows;
            std::exception_ptr err;
            try {
                rows = co_await outbox_.claim(want, opts_.lease);
            } catch (...) {
                err = std::current_exception();
            }
            if (err) {
                st->error = err;
            } else {
                more = rows.size() >= want;
                if (!rows.empty()) failpoint("claimed");
                for (auto& r : rows) st->queued.push_back(std::move(r));
            }
        }
        {
            const auto cs = co_await asio::this_coro::cancellation_state;
            if (cs.cancelled() != asio::cancellation_type::none) {
                cancelled = true;
                break;
            }
        }
        if (!st->error) start_ready(st);
        if (st->running == 0) {
            // (With nothing running, the first queued row can always start.)
            if (st->error || (st->queued.empty() && !more)) break;
            continue;  // claim again
        }
        if (st->finished == 0) {
            st->changed.expires_at(asio::steady_timer::time_point::max());
            bool aborted = false;
            try {
                auto [ec] = co_await st->changed.async_wait(asio::as_tuple(asio::use_awaitable));
                (void)ec;  // cancelled: a row ended, or this drain is being cancelled
            } catch (const boost::system::system_error&) {
                aborted = true;  // the coroutine was cancelled before the wait began
            }
            const auto cs = co_await asio::this_coro::cancellation_state;
            if (aborted || cs.cancelled() != asio::cancellation_type::none) {
                cancelled = true;
                break;
            }
        }
        if (st->finished > 0) more = true;  // a finished row may have unblocked later ones
        handled += st->finished;
        st->finished = 0;
    }

    // Leaving early (cancelled, or a row threw): the running rows use this worker, so they are
    // waited for; on cancellation they are cancelled too (they stop at their next co_await, as
    // the serial worker did). Claimed rows that never started are given back at once.
    if (cancelled) {
        for (auto& s : st->signals) s.emit(asio::cancellation_type::terminal);
        co_await asio::this_coro::reset_cancellation_state();  // or every wait below aborts
    }
    while (st->running > 0) {
        st->changed.expires_at(asio::steady_timer::time_point::max());
        bool aborted = false;
        try {
            auto [ec] = co_await st->changed.async_wait(asio::as_tuple(asio::use_awaitable));
            (void)ec;
        } catch (const boost::system::system_error&) {
            aborted = true;
        }
        const auto cs = co_await asio::this_coro::cancellation_state;
        if (aborted || cs.cancelled() != asio::cancellation_type::none) {
            cancelled = true;
            for (auto& s : st->signals) s.emit(asio::cancellation_type::terminal);
            co_await asio::this_coro::reset_cancellation_state();
        }
    }
    handled += st->finished;
    if (!st->queued.empty()) {
        std::vector<pg::outbox_row> unstarted(std::make_move_iterator(st->queued.begin()),
                                              std::make_move_iterator(st->queued.end()));
        st->queued.clear();
        std::exception_ptr ignored;
        try {
            co_await outbox_.release(std::move(unstarted));
        } catch (...) {
            ignored = std::current_exception();  // the claims expire with the session or lease
        }
        if (ignored) log_->debug("push worker: could not give back unstarted claims");
    }
    if (cancelled) throw boost::system::system_error(asio::error::operation_aborted);
    if (st->error) std::rethrow_exception(st->error);
    co_return handled;
}

// A row whose processing threw (the database refused its result: a full disk, a lost
// connection) is still claimed by this live session, and a claim is only taken over once its
// session is gone or its lease (10 min) has passed: it is given back at the next drain instead.
asio::awaitable<void> worker::process(pg::outbox_row row) {
    const pg::outbox_row claimed = row;
    std::exception_ptr failure;
    try {
        co_await process_claimed(std::move(row));
    } catch (const boost::system::system_error& e) {
        if (e.code() == asio::error::operation_aborted) throw;  // shutdown: the session ends
        failure = std::current_exception();
    } catch (...) {
        failure = std::current_exception();
    }
    if (failure) {
        unfinished_.push_back(claimed);
        std::rethrow_exception(failure);
    }
}

asio::awaitable<void> worker::give_back_unfinished() {
    while (!unfinished_.empty()) {
        const auto row = unfinished_.back();  // a copy: the vector may grow meanwhile
        // A started creation may have reached Kayako: its next attempt searches first.
        co_await outbox_.reschedule(row, std::chrono::milliseconds(0),
                                    "its outcome could not be recorded; tried again",
                                    row.maybe_sent || row.operation == "create", true);
        log_->info("outbox row {}: claim given back after a failure", row.id);
        std::erase_if(unfinished_, [&row](const pg::outbox_row& r) { return r.id == row.id; });
    }
}

asio::awaitable<void> worker::process_claimed(pg::outbox_row row) {
    log_->debug("outbox row {}: {} {} (attempt {})", row.id, row.operation, row.entity,
                row.attempts);
    // Creations change intake states and may fail waiting rows: sweep after this pass.
    if (row.operation != "update") sweep_again_ = true;
    if (row.operation == "update")
        co_await process_update(std::move(row));
    else if (row.operation == "create")
        co_await process_create(std::move(row));
    else
        co_await record(row, failed("operation " + row.operation + " is not pushed", false));
}

struct worker::pending_record {
    explicit pending_record(asio::any_io_executor ex) : timer(std::move(ex)) {}
    pg::outbox_row row;
    pg::push_result result;
    bool done = false;  // written (or failed to be)
    bool mine = false;  // the claim was still ours
    std::exception_ptr error;
    asio::steady_timer timer;  // cancelled when done
};

namespace {

// Clears a flag when a coroutine leaves its scope, however it leaves.
class flag_guard {
public:
    explicit flag_guard(bool& flag) : flag_(flag) { flag_ = true; }
    ~flag_guard() { flag_ = false; }
    flag_guard(const flag_guard&) = delete;
    flag_guard& operator=(const flag_guard&) = delete;

private:
    bool& flag_;
};

constexpr std::size_t max_record_group = 64;

bool is_cancellation(std::exception_ptr e) {
    try {
        std::rethrow_exception(e);
    } catch (const boost::system::system_error& x) {
        return x.code() == asio::error::operation_aborted;
    } catch (...) {
        return false;
    }
}

}  // namespace

asio::awaitable<void> worker::write_records() {
    flag_guard busy(recording_);
    while (!to_record_.empty()) {
        std::vector<std::shared_ptr<pending_record>> group;
        while (!to_record_.empty() && group.size() < max_record_group) {
            group.push_back(to_record_.front());
            to_record_.pop_front();
        }
        std::vector<pg::outbox_repository::completion> items;
        items.reserve(group.size());
        for (const auto& r : group) items.emplace_back(r->row, r->result);
        std::vector<bool> mine;
        std::exception_ptr err;
        try {
            mine = co_await outbox_.complete_all(std::move(items));
        } catch (...) {
            err = std::current_exception();
        }
        if (err && group.size() > 1 && !is_cancellation(err)) {
            // One result that cannot be written must not take the others with it: each alone.
            log_->warn("push worker: recording {} results together failed; one by one",
                       group.size());
            for (auto& r : group) {
                std::exception_ptr one;
                bool m = false;
                try {
                    m = co_await outbox_.complete(r->row, r->result);
                } catch (...) {
                    one = std::current_exception();
                }
                r->mine = m;
                r->error = one;
            }
        } else {
            for (std::size_t i = 0; i < group.size(); ++i) {
                group[i]->mine = !err && mine.at(i);
                group[i]->error = err;
            }
        }
        for (auto& r : group) {
            r->done = true;
            r->timer.cancel();
        }
    }
}

asio::awaitable<void> worker::record(pg::outbox_row row, pg::push_result result) {
    const auto state = result.final_state;
    const auto error = result.error;
    auto rec = std::make_shared<pending_record>(ex_);
    rec->row = row;
    rec->result = std::move(result);
    to_record_.push_back(rec);
    // Whoever finds no record transaction under way writes every result queued so far (its own
    // included); the others wait for theirs.
    while (!rec->done) {
        if (!recording_) {
            co_await write_records();
            continue;
        }
        rec->timer.expires_at(asio::steady_timer::time_point::max());
        (void)co_await rec->timer.async_wait(asio::as_tuple(asio::use_awaitable));
        const auto cs = co_await asio::this_coro::cancellation_state;
        if (cs.cancelled() != asio::cancellation_type::none)
            throw boost::system::system_error(asio::error::operation_aborted);
    }
    if (rec->error) std::rethrow_exception(rec->error);
    const bool mine = rec->mine;
    if (!mine) {
        log_->warn("outbox row {}: the claim was taken over meanwhile; its result is not recorded",
                   row.id);
        co_return;
    }
    failpoint("recorded");
    if (state == "done") {
        ++stats_.done;
        log_->info("outbox row {}: {} {} done", row.id, row.operation, row.entity);
    } else if (state == "failed") {
        ++stats_.failed;
        log_->warn("outbox row {}: {} {} failed: {}", row.id, row.operation, row.entity, error);
    } else if (state == "in_doubt") {
        ++stats_.in_doubt;
        log_->warn("outbox row {}: {} {} in doubt: {}", row.id, row.operation, row.entity, error);
    } else if (state == "held") {
        ++stats_.held;
        log_->warn("outbox row {}: held: {}", row.id, error);
    }
}

// ---- updates --------------------------------------------------------------------------------

asio::awaitable<void> worker::process_update(pg::outbox_row row) {
    const auto e = pg::entity_from_name(row.entity);
    if (!e || writable_fields(*e).empty() || !row.object_id) {
        co_await record(row, failed("updates of " + row.entity + " are not pushed", true));
        co_return;
    }
    field_values base, local;
    try {
        base = parse_values(*e, row.old_values);
        local = parse_values(*e, row.new_values);
    } catch (const std::exception& x) {
        // Not co_awaited here: no co_await inside a handler.
        base.clear();
        local.clear();
        log_->error("outbox row {}: unreadable values: {}", row.id, x.what());
    }
    if (local.empty()) {
        co_await record(row, failed("the queued values cannot be read", true));
        co_return;
    }
    const auto id = *row.object_id;

    // Kayako's current object: the third side of every decision.
    field_values remote;
    std::optional<kayako::ticket> cur_ticket;
    std::optional<kayako::user> cur_user;
    std::optional<kayako::organization> cur_org;
    bool gone = false;
    std::exception_ptr err;
    try {
        if (*e == entity::tickets) {
            cur_ticket = co_await kayako_.get_ticket(id, kayako::request_priority::write);
            gone = !cur_ticket;
            if (cur_ticket) remote = remote_values(*cur_ticket);
        } else if (*e == entity::users) {
            cur_user = co_await kayako_.get_user(id);
            gone = !cur_user;
            if (cur_user) remote = remote_values(*cur_user);
        } else {
            cur_org = co_await kayako_.get_organization(id);
            gone = !cur_org;
            if (cur_org) remote = remote_values(*cur_org);
        }
    } catch (...) {
        err = std::current_exception();
    }
    if (err) {
        co_await handle_error(row, err, false, false);
        co_return;
    }
    if (gone) {
        co_await record(
            row,
            failed(row.entity + " " + std::to_string(id) + " no longer exists in Kayako", true));
        co_return;
    }

    // Decisions recorded before (a held row, or one that conflicted on an earlier attempt);
    // the claim says whether there are any, so most rows skip this read.
    std::map<std::string, resolution> decided;
    if (row.has_conflicts) {
        const auto recorded = co_await outbox_.decisions(row.id);
        for (const auto& [column, r] : recorded)
            if (auto res = resolution_from(r)) decided[column] = *res;
    }
    update_plan plan;
    try {
        plan = plan_update(*e, row.changed_columns, base, local, remote, decided, opts_.policy);
    } catch (const std::exception& x) {
        plan.hold = false;
        plan.send.clear();
        plan.conflicts.clear();
        log_->error("outbox row {}: {}", row.id, x.what());
        err = std::current_exception();
    }
    if (err) {
        co_await record(row, failed("cannot plan the update", true));
        co_return;
    }

    pg::push_result result;
    result.policy = policy_name(opts_.policy);
    for (const auto& k : plan.conflicts) {
        if (decided.count(k.column)) continue;  // recorded before (a manual one still pending)
        result.conflicts.push_back(conflict_row(k));
        ++stats_.conflicts;
        log_->warn("conflict on {} {} column {}: base {}, local {}, Kayako {}; {}", row.entity, id,
                   k.column, show(k.base), show(k.local), show(k.remote),
                   k.decided == resolution::pending ? "held for a decision"
                                                    : std::string(to_string(k.decided)) + " wins");
    }
    if (plan.hold) {
        result.final_state = "held";
        std::string cols;
        for (const auto& k : plan.conflicts) cols += (cols.empty() ? "" : ", ") + k.column;
        result.error = "conflict on " + cols +
                       ": set conflicts.resolution to 'kayako' or 'local' to release it";
        co_await record(row, std::move(result));
        co_return;
    }
    if (!plan.needs_put()) {
        // Nothing left to send (already there, or Kayako's side won): the mirror gets Kayako's
        // object back, and the feed sees only Kayako's own changes.
        result.revert_edit = true;
        result.source = pg::change_source::kayako;
        if (cur_ticket) result.mirror_rows = ticket_rows(*cur_ticket, false);
        if (cur_user) result.mirror_rows.push_back(rows_of(one(*cur_user)));
        if (cur_org) result.mirror_rows.push_back(rows_of(one(*cur_org)));
        result.result_json = sent_result(field_values(), std::vector<std::string>());
        co_await record(row, std::move(result));
        co_return;
    }

    field_values returned;
    std::optional<kayako::ticket> new_ticket;
    std::optional<kayako::user> new_user;
    std::optional<kayako::organization> new_org;
    try {
        if (*e == entity::tickets) {
            new_ticket = co_await kayako_.update_ticket(id, to_ticket_update(plan.send));
            returned = remote_values(*new_ticket);
        } else if (*e == entity::users) {
            new_user = co_await kayako_.update_user(id, to_user_update(plan.send));
            returned = remote_values(*new_user);
        } else {
            new_org = co_await kayako_.update_organization(id, to_organization_fields(plan.send));
            returned = remote_values(*new_org);
        }
    } catch (...) {
        err = std::current_exception();
    }
    if (err) {
        co_await handle_error(row, err, false, false);
        co_return;
    }
    failpoint("sent");

    const auto ignored = ignored_columns(plan.send, returned, row.changed_columns);
    result.revert_edit = true;
    result.source = pg::change_source::local;
    if (new_ticket) result.mirror_rows = ticket_rows(*new_ticket, false);
    if (new_user) result.mirror_rows.push_back(rows_of(one(*new_user)));
    if (new_org) result.mirror_rows.push_back(rows_of(one(*new_org)));
    result.result_json = sent_result(plan.send, ignored);
    if (!ignored.empty()) {
        result.final_state = "failed";
        result.error = ignored_text(ignored, plan.send, returned);
    }
    co_await record(row, std::move(result));
}

// ---- creations ------------------------------------------------------------------------------

asio::awaitable<worker::search_result> worker::search_created(const pg::outbox_row& row) {
    search_result out;
    const auto intake = parse_object(row.new_values);
    // Kayako ids only grow: what this row created has an id above the floor taken at its first
    // claim (clocks are not compared: Kayako's may be off).
    const std::int64_t floor = row.search_floor;
    std::set<std::int64_t> adopted;
    for (auto id : co_await outbox_.adopted_ids(row.entity)) adopted.insert(id);

    auto found_one = [&out](std::int64_t id) {
        out.what = search_result::kind::one;
        out.id = id;
        ++out.matches;
    };

    if (row.entity == "tickets") {
        const auto want = ticket_from_intake(intake);
        kayako::ticket_list_query q;
        q.departments.push_back(want.departmentid);
        for (auto s : co_await outbox_.mirror_ids("ticket_statuses")) q.statuses.push_back(s);
        if (std::find(q.statuses.begin(), q.statuses.end(), want.ticketstatusid) ==
            q.statuses.end())
            q.statuses.push_back(want.ticketstatusid);
        q.count = 100;
        q.sortfield = "ticketid";
        q.descending = true;
        for (int pages = 0; pages < 50; ++pages) {
            const auto page = co_await kayako_.list_tickets(q, kayako::request_priority::write);
            bool below = page.records.empty();
            for (const auto& t : page.records) {
                if (t.id <= floor) {
                    below = true;
                    continue;
                }
                if (adopted.count(t.id)) continue;
                if (lower(t.email) != lower(want.email) || t.subject != want.subject) continue;
                const auto full =
                    co_await kayako_.get_ticket(t.id, kayako::request_priority::write);
                if (!full || !full->posts || full->posts->empty()) continue;
                const auto first =
                    std::min_element(full->posts->begin(), full->posts->end(),
                                     [](const auto& a, const auto& b) { return a.id < b.id; });
                if (first->contents != want.contents) continue;
                found_one(t.id);
                out.found.mirror_rows = ticket_rows(*full, true);
            }
            if (below || static_cast<int>(page.records.size()) < q.count) break;
            q.start += q.count;
        }
    } else if (row.entity == "posts" || row.entity == "notes") {
        std::optional<std::int64_t> intake_ticket;
        auto ticket_id = intake_target_ticket(intake, &intake_ticket);
        if (!ticket_id && intake_ticket)
            ticket_id = co_await outbox_.intake_ticket_kayako_id(*intake_ticket);
        if (!ticket_id) throw std::runtime_error("the post's ticket has no Kayako id yet");
        const std::string contents(intake.at("contents").as_string());
        if (row.entity == "posts") {
            const auto full =
                co_await kayako_.get_ticket(*ticket_id, kayako::request_priority::write);
            if (full && full->posts)
                for (const auto& p : *full->posts) {
                    if (p.id <= floor || adopted.count(p.id) || p.contents != contents) continue;
                    found_one(p.id);
                    out.found.mirror_rows.clear();
                    out.found.mirror_rows.push_back(rows_of(one(p)));
                }
        } else {
            const auto notes =
                co_await kayako_.list_notes(*ticket_id, kayako::request_priority::write);
            for (const auto& n : notes.records) {
                if (n.id <= floor || adopted.count(n.id) || n.contents != contents) continue;
                found_one(n.id);
                out.found.mirror_rows.clear();
                out.found.mirror_rows.push_back(rows_of(one(n)));
            }
        }
    } else if (row.entity == "users") {
        std::set<std::string> emails;
        for (const auto& e : intake.at("emails").as_array())
            emails.insert(lower(std::string(e.as_string())));
        std::int64_t marker = floor + 1;
        for (int pages = 0; pages < 50; ++pages) {
            const auto page =
                co_await kayako_.filter_users(marker, 1000, kayako::request_priority::write);
            for (const auto& u : page.records) {
                if (adopted.count(u.id)) continue;
                const bool match =
                    std::any_of(u.emails.begin(), u.emails.end(),
                                [&](const auto& m) { return emails.count(lower(m)) > 0; });
                if (!match) continue;
                found_one(u.id);
                out.found.mirror_rows.clear();
                out.found.mirror_rows.push_back(rows_of(one(u)));
            }
            if (page.records.size() < 1000) break;
            marker = page.records.back().id + 1;
        }
    } else if (row.entity == "organizations") {
        const std::string name(intake.at("name").as_string());
        const auto page = co_await kayako_.list_organizations();
        for (const auto& o : page.records) {
            if (o.id <= floor || adopted.count(o.id) || o.name != name) continue;
            found_one(o.id);
            out.found.mirror_rows.clear();
            out.found.mirror_rows.push_back(rows_of(one(o)));
        }
    }
    if (out.matches > 1) out.what = search_result::kind::several;
    co_return out;
}

asio::awaitable<void> worker::process_create(pg::outbox_row row) {
    bool maybe_sent = row.maybe_sent;
    std::exception_ptr err;
    if (maybe_sent) {
        // An earlier POST of this row may have reached Kayako: look before sending again.
        search_result found;
        try {
            found = co_await search_created(row);
        } catch (...) {
            err = std::current_exception();
        }
        if (err) {
            const auto c = classify(err);
            co_await outbox_.reschedule(
                row, c.kind == failure::breaker_open ? c.delay : backoff(row.attempts),
                "searching Kayako for an earlier POST: " + c.message, true,
                c.kind != failure::breaker_open);
            ++stats_.retried;
            co_return;
        }
        if (found.what == search_result::kind::several) {
            pg::push_result r;
            r.final_state = "in_doubt";
            r.error = std::to_string(found.matches) + " objects in Kayako match this " +
                      row.entity +
                      " creation; check them, then `kayako-sync outbox discard` or `retry` it";
            co_await record(row, std::move(r));
            co_return;
        }
        if (found.what == search_result::kind::one) {
            pg::push_result r = std::move(found.found);
            r.remote_id = found.id;
            r.source = pg::change_source::local;
            r.result_json = id_result(found.id, true);
            ++stats_.adopted;
            log_->info("outbox row {}: the earlier POST had created {} {}: adopted, not resent",
                       row.id, row.entity, found.id);
            co_await record(row, std::move(r));
            co_return;
        }
        maybe_sent = false;  // nothing there: the earlier POST never took effect
        failpoint("searched");
    }

    pg::push_result result;
    result.source = pg::change_source::local;
    try {
        const auto intake = parse_object(row.new_values);
        if (row.entity == "tickets") {
            const auto t = co_await kayako_.create_ticket(ticket_from_intake(intake));
            failpoint("sent");
            result.remote_id = t.id;
            result.mirror_rows = ticket_rows(t, true);
        } else if (row.entity == "posts" || row.entity == "notes") {
            std::optional<std::int64_t> intake_ticket;
            auto ticket_id = intake_target_ticket(intake, &intake_ticket);
            if (!ticket_id && intake_ticket)
                ticket_id = co_await outbox_.intake_ticket_kayako_id(*intake_ticket);
            if (!ticket_id) throw std::invalid_argument("the ticket of this row has no Kayako id");
            if (row.entity == "posts") {
                const auto p = co_await kayako_.create_post(post_from_intake(intake, *ticket_id));
                failpoint("sent");
                result.remote_id = p.id;
                result.mirror_rows.push_back(rows_of(one(p)));
            } else {
                const auto n = co_await kayako_.create_note(note_from_intake(intake, *ticket_id));
                failpoint("sent");
                result.remote_id = n.id;
                result.mirror_rows.push_back(rows_of(one(n)));
            }
        } else if (row.entity == "users") {
            ksync::secret password{co_await outbox_.intake_user_password(*row.intake_id)};
            const auto u =
                co_await kayako_.create_user(user_from_intake(intake, std::move(password)));
            failpoint("sent");
            result.remote_id = u.id;
            result.mirror_rows.push_back(rows_of(one(u)));
        } else if (row.entity == "organizations") {
            const auto o = co_await kayako_.create_organization(organization_from_intake(intake));
            failpoint("sent");
            result.remote_id = o.id;
            result.mirror_rows.push_back(rows_of(one(o)));
        } else {
            throw std::invalid_argument("creations of " + row.entity + " are not pushed");
        }
    } catch (...) {
        err = std::current_exception();
    }
    if (err) {
        co_await handle_error(row, err, true, maybe_sent);
        co_return;
    }
    result.result_json = id_result(*result.remote_id, false);
    co_await record(row, std::move(result));
}

asio::awaitable<void> worker::handle_error(pg::outbox_row row, std::exception_ptr e, bool is_post,
                                           bool maybe_sent_before) {
    const auto c = classify(e);
    switch (c.kind) {
        case failure::rejected:
            co_await record(row, failed(c.message, row.operation == "update"));
            co_return;
        case failure::unknown_outcome:
            if (is_post) {
                log_->warn(
                    "outbox row {}: {}: the outcome is unknown; Kayako is searched before "
                    "anything is sent again",
                    row.id, c.message);
                ++stats_.retried;
                // The next claim searches first (maybe_sent), after a short pause that lets a
                // slow server finish what it received.
                co_await outbox_.reschedule(row, std::chrono::seconds(2), c.message, true, true);
                co_return;
            }
            break;
        case failure::breaker_open:
            ++stats_.retried;
            co_await outbox_.reschedule(row, c.delay, c.message, maybe_sent_before, false);
            co_return;
        case failure::auth:
            ++stats_.retried;
            co_await outbox_.reschedule(row, c.delay, c.message, maybe_sent_before, false);
            co_return;
        case failure::transient:
            break;
    }
    if (row.attempts >= opts_.max_attempts) {
        auto r = failed("gave up after " + std::to_string(row.attempts) + " attempts: " + c.message,
                        row.operation == "update");
        if (maybe_sent_before) r.final_state = "in_doubt";  // a POST may be in Kayako
        co_await record(row, std::move(r));
        co_return;
    }
    ++stats_.retried;
    co_await outbox_.reschedule(row, backoff(row.attempts), c.message, maybe_sent_before, true);
}

}  // namespace ksync::push
