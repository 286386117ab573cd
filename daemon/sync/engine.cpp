#include "daemon/sync/engine.hpp"

#include "daemon/sync/cursors.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>

#include <algorithm>
#include <chrono>
#include <map>
#include <unordered_set>

namespace ksync::sync {

namespace asio = boost::asio;
using kayako::request_priority;
using kayako::ticket;
using pg::entity;
using pg::object_key;

namespace {

constexpr const char* kTicketsStream = "tickets";
constexpr const char* kUsersStream = "users";

void add(pg::apply_stats& into, const pg::apply_stats& s) {
    into.inserted += s.inserted;
    into.updated += s.updated;
    into.unchanged += s.unchanged;
    into.deleted += s.deleted;
}

std::vector<id_t> ids_of(const std::vector<object_key>& keys) {
    std::vector<id_t> out;
    out.reserve(keys.size());
    for (const auto& k : keys) out.push_back(k.id);
    return out;
}

std::vector<object_key> keys_of(const std::vector<id_t>& ids) {
    std::vector<object_key> out;
    out.reserve(ids.size());
    for (auto id : ids) out.push_back({id, std::nullopt});
    return out;
}

// Built by functions rather than braced lists: g++ 12 rejects aggregate and initializer-list
// temporaries from literals inside coroutines ("array used as initializer").
stream_report make_report(std::string stream) {
    stream_report r;
    r.stream = std::move(stream);
    return r;
}

std::optional<pg::cursor_update> make_cursor(std::string stream, std::string json) {
    pg::cursor_update c;
    c.stream = std::move(stream);
    c.cursor_json = std::move(json);
    return c;
}

template <class T>
std::vector<T> one(T v) {
    std::vector<T> out;
    out.push_back(std::move(v));
    return out;
}

kayako::unix_time now_unix() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// Shared state of the bounded-concurrency detail fetch.
struct detail_job {
    std::vector<id_t> ids;
    std::size_t next = 0;
    request_priority prio = request_priority::incremental;
    std::map<id_t, std::optional<ticket>> results;
};

asio::awaitable<void> detail_worker(kayako::client& k, std::shared_ptr<detail_job> job) {
    while (job->next < job->ids.size()) {
        const id_t id = job->ids[job->next++];
        auto t = co_await k.get_ticket(id, job->prio);
        job->results[id] = std::move(t);
    }
}

// n workers side by side; the first exception cancels the others and propagates.
asio::awaitable<void> detail_workers(kayako::client& k, std::shared_ptr<detail_job> job, int n) {
    using namespace asio::experimental::awaitable_operators;
    if (n <= 1)
        co_await detail_worker(k, job);
    else
        co_await (detail_worker(k, job) && detail_workers(k, job, n - 1));
}

}  // namespace

struct engine::ticket_scope {
    std::vector<id_t> departments;
    std::vector<id_t> statuses;
};

engine::engine(kayako::client& kayako, pg::mirror_repository& mirror, pg::sync_reads& reads,
               engine_options opts, std::shared_ptr<spdlog::logger> log)
    : kayako_(kayako), mirror_(mirror), reads_(reads), opts_(opts), log_(std::move(log)) {}

asio::awaitable<std::vector<id_t>> engine::list_ids(entity e) {
    auto keys = co_await mirror_.known_ids(e);
    co_return ids_of(keys);
}

asio::awaitable<void> engine::quarantine_bad(const std::string& stream,
                                             const std::string& entity_name,
                                             const std::vector<kayako::record_error>& bad,
                                             stream_report& report) {
    for (const auto& e : bad) {
        const std::string key =
            e.id() ? std::to_string(*e.id()) : "index " + std::to_string(e.index());
        log_->error("{}: quarantined {} {}: {}", stream, entity_name, key, e.detail());
        co_await mirror_.quarantine(entity_name, key, stream, e.detail(), "");
        ++report.quarantined;
    }
}

asio::awaitable<void> engine::delete_confirmed(entity e, std::vector<id_t> ids,
                                               std::int64_t known_alive, stream_report& report) {
    if (ids.empty()) co_return;
    const auto n = static_cast<std::int64_t>(ids.size());
    if (!opts_.allow_mass_delete && !opts_.guard.allows(known_alive, n)) {
        report.refused_deletes += ids.size();
        report.note = fmt::format(
            "mass-delete guard refused {} {} deletions out of {} (run reconcile "
            "--allow-mass-delete if they are real)",
            n, pg::entity_name(e), known_alive);
        log_->error("{}", report.note);
        co_return;
    }
    if (e == entity::tickets) co_await delete_ticket_children(ids, report);
    auto s = co_await mirror_.mark_deleted(e, keys_of(ids));
    add(report.applied, s);
}

// A deleted ticket takes its posts and notes with it (Kayako's delete is a hard delete of all).
asio::awaitable<void> engine::delete_ticket_children(std::vector<id_t> ticket_ids,
                                                     stream_report& report) {
    std::vector<object_key> posts, notes;
    for (auto id : ticket_ids) {
        for (const auto& k : co_await mirror_.known_ids(entity::posts, id)) posts.push_back(k);
        for (const auto& k : co_await mirror_.known_ids(entity::notes, id)) notes.push_back(k);
    }
    if (!posts.empty())
        add(report.applied, co_await mirror_.mark_deleted(entity::posts, std::move(posts)));
    if (!notes.empty())
        add(report.applied, co_await mirror_.mark_deleted(entity::notes, std::move(notes)));
}

// ---- lookups ------------------------------------------------------------------------------

template <class T, class Fetch>
asio::awaitable<void> engine::sync_full_list(const char* stream, entity e, Fetch fetch,
                                             stream_report& report) {
    kayako::page<T> p = co_await fetch();
    co_await quarantine_bad(stream, std::string(pg::entity_name(e)), p.bad, report);
    std::vector<id_t> listed;
    for (const auto& r : p.records) listed.push_back(r.id);
    for (const auto& b : p.bad)
        if (b.id()) listed.push_back(*b.id());  // quarantined, not gone
    auto known = co_await list_ids(e);
    auto stats = co_await mirror_.apply(std::move(p.records));
    add(report.applied, stats);
    // The list is complete (the call succeeded and every page of it is here), so what it lacks
    // is gone; the guard still holds back a suspiciously large disappearance.
    auto gone = missing_from_listing(known, listed);
    co_await delete_confirmed(e, std::move(gone), static_cast<std::int64_t>(known.size()), report);
}

asio::awaitable<stream_report> engine::sync_lookups() {
    stream_report report = make_report("lookups");
    auto& k = kayako_;
    auto departments = [&k] { return k.list_departments(); };
    auto statuses = [&k] { return k.list_ticket_statuses(); };
    auto priorities = [&k] { return k.list_ticket_priorities(); };
    auto types = [&k] { return k.list_ticket_types(); };
    auto user_groups = [&k] { return k.list_user_groups(); };
    auto staff = [&k] { return k.list_staff(); };
    auto staff_groups = [&k] { return k.list_staff_groups(); };
    auto custom_fields = [&k] { return k.list_custom_fields(); };
    co_await sync_full_list<kayako::department>("lookups", entity::departments, departments,
                                                report);
    co_await sync_full_list<kayako::ticket_status>("lookups", entity::ticket_statuses, statuses,
                                                   report);
    co_await sync_full_list<kayako::ticket_priority>("lookups", entity::ticket_priorities,
                                                     priorities, report);
    co_await sync_full_list<kayako::ticket_type>("lookups", entity::ticket_types, types, report);
    co_await sync_full_list<kayako::user_group>("lookups", entity::user_groups, user_groups,
                                                report);
    co_await sync_full_list<kayako::staff>("lookups", entity::staff, staff, report);
    co_await sync_full_list<kayako::staff_group>("lookups", entity::staff_groups, staff_groups,
                                                 report);

    // Custom field definitions, then the options of the fields that have options.
    auto defs = co_await kayako_.list_custom_fields();
    co_await quarantine_bad("lookups", "custom_fields", defs.bad, report);
    std::vector<id_t> with_options;
    for (const auto& d : defs.records)
        if (d.fieldtype == 4 || d.fieldtype == 5 || d.fieldtype == 6 || d.fieldtype == 7 ||
            d.fieldtype == 9)
            with_options.push_back(d.customfieldid);
    auto known_defs = co_await list_ids(entity::custom_fields);
    std::vector<id_t> listed_defs;
    for (const auto& d : defs.records) listed_defs.push_back(d.customfieldid);
    add(report.applied, co_await mirror_.apply(std::move(defs.records)));
    co_await delete_confirmed(entity::custom_fields, missing_from_listing(known_defs, listed_defs),
                              static_cast<std::int64_t>(known_defs.size()), report);
    (void)custom_fields;

    std::vector<kayako::custom_field_option> options;
    for (auto id : with_options) {
        auto p = co_await kayako_.list_custom_field_options(id);
        co_await quarantine_bad("lookups", "custom_field_options", p.bad, report);
        for (auto& o : p.records) options.push_back(std::move(o));
    }
    auto known_options = co_await list_ids(entity::custom_field_options);
    std::vector<id_t> listed_options;
    for (const auto& o : options) listed_options.push_back(o.customfieldoptionid);
    add(report.applied, co_await mirror_.apply(std::move(options)));
    co_await delete_confirmed(entity::custom_field_options,
                              missing_from_listing(known_options, listed_options),
                              static_cast<std::int64_t>(known_options.size()), report);
    co_return report;
}

// ---- organizations -------------------------------------------------------------------------

asio::awaitable<stream_report> engine::sync_organizations() {
    stream_report report = make_report("organizations");
    auto p = co_await kayako_.list_organizations();
    co_await quarantine_bad("organizations", "organizations", p.bad, report);
    std::vector<id_t> listed;
    for (const auto& o : p.records) listed.push_back(o.id);
    for (const auto& b : p.bad)
        if (b.id()) listed.push_back(*b.id());
    auto known = co_await list_ids(entity::organizations);
    add(report.applied, co_await mirror_.apply(std::move(p.records)));
    // Confirm every disappearance with a Get before believing it.
    std::vector<id_t> gone;
    for (auto id : missing_from_listing(known, listed)) {
        auto o = co_await kayako_.get_organization(id);
        if (!o)
            gone.push_back(id);
        else
            add(report.applied, co_await mirror_.apply(one(std::move(*o))));
    }
    co_await delete_confirmed(entity::organizations, std::move(gone),
                              static_cast<std::int64_t>(known.size()), report);
    co_return report;
}

// ---- users ---------------------------------------------------------------------------------

asio::awaitable<stream_report> engine::sync_users(bool full_scan) {
    stream_report report = make_report(full_scan ? "users (full scan)" : "users");
    auto stored = co_await mirror_.read_cursor(kUsersStream);
    user_cursor cur = stored ? parse_user_cursor(stored->cursor_json) : user_cursor{};

    if (!full_scan) {
        // New users only: Filter from just above the highest id the mirror has ever seen.
        id_t marker = (co_await reads_.max_id(entity::users)) + 1;
        for (;;) {
            auto p = co_await kayako_.filter_users(marker, 1000, request_priority::incremental);
            co_await quarantine_bad(report.stream, "users", p.bad, report);
            const std::size_t n = p.records.size() + p.bad.size();
            id_t last = marker - 1;
            for (const auto& u : p.records) last = std::max(last, u.id);
            for (const auto& b : p.bad)
                if (b.id()) last = std::max(last, *b.id());
            add(report.applied, co_await mirror_.apply(std::move(p.records)));
            if (n < 1000) break;
            marker = last + 1;
        }
        co_return report;
    }

    // Full keyset scan, resumable: the marker is committed with every page. Deletions are only
    // inferred from a scan that ran from the start to the end in this run.
    const bool from_start = !cur.full_scan_marker;
    id_t marker = cur.full_scan_marker.value_or(1);
    std::vector<id_t> seen;
    for (;;) {
        auto p = co_await kayako_.filter_users(marker, 1000, request_priority::backfill);
        co_await quarantine_bad(report.stream, "users", p.bad, report);
        const std::size_t n = p.records.size() + p.bad.size();
        id_t last = marker - 1;
        for (const auto& u : p.records) {
            seen.push_back(u.id);
            last = std::max(last, u.id);
        }
        for (const auto& b : p.bad)
            if (b.id()) {
                seen.push_back(*b.id());
                last = std::max(last, *b.id());
            }
        user_cursor next = cur;
        const bool done = n < 1000;
        if (done) {
            next.full_scan_marker.reset();
            next.last_full_scan = now_unix();
        } else {
            next.full_scan_marker = last + 1;
        }
        // Resume points are committed with their page. A scan that finishes without having
        // stored a resume point leaves the cursor alone, so a quiet cycle writes nothing.
        std::optional<pg::cursor_update> cu;
        if (next.full_scan_marker || cur.full_scan_marker)
            cu = make_cursor(kUsersStream, to_json(next));
        add(report.applied, co_await mirror_.apply(std::move(p.records), std::move(cu)));
        cur = next;
        failpoint("user_page_applied");
        if (done) break;
        marker = last + 1;
    }
    if (from_start) {
        auto known = co_await list_ids(entity::users);
        std::vector<id_t> gone;
        for (auto id : missing_from_listing(known, seen)) {
            auto u = co_await kayako_.get_user(id);
            if (!u)
                gone.push_back(id);
            else
                add(report.applied, co_await mirror_.apply(one(std::move(*u))));
        }
        co_await delete_confirmed(entity::users, std::move(gone),
                                  static_cast<std::int64_t>(known.size()), report);
    }
    co_return report;
}

// ---- tickets -------------------------------------------------------------------------------

asio::awaitable<engine::ticket_scope> engine::ticket_scope_now() {
    ticket_scope s;
    s.departments = co_await list_ids(entity::departments);
    s.statuses = co_await list_ids(entity::ticket_statuses);
    if (s.departments.empty() || s.statuses.empty()) {
        // No lookups mirrored yet: ask Kayako directly rather than list nothing.
        auto d = co_await kayako_.list_departments();
        auto st = co_await kayako_.list_ticket_statuses();
        s.departments.clear();
        s.statuses.clear();
        for (const auto& x : d.records) s.departments.push_back(x.id);
        for (const auto& x : st.records) s.statuses.push_back(x.id);
    }
    if (s.departments.empty())
        throw std::runtime_error("Kayako lists no departments: cannot list tickets");
    co_return s;
}

asio::awaitable<void> engine::process_ticket_page(std::vector<ticket> page,
                                                  std::optional<pg::cursor_update> cursor,
                                                  stream_report& report) {
    // Last one wins for ids repeated across the overlap of pages.
    std::map<id_t, ticket> by_id;
    for (auto& t : page) by_id[t.id] = std::move(t);
    std::vector<id_t> ids;
    for (const auto& [id, t] : by_id) ids.push_back(id);

    auto known = co_await reads_.ticket_activity(ids);
    std::vector<ticket> listed;
    for (auto& [id, t] : by_id) listed.push_back(t);
    auto need = tickets_needing_detail(listed, known);

    auto job = std::make_shared<detail_job>();
    job->ids = need;
    job->prio = cursor && cursor->cursor_json.find("backfill") != std::string::npos
                    ? request_priority::backfill
                    : request_priority::incremental;
    if (!need.empty()) co_await detail_workers(kayako_, job, std::max(1, opts_.detail_concurrency));
    report.detail_fetches += need.size();

    std::vector<kayako::post> posts;
    std::vector<kayako::note> notes;
    std::vector<object_key> gone_posts, gone_notes;
    std::vector<id_t> gone_tickets;
    for (auto& [id, fetched] : job->results) {
        if (!fetched) {  // listed a moment ago, 404 now: deleted in between (confirmed)
            gone_tickets.push_back(id);
            by_id.erase(id);
            continue;
        }
        std::unordered_set<id_t> post_ids, note_ids;
        if (fetched->posts)
            for (auto& p : *fetched->posts) {
                post_ids.insert(p.id);
                posts.push_back(std::move(p));
            }
        for (const auto& n : fetched->notes)
            if (n.type == "ticket") {
                note_ids.insert(n.id);
                notes.push_back(n);
            }
        if (known.count(id)) {
            // A ticket the mirror already had: posts and notes that vanished were deleted.
            for (const auto& k : co_await mirror_.known_ids(entity::posts, id))
                if (!post_ids.count(k.id)) gone_posts.push_back(k);
            for (const auto& k : co_await mirror_.known_ids(entity::notes, id))
                if (!note_ids.count(k.id)) gone_notes.push_back(k);
        }
        fetched->posts.reset();
        by_id[id] = std::move(*fetched);
    }

    // Children first: if we die before the tickets commit, the replay sees the old lastactivity
    // and fetches these details again (they then write nothing).
    if (!posts.empty()) add(report.applied, co_await mirror_.apply(std::move(posts)));
    if (!notes.empty()) add(report.applied, co_await mirror_.apply(std::move(notes)));
    if (!gone_posts.empty())
        add(report.applied, co_await mirror_.mark_deleted(entity::posts, std::move(gone_posts)));
    if (!gone_notes.empty())
        add(report.applied, co_await mirror_.mark_deleted(entity::notes, std::move(gone_notes)));
    failpoint("ticket_children_applied");
    if (!gone_tickets.empty()) {
        co_await delete_ticket_children(gone_tickets, report);
        add(report.applied, co_await mirror_.mark_deleted(entity::tickets, keys_of(gone_tickets)));
    }

    std::vector<ticket> rows;
    rows.reserve(by_id.size());
    for (auto& [id, t] : by_id) rows.push_back(std::move(t));
    add(report.applied, co_await mirror_.apply(std::move(rows), std::move(cursor)));
    failpoint("ticket_page_applied");
}

asio::awaitable<stream_report> engine::sync_tickets() {
    stream_report report = make_report(kTicketsStream);
    auto stored = co_await mirror_.read_cursor(kTicketsStream);
    ticket_cursor cur = stored ? parse_ticket_cursor(stored->cursor_json) : ticket_cursor{};
    auto scope = co_await ticket_scope_now();

    kayako::ticket_list_query q;
    q.departments = scope.departments;
    q.statuses = scope.statuses;  // every status: without them Kayako lists only unresolved tickets

    if (cur.at == ticket_cursor::phase::backfill) {
        if (!stored) {
            // Where incremental passes will start once the backfill is done: the newest activity
            // now. Changes during the backfill are newer and are picked up by the first pass.
            q.count = 1;
            q.start = 0;
            q.sortfield = "lastactivity";
            q.descending = true;
            auto newest = co_await kayako_.list_tickets(q, request_priority::backfill);
            cur.target = newest.records.empty() ? 0 : newest.records.front().lastactivity;
        }
        q.sortfield = "ticketid";  // unique and stable: offsets do not shuffle
        q.descending = false;
        page_request req{cur.offset, opts_.page_size};
        for (;;) {
            q.start = req.start;
            q.count = req.count;
            auto p = co_await kayako_.list_tickets(q, request_priority::backfill);
            co_await quarantine_bad(kTicketsStream, "tickets", p.bad, report);
            std::vector<std::int64_t> keys;
            for (const auto& t : p.records) keys.push_back(t.id);
            const std::size_t n = p.records.size() + p.bad.size();
            auto step = next_page(req, keys, opts_.page_size, 0, true);
            if (n < static_cast<std::size_t>(req.count)) step.last = true;
            ticket_cursor next = cur;
            if (step.last) {
                next = ticket_cursor{ticket_cursor::phase::incremental, 0, 0, cur.target};
            } else {
                next.offset = step.next.start;
            }
            auto cu = make_cursor(kTicketsStream, to_json(next));
            co_await process_ticket_page(std::move(p.records), std::move(cu), report);
            cur = next;
            if (step.last) break;
            req = step.next;
        }
        report.note = "backfill complete";
    }

    // Incremental pass: newest first, until below the watermark minus the overlap.
    q.sortfield = "lastactivity";
    q.descending = true;
    const kayako::unix_time stop_below = cur.watermark - opts_.overlap_seconds;
    kayako::unix_time pass_max = cur.watermark;
    page_request req{0, opts_.page_size};
    for (;;) {
        q.start = req.start;
        q.count = req.count;
        auto p = co_await kayako_.list_tickets(q, request_priority::incremental);
        co_await quarantine_bad(kTicketsStream, "tickets", p.bad, report);
        std::vector<std::int64_t> keys;
        for (const auto& t : p.records) {
            keys.push_back(t.lastactivity);
            pass_max = std::max(pass_max, t.lastactivity);
        }
        const std::size_t n = p.records.size() + p.bad.size();
        auto step = next_page(req, keys, opts_.page_size, opts_.page_overlap);
        if (n < static_cast<std::size_t>(req.count)) step.last = true;
        const bool below = !keys.empty() && keys.back() < stop_below;
        std::erase_if(p.records, [&](const ticket& t) { return t.lastactivity < stop_below; });
        co_await process_ticket_page(std::move(p.records), std::nullopt, report);
        if (step.last || below) break;
        req = step.next;
    }
    if (pass_max != cur.watermark) {
        // The whole pass is applied: only now may the watermark move.
        ticket_cursor next{ticket_cursor::phase::incremental, 0, 0, pass_max};
        auto cu = make_cursor(kTicketsStream, to_json(next));
        std::vector<ticket> none;
        add(report.applied, co_await mirror_.apply(std::move(none), std::move(cu)));
    }
    co_return report;
}

asio::awaitable<stream_report> engine::reconcile_tickets() {
    stream_report report = make_report("reconcile");
    auto scope = co_await ticket_scope_now();
    std::vector<id_t> seen;
    // Two complete listings by ticket id: every department, then the trash (department 0).
    std::vector<std::vector<id_t>> listings;
    listings.push_back(scope.departments);
    listings.push_back(std::vector<id_t>(1, 0));
    for (auto& departments : listings) {
        kayako::ticket_list_query q;
        q.departments = departments;
        q.statuses = scope.statuses;
        q.sortfield = "ticketid";
        q.descending = false;
        page_request req{0, opts_.page_size};
        for (;;) {
            q.start = req.start;
            q.count = req.count;
            auto p = co_await kayako_.list_tickets(q, request_priority::backfill);
            co_await quarantine_bad("reconcile", "tickets", p.bad, report);
            std::vector<std::int64_t> keys;
            for (const auto& t : p.records) {
                keys.push_back(t.id);
                seen.push_back(t.id);
            }
            for (const auto& b : p.bad)
                if (b.id()) seen.push_back(*b.id());
            const std::size_t n = p.records.size() + p.bad.size();
            auto step = next_page(req, keys, opts_.page_size, 0, true);
            if (n < static_cast<std::size_t>(req.count)) step.last = true;
            co_await process_ticket_page(std::move(p.records), std::nullopt, report);
            if (step.last) break;
            req = step.next;
        }
    }
    // Both listings completed: what the mirror holds beyond them is confirmed one by one.
    auto known = co_await list_ids(entity::tickets);
    std::vector<id_t> gone;
    std::vector<ticket> still_there;
    for (auto id : missing_from_listing(known, seen)) {
        auto t = co_await kayako_.get_ticket(id, request_priority::backfill);
        if (!t)
            gone.push_back(id);  // 404: deleted
        else
            still_there.push_back(std::move(*t));  // e.g. moved to the trash meanwhile
    }
    if (!still_there.empty())
        co_await process_ticket_page(std::move(still_there), std::nullopt, report);
    co_await delete_confirmed(entity::tickets, std::move(gone),
                              static_cast<std::int64_t>(known.size()), report);
    co_return report;
}

asio::awaitable<std::vector<stream_report>> engine::run_once() {
    std::vector<stream_report> reports;
    reports.push_back(co_await sync_lookups());
    reports.push_back(co_await sync_organizations());
    reports.push_back(co_await sync_users(true));
    reports.push_back(co_await sync_tickets());
    reports.push_back(co_await reconcile_tickets());
    co_return reports;
}

}  // namespace ksync::sync
