#pragma once

// The pure decisions of the sync engine (no I/O, no clock): how to page through a listing whose
// sort key has ties, which tickets need their details fetched, what a full listing says is gone,
// and whether a deletion is too large to be believed. Tested without network or database.

#include "connectors/kayako/records.hpp"

#include <cstdint>
#include <unordered_map>
#include <utility>
#include <vector>

namespace ksync::sync {

using kayako::id_t;
using kayako::unix_time;

// Kayako's ListAll is offset-paged and sorts with no tie-breaker: rows sharing a sort key come
// back in a different order on every request (kayako-api.md §4.1). Cutting a page inside such a
// tie group can skip a row. So each next page starts again at the first row of the trailing tie
// group (plus `overlap` rows, against rows vanishing mid-pass), and a page that is one single tie
// group is asked again twice as large. Callers deduplicate by id.
struct page_request {
    int start = 0;
    int count = 0;
    friend bool operator==(const page_request&, const page_request&) = default;
};

struct page_step {
    bool last = false;  // the listing is exhausted (a short page)
    page_request next;
};

// `keys`: the sort keys of the page in the order returned (non-increasing for DESC, or
// non-decreasing for ASC). With `unique_keys` (ticketid order) there are no ties, and no row is
// read twice.
page_step next_page(page_request req, const std::vector<std::int64_t>& keys, int base_count,
                    int overlap, bool unique_keys = false);

// Tickets whose details (posts, notes) must be fetched: unknown to the mirror, or whose
// lastactivity moved (every post, note or field change moves it, kayako-api.md §5).
std::vector<id_t> tickets_needing_detail(const std::vector<kayako::ticket>& page,
                                         const std::unordered_map<id_t, unix_time>& known_activity);

// Ids the mirror holds alive that a complete listing did not return (both inputs any order).
std::vector<id_t> missing_from_listing(std::vector<id_t> known_alive, std::vector<id_t> listed);

// The mass-delete guard: a deletion is believed unless it is both above `min_count` and above
// `fraction` of what the mirror holds. An operator can override it for one run.
struct delete_guard {
    double fraction = 0.10;
    std::int64_t min_count = 50;
    [[nodiscard]] bool allows(std::int64_t known_alive, std::int64_t to_delete) const noexcept {
        return to_delete <= min_count ||
               static_cast<double>(to_delete) <= fraction * static_cast<double>(known_alive);
    }
    // The largest deletion it allows out of `known_alive`: allows(k, n) == (n <= most(k)).
    [[nodiscard]] std::int64_t most(std::int64_t known_alive) const noexcept;
};

// The deletions a scan over a whole listing finds, held until the scan ends so that the guard
// judges their total. Bounded: once more are confirmed than the guard could ever allow, the
// rest are only counted, with no Get to confirm them and no id kept; so a scan holds at most
// guard.most(known_alive) + 1 ids however large the helpdesk (and none when the operator's
// override lets every deletion through as it is found).
class deletion_tally {
public:
    deletion_tally(delete_guard guard, std::int64_t known_alive, bool allow_all) noexcept
        : limit_(guard.most(known_alive)), known_alive_(known_alive), allow_all_(allow_all) {}

    // Whether an id missing from the listing is still worth a Get to confirm it.
    [[nodiscard]] bool confirming() const noexcept { return allow_all_ || !refused(); }
    void confirmed_gone(id_t id) {
        pending_.push_back(id);
        ++gone_;
    }
    void unconfirmed() noexcept { ++unconfirmed_; }  // missing, not confirmed: past the limit

    // With the override, what is confirmed may be applied at once (take it after each page).
    [[nodiscard]] bool apply_as_found() const noexcept { return allow_all_; }
    std::vector<id_t> take() { return std::exchange(pending_, {}); }

    // At the end: refused (nothing applied) when the confirmed deletions exceed the limit.
    [[nodiscard]] bool refused() const noexcept { return !allow_all_ && gone_ > limit_; }
    // Confirmed deletions plus the missing ids left unconfirmed past the limit.
    [[nodiscard]] std::int64_t total() const noexcept { return gone_ + unconfirmed_; }
    [[nodiscard]] std::int64_t known_alive() const noexcept { return known_alive_; }
    [[nodiscard]] std::size_t held() const noexcept { return pending_.size(); }

private:
    std::int64_t limit_;
    std::int64_t known_alive_;
    bool allow_all_;
    std::int64_t gone_ = 0;
    std::int64_t unconfirmed_ = 0;
    std::vector<id_t> pending_;
};

// Ids in `mirror` (ascending) that are absent from `listed` (ascending): one merge step of a
// listing against the mirror's ids of the same range.
std::vector<id_t> missing_sorted(const std::vector<id_t>& mirror, const std::vector<id_t>& listed);

// ---- incremental ticket passes ---------------------------------------------------------------
// A pass lists newest lastactivity first and stops below `incremental_stop`: the watermark (the
// newest lastactivity seen) minus the overlap, which catches changes that became visible late
// (a request committing after it stamped lastactivity, same-second updates, clock skew), or the
// settled time when that is higher. Rows below the settled time can no longer change unseen:
// a pass that started when Kayako's clock was past `settled + overlap` saw all of them. Kayako's
// clock is known only from below: it was at least the watermark when the watermark was seen
// (`seen_at`, the daemon's clock) and has run as long as the daemon's clock since.
unix_time incremental_stop(unix_time watermark, unix_time settled, std::int64_t overlap);
// The settled time after a complete pass that started at `pass_start` (daemon clock) and read
// down to `stop`; never below `settled`, never above the watermark.
unix_time settled_after_pass(unix_time watermark, unix_time seen_at, unix_time settled,
                             unix_time stop, unix_time pass_start, std::int64_t overlap);

}  // namespace ksync::sync
