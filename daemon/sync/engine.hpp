#pragma once

// The sync engine: streams that keep the mirror equal to Kayako (design.md "How a sync works").
//
//   lookups        full lists each cycle (departments, statuses, priorities, types, user groups,
//                  staff, staff groups, custom field definitions and options); hash diff
//   organizations  full list; deletions confirmed with a Get
//   users          new ids every cycle (Filter from the highest id the mirror has seen); a full
//                  keyset scan on a slower interval, which also finds edits and deletions: each
//                  page is compared with the mirror's ids of the same id range
//   tickets        first a backfill by ticket id (resumable: the offset is committed with every
//                  page), then incremental passes newest-first by lastactivity that stop below
//                  the watermark minus an overlap (or the settled time, once Kayako's clock is
//                  past the watermark by the overlap: planning.hpp); the watermark advances only
//                  after a whole pass
//   details        posts and notes of every ticket whose lastactivity moved (one Get each, with
//                  bounded concurrency); posts and notes that vanished are soft-deleted
//   reconcile      full id listings of tickets (trash included), walked side by side in id
//                  order and compared with the mirror's ids range by range; every id missing
//                  from them is confirmed with a Get before the mirror changes; a mass-delete
//                  guard
//
// The full user scan and the reconciler are slow (a request per 1000 objects) and run only when
// due: their interval has passed since their last complete run, recorded in their cursor rows
// (users: last_full_scan; reconcile: last_run), so `once`, `run` and a restarted daemon agree.
// Memory stays O(page) in every stream: no scan holds a whole table's ids (deletion_tally).
// Every page is applied with the cursor it advances in the same transaction, children (posts,
// notes) before the tickets that mention them, so a crash replays pages and never skips one:
// replayed rows hash-equal and write nothing. One undecodable object is quarantined and the
// stream goes on. The ticket backfill overlaps two pages: while page k is written (on the
// database thread), page k+1 is listed and its details fetched; writes stay in page order.

#include "connectors/kayako/client.hpp"
#include "connectors/postgres/mirror_repository.hpp"
#include "connectors/postgres/sync_reads.hpp"
#include "daemon/sync/cursors.hpp"
#include "daemon/sync/planning.hpp"

#include <spdlog/logger.h>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace ksync::sync {

struct engine_options {
    int page_size = 1000;                // ListAll rows per page (Filter is always 1000)
    int page_overlap = 5;                // rows re-read at each page boundary
    std::int64_t overlap_seconds = 300;  // incremental: keep reading this far below the watermark
    int detail_concurrency = 4;          // concurrent ticket Gets (the pacer still rules)
    delete_guard guard;
    bool allow_mass_delete = false;  // the operator's one-run override
    // The slow streams run when this long has passed since their last complete run.
    std::int64_t full_scan_interval_seconds = 86400;  // streams.users.full_scan_interval
    std::int64_t reconcile_interval_seconds = 86400;  // streams.reconcile.interval
};

// What `run_once` does with the slow streams (the full user scan and the reconciler).
enum class slow_streams { when_due, always };

// What one stream run did; `status` prints it and the scheduler logs it.
struct stream_report {
    std::string stream;
    pg::apply_stats applied;
    std::size_t quarantined = 0;
    std::size_t detail_fetches = 0;
    std::size_t refused_deletes = 0;  // deletions held back by the mass-delete guard
    std::string note;                 // e.g. "backfill complete", "guard refused 1200 deletions"
};

// Test seam for crash tests: called at named points ("ticket_page_applied", ...).
using failpoint_fn = std::function<void(std::string_view point)>;
// Test seam: awaited at named points of the event loop ("ticket_page_write": a ticket page's write
// stage is about to start), so a test can hold a stage without blocking the loop.
using stage_gate_fn = std::function<boost::asio::awaitable<void>(std::string_view point)>;

class engine {
public:
    engine(kayako::client& kayako, pg::mirror_repository& mirror, pg::sync_reads& reads,
           engine_options opts, std::shared_ptr<spdlog::logger> log);

    boost::asio::awaitable<stream_report> sync_lookups();
    boost::asio::awaitable<stream_report> sync_organizations();
    // full_scan = false: only users above the highest id seen so far.
    boost::asio::awaitable<stream_report> sync_users(bool full_scan);
    // Backfill until complete, then one incremental pass.
    boost::asio::awaitable<stream_report> sync_tickets();
    boost::asio::awaitable<stream_report> reconcile_tickets();

    // Whether the slow streams are due (their interval has passed since their last complete run
    // as recorded in the state schema; a full user scan left half done is due at once).
    boost::asio::awaitable<bool> full_user_scan_due();
    boost::asio::awaitable<bool> reconcile_due();

    // One pass over every stream: lookups, organizations, users (new ids, or the full scan when
    // due), tickets, and the reconciler when due; `always` runs both slow streams regardless.
    boost::asio::awaitable<std::vector<stream_report>> run_once(
        slow_streams slow = slow_streams::when_due);

    void set_failpoint(failpoint_fn f) { failpoint_ = std::move(f); }
    void set_stage_gate(stage_gate_fn g) { stage_gate_ = std::move(g); }
    [[nodiscard]] const engine_options& options() const noexcept { return opts_; }
    void set_allow_mass_delete(bool on) noexcept { opts_.allow_mass_delete = on; }
    void set_slow_intervals(std::int64_t full_scan_seconds, std::int64_t reconcile_seconds) {
        opts_.full_scan_interval_seconds = full_scan_seconds;
        opts_.reconcile_interval_seconds = reconcile_seconds;
    }
    // Test seam: the daemon's wall clock (unix seconds) as the engine reads it.
    void set_clock(std::function<kayako::unix_time()> now) { clock_ = std::move(now); }

private:
    struct ticket_scope;
    // A ticket page goes through two stages. Fetch: what the mirror knows of the listed tickets,
    // the detail Gets, and what to write (no write). Write: the quarantine, the children (posts,
    // notes, their deletions), then the tickets with the page's cursor, in that order.
    struct fetched_tickets;
    struct backfill_page;
    boost::asio::awaitable<fetched_tickets> fetch_ticket_page(std::vector<kayako::ticket> page,
                                                              kayako::request_priority prio);
    boost::asio::awaitable<void> write_ticket_page(fetched_tickets page, stream_report& report);
    // Both stages, one after the other (incremental passes, the reconciler).
    boost::asio::awaitable<void> process_ticket_page(std::vector<kayako::ticket> page,
                                                     stream_report& report);
    // Lists the backfill page `req` and runs its fetch stage. `previous` holds the ids the page
    // before listed: its write may still be running, so they are left to it (see sync_tickets).
    boost::asio::awaitable<backfill_page> fetch_backfill_page(kayako::ticket_list_query q,
                                                              page_request req, ticket_cursor cur,
                                                              std::vector<id_t> previous);
    boost::asio::awaitable<std::vector<id_t>> list_ids(pg::entity e);
    // The merge step of the full scans: mirror ids alive in (after, upto] that `listed` (sorted)
    // lacks are confirmed with a Get; found ones are applied again, gone ones go to the tally.
    boost::asio::awaitable<void> check_range(pg::entity e, id_t after, id_t upto,
                                             const std::vector<id_t>& listed, deletion_tally& tally,
                                             stream_report& report);
    boost::asio::awaitable<void> apply_deletions(pg::entity e, std::vector<id_t> ids,
                                                 stream_report& report);
    boost::asio::awaitable<void> finish_deletions(pg::entity e, deletion_tally& tally,
                                                  stream_report& report);
    [[nodiscard]] kayako::unix_time now() const;
    boost::asio::awaitable<void> quarantine_bad(const std::string& stream,
                                                const std::string& entity,
                                                const std::vector<kayako::record_error>& bad,
                                                stream_report& report);
    boost::asio::awaitable<void> delete_ticket_children(std::vector<id_t> ticket_ids,
                                                        stream_report& report);
    boost::asio::awaitable<void> delete_confirmed(pg::entity e, std::vector<id_t> ids,
                                                  std::int64_t known_alive, stream_report& report);
    template <class T, class Fetch>
    boost::asio::awaitable<void> sync_full_list(const char* stream, pg::entity e, Fetch fetch,
                                                stream_report& report);
    boost::asio::awaitable<ticket_scope> ticket_scope_now();
    void failpoint(std::string_view point) const {
        if (failpoint_) failpoint_(point);
    }

    kayako::client& kayako_;
    pg::mirror_repository& mirror_;
    pg::sync_reads& reads_;
    engine_options opts_;
    std::shared_ptr<spdlog::logger> log_;
    failpoint_fn failpoint_;
    stage_gate_fn stage_gate_;
    std::function<kayako::unix_time()> clock_;
    // What the last incremental pass of this process settled beyond what its cursor says (a
    // settled time is written only when it reaches the watermark, so a quiet pass writes nothing).
    struct settled_memory {
        kayako::unix_time watermark = 0;
        kayako::unix_time settled = 0;
    } settled_mem_;
};

}  // namespace ksync::sync
