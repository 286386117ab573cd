#include "daemon/sync/engine.hpp"

#include "daemon/sync/cursors.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>

#include <algorithm>
#include <chrono>
#include <limits>
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

constexpr const char* kReconcileStream = "reconcile";
constexpr id_t kNoUpperBound = std::numeric_limits<id_t>::max();

ticket_cursor incremental_cursor(unix_time watermark, unix_time seen_at, unix_time settled) {
    ticket_cursor c;
    c.at = ticket_cursor::phase::incremental;
    c.watermark = watermark;
    c.seen_at = seen_at;
    c.settled = settled;
    return c;
}

// One of the reconciler's listings by ticket id, paged by offset.
struct id_listing {
    kayako::ticket_list_query q;
    page_request req;
    id_t last = 0;  // the highest id listed so far
    bool done = false;
};

id_listing make_listing(std::vector<id_t> departments, std::vector<id_t> statuses, int page_size) {
    id_listing l;
    l.q.departments = std::move(departments);
    l.q.statuses = std::move(statuses);
    l.q.sortfield = "ticketid";
    l.q.descending = false;
    l.req = page_request{0, page_size};
    return l;
}

// The listing that is behind (the lowest id listed so far), or nullptr when all are done.
id_listing* behind(std::vector<id_listing>& ls) {
    id_listing* out = nullptr;
    for (auto& l : ls)
        if (!l.done && (!out || l.last < out->last)) out = &l;
    return out;
}

// Every id up to here has been listed by each listing that is not done yet (and a done listing
// has listed all of its ids): what the mirror holds up to here can be judged.
id_t frontier(const std::vector<id_listing>& ls) {
    id_t f = kNoUpperBound;
    for (const auto& l : ls)
        if (!l.done) f = std::min(f, l.last);
    return f;
}

void sort_unique(std::vector<id_t>& v) {
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
}

// Shared state of the bounded-concurrency detail fetch.
struct detail_job {
    std::vector<id_t> ids;
    std::size_t next = 0;
    request_priority prio = request_priority::incremental;
    std::map<id_t, std::optional<ticket>> results;
    bool failed = false;  // a worker failed: the others are being cancelled
};

asio::awaitable<void> detail_worker(kayako::client& k, std::shared_ptr<detail_job> job) {
    try {
        while (job->next < job->ids.size()) {
            const id_t id = job->ids[job->next++];
            auto t = co_await k.get_ticket(id, job->prio);
            job->results[id] = std::move(t);
        }
    } catch (...) {
        // Only the first failure is the cause: operator&& cancels the other workers, and if
        // their cancellation (or a failure of their own) propagated too, the operator would throw
        // multiple_exceptions, whose what() says neither, in place of the cause. A later
        // worker's outcome is moot: it ends quietly.
        if (!job->failed) {
            job->failed = true;
            throw;
        }
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

// The outcome of an awaitable, failure included: the one failure that must not cancel what
// runs beside it.
template <class T>
struct attempt {
    std::optional<T> value;
    std::exception_ptr error;
};

template <class T>
asio::awaitable<attempt<T>> try_fetch(asio::awaitable<T> aw) {
    attempt<T> out;
    try {
        out.value.emplace(co_await std::move(aw));
    } catch (...) {
        out.error = std::current_exception();
    }
    co_return out;
}

}  // namespace

struct engine::ticket_scope {
    std::vector<id_t> departments;
    std::vector<id_t> statuses;
};

engine::engine(kayako::client& kayako, pg::mirror_repository& mirror, pg::sync_reads& reads,
               engine_options opts, std::shared_ptr<spdlog::logger> log)
    : kayako_(kayako), mirror_(mirror), reads_(reads), opts_(opts), log_(std::move(log)) {}

kayako::unix_time engine::now() const {
    return clock_ ? clock_() : now_unix();
}

asio::awaitable<std::vector<id_t>> engine::list_ids(entity e) {
    auto keys = co_await mirror_.known_ids(e);
    co_return ids_of(keys);
}

asio::awaitable<bool> engine::full_user_scan_due() {
    auto stored = co_await mirror_.read_cursor(kUsersStream);
    if (!stored) co_return true;
    const auto cur = parse_user_cursor(stored->cursor_json);
    if (cur.full_scan_marker) co_return true;  // a scan left half done resumes at once
    co_return now() - cur.last_full_scan >= opts_.full_scan_interval_seconds;
}

asio::awaitable<bool> engine::reconcile_due() {
    // Not before the ticket backfill is complete: until then every ticket would be fetched twice.
    auto tickets = co_await mirror_.read_cursor(kTicketsStream);
    if (!tickets ||
        parse_ticket_cursor(tickets->cursor_json).at != ticket_cursor::phase::incremental)
        co_return false;
    auto stored = co_await mirror_.read_cursor(kReconcileStream);
    if (!stored) co_return true;
    const auto cur = parse_reconcile_cursor(stored->cursor_json);
    co_return now() - cur.last_run >= opts_.reconcile_interval_seconds;
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
    co_await apply_deletions(e, std::move(ids), report);
}

asio::awaitable<void> engine::apply_deletions(entity e, std::vector<id_t> ids,
                                              stream_report& report) {
    if (ids.empty()) co_return;
    failpoint("deletions_confirmed");
    if (e == entity::tickets) co_await delete_ticket_children(ids, report);
    auto s = co_await mirror_.mark_deleted(e, keys_of(ids));
    add(report.applied, s);
    failpoint("deletions_applied");
}

asio::awaitable<void> engine::finish_deletions(entity e, deletion_tally& tally,
                                               stream_report& report) {
    if (tally.refused()) {
        report.refused_deletes += static_cast<std::size_t>(tally.total());
        report.note = fmt::format(
            "mass-delete guard refused {} {} deletions out of {} (run reconcile "
            "--allow-mass-delete if they are real)",
            tally.total(), pg::entity_name(e), tally.known_alive());
        log_->error("{}", report.note);
        co_return;
    }
    co_await apply_deletions(e, tally.take(), report);
}

asio::awaitable<void> engine::check_range(entity e, id_t after, id_t upto,
                                          const std::vector<id_t>& listed, deletion_tally& tally,
                                          stream_report& report) {
    constexpr std::size_t chunk = 1000;
    while (after < upto) {
        auto ids = co_await reads_.alive_ids(e, after, upto, chunk);
        if (ids.empty()) break;
        after = ids.back();
        std::vector<ticket> still_there;
        for (auto id : missing_sorted(ids, listed)) {
            if (!tally.confirming()) {
                tally.unconfirmed();  // the guard refuses anyway: spare Kayako the Gets
                continue;
            }
            if (e == entity::users) {
                auto u = co_await kayako_.get_user(id);
                if (!u)
                    tally.confirmed_gone(id);
                else  // listed a moment ago after all (a page boundary moved): keep it current
                    add(report.applied, co_await mirror_.apply(one(std::move(*u))));
            } else {
                auto t = co_await kayako_.get_ticket(id, request_priority::backfill);
                if (!t)
                    tally.confirmed_gone(id);  // 404: deleted
                else
                    still_there.push_back(std::move(*t));  // e.g. moved to the trash meanwhile
            }
        }
        if (!still_there.empty()) co_await process_ticket_page(std::move(still_there), report);
        if (tally.apply_as_found()) co_await apply_deletions(e, tally.take(), report);
        if (ids.size() < chunk) break;
    }
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
    failpoint("lookup_list_fetched");
    co_await quarantine_bad(stream, std::string(pg::entity_name(e)), p.bad, report);
    std::vector<id_t> listed;
    for (const auto& r : p.records) listed.push_back(r.id);
    for (const auto& b : p.bad)
        if (b.id()) listed.push_back(*b.id());  // quarantined, not gone
    auto known = co_await list_ids(e);
    auto stats = co_await mirror_.apply(std::move(p.records));
    add(report.applied, stats);
    failpoint("lookup_list_applied");
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
    failpoint("organization_list_fetched");
    co_await quarantine_bad("organizations", "organizations", p.bad, report);
    std::vector<id_t> listed;
    for (const auto& o : p.records) listed.push_back(o.id);
    for (const auto& b : p.bad)
        if (b.id()) listed.push_back(*b.id());
    auto known = co_await list_ids(entity::organizations);
    add(report.applied, co_await mirror_.apply(std::move(p.records)));
    failpoint("organization_list_applied");
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
            failpoint("user_page_fetched");
            co_await quarantine_bad(report.stream, "users", p.bad, report);
            const std::size_t n = p.records.size() + p.bad.size();
            id_t last = marker - 1;
            for (const auto& u : p.records) last = std::max(last, u.id);
            for (const auto& b : p.bad)
                if (b.id()) last = std::max(last, *b.id());
            add(report.applied, co_await mirror_.apply(std::move(p.records)));
            failpoint("user_page_applied");
            if (n < 1000) break;
            marker = last + 1;
        }
        co_return report;
    }

    // Full keyset scan, resumable: the marker is committed with every page. Each page is a
    // complete listing of its id range (Filter is `userid >= marker ORDER BY userid`), so the
    // mirror's ids of that range are compared with it at once, and a resumed scan judges the
    // ranges it covers too.
    const auto known_alive = co_await reads_.alive_count(entity::users);
    deletion_tally tally(opts_.guard, known_alive, opts_.allow_mass_delete);
    id_t marker = cur.full_scan_marker.value_or(1);
    for (;;) {
        auto p = co_await kayako_.filter_users(marker, 1000, request_priority::backfill);
        failpoint("user_page_fetched");
        co_await quarantine_bad(report.stream, "users", p.bad, report);
        const std::size_t n = p.records.size() + p.bad.size();
        id_t last = marker - 1;
        std::vector<id_t> listed;
        listed.reserve(n);
        for (const auto& u : p.records) {
            listed.push_back(u.id);
            last = std::max(last, u.id);
        }
        for (const auto& b : p.bad)
            if (b.id()) {
                listed.push_back(*b.id());  // quarantined, not gone
                last = std::max(last, *b.id());
            }
        sort_unique(listed);
        const bool done = n < 1000;
        // The resume point is committed with its page; the last page commits none: the scan is
        // recorded as complete only after its deletions are settled (below).
        std::optional<pg::cursor_update> cu;
        if (!done) {
            user_cursor next = cur;
            next.full_scan_marker = last + 1;
            cu = make_cursor(kUsersStream, to_json(next));
            cur = next;
        }
        add(report.applied, co_await mirror_.apply(std::move(p.records), std::move(cu)));
        failpoint("user_page_applied");
        co_await check_range(entity::users, marker - 1, done ? kNoUpperBound : last, listed, tally,
                             report);
        if (done) break;
        marker = last + 1;
    }
    co_await finish_deletions(entity::users, tally, report);
    // One write per full scan: when it completed, so that `once`, `run` and a restarted daemon
    // agree on when the next one is due.
    user_cursor next = cur;
    next.full_scan_marker.reset();
    next.last_full_scan = now();
    std::vector<kayako::user> none;
    add(report.applied,
        co_await mirror_.apply(std::move(none), make_cursor(kUsersStream, to_json(next))));
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

struct engine::fetched_tickets {
    std::vector<kayako::record_error> bad;  // undecodable rows of the listing: quarantined
    std::vector<kayako::post> posts;
    std::vector<kayako::note> notes;
    std::vector<object_key> gone_posts, gone_notes;
    std::vector<id_t> gone_tickets;  // listed, then 404 on the Get: deleted in between
    std::vector<ticket> rows;        // written last, with the cursor
    std::optional<pg::cursor_update> cursor;
    std::size_t detail_fetches = 0;
};

struct engine::backfill_page {
    fetched_tickets data;
    page_step step;
    ticket_cursor next;        // the cursor committed with this page
    std::vector<id_t> listed;  // the ids this page listed
};

asio::awaitable<engine::fetched_tickets> engine::fetch_ticket_page(std::vector<ticket> page,
                                                                   request_priority prio) {
    fetched_tickets out;
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
    job->prio = prio;
    if (!need.empty()) co_await detail_workers(kayako_, job, std::max(1, opts_.detail_concurrency));
    out.detail_fetches = need.size();
    failpoint("ticket_details_fetched");

    for (auto& [id, fetched] : job->results) {
        if (!fetched) {  // listed a moment ago, 404 now: deleted in between (confirmed)
            out.gone_tickets.push_back(id);
            by_id.erase(id);
            continue;
        }
        std::unordered_set<id_t> post_ids, note_ids;
        if (fetched->posts)
            for (auto& p : *fetched->posts) {
                post_ids.insert(p.id);
                out.posts.push_back(std::move(p));
            }
        for (const auto& n : fetched->notes)
            if (n.type == "ticket") {
                note_ids.insert(n.id);
                out.notes.push_back(n);
            }
        if (known.count(id)) {
            // A ticket the mirror already had: posts and notes that vanished were deleted.
            for (const auto& k : co_await mirror_.known_ids(entity::posts, id))
                if (!post_ids.count(k.id)) out.gone_posts.push_back(k);
            for (const auto& k : co_await mirror_.known_ids(entity::notes, id))
                if (!note_ids.count(k.id)) out.gone_notes.push_back(k);
        }
        fetched->posts.reset();
        by_id[id] = std::move(*fetched);
    }
    out.rows.reserve(by_id.size());
    for (auto& [id, t] : by_id) out.rows.push_back(std::move(t));
    co_return out;
}

asio::awaitable<void> engine::write_ticket_page(fetched_tickets page, stream_report& report) {
    if (stage_gate_) co_await stage_gate_("ticket_page_write");
    co_await quarantine_bad(kTicketsStream, "tickets", page.bad, report);
    report.detail_fetches += page.detail_fetches;
    // Children first: if we die before the tickets commit, the replay sees the old lastactivity
    // and fetches these details again (they then write nothing).
    if (!page.posts.empty()) add(report.applied, co_await mirror_.apply(std::move(page.posts)));
    if (!page.notes.empty()) add(report.applied, co_await mirror_.apply(std::move(page.notes)));
    if (!page.gone_posts.empty())
        add(report.applied,
            co_await mirror_.mark_deleted(entity::posts, std::move(page.gone_posts)));
    if (!page.gone_notes.empty())
        add(report.applied,
            co_await mirror_.mark_deleted(entity::notes, std::move(page.gone_notes)));
    failpoint("ticket_children_applied");
    if (!page.gone_tickets.empty()) {
        co_await delete_ticket_children(page.gone_tickets, report);
        add(report.applied,
            co_await mirror_.mark_deleted(entity::tickets, keys_of(page.gone_tickets)));
    }
    add(report.applied, co_await mirror_.apply(std::move(page.rows), std::move(page.cursor)));
    failpoint("ticket_page_applied");
}

asio::awaitable<void> engine::process_ticket_page(std::vector<ticket> page, stream_report& report) {
    auto fetched = co_await fetch_ticket_page(std::move(page), request_priority::incremental);
    co_await write_ticket_page(std::move(fetched), report);
}

asio::awaitable<engine::backfill_page> engine::fetch_backfill_page(kayako::ticket_list_query q,
                                                                   page_request req,
                                                                   ticket_cursor cur,
                                                                   std::vector<id_t> previous) {
    q.start = req.start;
    q.count = req.count;
    auto p = co_await kayako_.list_tickets(q, request_priority::backfill);
    failpoint("ticket_page_fetched");
    backfill_page out;
    std::vector<std::int64_t> keys;
    for (const auto& t : p.records) keys.push_back(t.id);
    const std::size_t n = p.records.size() + p.bad.size();
    out.step = next_page(req, keys, opts_.page_size, 0, true);
    if (n < static_cast<std::size_t>(req.count)) out.step.last = true;
    out.next = cur;
    if (out.step.last)
        out.next = incremental_cursor(cur.target, cur.seen_at, 0);
    else
        out.next.offset = out.step.next.start;
    out.listed = keys;
    // Pages by ticket id are disjoint, unless a ticket entered the listing below this page
    // between the two listings and shifted the offsets: then this page lists again the last
    // tickets of the one before. Their write may not have committed yet, so what the mirror
    // says of them now is stale: they are left to that page (a change of theirs since is newer
    // than the backfill's target and is read by the first incremental pass).
    if (!previous.empty()) {
        std::sort(previous.begin(), previous.end());
        std::erase_if(p.records, [&previous](const ticket& t) {
            return std::binary_search(previous.begin(), previous.end(), t.id);
        });
    }
    out.data = co_await fetch_ticket_page(std::move(p.records), request_priority::backfill);
    out.data.bad = std::move(p.bad);
    out.data.cursor = make_cursor(kTicketsStream, to_json(out.next));
    co_return out;
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
            cur.seen_at = now();  // Kayako's clock was at least the target by now
        }
        q.sortfield = "ticketid";  // unique and stable: offsets do not shuffle
        q.descending = false;
        // Pipelined: page k is written (on the database thread) while page k+1 is listed and its
        // details fetched (on this one). Writes stay in page order, each page's cursor commits
        // with its own tickets, and a page's reads never see a page being written (the pages
        // are disjoint: fetch_backfill_page). At most one page is fetched ahead.
        std::vector<id_t> nothing_before;
        const page_request first{cur.offset, opts_.page_size};
        backfill_page page = co_await fetch_backfill_page(q, first, cur, std::move(nothing_before));
        for (;;) {
            if (page.step.last) {
                co_await write_ticket_page(std::move(page.data), report);
                cur = page.next;
                break;
            }
            // A failure of the next page's fetch lets this page's write finish (then fails the
            // pass); a failure of the write cancels the fetch, which writes nothing. Cancellation
            // from outside (shutdown) reaches both.
            auto write = write_ticket_page(std::move(page.data), report);
            auto fetch = try_fetch(fetch_backfill_page(q, page.step.next, page.next, page.listed));
            using namespace asio::experimental::awaitable_operators;
            auto ahead = co_await (std::move(write) && std::move(fetch));
            cur = page.next;
            if (ahead.error) std::rethrow_exception(ahead.error);
            page = std::move(*ahead.value);
        }
        report.note = "backfill complete";
    }

    // Incremental pass: newest first, until below the watermark minus the overlap, or below the
    // settled time when that is higher (planning.hpp: incremental_stop).
    q.sortfield = "lastactivity";
    q.descending = true;
    unix_time settled = cur.settled;
    if (settled_mem_.watermark == cur.watermark) settled = std::max(settled, settled_mem_.settled);
    const unix_time stop_below = incremental_stop(cur.watermark, settled, opts_.overlap_seconds);
    const unix_time pass_start = now();
    unix_time pass_max = cur.watermark;
    unix_time max_seen_at = cur.seen_at;
    page_request req{0, opts_.page_size};
    for (;;) {
        q.start = req.start;
        q.count = req.count;
        auto p = co_await kayako_.list_tickets(q, request_priority::incremental);
        failpoint("ticket_page_fetched");
        const unix_time got_at = now();
        co_await quarantine_bad(kTicketsStream, "tickets", p.bad, report);
        std::vector<std::int64_t> keys;
        for (const auto& t : p.records) {
            keys.push_back(t.lastactivity);
            if (t.lastactivity > pass_max) {
                pass_max = t.lastactivity;
                max_seen_at = got_at;
            }
        }
        const std::size_t n = p.records.size() + p.bad.size();
        auto step = next_page(req, keys, opts_.page_size, opts_.page_overlap);
        if (n < static_cast<std::size_t>(req.count)) step.last = true;
        const bool below = !keys.empty() && keys.back() < stop_below;
        std::erase_if(p.records, [&](const ticket& t) { return t.lastactivity < stop_below; });
        co_await process_ticket_page(std::move(p.records), report);
        if (step.last || below) break;
        req = step.next;
    }
    // The whole pass is applied: what it read can be settled, and only now may the watermark move.
    // A cursor of an older version has no time of sight: the watermark was seen by this pass's
    // start at the latest.
    const unix_time seen_at = cur.seen_at ? cur.seen_at : pass_start;
    const unix_time settled_now = settled_after_pass(cur.watermark, seen_at, settled, stop_below,
                                                     pass_start, opts_.overlap_seconds);
    settled_mem_.watermark = pass_max;
    settled_mem_.settled = settled_now;
    // Written when the watermark moved, and once more when a quiet helpdesk's overlap window has
    // settled (from then on a pass reads one page), never on a pass that changes nothing else.
    const bool moved = pass_max != cur.watermark;
    const bool newly_settled = cur.settled < cur.watermark && settled_now >= cur.watermark;
    if (moved || newly_settled || !cur.seen_at) {
        auto next = incremental_cursor(pass_max, moved ? max_seen_at : seen_at, settled_now);
        auto cu = make_cursor(kTicketsStream, to_json(next));
        std::vector<ticket> none;
        add(report.applied, co_await mirror_.apply(std::move(none), std::move(cu)));
        failpoint("ticket_watermark_applied");
    }
    co_return report;
}

// The two listings by ticket id (every department, and the trash: department 0) are walked side
// by side, always advancing the one that is behind; up to the lower of their positions both have
// listed every id, so the mirror's ids of that range are compared with what they listed, and the
// listed ids below it are dropped. Memory: about one page of each listing, whatever the size.
asio::awaitable<stream_report> engine::reconcile_tickets() {
    stream_report report = make_report(kReconcileStream);
    auto scope = co_await ticket_scope_now();
    const auto known_alive = co_await reads_.alive_count(entity::tickets);
    deletion_tally tally(opts_.guard, known_alive, opts_.allow_mass_delete);
    std::vector<id_listing> listings;
    listings.push_back(make_listing(scope.departments, scope.statuses, opts_.page_size));
    listings.push_back(make_listing(std::vector<id_t>(1, 0), scope.statuses, opts_.page_size));
    std::vector<id_t> listed;  // ids listed above `judged`
    id_t judged = 0;
    for (id_listing* l = behind(listings); l; l = behind(listings)) {
        l->q.start = l->req.start;
        l->q.count = l->req.count;
        auto p = co_await kayako_.list_tickets(l->q, request_priority::backfill);
        failpoint("reconcile_page_fetched");
        co_await quarantine_bad(kReconcileStream, "tickets", p.bad, report);
        std::vector<std::int64_t> keys;
        for (const auto& t : p.records) {
            keys.push_back(t.id);
            listed.push_back(t.id);
            l->last = std::max(l->last, t.id);
        }
        for (const auto& b : p.bad)
            if (b.id()) {
                listed.push_back(*b.id());  // quarantined, not gone
                l->last = std::max(l->last, *b.id());
            }
        const std::size_t n = p.records.size() + p.bad.size();
        auto step = next_page(l->req, keys, opts_.page_size, 0, true);
        if (n < static_cast<std::size_t>(l->req.count)) step.last = true;
        if (step.last)
            l->done = true;
        else
            l->req = step.next;
        co_await process_ticket_page(std::move(p.records), report);
        const id_t upto = frontier(listings);
        if (upto <= judged) continue;
        sort_unique(listed);
        co_await check_range(entity::tickets, judged, upto, listed, tally, report);
        std::erase_if(listed, [upto](id_t id) { return id <= upto; });
        judged = upto;
    }
    co_await finish_deletions(entity::tickets, tally, report);
    // When this run completed, so that the next one is due a reconcile interval later.
    reconcile_cursor done;
    done.last_run = now();
    std::vector<ticket> none;
    add(report.applied,
        co_await mirror_.apply(std::move(none), make_cursor(kReconcileStream, to_json(done))));
    co_return report;
}

asio::awaitable<std::vector<stream_report>> engine::run_once(slow_streams slow) {
    std::vector<stream_report> reports;
    reports.push_back(co_await sync_lookups());
    reports.push_back(co_await sync_organizations());
    bool full_scan = slow == slow_streams::always;
    if (!full_scan) full_scan = co_await full_user_scan_due();
    reports.push_back(co_await sync_users(full_scan));
    reports.push_back(co_await sync_tickets());
    bool reconcile = slow == slow_streams::always;
    if (!reconcile) reconcile = co_await reconcile_due();
    if (reconcile) reports.push_back(co_await reconcile_tickets());
    co_return reports;
}

}  // namespace ksync::sync
