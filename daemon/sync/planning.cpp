#include "daemon/sync/planning.hpp"

#include <algorithm>
#include <unordered_set>

namespace ksync::sync {

page_step next_page(page_request req, const std::vector<std::int64_t>& keys, int base_count,
                    int overlap, bool unique_keys) {
    if (static_cast<int>(keys.size()) < req.count) return {true, req};
    if (keys.empty()) return {true, req};
    if (unique_keys) return {false, {req.start + req.count, base_count}};
    const std::int64_t last = keys.back();
    int tie = 0;
    for (auto it = keys.rbegin(); it != keys.rend() && *it == last; ++it) ++tie;
    if (tie == static_cast<int>(keys.size())) {
        // The whole page is one tie group: its members could continue in any order past the
        // page end. Ask again from the same start with a page large enough to close the group.
        return {false, {req.start, req.count * 2}};
    }
    int next_start = req.start + req.count - tie - std::max(overlap, 0);
    next_start = std::max(next_start, req.start + 1);
    return {false, {next_start, base_count}};
}

std::vector<id_t> tickets_needing_detail(
    const std::vector<kayako::ticket>& page,
    const std::unordered_map<id_t, unix_time>& known_activity) {
    std::vector<id_t> out;
    for (const auto& t : page) {
        auto it = known_activity.find(t.id);
        if (it == known_activity.end() || it->second != t.lastactivity) out.push_back(t.id);
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

std::vector<id_t> missing_from_listing(std::vector<id_t> known_alive, std::vector<id_t> listed) {
    std::unordered_set<id_t> seen(listed.begin(), listed.end());
    std::vector<id_t> out;
    for (auto id : known_alive)
        if (!seen.count(id)) out.push_back(id);
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace ksync::sync
