#include "common/logging.hpp"
#include "connectors/postgres/db_executor.hpp"
#include "connectors/postgres/errors.hpp"
#include "connectors/postgres/mirror_repository.hpp"
#include "tests/pg/postgres/test_data.hpp"
#include "tests/support/pg_database.hpp"
#include "tests/support/run_coro.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>
#include <pqxx/pqxx>

#include <map>
#include <set>
#include <typeinfo>

// The records below are written with designated initializers naming only the fields a test cares
// about; the rest keep their defaults on purpose.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace {

using namespace ksync;
using pg::apply_stats;
using pg::cursor_update;
using pg::entity;
using test::make_tickets;

class mirror_test : public test::pg_suite {
protected:
    void SetUp() override {
        pqxx::connection c{db().dsn()};
        pqxx::work tx{c};
        std::string tables;
        for (std::size_t i = 0; i < pg::entity_count; ++i)
            tables += std::string(i ? ", " : "") + "kayako." +
                      std::string(pg::entity_name(static_cast<entity>(i)));
        tx.exec("TRUNCATE " + tables +
                ", kayako_sync.changes, kayako_sync.stream_cursors,"
                " kayako_sync.consumer_bookmarks, kayako_sync.quarantine");
        tx.commit();
    }

    std::unique_ptr<pg::db_executor> executor(int max_attempts = 5) {
        pg::connection_options o;
        o.conninfo = db().dsn();
        pg::executor_options eo;
        eo.max_attempts = max_attempts;
        eo.initial_backoff = std::chrono::milliseconds(10);
        return std::make_unique<pg::db_executor>(o, eo, logging::null_logger());
    }

    template <class T>
    T run(boost::asio::awaitable<T> aw) {
        return test::run_coro(ioc_, std::move(aw));
    }

    long long scalar(const std::string& sql) {
        pqxx::connection c{db().dsn()};
        pqxx::read_transaction tx{c};
        return tx.exec1(sql)[0].as<long long>();
    }
    std::string text(const std::string& sql) {
        pqxx::connection c{db().dsn()};
        pqxx::read_transaction tx{c};
        const auto r = tx.exec1(sql);
        return r[0].is_null() ? "<null>" : r[0].as<std::string>();
    }
    // Row versions as PostgreSQL sees them: xmin changes whenever a row is rewritten.
    std::map<long long, std::string> xmins(const std::string& table) {
        std::map<long long, std::string> out;
        pqxx::connection c{db().dsn()};
        pqxx::read_transaction tx{c};
        for (const auto& r : tx.exec("SELECT id, xmin::text FROM " + table))
            out[r[0].as<long long>()] = r[1].c_str();
        return out;
    }

    boost::asio::io_context ioc_;
};

TEST_F(mirror_test, ten_thousand_records_write_ten_thousand_rows_and_insert_events) {
    auto db_exec = executor();
    pg::mirror_repository repo{*db_exec, pg::schema_names{}, logging::null_logger()};
    const auto stats =
        run(repo.apply(make_tickets(1, 10000), cursor_update{"tickets", R"({"offset": 10000})"}));
    EXPECT_EQ(stats, (apply_stats{10000, 0, 0, 0}));

    EXPECT_EQ(scalar("SELECT count(*) FROM kayako.tickets"), 10000);
    EXPECT_EQ(
        scalar("SELECT count(*) FROM kayako.tickets WHERE version = 1 AND deleted_at IS NULL"),
        10000);
    EXPECT_EQ(
        scalar("SELECT count(*) FROM kayako_sync.changes WHERE op = 'insert' AND entity = 'tickets'"
               " AND version = 1 AND source = 'kayako' AND old_values IS NULL"),
        10000);
    EXPECT_EQ(scalar("SELECT count(DISTINCT object_id) FROM kayako_sync.changes"), 10000);
    EXPECT_EQ(
        text("SELECT cursor->>'offset' FROM kayako_sync.stream_cursors WHERE stream = 'tickets'"),
        "10000");
    EXPECT_EQ(
        scalar("SELECT rows_written FROM kayako_sync.stream_cursors WHERE stream = 'tickets'"),
        10000);

    // The mapping as a data engineer sees it.
    EXPECT_EQ(text("SELECT subject FROM kayako.tickets WHERE id = 7"),
              "Printer on floor 7 \\ does not print\nagain");
    EXPECT_EQ(text("SELECT owner_staff_name FROM kayako.tickets WHERE id = 7"), "Staff\t0");
    EXPECT_EQ(text("SELECT created_at FROM kayako.tickets WHERE id = 7"), "2023-11-14 22:13:27+00");
    EXPECT_EQ(text("SELECT next_reply_due_at FROM kayako.tickets WHERE id = 7"), "<null>");
    EXPECT_EQ(text("SELECT last_staff_reply_at IS NULL FROM kayako.tickets WHERE id = 8"), "t");
    EXPECT_EQ(text("SELECT tags::text FROM kayako.tickets WHERE id = 7"), "{printer,urgent}");
    EXPECT_EQ(text("SELECT cardinality(tags) FROM kayako.tickets WHERE id = 8"), "0");
    EXPECT_EQ(text("SELECT watchers->0->>'name' FROM kayako.tickets WHERE id = 7"),
              "Jane \"JJ\" Doe");
    EXPECT_EQ(text("SELECT is_escalated FROM kayako.tickets WHERE id = 13"), "t");
    EXPECT_EQ(text("SELECT user_organization FROM kayako.tickets WHERE id = 7"), "Org \"7\"");
    // The insert event carries the whole row, in the same rendering the table shows.
    EXPECT_EQ(text("SELECT new_values->>'subject' FROM kayako_sync.changes WHERE object_id = 7"),
              "Printer on floor 7 \\ does not print\nagain");
    EXPECT_EQ(text("SELECT new_values->>'created_at' FROM kayako_sync.changes WHERE object_id = 7"),
              "2023-11-14T22:13:27+00:00");
    EXPECT_EQ(
        scalar("SELECT cardinality(changed_columns) FROM kayako_sync.changes WHERE object_id = 7"),
        35);
}

TEST_F(mirror_test, the_same_batch_again_writes_no_row_and_no_event) {
    auto db_exec = executor();
    pg::mirror_repository repo{*db_exec, pg::schema_names{}, logging::null_logger()};
    const auto batch = make_tickets(1, 10000);
    run(repo.apply(batch, cursor_update{"tickets", R"({"offset": 10000})"}));

    const auto tickets_before = xmins("kayako.tickets");
    const auto cursor_before = text("SELECT xmin::text FROM kayako_sync.stream_cursors");
    const auto feed_before = scalar("SELECT count(*) FROM kayako_sync.changes");
    const auto position_before = scalar("SELECT max(position) FROM kayako_sync.changes");

    const auto stats = run(repo.apply(batch, cursor_update{"tickets", R"({"offset": 10000})"}));
    EXPECT_EQ(stats, (apply_stats{0, 0, 10000, 0}));

    EXPECT_EQ(xmins("kayako.tickets"), tickets_before);  // not one row rewritten
    EXPECT_EQ(text("SELECT xmin::text FROM kayako_sync.stream_cursors"), cursor_before);
    EXPECT_EQ(scalar("SELECT count(*) FROM kayako_sync.changes"), feed_before);
    EXPECT_EQ(scalar("SELECT max(position) FROM kayako_sync.changes"), position_before);
    // Not even a dead tuple: no row version was created and then thrown away.
    EXPECT_EQ(scalar("SELECT count(*) FROM kayako.tickets"), 10000);
}

TEST_F(mirror_test, a_changed_subset_writes_exactly_that_subset) {
    auto db_exec = executor();
    pg::mirror_repository repo{*db_exec, pg::schema_names{}, logging::null_logger()};
    auto batch = make_tickets(1, 10000);
    run(repo.apply(batch, cursor_update{"tickets", "1"}));
    const auto before = xmins("kayako.tickets");

    std::set<long long> subject_changed, status_changed;
    for (std::size_t i = 0; i < batch.size(); i += 100) {  // 100 tickets
        auto& t = batch[i];
        if ((i / 100) % 2 == 0) {
            t.subject = "changed " + std::to_string(t.id);
            subject_changed.insert(t.id);
        } else {
            t.statusid = 99;
            t.tags = "new-tag";
            status_changed.insert(t.id);
        }
    }
    const auto stats = run(repo.apply(batch, cursor_update{"tickets", "2"}));
    EXPECT_EQ(stats, (apply_stats{0, 100, 9900, 0}));

    const auto after = xmins("kayako.tickets");
    for (const auto& [id, xmin] : after) {
        const bool changed = subject_changed.count(id) || status_changed.count(id);
        EXPECT_EQ(xmin != before.at(id), changed) << id;
    }
    EXPECT_EQ(scalar("SELECT count(*) FROM kayako.tickets WHERE version = 2"), 100);
    EXPECT_EQ(scalar("SELECT count(*) FROM kayako_sync.changes WHERE op = 'update'"), 100);

    pqxx::connection c{db().dsn()};
    pqxx::read_transaction tx{c};
    const auto events = tx.exec(
        "SELECT object_id, version, array_to_string(changed_columns, ','), old_values::text, "
        "new_values::text"
        " FROM kayako_sync.changes WHERE op = 'update' ORDER BY position");
    ASSERT_EQ(events.size(), 100u);
    for (const auto& e : events) {
        const auto id = e[0].as<long long>();
        EXPECT_EQ(e[1].as<long long>(), 2);
        if (subject_changed.count(id)) {
            EXPECT_EQ(e[2].as<std::string>(), "subject");
            EXPECT_EQ(e[4].as<std::string>(),
                      "{\"subject\": \"changed " + std::to_string(id) + "\"}");
            EXPECT_THAT(e[3].as<std::string>(), ::testing::HasSubstr("Printer on floor"));
        } else {
            ASSERT_TRUE(status_changed.count(id)) << id;
            EXPECT_EQ(e[2].as<std::string>(), "status_id,tags");
            EXPECT_EQ(e[3].as<std::string>(),
                      "{\"tags\": " + std::string(id % 2 ? "[\"printer\", \"urgent\"]" : "[]") +
                          ", \"status_id\": " + std::to_string(1 + id % 5) + "}");
            EXPECT_EQ(e[4].as<std::string>(), "{\"tags\": [\"new-tag\"], \"status_id\": 99}");
        }
    }
    EXPECT_EQ(tx.exec1("SELECT cursor::text FROM kayako_sync.stream_cursors")[0].as<std::string>(),
              "2");
}

TEST_F(mirror_test, soft_delete_writes_delete_events_and_a_reappearing_object_is_an_update) {
    auto db_exec = executor();
    pg::mirror_repository repo{*db_exec, pg::schema_names{}, logging::null_logger()};
    const auto batch = make_tickets(1, 10);
    run(repo.apply(batch));

    // 99 does not exist; 3 is named twice.
    const auto stats = run(repo.mark_deleted(entity::tickets, {{3, {}}, {5, {}}, {99, {}}, {3, {}}},
                                             cursor_update{"reconcile", R"({"pass": 1})"}));
    EXPECT_EQ(stats.deleted, 2u);
    EXPECT_EQ(
        scalar("SELECT count(*) FROM kayako.tickets WHERE deleted_at IS NOT NULL AND version = 2"),
        2);
    EXPECT_EQ(scalar("SELECT count(*) FROM kayako_sync.changes WHERE op = 'delete' AND version = 2"
                     " AND changed_columns = '{deleted_at}' AND new_values ? 'deleted_at'"),
              2);
    const auto alive = run(repo.known_ids(entity::tickets));
    EXPECT_EQ(alive.size(), 8u);
    EXPECT_TRUE(
        std::none_of(alive.begin(), alive.end(), [](auto& k) { return k.id == 3 || k.id == 5; }));

    // Deleting again changes nothing.
    EXPECT_EQ(run(repo.mark_deleted(entity::tickets, {{3, {}}})).deleted, 0u);

    // Ticket 3 shows up in Kayako again, unchanged: the row comes back (version 3).
    const auto back = run(repo.apply(std::vector<kayako::ticket>{batch[2]}));
    EXPECT_EQ(back, (apply_stats{0, 1, 0, 0}));
    EXPECT_EQ(text("SELECT deleted_at IS NULL AND version = 3 FROM kayako.tickets WHERE id = 3"),
              "t");
    EXPECT_EQ(text("SELECT array_to_string(changed_columns, ',') || ' ' || "
                   "(new_values->>'deleted_at' IS NULL)"
                   " FROM kayako_sync.changes WHERE object_id = 3 AND version = 3"),
              "deleted_at true");
}

TEST_F(mirror_test, duplicates_in_one_batch_the_last_one_wins) {
    auto db_exec = executor();
    pg::mirror_repository repo{*db_exec, pg::schema_names{}, logging::null_logger()};
    auto batch = make_tickets(1, 3);
    batch.push_back(batch[0]);
    batch.back().subject = "latest";
    EXPECT_EQ(run(repo.apply(batch)), (apply_stats{3, 0, 0, 0}));
    EXPECT_EQ(text("SELECT subject FROM kayako.tickets WHERE id = 1"), "latest");
}

// New keys are COPYed straight into the mirror, keys that exist go through the staged upsert;
// one batch holding both writes version 1 + an insert event for the new ones, version + 1 + an
// update event for the changed ones, and nothing for the unchanged ones.
TEST_F(mirror_test, a_batch_mixing_new_and_existing_keys_writes_the_right_versions_and_events) {
    auto db_exec = executor();
    pg::mirror_repository repo{*db_exec, pg::schema_names{}, logging::null_logger()};
    run(repo.apply(make_tickets(1, 10)));
    const auto before = xmins("kayako.tickets");
    const auto last = scalar("SELECT max(position) FROM kayako_sync.changes");

    auto batch = make_tickets(5, 11);  // 5..15: 5-7 changed, 8-10 unchanged, 11-15 new
    for (auto& t : batch)
        if (t.id <= 7) t.subject = "changed " + std::to_string(t.id);
    EXPECT_EQ(run(repo.apply(batch, cursor_update{"tickets", "2"})), (apply_stats{5, 3, 3, 0}));

    const auto after = xmins("kayako.tickets");
    for (long long id = 1; id <= 10; ++id)
        EXPECT_EQ(after.at(id) != before.at(id), id >= 5 && id <= 7) << id;
    EXPECT_EQ(scalar("SELECT count(*) FROM kayako.tickets"), 15);
    EXPECT_EQ(scalar("SELECT count(*) FROM kayako.tickets WHERE version = 2"), 3);
    EXPECT_EQ(
        scalar("SELECT count(*) FROM kayako.tickets WHERE id BETWEEN 11 AND 15 AND version = 1"
               " AND deleted_at IS NULL AND first_seen_at = last_changed_at"),
        5);
    EXPECT_EQ(
        scalar("SELECT count(*) FROM kayako_sync.changes WHERE position > " + std::to_string(last)),
        8);
    EXPECT_EQ(
        scalar("SELECT count(*) FROM kayako_sync.changes WHERE position > " + std::to_string(last) +
               " AND op = 'update' AND version = 2 AND object_id BETWEEN 5 AND 7"
               " AND changed_columns = '{subject}'"),
        3);
    EXPECT_EQ(
        scalar("SELECT count(*) FROM kayako_sync.changes WHERE position > " + std::to_string(last) +
               " AND op = 'insert' AND version = 1 AND object_id BETWEEN 11 AND 15"
               " AND old_values IS NULL AND cardinality(changed_columns) = 35"),
        5);
    // One event per (entity, id, version); an insert event carries the row as the mirror holds it
    // (minus the bookkeeping columns), its time is the row's first_seen_at.
    EXPECT_EQ(scalar("SELECT count(*) FROM (SELECT 1 FROM kayako_sync.changes"
                     " GROUP BY entity, object_id, version HAVING count(*) > 1) d"),
              0);
    EXPECT_EQ(scalar("SELECT count(*) FROM kayako_sync.changes c JOIN kayako.tickets t ON t.id = "
                     "c.object_id WHERE c.op = 'insert' AND t.version = 1 AND c.new_values = "
                     "to_jsonb(t) - '{content_hash,version,first_seen_at,last_changed_at,"
                     "deleted_at}'::text[] AND c.committed_at = t.first_seen_at"),
              12);  // 1-4 and 8-10 from the first batch, 11-15 from this one
    EXPECT_EQ(scalar("SELECT count(*) FROM kayako_sync.changes WHERE op = 'insert'"), 15);
}

TEST_F(mirror_test, duplicate_new_and_existing_keys_in_one_batch_the_last_one_wins) {
    auto db_exec = executor();
    pg::mirror_repository repo{*db_exec, pg::schema_names{}, logging::null_logger()};
    run(repo.apply(make_tickets(1, 2)));
    auto batch = make_tickets(1, 4);  // 1, 2 exist; 3, 4 are new
    for (std::int64_t id : {1, 3}) {
        auto first = batch[static_cast<std::size_t>(id - 1)];
        first.subject = "first " + std::to_string(id);
        auto second = first;
        second.subject = "second " + std::to_string(id);
        batch.push_back(first);
        batch.push_back(second);
    }
    EXPECT_EQ(run(repo.apply(batch)), (apply_stats{2, 1, 1, 0}));
    EXPECT_EQ(text("SELECT subject || ' ' || version FROM kayako.tickets WHERE id = 1"),
              "second 1 2");
    EXPECT_EQ(text("SELECT subject || ' ' || version FROM kayako.tickets WHERE id = 3"),
              "second 3 1");
    EXPECT_EQ(scalar("SELECT count(*) FROM kayako_sync.changes WHERE object_id = 3"), 1);
    EXPECT_EQ(text("SELECT new_values->>'subject' FROM kayako_sync.changes WHERE object_id = 3"),
              "second 3");
    EXPECT_EQ(text("SELECT op || ' ' || (new_values->>'subject') FROM kayako_sync.changes"
                   " WHERE object_id = 1 AND version = 2"),
              "update second 1");
}

// A key that was new at the diff but is inserted by another writer before this batch's COPY
// (the push worker recording a created ticket while a sync page brings it): the COPY of the new
// rows fails on the key, is rolled back alone, and the whole batch goes through the upsert.
TEST_F(mirror_test, a_new_key_inserted_by_another_writer_meanwhile_becomes_an_update) {
    auto db_exec = executor(1);
    pg::mirror_repository repo{*db_exec, pg::schema_names{}, logging::null_logger()};
    auto other_exec = executor(1);
    pg::mirror_repository other{*other_exec, pg::schema_names{}, logging::null_logger()};
    auto batch = make_tickets(1, 5);
    auto theirs = batch[2];  // ticket 3, as the other writer has it
    theirs.subject = "theirs";
    int hooks = 0;
    repo.set_test_hook([&](std::string_view at, int) {
        if (at != "staged" || hooks++ > 0) return;
        const auto st = other_exec->run_blocking(0, [&](pqxx::connection& c) {
            return other.apply_on(c, entity::tickets,
                                  pg::map_records(std::vector<kayako::ticket>{theirs}),
                                  cursor_update{"push", "1"});
        });
        EXPECT_EQ(st, (apply_stats{1, 0, 0, 0}));
    });
    EXPECT_EQ(run(repo.apply(batch, cursor_update{"tickets", "1"})), (apply_stats{4, 1, 0, 0}));
    EXPECT_EQ(hooks, 1);
    EXPECT_EQ(scalar("SELECT count(*) FROM kayako.tickets"), 5);
    EXPECT_EQ(text("SELECT subject || ' ' || version FROM kayako.tickets WHERE id = 3"),
              batch[2].subject + " 2");
    EXPECT_EQ(scalar("SELECT count(*) FROM kayako_sync.changes"), 6);
    EXPECT_EQ(text("SELECT string_agg(op || ' ' || version, ', ' ORDER BY position)"
                   " FROM kayako_sync.changes WHERE object_id = 3"),
              "insert 1, update 2");
    EXPECT_EQ(scalar("SELECT count(*) FROM kayako_sync.changes WHERE op = 'insert' AND version = 1"
                     " AND object_id <> 3"),
              4);
    EXPECT_EQ(text("SELECT cursor::text FROM kayako_sync.stream_cursors WHERE stream = 'tickets'"),
              "1");
}

// The building blocks the push worker uses: several apply_in calls in one transaction of the
// caller's (each takes its own savepoint), a local source, new and existing keys mixed.
TEST_F(mirror_test, several_applies_in_one_caller_transaction_with_a_local_source) {
    auto db_exec = executor();
    pg::mirror_repository repo{*db_exec, pg::schema_names{}, logging::null_logger()};
    run(repo.apply(make_tickets(1, 2)));
    auto first = make_tickets(2, 2);  // 2 exists (changed), 3 is new
    first[0].subject = "pushed";
    const auto second = make_tickets(4, 1);  // new
    const auto stats = db_exec->run_blocking(0, [&](pqxx::connection& c) {
        repo.prepare(c, entity::tickets);
        pqxx::work tx{c};
        repo.begin_write(tx);
        auto a = repo.apply_in(tx, c, entity::tickets, pg::map_records(first),
                               pg::change_source::local, true);
        const auto b = repo.apply_in(tx, c, entity::tickets, pg::map_records(second),
                                     pg::change_source::local, false);
        tx.commit();
        a.inserted += b.inserted;
        a.updated += b.updated;
        return a;
    });
    EXPECT_EQ(stats, (apply_stats{2, 1, 0, 0}));
    EXPECT_EQ(text("SELECT string_agg(object_id || ' ' || op || ' ' || version || ' ' || source,"
                   " ', ' ORDER BY position) FROM kayako_sync.changes WHERE source = 'local'"),
              "3 insert 1 local, 2 update 2 local, 4 insert 1 local");
    EXPECT_EQ(text("SELECT subject FROM kayako.tickets WHERE id = 2"), "pushed");
    EXPECT_EQ(scalar("SELECT count(*) FROM kayako.tickets"), 4);
}

TEST_F(mirror_test, every_record_type_round_trips_and_reapplies_without_change) {
    auto db_exec = executor();
    pg::mirror_repository repo{*db_exec, pg::schema_names{}, logging::null_logger()};
    kayako::post p{.id = 10,
                   .ticketpostid = 10,
                   .ticketid = 1,
                   .dateline = 1700000000,
                   .userid = 5,
                   .fullname = "A",
                   .email = "a@x",
                   .contents = "hello\tworld",
                   .isprivate = true};
    kayako::note n{.type = "ticket",
                   .id = 11,
                   .ticketid = 1,
                   .notecolor = 2,
                   .creationdate = 1700000001,
                   .contents = "note"};
    kayako::time_track tt{
        .id = 12, .ticketid = 1, .timeworked = 3600, .billdate = 0, .workdate = 1700000002};
    kayako::attachment a{
        .id = 13, .ticketid = 1, .ticketpostid = 10, .filename = "a.pdf", .filesize = 42};
    kayako::ticket_custom_fields cf{
        .ticketid = 1,
        .groups = {{.id = 1,
                    .title = "G",
                    .fields = {{.id = 4, .title = "Colour", .type = 6, .name = "c", .value = "red"},
                               {.id = 5,
                                .title = "File",
                                .type = 11,
                                .name = "f",
                                .filename = "x.txt",
                                .value = "x"}}}}};
    kayako::custom_field_definition def{
        .customfieldid = 4, .customfieldgroupid = 1, .title = "Colour", .fieldtype = 6};
    kayako::custom_field_option opt{
        .customfieldoptionid = 7, .customfieldid = 4, .optionvalue = "red"};
    kayako::user u{.id = 5,
                   .usergroupid = 2,
                   .userrole = "user",
                   .fullname = "A",
                   .emails = {"a@x", "b\"q@x"},
                   .dateline = 1700000000,
                   .isenabled = true};
    kayako::organization o{
        .id = 6, .name = "Acme", .organizationtype = "shared", .lastupdate = 1700000003};
    kayako::user_group ug{
        .id = 2, .title = "Registered", .grouptype = "registered", .ismaster = true};
    kayako::staff s{
        .id = 3, .staffgroupid = 1, .firstname = "J", .lastname = "D", .isenabled = true};
    kayako::staff_group sg{.id = 1, .title = "Admins", .isadmin = true};
    kayako::department d{.id = 1,
                         .title = "Support",
                         .type = "public",
                         .module = "tickets",
                         .app = "tickets",
                         .usergroups = {1, 2}};
    kayako::ticket_status ts{.id = 1, .title = "Open", .staffgroupids = {1}};
    kayako::ticket_priority tp{.id = 1, .title = "High", .usergroupids = {}};
    kayako::ticket_type ty{.id = 1, .title = "Issue", .usergroupids = {2}};

    auto both = [&](auto record) {
        using R = decltype(record);
        const auto first = run(repo.apply(std::vector<R>{record}));
        const auto second = run(repo.apply(std::vector<R>{record}));
        EXPECT_GE(first.inserted, 1u) << typeid(R).name();
        EXPECT_EQ(second.written(), 0u) << typeid(R).name();
    };
    both(p);
    both(n);
    both(tt);
    both(a);
    both(cf);
    both(def);
    both(opt);
    both(u);
    both(o);
    both(ug);
    both(s);
    both(sg);
    both(d);
    both(ts);
    both(tp);
    both(ty);
    EXPECT_EQ(text("SELECT contents FROM kayako.posts WHERE id = 10"), "hello\tworld");
    EXPECT_EQ(text("SELECT billed_at IS NULL FROM kayako.time_tracks WHERE id = 12"), "t");
    EXPECT_EQ(text("SELECT emails[2] FROM kayako.users WHERE id = 5"), "b\"q@x");
    EXPECT_EQ(text("SELECT user_group_ids::text FROM kayako.departments WHERE id = 1"), "{1,2}");
    EXPECT_EQ(text("SELECT file_name FROM kayako.ticket_custom_field_values WHERE ticket_id = 1 "
                   "AND field_id = 5"),
              "x.txt");
    EXPECT_EQ(scalar("SELECT count(*) FROM kayako_sync.changes"),
              17);  // 16 records, custom fields are 2 rows

    // A changed custom field value is an update of (ticket_id, field_id).
    cf.groups[0].fields[0].value = "blue";
    EXPECT_EQ(run(repo.apply(std::vector<kayako::ticket_custom_fields>{cf})),
              (apply_stats{0, 1, 1, 0}));
    EXPECT_EQ(text("SELECT object_id || '/' || object_sub_id || ' ' || new_values::text FROM "
                   "kayako_sync.changes"
                   " WHERE op = 'update'"),
              "1/4 {\"value\": \"blue\"}");
    const auto keys = run(repo.known_ids(entity::ticket_custom_field_values, 1));
    ASSERT_EQ(keys.size(), 2u);
    EXPECT_EQ(keys[1], (pg::object_key{1, 5}));
    EXPECT_EQ(run(repo.mark_deleted(entity::ticket_custom_field_values, {{1, 5}})).deleted, 1u);
    EXPECT_EQ(run(repo.known_ids(entity::ticket_custom_field_values, 1)).size(), 1u);
}

TEST_F(mirror_test, a_connection_killed_between_staging_and_commit_leaves_nothing_behind) {
    for (const char* point : {"staged", "before_commit"}) {
        SCOPED_TRACE(point);
        auto db_exec = executor(1);  // no retry: we want to see what the failed attempt left
        pg::mirror_repository repo{*db_exec, pg::schema_names{}, logging::null_logger()};
        std::string p = point;
        repo.set_test_hook([this, p](std::string_view at, int pid) {
            if (at != p) return;
            pqxx::connection killer{db().dsn()};
            pqxx::nontransaction tx{killer};
            tx.exec("SELECT pg_terminate_backend(" + std::to_string(pid) + ")");
        });
        try {
            run(repo.apply(make_tickets(1, 1000), cursor_update{"tickets", "1"}));
            FAIL() << "apply survived its connection being killed";
        } catch (const pg::commit_unknown&) {
            EXPECT_EQ(p, "before_commit");  // the COMMIT itself was in flight
        } catch (const pg::connection_lost&) {
            EXPECT_EQ(p, "staged");
        }
        EXPECT_EQ(scalar("SELECT count(*) FROM kayako.tickets"), 0);
        EXPECT_EQ(scalar("SELECT count(*) FROM kayako_sync.changes"), 0);
        EXPECT_EQ(scalar("SELECT count(*) FROM kayako_sync.stream_cursors"), 0);
    }
}

TEST_F(mirror_test, a_lost_connection_is_retried_on_a_new_one_and_applies_exactly_once) {
    auto db_exec = executor(3);
    pg::mirror_repository repo{*db_exec, pg::schema_names{}, logging::null_logger()};
    int kills = 0;
    repo.set_test_hook([this, &kills](std::string_view at, int pid) {
        if (at != "staged" || kills++ > 0) return;
        pqxx::connection killer{db().dsn()};
        pqxx::nontransaction tx{killer};
        tx.exec("SELECT pg_terminate_backend(" + std::to_string(pid) + ")");
    });
    EXPECT_EQ(run(repo.apply(make_tickets(1, 1000), cursor_update{"tickets", "1"})),
              (apply_stats{1000, 0, 0, 0}));
    EXPECT_EQ(kills, 2);  // staged twice: the killed attempt and the successful one
    EXPECT_EQ(scalar("SELECT count(*) FROM kayako.tickets"), 1000);
    EXPECT_EQ(scalar("SELECT count(*) FROM kayako_sync.changes"), 1000);
}

TEST_F(mirror_test, writes_are_fenced_to_the_session_holding_the_leader_lock) {
    auto db_exec = executor(3);
    pg::mirror_repository repo{*db_exec, pg::schema_names{}, logging::null_logger()};
    ASSERT_TRUE(run(repo.try_acquire_leadership()));
    ASSERT_TRUE(repo.fence().has_value());
    EXPECT_EQ(run(repo.apply(make_tickets(1, 5))).inserted, 5u);

    // A second daemon on the same schema pair cannot take the lock.
    auto other_exec = executor();
    pg::mirror_repository other{*other_exec, pg::schema_names{}, logging::null_logger()};
    EXPECT_FALSE(run(other.try_acquire_leadership()));

    // The leader's session dies; the executor reconnects, and the new session is refused.
    {
        pqxx::connection killer{db().dsn()};
        pqxx::nontransaction tx{killer};
        tx.exec("SELECT pg_terminate_backend(" + std::to_string(*repo.fence()) + ")");
    }
    EXPECT_THROW(run(repo.apply(make_tickets(6, 5))), pg::not_leader);
    EXPECT_EQ(scalar("SELECT count(*) FROM kayako.tickets"), 5);
    // The lock died with the session, so the standby can take over now.
    EXPECT_TRUE(run(other.try_acquire_leadership()));
}

TEST_F(mirror_test, commits_notify_the_entity_name) {
    auto db_exec = executor();
    pg::mirror_repository repo{*db_exec, pg::schema_names{}, logging::null_logger()};
    pqxx::connection listener{db().dsn()};
    struct receiver : pqxx::notification_receiver {
        using pqxx::notification_receiver::notification_receiver;
        std::vector<std::string> payloads;
        void operator()(const std::string& payload, int) override { payloads.push_back(payload); }
    } rec{listener, pg::feed_channel(pg::schema_names{})};

    run(repo.apply(make_tickets(1, 3)));
    run(repo.apply(make_tickets(1, 3)));  // no change: no notification
    run(repo.mark_deleted(entity::tickets, {{1, {}}}));
    for (int i = 0; i < 20 && rec.payloads.size() < 2; ++i) listener.await_notification(0, 100000);
    listener.get_notifs();
    EXPECT_THAT(rec.payloads, ::testing::ElementsAre("tickets", "tickets"));
}

TEST_F(mirror_test, cursors_errors_bookmarks_retention_and_quarantine) {
    auto db_exec = executor();
    pg::mirror_repository repo{*db_exec, pg::schema_names{}, logging::null_logger()};
    EXPECT_FALSE(run(repo.read_cursor("tickets")).has_value());
    run(repo.apply(make_tickets(1, 4), cursor_update{"tickets", R"({"watermark": 5})"}));
    run(repo.record_stream_error("tickets", "HTTP 503"));
    auto c = run(repo.read_cursor("tickets"));
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->cursor_json, R"({"watermark": 5})");
    EXPECT_EQ(c->rows_written, 4);
    EXPECT_EQ(c->last_error, "HTTP 503");
    // The next page with the same cursor and no change still clears the error.
    run(repo.apply(make_tickets(1, 4), cursor_update{"tickets", R"({"watermark": 5})"}));
    EXPECT_FALSE(run(repo.read_cursor("tickets"))->last_error.has_value());

    const auto events = run(repo.read_changes(0, 100));
    ASSERT_EQ(events.size(), 4u);
    EXPECT_EQ(events[0].op, "insert");
    EXPECT_EQ(events[0].key.id, 1);
    EXPECT_LT(events[0].position, events[3].position);

    // Retention: rows pass only when old enough and behind every bookmark.
    {
        pqxx::connection conn{db().dsn()};
        pqxx::work tx{conn};
        tx.exec("UPDATE kayako_sync.changes SET committed_at = now() - interval '10 days'");
        tx.commit();
    }
    run(repo.set_bookmark("warehouse", events[1].position));
    run(repo.set_bookmark("search", events[2].position));
    EXPECT_EQ(run(repo.bookmark("warehouse")), events[1].position);
    EXPECT_EQ(run(repo.prune_feed(std::chrono::hours(24 * 30))), 0u);  // younger than 30 days
    EXPECT_EQ(run(repo.prune_feed(std::chrono::hours(24))), 2u);  // behind the slowest bookmark
    EXPECT_EQ(run(repo.read_changes(0, 100)).size(), 2u);

    run(repo.quarantine("tickets", "abc", "tickets", "undecodable", std::string(5000, 'x')));
    run(repo.quarantine("tickets", "abc", "tickets", "undecodable again", "<ticket>"));
    EXPECT_EQ(text("SELECT attempts || ' ' || reason FROM kayako_sync.quarantine"),
              "2 undecodable again");
    EXPECT_TRUE(run(repo.release_quarantine("tickets", "abc")));
    EXPECT_EQ(scalar("SELECT count(*) FROM kayako_sync.quarantine"), 0);
}

}  // namespace
