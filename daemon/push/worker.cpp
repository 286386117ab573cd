#include "daemon/push/worker.hpp"

#include "connectors/kayako/errors.hpp"
#include "connectors/postgres/row_mapping.hpp"
#include "daemon/push/fields.hpp"
#include "daemon/push/plan.hpp"
#include "daemon/push/requests.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>

#include <pqxx/pqxx>

#include <algorithm>
#include <cctype>
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
    log_->info("push worker started (conflict policy {}, sweep every {} ms)",
               policy_name(opts_.policy), opts_.sweep_interval.count());
    for (;;) {
        woken_ = false;
        std::size_t handled = 0;
        std::exception_ptr err;
        try {
            handled = co_await drain();
        } catch (const boost::system::system_error& e) {
            if (e.code() == asio::error::operation_aborted) throw;
            err = std::current_exception();
        } catch (const std::exception&) {
            err = std::current_exception();
        }
        if (err) {
            try {
                std::rethrow_exception(err);
            } catch (const std::exception& e) {
                log_->warn("push worker: {}; trying again in 5 s", e.what());
            }
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
    std::size_t handled = 0;
    co_await give_back_unfinished();
    (void)co_await outbox_.sweep();
    for (;;) {
        auto rows = co_await outbox_.claim(opts_.batch, opts_.lease);
        if (rows.empty()) break;
        failpoint("claimed");
        for (auto& row : rows) {
            co_await process(std::move(row));
            ++handled;
        }
        (void)co_await outbox_.sweep();
    }
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
    if (row.operation == "update")
        co_await process_update(std::move(row));
    else if (row.operation == "create")
        co_await process_create(std::move(row));
    else
        co_await record(row, failed("operation " + row.operation + " is not pushed", false));
}

asio::awaitable<void> worker::record(pg::outbox_row row, pg::push_result result) {
    const auto state = result.final_state;
    const auto error = result.error;
    const bool mine = co_await outbox_.complete(row, std::move(result));
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

    std::map<std::string, resolution> decided;
    const auto recorded = co_await outbox_.decisions(row.id);
    for (const auto& [column, r] : recorded)
        if (auto res = resolution_from(r)) decided[column] = *res;
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
