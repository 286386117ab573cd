#include "daemon/sync/planning.hpp"
#include "daemon/sync/cursors.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>

namespace {

using namespace ksync::sync;

TEST(paging, a_short_page_is_the_last) {
    auto s = next_page({0, 100}, std::vector<std::int64_t>(40, 5), 100, 3);
    EXPECT_TRUE(s.last);
}

TEST(paging, next_page_restarts_at_the_trailing_tie_group_minus_overlap) {
    std::vector<std::int64_t> keys = {90, 80, 70, 60, 50,
                                      50, 50, 50, 50, 50};  // DESC, 6 tied at the end
    auto s = next_page({20, 10}, keys, 10, 2);
    EXPECT_FALSE(s.last);
    EXPECT_EQ(s.next, (page_request{20 + 10 - 6 - 2, 10}));
}

TEST(paging, a_page_that_is_one_tie_group_is_asked_again_larger) {
    auto s = next_page({40, 10}, std::vector<std::int64_t>(10, 7), 10, 2);
    EXPECT_FALSE(s.last);
    EXPECT_EQ(s.next, (page_request{40, 20}));
}

TEST(paging, always_moves_forward) {
    std::vector<std::int64_t> keys = {9, 8, 8, 8};
    auto s = next_page({10, 4}, keys, 4, 10);
    EXPECT_GT(s.next.start, 10);
}

// Simulates Kayako: a listing sorted by a key with many ties, ties reshuffled on every request,
// offset paging. Following next_page must see every row.
TEST(paging, shuffled_ties_lose_nothing) {
    std::mt19937 rng(5);
    std::vector<std::pair<std::int64_t, int>> rows;  // (key, id)
    int id = 0;
    for (std::int64_t key = 1000; key > 900; --key) {
        const int n = std::uniform_int_distribution<int>(1, 30)(rng);
        for (int i = 0; i < n; ++i) rows.push_back({key, id++});
    }
    std::set<int> seen;
    page_request req{0, 10};
    for (int guard = 0; guard < 10000; ++guard) {
        // The server: stable by key, random within ties, a fresh shuffle per request.
        auto listing = rows;
        std::shuffle(listing.begin(), listing.end(), rng);
        std::stable_sort(listing.begin(), listing.end(),
                         [](auto& a, auto& b) { return a.first > b.first; });
        std::vector<std::int64_t> keys;
        for (int i = req.start;
             i < std::min<int>(req.start + req.count, static_cast<int>(listing.size())); ++i) {
            keys.push_back(listing[static_cast<std::size_t>(i)].first);
            seen.insert(listing[static_cast<std::size_t>(i)].second);
        }
        auto s = next_page(req, keys, 10, 1);
        if (s.last) break;
        req = s.next;
    }
    EXPECT_EQ(seen.size(), rows.size());
}

TEST(detail, unknown_or_moved_tickets_need_their_details) {
    std::vector<ksync::kayako::ticket> page(4);
    page[0].id = 1, page[0].lastactivity = 100;  // unchanged
    page[1].id = 2, page[1].lastactivity = 200;  // moved
    page[2].id = 3, page[2].lastactivity = 300;  // unknown
    page[3].id = 2, page[3].lastactivity = 200;  // duplicate across the page overlap
    std::unordered_map<ksync::kayako::id_t, ksync::kayako::unix_time> known{{1, 100}, {2, 150}};
    EXPECT_EQ(tickets_needing_detail(page, known), (std::vector<ksync::kayako::id_t>{2, 3}));
}

TEST(reconcile, missing_ids_and_the_guard) {
    EXPECT_EQ(missing_from_listing({5, 1, 3, 9}, {1, 9}), (std::vector<ksync::kayako::id_t>{3, 5}));
    delete_guard g{0.10, 50};
    EXPECT_TRUE(g.allows(10'000, 50));    // under the minimum count
    EXPECT_TRUE(g.allows(10'000, 1000));  // 10 %
    EXPECT_FALSE(g.allows(10'000, 1001));
    EXPECT_FALSE(g.allows(100, 51));
}

TEST(cursors, round_trip_and_reject_garbage) {
    ticket_cursor b{ticket_cursor::phase::backfill, 3000, 1700000000, 0};
    EXPECT_EQ(parse_ticket_cursor(to_json(b)), b);
    ticket_cursor i{ticket_cursor::phase::incremental, 0, 0, 1700000123};
    EXPECT_EQ(parse_ticket_cursor(to_json(i)), i);
    user_cursor u{42, 1700000000};
    EXPECT_EQ(parse_user_cursor(to_json(u)), u);
    user_cursor none{std::nullopt, 5};
    EXPECT_EQ(parse_user_cursor(to_json(none)), none);
    EXPECT_THROW(parse_ticket_cursor("not json"), std::runtime_error);
    EXPECT_THROW(parse_ticket_cursor("{\"phase\":\"sideways\"}"), std::runtime_error);
}

}  // namespace
