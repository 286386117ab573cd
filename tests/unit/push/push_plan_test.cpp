// Push-back without I/O: how the trigger's values and Kayako's records compare, what each
// conflict policy sends, and the exact wire form of the calls (dry run).
#include "daemon/push/fields.hpp"
#include "daemon/push/plan.hpp"
#include "daemon/push/requests.hpp"

#include <boost/json/parse.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace {

using namespace ksync;
using namespace ksync::push;
using pg::entity;
namespace json = boost::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(push_fields, postgres_timestamps_in_any_session_zone_are_the_same_instant) {
    EXPECT_EQ(parse_pg_timestamp("2024-05-01T12:00:00+00:00"), 1714564800);
    EXPECT_EQ(parse_pg_timestamp("2024-05-01T14:00:00+02:00"), 1714564800);
    EXPECT_EQ(parse_pg_timestamp("2024-05-01T06:30:00.123456-05:30"), 1714564800);
    EXPECT_EQ(parse_pg_timestamp("2024-05-01 12:00:00+00"), 1714564800);
    EXPECT_EQ(parse_pg_timestamp("1970-01-01T00:00:00+00:00"), 0);
    EXPECT_THROW(parse_pg_timestamp("yesterday"), std::invalid_argument);
    EXPECT_THROW(parse_pg_timestamp("2024-02-30T00:00:00+00:00"), std::invalid_argument);
    EXPECT_THROW(parse_pg_timestamp("2024-05-01T12:00:00Z"), std::invalid_argument);
}

TEST(push_fields, trigger_json_and_kayako_records_normalise_to_the_same_values) {
    const auto v = parse_values(
        entity::users,
        R"({"full_name":"Ann","emails":["a@x.org","b@x.org"],"is_enabled":true,)"
        R"("expires_at":null,"sla_plan_expires_at":"2024-05-01T14:00:00+02:00",)"
        R"("user_group_id":2,"version":7,"last_visit_at":"2024-01-01T00:00:00+00:00"})");
    kayako::user u;
    u.fullname = "Ann";
    u.emails = {"a@x.org", "b@x.org"};
    u.isenabled = true;
    u.userexpiry = 0;
    u.slaplanexpiry = 1714564800;
    u.usergroupid = 2;
    const auto r = remote_values(u);
    for (const char* c : {"full_name", "emails", "is_enabled", "expires_at", "sla_plan_expires_at",
                          "user_group_id"})
        EXPECT_EQ(v.at(c), r.at(c)) << c;
    EXPECT_FALSE(v.count("version"));  // not writable: ignored
    EXPECT_FALSE(v.count("last_visit_at"));
    EXPECT_THROW(parse_values(entity::tickets, R"({"status_id":"three"})"), std::invalid_argument);
}

TEST(push_fields, every_writable_ticket_column_maps_to_its_put_field) {
    field_values send;
    for (const auto& f : writable_fields(entity::tickets))
        send.emplace(std::string(f.column),
                     f.kind == field_kind::text ? json::value("t") : json::value(5));
    const auto fields = kayako::ticket_update_fields(to_ticket_update(send));
    std::vector<std::string> names;
    for (const auto& [k, v] : fields.items()) names.push_back(k);
    std::sort(names.begin(), names.end());
    EXPECT_THAT(names, ElementsAre("departmentid", "email", "fullname", "ownerstaffid", "subject",
                                   "ticketpriorityid", "ticketstatusid", "tickettypeid", "userid"));
    EXPECT_TRUE(writable_fields(entity::posts).empty());
}

field_values ticket_values(std::int64_t status, const std::string& subject,
                           std::int64_t priority = 1) {
    field_values v;
    for (const auto& f : writable_fields(entity::tickets))
        v.emplace(std::string(f.column),
                  f.kind == field_kind::text ? json::value("") : json::value(0));
    v["status_id"] = status;
    v["subject"] = subject;
    v["priority_id"] = priority;
    return v;
}

TEST(push_plan, an_edit_kayako_did_not_touch_is_sent_alone) {
    const auto base = ticket_values(1, "s");
    const auto local = ticket_values(2, "s");
    const auto remote = ticket_values(1, "s", 3);  // another field moved in Kayako: not ours
    const auto p = plan_update(entity::tickets, {"status_id"}, base, local, remote, {},
                               config::conflict_policy::kayako_wins);
    EXPECT_TRUE(p.needs_put());
    ASSERT_EQ(p.send.size(), 1u);
    EXPECT_EQ(p.send.at("status_id"), json::value(2));
    EXPECT_TRUE(p.conflicts.empty());
}

TEST(push_plan, a_value_already_in_kayako_is_not_sent) {
    const auto p =
        plan_update(entity::tickets, {"status_id"}, ticket_values(1, "s"), ticket_values(2, "s"),
                    ticket_values(2, "s"), {}, config::conflict_policy::manual);
    EXPECT_FALSE(p.needs_put());
    EXPECT_TRUE(p.conflicts.empty());
    EXPECT_FALSE(p.hold);
}

TEST(push_plan, each_policy_decides_a_field_changed_on_both_sides) {
    const auto base = ticket_values(1, "base");
    const auto local = ticket_values(2, "local");
    const auto remote = ticket_values(1, "remote");
    const std::vector<std::string> changed{"status_id", "subject"};

    auto kw = plan_update(entity::tickets, changed, base, local, remote, {},
                          config::conflict_policy::kayako_wins);
    ASSERT_EQ(kw.conflicts.size(), 1u);
    EXPECT_EQ(kw.conflicts[0].column, "subject");
    EXPECT_EQ(kw.conflicts[0].decided, resolution::kayako);
    EXPECT_EQ(kw.conflicts[0].base, json::value("base"));
    EXPECT_EQ(kw.conflicts[0].remote, json::value("remote"));
    EXPECT_EQ(kw.send.size(), 1u);  // status only
    EXPECT_TRUE(kw.send.count("status_id"));

    auto lw = plan_update(entity::tickets, changed, base, local, remote, {},
                          config::conflict_policy::local_wins);
    EXPECT_EQ(lw.conflicts[0].decided, resolution::local);
    EXPECT_EQ(lw.send.at("subject"), json::value("local"));

    auto mn = plan_update(entity::tickets, changed, base, local, remote, {},
                          config::conflict_policy::manual);
    EXPECT_TRUE(mn.hold);
    EXPECT_FALSE(mn.needs_put());
    EXPECT_EQ(mn.conflicts[0].decided, resolution::pending);

    // A person's decision, recorded before, wins over the policy and adds no new conflict.
    auto decided = plan_update(entity::tickets, changed, base, local, remote,
                               {{"subject", resolution::local}}, config::conflict_policy::manual);
    EXPECT_FALSE(decided.hold);
    EXPECT_TRUE(decided.conflicts.empty());
    EXPECT_EQ(decided.send.at("subject"), json::value("local"));
}

TEST(push_plan, a_user_put_always_carries_fullname) {
    field_values base, local, remote;
    for (const auto& f : writable_fields(entity::users)) {
        const auto v = f.kind == field_kind::text ? json::value("v") : json::value(1);
        base.emplace(std::string(f.column), v);
        local.emplace(std::string(f.column), v);
        remote.emplace(std::string(f.column), v);
    }
    local["phone"] = "555";
    remote["full_name"] = "Renamed In Kayako";
    const auto p = plan_update(entity::users, {"phone"}, base, local, remote, {},
                               config::conflict_policy::kayako_wins);
    EXPECT_EQ(p.send.at("phone"), json::value("555"));
    EXPECT_EQ(p.send.at("full_name"), json::value("Renamed In Kayako"));  // Kayako's, not ours
    EXPECT_EQ(p.send.size(), 2u);
}

TEST(push_plan, an_organization_put_replaces_every_field_with_kayakos_values_for_the_rest) {
    field_values base, local, remote;
    for (const auto& f : writable_fields(entity::organizations)) {
        const auto v = f.kind == field_kind::text   ? json::value("v")
                       : f.kind == field_kind::time ? json::value(nullptr)
                                                    : json::value(0);
        base.emplace(std::string(f.column), v);
        local.emplace(std::string(f.column), v);
        remote.emplace(std::string(f.column), v);
    }
    local["city"] = "Oslo";
    remote["website"] = "https://changed.example";
    const auto p = plan_update(entity::organizations, {"city"}, base, local, remote, {},
                               config::conflict_policy::kayako_wins);
    EXPECT_EQ(p.send.size(), writable_fields(entity::organizations).size());
    EXPECT_EQ(p.send.at("city"), json::value("Oslo"));
    EXPECT_EQ(p.send.at("website"), json::value("https://changed.example"));
    const auto o = to_organization_fields(p.send);
    EXPECT_EQ(o.city, "Oslo");
    EXPECT_EQ(o.website, "https://changed.example");
}

TEST(push_plan, values_kayako_ignored_are_found) {
    const auto sent = ticket_values(9, "s");
    const auto returned = ticket_values(1, "s");
    EXPECT_THAT(ignored_columns(sent, returned, {"status_id"}), ElementsAre("status_id"));
    EXPECT_TRUE(ignored_columns(sent, sent, {"status_id"}).empty());
}

TEST(push_requests, intake_rows_become_the_exact_form_fields) {
    const auto row = parse_object(
        R"({"id":1,"subject":"Help","full_name":"Ann","email":"a@x.org","contents":"Body & <b>",)"
        R"("department_id":3,"status_id":1,"priority_id":2,"type_id":1,"user_id":null,"auto_user":true,)"
        R"("staff_id":null,"owner_staff_id":null,"email_queue_id":null,"template_group":null,)"
        R"("creation_type":"phone","ignore_auto_responder":true})");
    const auto line = describe_call("POST", "/Tickets/Ticket",
                                    kayako::ticket_create_fields(ticket_from_intake(row)));
    EXPECT_THAT(line, HasSubstr("subject=Help fullname=Ann email=a@x.org contents=\"Body & <b>\""));
    EXPECT_THAT(line, HasSubstr("autouserid=1"));
    EXPECT_THAT(line, HasSubstr("type=phone"));
    EXPECT_THAT(line, HasSubstr("ignoreautoresponder=1"));
    EXPECT_THAT(line, ::testing::Not(HasSubstr("staffid")));

    const auto user = parse_object(R"({"full_name":"Bo","emails":["b@x.org"],"user_group_id":2})");
    const auto u =
        describe_call("POST", "/Base/User",
                      kayako::user_create_fields(user_from_intake(user, ksync::secret("hunter2"))));
    EXPECT_THAT(u, HasSubstr("password=<hidden>"));
    EXPECT_THAT(u, ::testing::Not(HasSubstr("hunter2")));

    std::optional<std::int64_t> intake_ticket;
    EXPECT_FALSE(intake_target_ticket(parse_object(R"({"ticket_id":null,"intake_ticket_id":4})"),
                                      &intake_ticket));
    EXPECT_EQ(intake_ticket, 4);
    EXPECT_EQ(intake_target_ticket(parse_object(R"({"ticket_id":9})"), nullptr), 9);
}

}  // namespace
