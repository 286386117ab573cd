#pragma once

// The pure decisions of the sync engine (no I/O, no clock): how to page through a listing whose
// sort key has ties, which tickets need their details fetched, what a full listing says is gone,
// and whether a deletion is too large to be believed. Tested without network or database.

#include "connectors/kayako/records.hpp"

#include <cstdint>
#include <unordered_map>
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
};

}  // namespace ksync::sync
