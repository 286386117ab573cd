#pragma once

// The sync engine: streams that keep the mirror equal to Kayako (design.md "How a sync works").
//
//   lookups        full lists each cycle (departments, statuses, priorities, types, user groups,
//                  staff, staff groups, custom field definitions and options); hash diff
//   organizations  full list; deletions confirmed with a Get
//   users          new ids every cycle (Filter from the highest id the mirror has seen); a full
//                  keyset scan on a slower interval, which also finds edits and deletions
//   tickets        first a backfill by ticket id (resumable: the offset is committed with every
//                  page), then incremental passes newest-first by lastactivity that stop below
//                  the watermark minus an overlap; the watermark advances only after a whole pass
//   details        posts and notes of every ticket whose lastactivity moved (one Get each, with
//                  bounded concurrency); posts and notes that vanished are soft-deleted
//   reconcile      full id listings of tickets (trash included); every id missing from them is
//                  confirmed with a Get before the mirror changes; a mass-delete guard
//
// Every page is applied with the cursor it advances in the same transaction, children (posts,
// notes) before the tickets that mention them, so a crash replays pages and never skips one:
// replayed rows hash-equal and write nothing. One undecodable object is quarantined and the
// stream goes on.

#include "connectors/kayako/client.hpp"
#include "connectors/postgres/mirror_repository.hpp"
#include "connectors/postgres/sync_reads.hpp"
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
};

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

    // One full pass, as `kayako-sync once`: every stream, the full user scan and the reconciler.
    boost::asio::awaitable<std::vector<stream_report>> run_once();

    void set_failpoint(failpoint_fn f) { failpoint_ = std::move(f); }
    [[nodiscard]] const engine_options& options() const noexcept { return opts_; }
    void set_allow_mass_delete(bool on) noexcept { opts_.allow_mass_delete = on; }

private:
    struct ticket_scope;
    boost::asio::awaitable<void> process_ticket_page(std::vector<kayako::ticket> page,
                                                     std::optional<pg::cursor_update> cursor,
                                                     stream_report& report);
    boost::asio::awaitable<std::vector<id_t>> list_ids(pg::entity e);
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
};

}  // namespace ksync::sync
