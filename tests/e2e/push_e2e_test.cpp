// Push-back end to end, in process: internal systems write to PostgreSQL (UPDATEs of the mirror,
// intake rows), the push worker drains the outbox into the emulator, and the emulator's model and
// request log say what Kayako received. (The daemon process with NOTIFY and the crash points is
// in cli_e2e_test.cpp.)
#include "connectors/postgres/outbox_repository.hpp"
#include "connectors/postgres/row_mapping.hpp"
#include "daemon/push/worker.hpp"
#include "tests/e2e/e2e_fixture.hpp"

#include <pqxx/pqxx>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

namespace {

using namespace ksync;
using ::testing::HasSubstr;

class push_e2e : public test::e2e_fixture {
protected:
    emulator::emulator_options emulator_opts() const override {
        emulator::emulator_options eo;
        eo.seed = 11;
        eo.size.tickets = 40;
        eo.size.users = 60;
        eo.size.organizations = 8;
        return eo;
    }

    void SetUp() override {
        e2e_fixture::SetUp();
        once();  // the mirror the internal systems edit
        make_worker(config::conflict_policy::kayako_wins);
    }
    void TearDown() override {
        worker.reset();
        outbox.reset();
        e2e_fixture::TearDown();
    }

    void make_worker(config::conflict_policy policy, std::size_t concurrency = 4) {
        worker.reset();
        outbox = std::make_unique<pg::outbox_repository>(*dbx, *mirror, logs.logger("push"));
        push::worker_options o;
        o.policy = policy;
        o.max_attempts = 3;
        o.concurrency = concurrency;
        worker = std::make_unique<push::worker>(ioc.get_executor(), *outbox, *kayako, o,
                                                logs.logger("push"));
    }

    std::size_t drain() { return test::run_coro(ioc, worker->drain(), std::chrono::minutes(2)); }

    // The next POST of a ticket is executed and its answer lost (the connection reset).
    void lose_the_next_ticket_posts_answer() {
        emulator::fault_rule f;
        f.endpoint = "Tickets/Ticket";
        f.verb = "POST";
        f.kind = "lost_response";
        f.remaining = 1;
        emu->api().add_fault(f);
    }
    std::int64_t public_department() {
        return number(
            "SELECT min(id) FROM kayako.departments WHERE app = 'tickets' AND type = 'public'");
    }
    // A ticket to create, as an internal system would ask for it (the lowest status, priority
    // and type; a new user made from the e-mail).
    void intake_ticket(const std::string& subject, const std::string& name,
                       const std::string& email, const std::string& contents) {
        sql("INSERT INTO kayako_sync.intake_tickets (subject, full_name, email, contents, "
            "department_id, status_id, priority_id, type_id, auto_user) SELECT '" +
            subject + "', '" + name + "', '" + email + "', '" + contents + "', " +
            std::to_string(public_department()) +
            ", min(s.id), min(p.id), min(t.id), true FROM kayako.ticket_statuses s, "
            "kayako.ticket_priorities p, kayako.ticket_types t");
    }

    // As an internal system would: its own connection and transaction.
    void sql(const std::string& statement) {
        pqxx::connection c{db_dsn()};
        pqxx::work tx{c};
        tx.exec(statement);
        tx.commit();
    }
    std::string value(const std::string& query) {
        pqxx::connection c{db_dsn()};
        pqxx::read_transaction tx{c};
        const auto r = tx.exec(query);
        if (r.empty() || r[0][0].is_null()) return "<null>";
        return r[0][0].c_str();
    }
    std::int64_t number(const std::string& query) { return std::stoll(value(query)); }

    // A live ticket of the mirror (not in the trash).
    std::int64_t some_ticket() {
        return number(
            "SELECT min(id) FROM kayako.tickets WHERE department_id <> 0 AND deleted_at IS NULL");
    }
    emulator::ticket model_ticket(std::int64_t id) {
        return emu->api().read([id](const emulator::helpdesk& m) { return *m.find_ticket(id); });
    }
    // Successful calls of one method on one path (the emulator's request log).
    int calls(const std::string& method, const std::string& path) {
        int n = 0;
        for (const auto& e : emu->api().request_log())
            if (e.method == method && e.path == path && e.status == 200) ++n;
        return n;
    }

    // Live tickets of the mirror, lowest ids first.
    std::vector<std::int64_t> some_tickets(int n) {
        pqxx::connection c{db_dsn()};
        pqxx::read_transaction tx{c};
        std::vector<std::int64_t> out;
        for (const auto& r : tx.exec("SELECT id FROM kayako.tickets WHERE department_id <> 0 AND"
                                     " deleted_at IS NULL ORDER BY id LIMIT " +
                                     std::to_string(n)))
            out.push_back(r[0].as<std::int64_t>());
        return out;
    }
    // The value of one form field of a logged request ("" when absent).
    static std::string field(const emulator::log_entry& e, const std::string& name) {
        for (const auto& [k, v] : e.fields)
            if (k == name) return v;
        return "";
    }

    std::unique_ptr<pg::outbox_repository> outbox;
    std::unique_ptr<push::worker> worker;
};

TEST_F(push_e2e, a_status_update_reaches_kayako_and_the_mirror_shows_kayakos_answer) {
    const auto id = some_ticket();
    const auto before = model_ticket(id);
    const auto new_status = number("SELECT min(id) FROM kayako.ticket_statuses WHERE id <> " +
                                   std::to_string(before.ticketstatusid));
    const auto feed_before = feed_position();

    sql("UPDATE kayako.tickets SET status_id = " + std::to_string(new_status) +
        " WHERE id = " + std::to_string(id));
    EXPECT_EQ(value("SELECT state || ' ' || array_to_string(changed_columns, ',') || ' ' || "
                    "(old_values->>'status_id') || '>' || (new_values->>'status_id') FROM "
                    "kayako_sync.outbox"),
              "pending status_id " + std::to_string(before.ticketstatusid) + ">" +
                  std::to_string(new_status));
    // The edited row no longer claims to be what Kayako has.
    EXPECT_EQ(
        value("SELECT length(content_hash) FROM kayako.tickets WHERE id = " + std::to_string(id)),
        "0");

    EXPECT_EQ(drain(), 1u);
    EXPECT_EQ(model_ticket(id).ticketstatusid, new_status);
    EXPECT_EQ(calls("PUT", "/Tickets/Ticket/" + std::to_string(id)), 1);
    EXPECT_EQ(value("SELECT state FROM kayako_sync.outbox"), "done");
    // The mirror holds Kayako's answer (its lastactivity moved) with a real hash again.
    EXPECT_EQ(number("SELECT status_id FROM kayako.tickets WHERE id = " + std::to_string(id)),
              new_status);
    EXPECT_EQ(
        value("SELECT length(content_hash) FROM kayako.tickets WHERE id = " + std::to_string(id)),
        "32");
    EXPECT_EQ(
        number(
            "SELECT extract(epoch FROM last_activity_at)::bigint FROM kayako.tickets WHERE id = " +
            std::to_string(id)),
        model_ticket(id).lastactivity);
    // One feed event, source local, showing the edit itself.
    const auto events = events_after(feed_before);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(value("SELECT source || ' ' || array_to_string(changed_columns, ',') FROM "
                    "kayako_sync.changes WHERE position > " +
                    std::to_string(feed_before)),
              "local last_activity_at,status_id");
    // And a later sync cycle sees nothing new.
    const auto after_push = feed_position();
    once();
    EXPECT_TRUE(events_after(after_push).empty());
}

TEST_F(push_e2e, intake_rows_create_exactly_one_object_each_and_get_their_ids) {
    const auto dept = public_department();
    const auto status = number("SELECT min(id) FROM kayako.ticket_statuses");
    const auto priority = number("SELECT min(id) FROM kayako.ticket_priorities");
    const auto type = number("SELECT min(id) FROM kayako.ticket_types");
    const auto group =
        number("SELECT min(id) FROM kayako.user_groups WHERE group_type = 'registered'");
    const auto staff = number("SELECT min(id) FROM kayako.staff");
    const auto existing = some_ticket();
    sql("INSERT INTO kayako_sync.intake_tickets (subject, full_name, email, contents, "
        "department_id,"
        " status_id, priority_id, type_id, auto_user, ignore_auto_responder) VALUES ('Printer on "
        "fire',"
        " 'Ann Intake', 'ann.intake@example.com', 'It is really on fire.', " +
        std::to_string(dept) + ", " + std::to_string(status) + ", " + std::to_string(priority) +
        ", " + std::to_string(type) + ", true, true)");
    sql("INSERT INTO kayako_sync.intake_posts (intake_ticket_id, contents, staff_id)"
        " SELECT id, 'We are on our way.', " +
        std::to_string(staff) + " FROM kayako_sync.intake_tickets");
    sql("INSERT INTO kayako_sync.intake_notes (ticket_id, contents, staff_id) VALUES (" +
        std::to_string(existing) + ", 'Internal: call back', " + std::to_string(staff) + ")");
    sql("INSERT INTO kayako_sync.intake_users (full_name, emails, password, user_group_id)"
        " VALUES ('Bo Intake', '{bo.intake@example.com}', 'sw0rdfish-not-logged', " +
        std::to_string(group) + ")");
    sql("INSERT INTO kayako_sync.intake_organizations (name, city) VALUES ('Intake & Sons', "
        "'Oslo')");
    EXPECT_EQ(number("SELECT count(*) FROM kayako_sync.outbox WHERE new_values ? 'password'"), 0);
    EXPECT_EQ(number("SELECT count(*) FROM kayako_sync.outbox WHERE waits_for IS NOT NULL"), 1);

    EXPECT_EQ(drain(), 5u);

    for (const char* t : {"tickets", "posts", "notes", "users", "organizations"})
        EXPECT_EQ(
            value(std::string(
                      "SELECT state || ' ' || (kayako_id IS NOT NULL) FROM kayako_sync.intake_") +
                  t),
            "done true")
            << t << ": " << value(std::string("SELECT error FROM kayako_sync.intake_") + t);
    EXPECT_EQ(calls("POST", "/Tickets/Ticket"), 1);
    EXPECT_EQ(calls("POST", "/Tickets/TicketPost"), 1);
    EXPECT_EQ(calls("POST", "/Tickets/TicketNote"), 1);
    EXPECT_EQ(calls("POST", "/Base/User"), 1);
    EXPECT_EQ(calls("POST", "/Base/UserOrganization"), 1);

    const auto ticket_id = number("SELECT kayako_id FROM kayako_sync.intake_tickets");
    const auto t = model_ticket(ticket_id);
    EXPECT_EQ(t.subject, "Printer on fire");
    const auto posts = emu->api().read([&](const emulator::helpdesk& m) { return m.posts_of(t); });
    ASSERT_EQ(posts.size(), 2u);
    EXPECT_EQ(posts[1].contents, "We are on our way.");
    EXPECT_EQ(posts[1].ticketpostid, number("SELECT kayako_id FROM kayako_sync.intake_posts"));
    // The objects are in the mirror, with local-source feed events, and the password is gone.
    EXPECT_EQ(value("SELECT subject FROM kayako.tickets WHERE id = " + std::to_string(ticket_id)),
              "Printer on fire");
    EXPECT_EQ(
        number("SELECT count(*) FROM kayako.posts WHERE ticket_id = " + std::to_string(ticket_id)),
        2);
    EXPECT_EQ(value("SELECT full_name FROM kayako.users WHERE id = (SELECT kayako_id FROM "
                    "kayako_sync.intake_users)"),
              "Bo Intake");
    EXPECT_EQ(value("SELECT name FROM kayako.organizations WHERE id = (SELECT kayako_id FROM "
                    "kayako_sync.intake_organizations)"),
              "Intake & Sons");
    EXPECT_EQ(value("SELECT password FROM kayako_sync.intake_users"), "");
    EXPECT_GE(
        number("SELECT count(*) FROM kayako_sync.changes WHERE source = 'local' AND op = 'insert'"),
        5);
    for (const auto& line : logs.lines()) EXPECT_THAT(line, ::testing::Not(HasSubstr("sw0rdfish")));
}

TEST_F(push_e2e, conflict_kayako_wins_keeps_kayakos_value_and_records_both) {
    const auto id = some_ticket();
    const auto ids = std::to_string(id);
    sql("UPDATE kayako.tickets SET subject = 'local subject' WHERE id = " + ids);
    control("POST", "/_control/tickets/" + ids, "subject=kayako+subject");
    drain();
    EXPECT_EQ(model_ticket(id).subject, "kayako subject");
    EXPECT_EQ(calls("PUT", "/Tickets/Ticket/" + ids), 0);  // nothing left to send
    EXPECT_EQ(value("SELECT subject FROM kayako.tickets WHERE id = " + ids), "kayako subject");
    EXPECT_EQ(
        value(
            "SELECT column_name || '|' || local_value::text || '|' || remote_value::text || '|' || "
            "resolution || '|' || policy FROM kayako_sync.conflicts"),
        "subject|\"local subject\"|\"kayako subject\"|kayako|kayako_wins");
    EXPECT_EQ(value("SELECT state FROM kayako_sync.outbox"), "done");
}

TEST_F(push_e2e, conflict_local_wins_sends_the_local_value_and_leaves_other_remote_changes) {
    make_worker(config::conflict_policy::local_wins);
    const auto id = some_ticket();
    const auto ids = std::to_string(id);
    const auto other_priority = number("SELECT max(id) FROM kayako.ticket_priorities WHERE id <> " +
                                       std::to_string(model_ticket(id).priorityid));
    sql("UPDATE kayako.tickets SET subject = 'local subject' WHERE id = " + ids);
    control("POST", "/_control/tickets/" + ids,
            "subject=kayako+subject&ticketpriorityid=" + std::to_string(other_priority));
    drain();
    EXPECT_EQ(model_ticket(id).subject, "local subject");
    EXPECT_EQ(model_ticket(id).priorityid, other_priority);  // the PUT was partial
    EXPECT_EQ(value("SELECT resolution FROM kayako_sync.conflicts"), "local");
    EXPECT_EQ(value("SELECT subject || ' ' || priority_id FROM kayako.tickets WHERE id = " + ids),
              "local subject " + std::to_string(other_priority));
}

TEST_F(push_e2e, conflict_manual_holds_the_row_until_a_person_decides) {
    make_worker(config::conflict_policy::manual);
    const auto id = some_ticket();
    const auto ids = std::to_string(id);
    sql("UPDATE kayako.tickets SET subject = 'local subject' WHERE id = " + ids);
    control("POST", "/_control/tickets/" + ids, "subject=kayako+subject");
    drain();
    EXPECT_EQ(value("SELECT state FROM kayako_sync.outbox"), "held");
    EXPECT_EQ(value("SELECT resolution FROM kayako_sync.conflicts"), "pending");
    EXPECT_EQ(model_ticket(id).subject, "kayako subject");
    drain();  // still held: nothing decided
    EXPECT_EQ(value("SELECT state FROM kayako_sync.outbox"), "held");
    EXPECT_EQ(number("SELECT count(*) FROM kayako_sync.conflicts"), 1);

    sql("UPDATE kayako_sync.conflicts SET resolution = 'local', resolved_by = 'ops', resolved_at = "
        "now()");
    drain();
    EXPECT_EQ(value("SELECT state FROM kayako_sync.outbox"), "done");
    EXPECT_EQ(model_ticket(id).subject, "local subject");
    EXPECT_EQ(number("SELECT count(*) FROM kayako_sync.conflicts"), 1);
}

TEST_F(push_e2e, a_post_whose_response_is_lost_is_found_in_kayako_and_never_sent_twice) {
    lose_the_next_ticket_posts_answer();
    intake_ticket("Lost answer", "Cy", "cy@example.com", "body");
    drain();
    EXPECT_EQ(value("SELECT state || ' ' || maybe_sent FROM kayako_sync.outbox"), "pending true");
    for (int i = 0; i < 40 && value("SELECT state FROM kayako_sync.outbox") != "done"; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
        drain();
    }
    EXPECT_EQ(value("SELECT state || ' ' || (result->>'adopted') FROM kayako_sync.outbox"),
              "done true");
    const auto created = emu->api().read([](const emulator::helpdesk& m) {
        return std::count_if(m.tickets.begin(), m.tickets.end(),
                             [](const auto& t) { return t.subject == "Lost answer"; });
    });
    EXPECT_EQ(created, 1);
    int posts = 0;
    for (const auto& e : emu->api().request_log())
        if (e.method == "POST" && e.path == "/Tickets/Ticket") ++posts;
    EXPECT_EQ(posts, 1);
    EXPECT_EQ(number("SELECT kayako_id FROM kayako_sync.intake_tickets"),
              number("SELECT id FROM kayako.tickets WHERE subject = 'Lost answer'"));
}

// A POST whose answer was lost, and by then Kayako holds two tickets that match it (the daemon's
// and an identical one a person opened meanwhile): no way to tell which is ours, so the row is
// left in doubt for a person, never sent again and never adopted at random.
TEST_F(push_e2e, a_lost_post_with_two_matching_tickets_in_kayako_is_left_in_doubt_unsent) {
    lose_the_next_ticket_posts_answer();
    intake_ticket("Said twice", "Di", "di@example.com", "the same words");
    const auto dept = public_department();
    drain();
    ASSERT_EQ(value("SELECT state || ' ' || maybe_sent FROM kayako_sync.outbox"), "pending true");
    control("POST", "/_control/tickets",
            "subject=Said+twice&fullname=Di&email=di%40example.com&contents=the+same+words"
            "&departmentid=" +
                std::to_string(dept) +
                "&ticketstatusid=" + value("SELECT min(id) FROM kayako.ticket_statuses") +
                "&ticketpriorityid=" + value("SELECT min(id) FROM kayako.ticket_priorities") +
                "&tickettypeid=" + value("SELECT min(id) FROM kayako.ticket_types") +
                "&autouserid=1");
    for (int i = 0; i < 40 && value("SELECT state FROM kayako_sync.outbox") == "pending"; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
        drain();
    }
    EXPECT_EQ(value("SELECT state FROM kayako_sync.outbox"), "in_doubt");
    EXPECT_NE(value("SELECT last_error FROM kayako_sync.outbox").find("2 objects in Kayako match"),
              std::string::npos)
        << value("SELECT last_error FROM kayako_sync.outbox");
    drain();  // an in-doubt row stays where it is
    EXPECT_EQ(value("SELECT state FROM kayako_sync.outbox"), "in_doubt");
    EXPECT_EQ(calls("POST", "/Tickets/Ticket"), 1);
    const auto in_kayako = emu->api().read([](const emulator::helpdesk& m) {
        return std::count_if(m.tickets.begin(), m.tickets.end(),
                             [](const auto& t) { return t.subject == "Said twice"; });
    });
    EXPECT_EQ(in_kayako, 2);
    EXPECT_EQ(value("SELECT kayako_id FROM kayako_sync.intake_tickets"), "<null>");
}

TEST_F(push_e2e, values_that_look_like_sql_or_xml_are_stored_and_sent_verbatim) {
    const std::string nasty =
        "x'); DROP TABLE kayako.tickets; -- <b>&amp;</b> ]]> <![CDATA[y]]> \"q\" \\ ü";
    const auto id = some_ticket();
    {
        pqxx::connection c{db_dsn()};
        pqxx::work tx{c};
        tx.exec_params("UPDATE kayako.tickets SET subject = $1 WHERE id = $2", nasty, id);
        tx.exec_params(
            "INSERT INTO kayako_sync.intake_posts (ticket_id, contents, staff_id)"
            " VALUES ($2, $1, (SELECT min(id) FROM kayako.staff))",
            nasty, id);
        tx.commit();
    }
    EXPECT_EQ(drain(), 2u);
    const auto t = model_ticket(id);
    EXPECT_EQ(t.subject, nasty);
    const auto posts = emu->api().read([&](const emulator::helpdesk& m) { return m.posts_of(t); });
    EXPECT_EQ(posts.back().contents, nasty);
    EXPECT_EQ(value("SELECT subject FROM kayako.tickets WHERE id = " + std::to_string(id)), nasty);
    EXPECT_EQ(value("SELECT contents FROM kayako.posts WHERE id = (SELECT kayako_id FROM "
                    "kayako_sync.intake_posts)"),
              nasty);
}

TEST_F(push_e2e, a_value_kayako_ignores_is_reported_and_the_mirror_goes_back_to_kayako) {
    const auto id = some_ticket();
    const auto ids = std::to_string(id);
    const auto status = model_ticket(id).ticketstatusid;
    sql("UPDATE kayako.tickets SET status_id = 987654 WHERE id = " + ids);
    drain();
    EXPECT_EQ(value("SELECT state FROM kayako_sync.outbox"), "failed");
    EXPECT_THAT(
        value("SELECT last_error FROM kayako_sync.outbox"),
        HasSubstr("Kayako ignored status_id (sent 987654, Kayako kept " + std::to_string(status)));
    EXPECT_EQ(model_ticket(id).ticketstatusid, status);
    EXPECT_EQ(number("SELECT status_id FROM kayako.tickets WHERE id = " + ids), status);
}

TEST_F(push_e2e, read_only_columns_are_refused_and_the_daemons_own_writes_queue_nothing) {
    const auto id = std::to_string(some_ticket());
    try {
        sql("UPDATE kayako.tickets SET replies = 99 WHERE id = " + id);
        ADD_FAILURE() << "an edit of a read-only column was accepted";
    } catch (const pqxx::sql_error& e) {
        EXPECT_THAT(e.what(), HasSubstr("kayako.tickets.replies cannot be changed"));
        EXPECT_EQ(e.sqlstate(), "0A000");
    }
    try {
        sql("UPDATE kayako.posts SET contents = 'x' WHERE ticket_id = " + id);
        ADD_FAILURE() << "an edit of a post was accepted";
    } catch (const pqxx::sql_error& e) {
        EXPECT_THAT(e.what(), HasSubstr("kayako-sync does not push posts"));
    }
    try {
        sql("DELETE FROM kayako.tickets WHERE id = " + id);
        ADD_FAILURE() << "a delete was accepted";
    } catch (const pqxx::sql_error& e) {
        EXPECT_THAT(e.what(), HasSubstr("deleting them here is not pushed"));
    }
    sql("UPDATE kayako.tickets SET subject = subject WHERE id = " + id);  // changes nothing
    // The daemon's own writes: a whole sync cycle with changes queues nothing.
    control("POST", "/_control/tickets/" + id, "subject=changed+in+kayako");
    once();
    EXPECT_EQ(value("SELECT subject FROM kayako.tickets WHERE id = " + id), "changed in kayako");
    EXPECT_EQ(number("SELECT count(*) FROM kayako_sync.outbox"), 0);
}

TEST_F(push_e2e, changes_to_one_object_go_in_commit_order_and_a_post_waits_for_its_ticket) {
    const auto id = some_ticket();
    const auto ids = std::to_string(id);
    sql("UPDATE kayako.tickets SET subject = 'first' WHERE id = " + ids);
    sql("UPDATE kayako.tickets SET subject = 'second' WHERE id = " + ids);
    const auto dept = public_department();
    sql("INSERT INTO kayako_sync.intake_tickets (subject, full_name, email, contents, "
        "department_id,"
        " status_id, priority_id, type_id, auto_user) SELECT 'New', 'Di', 'di@example.com', 'b', " +
        std::to_string(dept) +
        ", min(s.id), min(p.id), min(t.id), true FROM kayako.ticket_statuses s,"
        " kayako.ticket_priorities p, kayako.ticket_types t");
    sql("INSERT INTO kayako_sync.intake_posts (intake_ticket_id, contents, user_id)"
        " SELECT id, 'follow-up', 1 FROM kayako_sync.intake_tickets");

    auto claimed =
        test::run_coro(ioc, outbox->claim(10, std::chrono::seconds(600)), std::chrono::seconds(30));
    ASSERT_EQ(claimed.size(),
              2u);  // the first edit and the new ticket; not the second edit, not the post
    EXPECT_EQ(claimed[0].operation, "update");
    EXPECT_THAT(claimed[0].new_values, HasSubstr("\"first\""));
    EXPECT_EQ(claimed[1].entity, "tickets");
    EXPECT_EQ(claimed[1].operation, "create");
    EXPECT_FALSE(claimed[1].maybe_sent);  // never claimed before
    // A second worker sees nothing: the rows are claimed, the others wait behind them.
    EXPECT_TRUE(
        test::run_coro(ioc, outbox->claim(10, std::chrono::seconds(600)), std::chrono::seconds(30))
            .empty());
    for (auto& r : claimed)
        test::run_coro(ioc, outbox->reschedule(r, std::chrono::milliseconds(0), "", false, false),
                       std::chrono::seconds(30));

    drain();
    EXPECT_EQ(model_ticket(id).subject, "second");
    EXPECT_EQ(calls("PUT", "/Tickets/Ticket/" + ids), 2);
    EXPECT_EQ(value("SELECT string_agg(state, ',' ORDER BY id) FROM kayako_sync.outbox"),
              "done,done,done,done");
    EXPECT_EQ(value("SELECT subject FROM kayako.tickets WHERE id = " + ids), "second");
}

// Several rows are in progress at once (push.concurrency), yet one object's changes still reach
// Kayako one after the other, in commit order. Every Get is answered late, so rows that run
// together all send their Get before any of them can send its PUT.
TEST_F(push_e2e, rows_of_different_objects_overlap_and_one_objects_changes_stay_in_order) {
    const auto ids = some_tickets(5);
    ASSERT_EQ(ids.size(), 5u);
    const auto hot = std::to_string(ids[0]);
    for (const char* s : {"one", "two", "three"})
        sql("UPDATE kayako.tickets SET subject = '" + std::string(s) + "' WHERE id = " + hot);
    for (std::size_t i = 1; i < ids.size(); ++i)
        sql("UPDATE kayako.tickets SET subject = 'other " + std::to_string(i) +
            "' WHERE id = " + std::to_string(ids[i]));
    emulator::fault_rule slow;
    slow.endpoint = "Tickets/Ticket";
    slow.verb = "GET";
    slow.kind = "latency";
    slow.delay_ms = 300;
    emu->api().add_fault(slow);
    const auto from = emu->api().request_log().size();

    EXPECT_EQ(drain(), 7u);
    emu->api().clear_faults();

    EXPECT_EQ(value("SELECT string_agg(DISTINCT state, ',') FROM kayako_sync.outbox"), "done");
    EXPECT_EQ(model_ticket(ids[0]).subject, "three");
    for (std::size_t i = 1; i < ids.size(); ++i)
        EXPECT_EQ(model_ticket(ids[i]).subject, "other " + std::to_string(i));
    std::vector<std::string> hot_puts;
    int gets_before_first_put = 0;
    bool put_seen = false;
    const auto log = emu->api().request_log();
    for (auto it = log.begin() + static_cast<std::ptrdiff_t>(from); it != log.end(); ++it) {
        const auto& e = *it;
        if (e.method == "PUT") put_seen = true;
        if (e.method == "GET" && !put_seen) ++gets_before_first_put;
        if (e.method == "PUT" && e.path == "/Tickets/Ticket/" + hot)
            hot_puts.push_back(field(e, "subject"));
    }
    EXPECT_THAT(hot_puts, ::testing::ElementsAre("one", "two", "three"));
    // Rows of different objects were in flight together, never more than push.concurrency.
    EXPECT_GE(gets_before_first_put, 2);
    EXPECT_LE(gets_before_first_put, 4);
    EXPECT_EQ(value("SELECT subject FROM kayako.tickets WHERE id = " + hot), "three");
}

// With one row at a time the worker behaves as before: a Get and its PUT, then the next row.
TEST_F(push_e2e, concurrency_one_processes_one_row_at_a_time) {
    make_worker(config::conflict_policy::kayako_wins, 1);
    const auto ids = some_tickets(3);
    for (auto id : ids)
        sql("UPDATE kayako.tickets SET subject = 'serial' WHERE id = " + std::to_string(id));
    const auto from = emu->api().request_log().size();
    EXPECT_EQ(drain(), 3u);
    std::string methods;
    const auto log = emu->api().request_log();
    for (auto it = log.begin() + static_cast<std::ptrdiff_t>(from); it != log.end(); ++it)
        methods += it->method + " ";
    EXPECT_EQ(methods, "GET PUT GET PUT GET PUT ");
}

// A claimed row that never started (the drain stopped on an error) goes back to pending at
// once, with its attempt given back, instead of waiting for the claim's lease.
TEST_F(push_e2e, unstarted_claims_are_given_back) {
    const auto ids = some_tickets(2);
    for (auto id : ids)
        sql("UPDATE kayako.tickets SET subject = 'given back' WHERE id = " + std::to_string(id));
    auto claimed =
        test::run_coro(ioc, outbox->claim(10, std::chrono::seconds(600)), std::chrono::seconds(30));
    ASSERT_EQ(claimed.size(), 2u);
    EXPECT_EQ(value("SELECT string_agg(state || ' ' || attempts, ',' ORDER BY id) FROM "
                    "kayako_sync.outbox"),
              "sending 1,sending 1");
    test::run_coro(ioc, outbox->release(claimed), std::chrono::seconds(30));
    EXPECT_EQ(value("SELECT string_agg(state || ' ' || attempts, ',' ORDER BY id) FROM "
                    "kayako_sync.outbox"),
              "pending 0,pending 0");
    EXPECT_EQ(drain(), 2u);
    EXPECT_EQ(value("SELECT string_agg(DISTINCT state, ',') FROM kayako_sync.outbox"), "done");
}

// Group commit (outbox_repository::complete_all): several results in one transaction, each with
// its own row state and its own local feed event; a row whose claim is no longer ours writes
// nothing and does not stop the others.
TEST_F(push_e2e, results_recorded_together_keep_their_own_state_and_feed_event) {
    const auto ids = some_tickets(3);
    ASSERT_EQ(ids.size(), 3u);
    for (std::size_t i = 0; i < ids.size(); ++i) {
        const auto subject = "grouped " + std::to_string(i);
        sql("UPDATE kayako.tickets SET subject = '" + subject +
            "' WHERE id = " + std::to_string(ids[i]));
        // Kayako applied it (as the PUT would have).
        control("POST", "/_control/tickets/" + std::to_string(ids[i]),
                "subject=grouped+" + std::to_string(i));
    }
    const auto feed_before = feed_position();
    auto claimed =
        test::run_coro(ioc, outbox->claim(10, std::chrono::seconds(600)), std::chrono::seconds(30));
    ASSERT_EQ(claimed.size(), 3u);
    // The third claim is given back before the results are recorded: no longer ours.
    std::vector<pg::outbox_row> give_back;
    give_back.push_back(claimed[2]);
    test::run_coro(ioc, outbox->release(give_back), std::chrono::seconds(30));

    std::vector<pg::outbox_repository::completion> items;
    for (const auto& row : claimed) {
        const auto t =
            test::run_coro(ioc, kayako->get_ticket(*row.object_id), std::chrono::seconds(30));
        ASSERT_TRUE(t.has_value());
        pg::push_result r;
        r.revert_edit = true;
        r.source = pg::change_source::local;
        std::vector<pg::mapped_row> rows;
        pg::map_record(*t, rows);
        r.mirror_rows.emplace_back(pg::entity::tickets, std::move(rows));
        items.emplace_back(row, std::move(r));
    }
    const auto mine =
        test::run_coro(ioc, outbox->complete_all(std::move(items)), std::chrono::seconds(30));
    EXPECT_THAT(mine, ::testing::ElementsAre(true, true, false));

    EXPECT_EQ(value("SELECT string_agg(state, ',' ORDER BY id) FROM kayako_sync.outbox"),
              "done,done,pending");
    // One transaction: the same done_at.
    EXPECT_EQ(number("SELECT count(DISTINCT done_at) FROM kayako_sync.outbox WHERE state = "
                     "'done'"),
              1);
    for (std::size_t i = 0; i < 2; ++i)
        EXPECT_EQ(value("SELECT subject || ' ' || length(content_hash) FROM kayako.tickets "
                        "WHERE id = " +
                        std::to_string(ids[i])),
                  "grouped " + std::to_string(i) + " 32");
    // The given-back row's edit is untouched (still pending, its hash still empty).
    EXPECT_EQ(
        value("SELECT subject || ' ' || length(content_hash) FROM kayako.tickets WHERE id = " +
              std::to_string(ids[2])),
        "grouped 2 0");
    // One local event per recorded object, showing the edit.
    EXPECT_EQ(
        value("SELECT string_agg(object_id || ':' || source || ':' || "
              "(new_values->>'subject'), ',' ORDER BY object_id) FROM kayako_sync.changes "
              "WHERE position > " +
              std::to_string(feed_before)),
        std::to_string(ids[0]) + ":local:grouped 0," + std::to_string(ids[1]) + ":local:grouped 1");
}

}  // namespace
