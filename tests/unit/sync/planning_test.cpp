#include "daemon/sync/planning.hpp"
#include "daemon/sync/cursors.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>

namespace {

using namespace ksync::sync;
using kid = ksync::kayako::id_t;  // plain id_t is ambiguous with <sys/types.h>

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

TEST(reconcile, the_guard_s_largest_allowed_deletion) {
    delete_guard g{0.10, 50};
    EXPECT_EQ(g.most(10'000), 1000);
    EXPECT_EQ(g.most(100), 50);  // the minimum count
    EXPECT_EQ(g.most(0), 50);
    for (std::int64_t known : {0, 1, 99, 500, 501, 10'000, 1'000'003})
        for (std::int64_t n : {g.most(known), g.most(known) + 1})
            EXPECT_EQ(g.allows(known, n), n <= g.most(known)) << known << " " << n;
}

TEST(reconcile, the_tally_holds_no_more_ids_than_the_guard_could_allow) {
    // 1M known, 10 %: at most 100,000 deletions allowed; a listing that lost everything confirms
    // 100,001 and only counts the rest, never holding more ids than that.
    deletion_tally t(delete_guard{0.10, 50}, 1'000'000, false);
    std::int64_t gets = 0;
    for (kid id = 1; id <= 1'000'000; ++id) {
        if (t.confirming()) {
            ++gets;
            t.confirmed_gone(id);
        } else {
            t.unconfirmed();
        }
    }
    EXPECT_EQ(gets, 100'001);
    EXPECT_EQ(t.held(), 100'001u);
    EXPECT_TRUE(t.refused());
    EXPECT_EQ(t.total(), 1'000'000);
    EXPECT_FALSE(t.apply_as_found());

    deletion_tally small(delete_guard{0.10, 50}, 1000, false);
    for (kid id = 1; id <= 50; ++id) small.confirmed_gone(id);
    EXPECT_FALSE(small.refused());
    EXPECT_EQ(small.take().size(), 50u);
    EXPECT_EQ(small.held(), 0u);

    // The operator's override: everything is confirmed and applied as it is found.
    deletion_tally all(delete_guard{0.10, 50}, 1000, true);
    for (kid id = 1; id <= 900; ++id) {
        ASSERT_TRUE(all.confirming());
        all.confirmed_gone(id);
        if (id % 100 == 0) {
            EXPECT_EQ(all.take().size(), 100u);
        }
    }
    EXPECT_TRUE(all.apply_as_found());
    EXPECT_FALSE(all.refused());
    EXPECT_EQ(all.total(), 900);
}

TEST(reconcile, missing_sorted_is_a_merge_step) {
    EXPECT_EQ(missing_sorted({1, 3, 5, 7, 9}, {1, 2, 5, 9, 11}), (std::vector<kid>{3, 7}));
    EXPECT_EQ(missing_sorted({}, {1, 2}), (std::vector<kid>{}));
    EXPECT_EQ(missing_sorted({4, 6}, {}), (std::vector<kid>{4, 6}));
}

TEST(incremental, the_stop_is_the_watermark_minus_the_overlap_until_the_window_settles) {
    EXPECT_EQ(incremental_stop(10'000, 0, 600), 9'400);
    EXPECT_EQ(incremental_stop(10'000, 9'900, 600), 9'900);
    EXPECT_EQ(incremental_stop(10'000, 10'000, 600), 10'000);
    EXPECT_EQ(incremental_stop(10'000, 0, 0), 10'000);
    // The watermark was seen at daemon time 50,000 (Kayako's clock is unknown: it only had
    // reached 10,000 by then). A pass starting 100 s later settles no more than the overlap.
    EXPECT_EQ(settled_after_pass(10'000, 50'000, 0, 9'400, 50'100, 600), 9'500);
    // Once the overlap has passed on the daemon's clock, everything up to the watermark is final.
    EXPECT_EQ(settled_after_pass(10'000, 50'000, 0, 9'400, 50'600, 600), 10'000);
    EXPECT_EQ(settled_after_pass(10'000, 50'000, 0, 9'400, 51'000, 600), 10'000);  // capped
    // Never backwards; without a time of sight only what the pass read.
    EXPECT_EQ(settled_after_pass(10'000, 50'000, 9'990, 9'990, 50'001, 600), 9'990);
    EXPECT_EQ(settled_after_pass(10'000, 0, 0, 9'400, 99'999, 600), 9'400);
    // A daemon clock that went backwards proves nothing.
    EXPECT_EQ(settled_after_pass(10'000, 50'000, 0, 9'400, 40'000, 600), 9'400);
}

TEST(cursors, round_trip_and_reject_garbage) {
    ticket_cursor b{ticket_cursor::phase::backfill, 3000, 1700000000, 0, 1800000000, 0};
    EXPECT_EQ(parse_ticket_cursor(to_json(b)), b);
    ticket_cursor i{ticket_cursor::phase::incremental, 0, 0, 1700000123, 1800000000, 1700000100};
    EXPECT_EQ(parse_ticket_cursor(to_json(i)), i);
    // A cursor written before seen_at and settled existed still reads.
    ticket_cursor old{ticket_cursor::phase::incremental, 0, 0, 1700000123, 0, 0};
    EXPECT_EQ(parse_ticket_cursor(R"({"phase": "incremental", "watermark": 1700000123})"), old);
    reconcile_cursor r{1700000555};
    EXPECT_EQ(parse_reconcile_cursor(to_json(r)), r);
    user_cursor u{42, 1700000000};
    EXPECT_EQ(parse_user_cursor(to_json(u)), u);
    user_cursor none{std::nullopt, 5};
    EXPECT_EQ(parse_user_cursor(to_json(none)), none);
    EXPECT_THROW(parse_ticket_cursor("not json"), std::runtime_error);
    EXPECT_THROW(parse_ticket_cursor("{\"phase\":\"sideways\"}"), std::runtime_error);
}

}  // namespace
