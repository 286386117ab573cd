#include "daemon/sync/planning.hpp"

#include <algorithm>
#include <cmath>
#include <iterator>
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

std::int64_t delete_guard::most(std::int64_t known_alive) const noexcept {
    const auto by_fraction = static_cast<std::int64_t>(
        std::floor(fraction * static_cast<double>(std::max<std::int64_t>(known_alive, 0))));
    return std::max(min_count, by_fraction);
}

std::vector<id_t> missing_sorted(const std::vector<id_t>& mirror, const std::vector<id_t>& listed) {
    std::vector<id_t> out;
    std::set_difference(mirror.begin(), mirror.end(), listed.begin(), listed.end(),
                        std::back_inserter(out));
    return out;
}

unix_time incremental_stop(unix_time watermark, unix_time settled, std::int64_t overlap) {
    return std::max(watermark - std::max<std::int64_t>(overlap, 0), settled);
}

unix_time settled_after_pass(unix_time watermark, unix_time seen_at, unix_time settled,
                             unix_time stop, unix_time pass_start, std::int64_t overlap) {
    // Kayako's clock at the pass start, from below; without a time of sight only the watermark.
    unix_time kayako_low = watermark;
    if (seen_at > 0 && pass_start > seen_at) kayako_low += pass_start - seen_at;
    // Never past the watermark: above it nothing is re-read anyway (every newer row is above the
    // stop), and what Kayako's clock demonstrably reached is all this relies on.
    return std::max(
        {settled, stop, std::min(watermark, kayako_low - std::max<std::int64_t>(overlap, 0))});
}

}  // namespace ksync::sync
