// The sync engine end to end: the emulator (in process, on 127.0.0.1) as Kayako, the throwaway
// PostgreSQL as the mirror, judged by the checker against the emulator's own model.
#include "tests/e2e/e2e_fixture.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/use_future.hpp>
#include <pqxx/pqxx>

#include <gtest/gtest.h>

#include <map>
#include <thread>
#include <tuple>

namespace {

namespace asio = boost::asio;
using namespace ksync;

class sync_e2e : public test::e2e_fixture {};

// Index in `log` of the n-th (1-based) ListAll at or after `from`; log.size() when there is none.
std::size_t nth_listing(const std::vector<emulator::log_entry>& log, std::size_t from, int n) {
    for (std::size_t i = from; i < log.size(); ++i)
        if (log[i].endpoint == "tickets/Ticket/listall" && --n == 0) return i;
    return log.size();
}

std::int64_t tickets_in_mirror(const std::string& dsn) {
    pqxx::connection c{dsn};
    pqxx::read_transaction tx{c};
    return tx.exec1("SELECT count(*) FROM kayako.tickets")[0].as<std::int64_t>();
}

std::string ticket_cursor_json(const std::string& dsn) {
    pqxx::connection c{dsn};
    pqxx::read_transaction tx{c};
    auto r =
        tx.exec("SELECT cursor::text FROM kayako_sync.stream_cursors WHERE stream = 'tickets'");
    return r.empty() ? std::string() : r[0][0].as<std::string>();
}

TEST_F(sync_e2e, once_makes_the_mirror_equal_to_the_model_trash_and_closed_included) {
    auto trashed = emu->api().read([](const emulator::helpdesk& m) {
        return std::count_if(m.tickets.begin(), m.tickets.end(),
                             [](const auto& t) { return t.departmentid == 0; });
    });
    ASSERT_GT(trashed, 0);  // the seed has trashed tickets, so the trash listing is exercised
    once();
    expect_mirror_equals_model();
}

TEST_F(sync_e2e, changes_on_the_kayako_side_converge_with_one_event_per_changed_object) {
    once();
    const auto before = feed_position();
    auto ids = emu->api().read([](const emulator::helpdesk& m) {
        std::vector<std::int64_t> t, u, o;
        for (const auto& x : m.tickets)
            if (x.departmentid != 0) t.push_back(x.ticketid);
        for (const auto& x : m.users) u.push_back(x.userid);
        for (const auto& x : m.organizations) o.push_back(x.userorganizationid);
        return std::tuple{t, u, o};
    });
    const auto& [tickets, users, orgs] = ids;
    control("POST", "/_control/clock", "advance=100");
    std::vector<std::int64_t> edited, posted, trashed, deleted;
    for (int i = 0; i < 5; ++i) {
        edited.push_back(tickets[static_cast<std::size_t>(10 + i)]);
        control("POST", "/_control/tickets/" + std::to_string(edited.back()),
                "subject=Edited+subject+" + std::to_string(i));
    }
    for (int i = 0; i < 3; ++i) {
        posted.push_back(tickets[static_cast<std::size_t>(30 + i)]);
        control("POST", "/_control/tickets/" + std::to_string(posted.back()) + "/posts",
                "contents=A+new+reply+%3Cb%3Ewith%3C%2Fb%3E+%27quotes%27+and+%5D%5D%3E+%F0%9F%8E%"
                "AB&staffid=1&isprivate=0");
    }
    for (int i = 0; i < 2; ++i) {  // trashing does not move lastactivity: only reconcile sees it
        trashed.push_back(tickets[static_cast<std::size_t>(50 + i)]);
        control("POST", "/_control/tickets/" + std::to_string(trashed.back()), "departmentid=0");
    }
    const auto deleted_ticket_posts = emu->api().read([&](const emulator::helpdesk& m) {
        return m.posts_of(*m.find_ticket(tickets[60])).size();
    });
    deleted.push_back(tickets[60]);
    control("DELETE", "/_control/tickets/" + std::to_string(deleted.back()), "");
    const auto renamed_user = users[5];
    control("POST", "/_control/users/" + std::to_string(renamed_user), "fullname=Renamed+User");
    const auto deleted_user = users[7];
    control("DELETE", "/_control/users/" + std::to_string(deleted_user), "");
    const auto renamed_org = orgs[2];
    control("POST", "/_control/organizations/" + std::to_string(renamed_org),
            "name=Renamed+Org&organizationtype=shared");

    once();
    expect_mirror_equals_model();

    auto events = events_after(before);
    for (const auto& [key, n] : events) EXPECT_EQ(n, 1) << key.first << " " << key.second;
    for (auto id : edited) EXPECT_EQ((events[{"tickets", id}]), 1) << id;
    for (auto id : posted) EXPECT_EQ((events[{"tickets", id}]), 1) << id;
    for (auto id : trashed) EXPECT_EQ((events[{"tickets", id}]), 1) << id;
    for (auto id : deleted) EXPECT_EQ((events[{"tickets", id}]), 1) << id;
    EXPECT_EQ((events[{"users", renamed_user}]), 1);
    EXPECT_EQ((events[{"users", deleted_user}]), 1);
    EXPECT_EQ((events[{"organizations", renamed_org}]), 1);
    int new_posts = 0;
    for (const auto& [key, n] : events)
        if (key.first == "posts") ++new_posts;
    // The 3 new replies, and one delete event for each post of the deleted ticket.
    EXPECT_EQ(new_posts, 3 + static_cast<int>(deleted_ticket_posts));
}

TEST_F(sync_e2e, a_cycle_with_nothing_changed_writes_nothing_and_asks_only_what_it_needs) {
    once();
    const auto state = written_state();
    const auto position = feed_position();
    const auto log_before = emu->api().request_log().size();
    // The regular cycle: lookups, organizations, new users, one incremental ticket pass.
    test::run_coro(ioc, eng->sync_lookups());
    test::run_coro(ioc, eng->sync_organizations());
    test::run_coro(ioc, eng->sync_users(false));
    test::run_coro(ioc, eng->sync_tickets());
    EXPECT_EQ(feed_position(), position);
    EXPECT_EQ(written_state(), state);

    // From the emulator's request log: list calls only, one organization list, one user page,
    // and ListAll pages only as far as the overlap window reaches; no detail fetch at all.
    auto log = emu->api().request_log();
    std::map<std::string, int> by_endpoint;
    for (std::size_t i = log_before; i < log.size(); ++i) {
        EXPECT_EQ(log[i].method, "GET") << log[i].path;
        ++by_endpoint[log[i].endpoint];
    }
    EXPECT_EQ(by_endpoint["base/UserOrganization/getlist"], 1);
    EXPECT_EQ(by_endpoint["base/User/filter"], 1);
    EXPECT_EQ(by_endpoint["tickets/Ticket/get"], 0);
    const auto window = emu->api().read([&](const emulator::helpdesk& m) {
        std::int64_t newest = 0;
        for (const auto& t : m.tickets)
            if (t.departmentid != 0) newest = std::max(newest, t.lastactivity);
        int in_window = 0;
        for (const auto& t : m.tickets)
            if (t.departmentid != 0 && t.lastactivity >= newest - engine_opts().overlap_seconds)
                ++in_window;
        return in_window;
    });
    // Each page advances by at least half a page (page size minus overlap minus a tie group):
    // the rows inside the overlap window bound the number of ListAll pages.
    EXPECT_GE(by_endpoint["tickets/Ticket/listall"], 1);
    EXPECT_LE(by_endpoint["tickets/Ticket/listall"], 1 + window / (engine_opts().page_size / 2))
        << window;
    for (const auto& [endpoint, n] : by_endpoint)
        EXPECT_TRUE(n == 0 || endpoint == "base/User/filter" ||
                    endpoint == "tickets/Ticket/listall" || endpoint.ends_with("/getlist") ||
                    endpoint == "base/CustomField/listoptions")
            << endpoint << " x" << n;
}

TEST_F(sync_e2e, a_quiet_cycle_asks_for_the_lists_one_user_page_and_one_ticket_page) {
    // The daemon's clock, moved by hand together with the emulator's.
    std::int64_t clock = 2'000'000'000;
    eng->set_clock([&clock] { return clock; });
    once();
    // Right after the backfill the pass still re-reads the whole overlap window (every seeded
    // ticket here). Once the overlap has passed on both clocks, one more pass settles it.
    const auto overlap = engine_opts().overlap_seconds;
    clock += overlap + 1;
    control("POST", "/_control/clock", "advance=" + std::to_string(overlap + 1));
    auto settling = test::run_coro(ioc, eng->run_once());
    ASSERT_EQ(settling.size(), 4u);  // the full user scan and the reconciler are not due

    for (int process = 0; process < 2; ++process) {
        if (process == 1) {  // a new process (`kayako-sync once` again) reads the same state
            make_stack(engine_opts());
            eng->set_clock([&clock] { return clock; });
        }
        clock += 60;
        const auto state = written_state();
        const auto position = feed_position();
        const auto log_before = emu->api().request_log().size();
        auto reports = test::run_coro(ioc, eng->run_once());
        ASSERT_EQ(reports.size(), 4u);
        EXPECT_EQ(reports[2].stream, "users");
        EXPECT_EQ(feed_position(), position);
        EXPECT_EQ(written_state(), state);  // not even a cursor row
        auto log = emu->api().request_log();
        std::map<std::string, int> by_endpoint;
        int lookups = 0;
        for (std::size_t i = log_before; i < log.size(); ++i) {
            ++by_endpoint[log[i].endpoint];
            if (log[i].endpoint != "base/UserOrganization/getlist" &&
                (log[i].endpoint.ends_with("/getlist") ||
                 log[i].endpoint == "base/CustomField/listoptions"))
                ++lookups;
        }
        EXPECT_EQ(by_endpoint["base/UserOrganization/getlist"], 1);
        EXPECT_EQ(by_endpoint["base/User/filter"], 1);
        EXPECT_EQ(by_endpoint["tickets/Ticket/listall"], 1);
        EXPECT_EQ(static_cast<int>(log.size() - log_before), lookups + 3) << process;
    }

    // Correctness is kept: a change made now is found by the next one-page pass.
    clock += 5;
    control("POST", "/_control/clock", "advance=5");
    const auto live = emu->api().read([](const emulator::helpdesk& m) {
        for (const auto& t : m.tickets)
            if (t.departmentid != 0) return t.ticketid;
        return std::int64_t{0};
    });
    control("POST", "/_control/tickets/" + std::to_string(live),
            "subject=Changed+after+the+window+settled");
    const auto position = feed_position();
    test::run_coro(ioc, eng->sync_tickets());
    EXPECT_EQ((events_after(position)[{"tickets", live}]), 1);
    expect_mirror_equals_model();
}

TEST_F(sync_e2e, the_full_user_scan_and_the_reconciler_run_when_due_and_not_before) {
    auto o = engine_opts();
    o.full_scan_interval_seconds = 3600;
    o.reconcile_interval_seconds = 7200;
    std::int64_t clock = 2'000'000'000;
    auto fresh_process = [&] {
        make_stack(o);
        eng->set_clock([&clock] { return clock; });
    };
    fresh_process();
    auto streams = [&] {
        const auto log_before = emu->api().request_log().size();
        std::string s;
        for (const auto& r : test::run_coro(ioc, eng->run_once(), std::chrono::minutes(5)))
            s += r.stream + "; ";
        return s + std::to_string(count_requests("base/User/filter", log_before)) + " user pages";
    };
    // Nothing recorded yet: both are due (the reconciler once the backfill is complete).
    EXPECT_EQ(streams(),
              "lookups; organizations; users (full scan); tickets; reconcile; 2 user pages");
    EXPECT_EQ(streams(), "lookups; organizations; users; tickets; 1 user pages");
    clock += 3599;
    EXPECT_EQ(streams(), "lookups; organizations; users; tickets; 1 user pages");
    clock += 1;
    EXPECT_EQ(streams(), "lookups; organizations; users (full scan); tickets; 2 user pages");
    // A restarted process agrees: the completion times are in the database.
    fresh_process();
    EXPECT_TRUE(!test::run_coro(ioc, eng->full_user_scan_due()));
    EXPECT_TRUE(!test::run_coro(ioc, eng->reconcile_due()));
    EXPECT_EQ(streams(), "lookups; organizations; users; tickets; 1 user pages");
    clock += 3600;
    EXPECT_EQ(streams(),
              "lookups; organizations; users (full scan); tickets; reconcile; 2 user pages");
    EXPECT_EQ(streams(), "lookups; organizations; users; tickets; 1 user pages");
}

TEST_F(sync_e2e, a_resumed_full_user_scan_still_finds_deletions_in_the_ranges_it_covers) {
    once();
    auto ids = emu->api().read([](const emulator::helpdesk& m) {
        std::vector<std::int64_t> u;
        for (const auto& x : m.users) u.push_back(x.userid);
        std::sort(u.begin(), u.end());
        return u;
    });
    ASSERT_GT(ids.size(), 1100u);
    const auto gone = ids[1100];  // on the second Filter page
    control("DELETE", "/_control/users/" + std::to_string(gone), "");
    const auto before = feed_position();
    // The scan dies after its first page committed its resume point.
    eng->set_failpoint([](std::string_view point) {
        if (point == "user_page_applied") throw std::runtime_error("simulated crash");
    });
    EXPECT_THROW(test::run_coro(ioc, eng->sync_users(true)), std::runtime_error);
    make_stack(engine_opts());
    EXPECT_TRUE(test::run_coro(ioc, eng->full_user_scan_due()));  // half done: due at once
    auto report = test::run_coro(ioc, eng->sync_users(true));
    EXPECT_EQ(report.applied.deleted, 1u);
    EXPECT_EQ((events_after(before)[{"users", gone}]), 1);
    expect_mirror_equals_model();
}

TEST_F(sync_e2e, the_reconciler_finds_deletions_at_both_ends_of_the_id_range_and_in_the_trash) {
    once();
    auto ids = emu->api().read([](const emulator::helpdesk& m) {
        std::vector<std::int64_t> live, trash;
        for (const auto& x : m.tickets) (x.departmentid == 0 ? trash : live).push_back(x.ticketid);
        std::sort(live.begin(), live.end());
        std::sort(trash.begin(), trash.end());
        return std::pair{live, trash};
    });
    const auto& [live, trash] = ids;
    ASSERT_FALSE(trash.empty());
    // Kayako's delete is a hard delete: nothing lists these ids any more.
    const std::vector<std::int64_t> deleted{live.front(), live[live.size() / 2], live.back(),
                                            trash.back()};
    for (auto id : deleted) control("DELETE", "/_control/tickets/" + std::to_string(id), "");
    const auto moved = live[live.size() / 3];  // trashed: listed by the trash listing now
    control("POST", "/_control/tickets/" + std::to_string(moved), "departmentid=0");
    const auto before = feed_position();
    auto report = test::run_coro(ioc, eng->reconcile_tickets());
    EXPECT_EQ(report.refused_deletes, 0u);
    auto events = events_after(before);
    for (auto id : deleted) EXPECT_EQ((events[{"tickets", id}]), 1) << id;
    EXPECT_EQ((events[{"tickets", moved}]), 1);
    expect_mirror_equals_model();
}

TEST_F(sync_e2e, ties_in_lastactivity_shuffled_by_kayako_lose_nothing) {
    once();
    // 250 tickets changed within one frozen second: a tie group larger than two pages of 100,
    // which Kayako returns in a different order on every request.
    control("POST", "/_control/clock", "advance=50&freeze=1");
    auto ids = emu->api().read([](const emulator::helpdesk& m) {
        std::vector<std::int64_t> t;
        for (const auto& x : m.tickets)
            if (x.departmentid != 0 && t.size() < 250) t.push_back(x.ticketid);
        return t;
    });
    for (auto id : ids)
        control("POST", "/_control/tickets/" + std::to_string(id),
                "subject=tie+" + std::to_string(id));
    test::run_coro(ioc, eng->sync_tickets());
    expect_mirror_equals_model();
}

TEST_F(sync_e2e, a_listing_that_shrinks_past_the_guard_deletes_nothing) {
    once();
    const auto before = feed_position();
    emu->api().write(
        [](emulator::helpdesk& m) { m.tickets.erase(m.tickets.begin(), m.tickets.begin() + 200); });
    const auto log_before = emu->api().request_log().size();
    auto report = test::run_coro(ioc, eng->reconcile_tickets());
    EXPECT_EQ(report.refused_deletes, 200u);
    EXPECT_NE(report.note.find("guard"), std::string::npos);
    // Past what the guard could allow (50 of 400 known), the missing ids are only counted: no
    // more Gets to confirm them, and no more ids held in memory.
    EXPECT_EQ(count_requests("tickets/Ticket/get", log_before), engine_opts().guard.most(400) + 1);
    for (const auto& [key, n] : events_after(before))
        EXPECT_NE(key.first, "tickets") << "deleted " << key.second;
    // The operator's override for one run lets them through.
    eng->set_allow_mass_delete(true);
    report = test::run_coro(ioc, eng->reconcile_tickets());
    int deleted_tickets = 0;
    for (const auto& [key, n] : events_after(before))
        if (key.first == "tickets") deleted_tickets += n;
    EXPECT_EQ(deleted_tickets, 200);
    expect_mirror_equals_model();
}

TEST_F(sync_e2e, a_crash_in_the_middle_of_the_backfill_resumes_without_duplicate_events) {
    // The process "dies" after the second backfill page committed: an exception from the
    // failpoint unwinds everything, exactly where a kill -9 would leave the database.
    int pages = 0;
    eng->set_failpoint([&](std::string_view point) {
        if (point == "ticket_page_applied" && ++pages == 2)
            throw std::runtime_error("simulated crash");
    });
    test::run_coro(ioc, eng->sync_lookups());
    EXPECT_THROW(test::run_coro(ioc, eng->sync_tickets()), std::runtime_error);
    {
        pqxx::connection c{db_dsn()};
        pqxx::read_transaction tx{c};
        auto cursor =
            tx.exec1(
                  "SELECT cursor::text FROM kayako_sync.stream_cursors WHERE stream = 'tickets'")[0]
                .as<std::string>();
        EXPECT_NE(cursor.find("\"backfill\""), std::string::npos) << cursor;
        EXPECT_NE(cursor.find("\"offset\": 200"), std::string::npos) << cursor;
    }
    // A new process: a fresh stack on the same database.
    make_stack(engine_opts());
    once();
    expect_mirror_equals_model();
    pqxx::connection c{db_dsn()};
    pqxx::read_transaction tx{c};
    EXPECT_EQ(
        tx.exec1("SELECT count(*) FROM (SELECT entity, object_id, version FROM kayako_sync.changes "
                 "GROUP BY 1, 2, 3 HAVING count(*) > 1) d")[0]
            .as<int>(),
        0);
    EXPECT_EQ(tx.exec1("SELECT count(*) FROM kayako_sync.changes WHERE entity = 'tickets' AND op "
                       "<> 'insert'")[0]
                  .as<int>(),
              0);
}

// The backfill overlaps a page's write with the next page's fetch. Page 1's write stage is held
// (an awaitable test gate: the event loop runs on) until the emulator has been asked for a ticket
// of page 2, for at most 10 s: fetched one page after the other, page 2 would only be listed once
// page 1 is written, and the gate would run out.
TEST_F(sync_e2e, the_backfill_fetches_the_next_page_while_a_page_is_written) {
    test::run_coro(ioc, eng->sync_lookups());
    const auto from = emu->api().request_log().size();
    int writes = 0;
    bool next_page_fetched = false;
    std::size_t listings_when_released = 0;
    std::int64_t tickets_when_released = -1;
    eng->set_stage_gate([&](std::string_view point) -> asio::awaitable<void> {
        if (point != "ticket_page_write" || ++writes != 1) co_return;
        asio::steady_timer t(co_await asio::this_coro::executor);
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (!next_page_fetched && std::chrono::steady_clock::now() < deadline) {
            // Listings: the newest ticket (the backfill's target), page 1, page 2.
            auto log = emu->api().request_log();
            for (auto i = nth_listing(log, from, 3); i < log.size(); ++i)
                if (log[i].endpoint == "tickets/Ticket/get") next_page_fetched = true;
            if (next_page_fetched) {
                // Page 2's Gets are all answered and no third page is listed: one page ahead.
                t.expires_after(std::chrono::milliseconds(300));
                co_await t.async_wait(asio::use_awaitable);
                log = emu->api().request_log();
                for (auto i = from; i < log.size(); ++i)
                    listings_when_released += log[i].endpoint == "tickets/Ticket/listall";
                tickets_when_released = tickets_in_mirror(db_dsn());
                break;
            }
            t.expires_after(std::chrono::milliseconds(5));
            co_await t.async_wait(asio::use_awaitable);
        }
    });
    auto report = test::run_coro(ioc, eng->sync_tickets());
    EXPECT_TRUE(next_page_fetched);
    EXPECT_EQ(listings_when_released, 3u);
    EXPECT_EQ(tickets_when_released, 0);  // page 2 writes nothing before page 1 is written
    EXPECT_EQ(report.note, "backfill complete");
    expect_mirror_equals_model_tickets_only();
    EXPECT_NE(ticket_cursor_json(db_dsn()).find("incremental"), std::string::npos);
}

// A failure of the page fetched ahead does not cut short the write of the page before: that
// page and its cursor commit, nothing of the failed one does, and the next run resumes there.
TEST_F(sync_e2e, a_failed_fetch_ahead_lets_the_page_being_written_commit) {
    test::run_coro(ioc, eng->sync_lookups());
    const auto from = emu->api().request_log().size();
    int writes = 0;
    eng->set_stage_gate([&](std::string_view point) -> asio::awaitable<void> {
        if (point != "ticket_page_write" || ++writes != 1) co_return;
        // Page 2's listing comes back malformed; page 1's write waits until it has (or 10 s).
        emulator::fault_rule bad;
        bad.endpoint = "Tickets/Ticket/ListAll";
        bad.kind = "malformed_xml";
        bad.remaining = 1;
        emu->api().add_fault(bad);
        asio::steady_timer t(co_await asio::this_coro::executor);
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (std::chrono::steady_clock::now() < deadline) {
            auto log = emu->api().request_log();
            const auto i = nth_listing(log, from, 3);
            if (i < log.size() && !log[i].fault.empty()) {
                // The failed fetch ahead is over by now, the write goes on.
                t.expires_after(std::chrono::milliseconds(100));
                co_await t.async_wait(asio::use_awaitable);
                break;
            }
            t.expires_after(std::chrono::milliseconds(5));
            co_await t.async_wait(asio::use_awaitable);
        }
    });
    EXPECT_ANY_THROW(test::run_coro(ioc, eng->sync_tickets()));
    EXPECT_EQ(tickets_in_mirror(db_dsn()), engine_opts().page_size);
    const auto cursor = ticket_cursor_json(db_dsn());
    EXPECT_NE(cursor.find("\"offset\": 100"), std::string::npos) << cursor;
    eng->set_stage_gate({});
    emu->api().clear_faults();
    test::run_coro(ioc, eng->sync_tickets());
    expect_mirror_equals_model_tickets_only();
}

// A failed write cancels the page fetched ahead: nothing of it is written.
TEST_F(sync_e2e, a_failed_write_cancels_the_fetch_ahead_and_writes_nothing_of_it) {
    test::run_coro(ioc, eng->sync_lookups());
    int pages = 0;
    eng->set_failpoint([&](std::string_view point) {
        if (point == "ticket_children_applied" && ++pages == 2)
            throw std::runtime_error("simulated failure");
    });
    EXPECT_THROW(test::run_coro(ioc, eng->sync_tickets()), std::runtime_error);
    EXPECT_EQ(tickets_in_mirror(db_dsn()), engine_opts().page_size);
    const auto cursor = ticket_cursor_json(db_dsn());
    EXPECT_NE(cursor.find("\"offset\": 100"), std::string::npos) << cursor;
    eng->set_failpoint({});
    test::run_coro(ioc, eng->sync_tickets());
    expect_mirror_equals_model_tickets_only();
}

// Shutdown (the terminal cancellation SIGTERM emits) stops the pipelined backfill promptly with
// both stages in flight: page 1's write held by the gate, page 2's Gets answered only after 8 s.
TEST_F(sync_e2e, a_cancelled_backfill_stops_promptly_with_both_stages_in_flight) {
    test::run_coro(ioc, eng->sync_lookups());
    const auto from = emu->api().request_log().size();
    int writes = 0;
    bool gets_in_flight = false;
    bool finished = false;
    eng->set_stage_gate([&](std::string_view point) -> asio::awaitable<void> {
        if (point != "ticket_page_write" || ++writes != 1) co_return;
        emulator::fault_rule slow;
        slow.endpoint = "Tickets/Ticket/get";
        slow.kind = "latency";
        slow.delay_ms = 8000;
        emu->api().add_fault(slow);
        asio::steady_timer t(co_await asio::this_coro::executor);
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (std::chrono::steady_clock::now() < deadline) {
            auto log = emu->api().request_log();
            for (auto i = nth_listing(log, from, 3); i < log.size(); ++i)
                if (log[i].endpoint == "tickets/Ticket/get") gets_in_flight = true;
            t.expires_after(std::chrono::milliseconds(5));
            co_await t.async_wait(asio::use_awaitable);
        }
    });
    asio::cancellation_signal stop;
    auto stopped_at = std::chrono::steady_clock::time_point::max();
    auto watcher = [&]() -> asio::awaitable<void> {
        asio::steady_timer t(co_await asio::this_coro::executor);
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
        while (!gets_in_flight && !finished && std::chrono::steady_clock::now() < deadline) {
            t.expires_after(std::chrono::milliseconds(5));
            co_await t.async_wait(asio::use_awaitable);
        }
        if (finished) co_return;
        stopped_at = std::chrono::steady_clock::now();
        stop.emit(asio::cancellation_type::terminal);
    };
    auto watching = asio::co_spawn(ioc, watcher(), asio::use_future);
    auto fut = asio::co_spawn(ioc, eng->sync_tickets(),
                              asio::bind_cancellation_slot(stop.slot(), asio::use_future));
    // As test::run_coro pumps (an io_context that ran out of work must be restarted).
    const auto pump_until = [this](auto& f, std::chrono::steady_clock::time_point limit) {
        while (f.wait_for(std::chrono::seconds(0)) != std::future_status::ready &&
               std::chrono::steady_clock::now() < limit) {
            if (ioc.stopped()) ioc.restart();
            ioc.run_one_for(std::chrono::milliseconds(50));
        }
    };
    pump_until(fut, std::chrono::steady_clock::now() + std::chrono::seconds(60));
    const auto ended_at = std::chrono::steady_clock::now();
    finished = true;
    pump_until(watching, std::chrono::steady_clock::now() + std::chrono::seconds(60));
    ASSERT_EQ(fut.wait_for(std::chrono::seconds(0)), std::future_status::ready);
    EXPECT_TRUE(gets_in_flight);
    EXPECT_ANY_THROW(fut.get());
    EXPECT_LT(ended_at - stopped_at, std::chrono::seconds(3));
    // Page 1's write was held at its start: nothing of either page is written.
    EXPECT_EQ(tickets_in_mirror(db_dsn()), 0);
    emu->api().clear_faults();
    eng->set_stage_gate({});
    test::run_coro(ioc, eng->sync_tickets());
    expect_mirror_equals_model_tickets_only();
}

// Ticket Gets fail while several are in flight (every Get answered with an HTML page): the run
// fails with that cause, not with the cancellations of the other detail workers (which Asio's
// operator&& would report as "multiple exceptions").
TEST_F(sync_e2e, a_failing_detail_fetch_reports_its_own_error_not_the_cancelled_workers) {
    test::run_coro(ioc, eng->sync_lookups());
    emulator::fault_rule html;
    html.endpoint = "Tickets/Ticket/get";  // the Gets only, not the listing
    html.verb = "GET";
    html.kind = "html_200";
    html.remaining = 1000;
    emu->api().add_fault(html);
    const auto position = feed_position();
    std::string error;
    try {
        test::run_coro(ioc, eng->sync_tickets());
    } catch (const std::exception& e) {
        error = e.what();
    }
    EXPECT_NE(error.find("HTML page instead of XML"), std::string::npos) << error;
    EXPECT_EQ(error.find("multiple exceptions"), std::string::npos) << error;
    EXPECT_EQ(feed_position(), position);
    int gets = 0;
    for (const auto& e : emu->api().request_log())
        gets += e.method == "GET" && e.fault == "html_200";
    EXPECT_GE(gets, 1);
    emu->api().clear_faults();
}

TEST_F(sync_e2e, a_failing_page_commits_nothing_and_is_retried) {
    test::run_coro(ioc, eng->sync_lookups());
    // A 500 is retried by the client within the same run.
    emulator::fault_rule f;
    f.endpoint = "Tickets/Ticket/ListAll";
    f.kind = "status";
    f.status = 500;
    f.remaining = 1;
    emu->api().add_fault(f);
    // Malformed XML and a truncated body fail the page: the run stops, nothing of it commits.
    emulator::fault_rule bad = f;
    bad.kind = "malformed_xml";
    std::size_t before_rows = 0;
    test::run_coro(ioc, eng->sync_tickets());
    expect_mirror_equals_model_tickets_only();
    control("POST", "/_control/clock", "advance=100");
    for (int i = 1; i <= 3; ++i)
        control("POST", "/_control/tickets/" + std::to_string(i),
                "subject=changed+" + std::to_string(i));
    const auto position = feed_position();
    emu->api().add_fault(bad);
    EXPECT_ANY_THROW(test::run_coro(ioc, eng->sync_tickets()));
    EXPECT_EQ(feed_position(), position);
    // A truncated body is a transport failure: the GET is retried with a fresh connection; when
    // every attempt is cut, the run fails and again nothing commits.
    emulator::fault_rule cut = f;
    cut.kind = "truncate";
    cut.remaining = 50;
    emu->api().add_fault(cut);
    EXPECT_ANY_THROW(test::run_coro(ioc, eng->sync_tickets()));
    EXPECT_EQ(feed_position(), position);
    int truncated = 0;
    for (const auto& e : emu->api().request_log()) truncated += e.fault == "truncate";
    EXPECT_GE(truncated, 2);  // retried, not given up at the first cut
    emu->api().clear_faults();
    // Five cut attempts in a row opened the circuit breaker; it lets a probe through after its
    // cooldown (100 ms here: on a loaded machine it may already be half-open, never closed).
    EXPECT_NE(kayako->breaker_state(), kayako::circuit_breaker::state::closed);
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    (void)before_rows;
    // The next run, with Kayako healthy again, converges.
    test::run_coro(ioc, eng->sync_tickets());
    expect_mirror_equals_model_tickets_only();
}

}  // namespace
