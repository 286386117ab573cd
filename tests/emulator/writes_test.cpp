// Part 2 conformance: writes with Kayako's validation order and texts, and their quirks.
#include "tests/emulator/server.hpp"
#include "tests/emulator/test_client.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <regex>

namespace ksync::emulator {
namespace {

using test::raw_client;
using test::raw_response;

class writes : public ::testing::Test {
protected:
    void SetUp() override {
        emulator_options o;
        o.seed = 11;
        o.size.tickets = 60;
        o.size.users = 40;
        emu_ = std::make_unique<emulator>(o);
        emu_->start();
        client_ = std::make_unique<raw_client>(emu_->port());
        // A frozen clock: lastactivity assertions compare exact seconds.
        control("POST", "/_control/clock", "set=1800000000&freeze=1");
    }
    void TearDown() override {
        client_.reset();
        emu_.reset();
    }
    std::string auth(const std::string& salt = "31337") {
        const auto& o = emu_->api().options();
        return test::auth_fields(o.apikey, o.secret, salt);
    }
    raw_response get(const std::string& route) {
        return client_->request("GET", "/api/index.php?" + route + "&" + auth());
    }
    raw_response send(const std::string& verb, const std::string& route, const std::string& form) {
        return client_->request(verb, "/api/index.php?" + route,
                                "application/x-www-form-urlencoded",
                                form.empty() ? auth() : form + "&" + auth());
    }
    raw_response control(const std::string& verb, const std::string& path,
                         const std::string& form) {
        return client_->request(verb, path, "application/x-www-form-urlencoded", form);
    }
    static std::string leaf(const std::string& xml, const std::string& tag) {
        const std::regex re("<" + tag + "><!\\[CDATA\\[([^\\]]*)\\]\\]></" + tag + ">");
        std::smatch m;
        if (std::regex_search(xml, m, re)) return m[1];
        return xml.find("<" + tag + " />") != std::string::npos ? "" : "<missing>";
    }

    std::unique_ptr<emulator> emu_;
    std::unique_ptr<raw_client> client_;
};

TEST_F(writes, ticket_post_validates_fields_in_kayakos_order) {
    // Each step adds the field the previous error named; the texts must come in this order.
    const std::vector<std::pair<std::string, std::string>> steps = {
        {"", "Subject is empty"},
        {"subject=Printer%20on%20fire", "Fullname is empty"},
        {"fullname=Ann", "Email is empty"},
        {"email=ann%40example.com", "Contents is empty"},
        {"contents=It%20burns", "Department ID is empty"},
        {"departmentid=999", "Ticket Status ID is empty"},
        {"ticketstatusid=999", "Ticket Priority ID is empty"},
        {"ticketpriorityid=999", "Ticket Type ID is empty"},
        {"tickettypeid=999", "Staff ID, User ID and Auto User ID values are empty or not provided"},
        {"autouserid=1", "Department ID is Invalid"},
    };
    std::string form;
    for (const auto& [field, text] : steps) {
        if (!field.empty()) form += (form.empty() ? "" : "&") + field;
        const auto r = send("POST", "/Tickets/Ticket", form);
        EXPECT_EQ(r.status, 400) << form;
        EXPECT_EQ(r.body, text) << form;
    }
    auto replace = [&](const std::string& from, const std::string& to) {
        form.replace(form.find(from), from.size(), to);
    };
    replace("departmentid=999", "departmentid=7");  // the livechat department (6 ticket depts)
    EXPECT_EQ(send("POST", "/Tickets/Ticket", form).body, "Department App is not Tickets");
    replace("departmentid=7", "departmentid=1");
    EXPECT_EQ(send("POST", "/Tickets/Ticket", form).body, "Ticket Status ID is Invalid");
    replace("ticketstatusid=999", "ticketstatusid=1");
    EXPECT_EQ(send("POST", "/Tickets/Ticket", form).body, "Ticket Priority ID is Invalid");
    replace("ticketpriorityid=999", "ticketpriorityid=2");
    EXPECT_EQ(send("POST", "/Tickets/Ticket", form).body, "Ticket Type ID is Invalid");
    replace("tickettypeid=999", "tickettypeid=1");
    EXPECT_EQ(send("POST", "/Tickets/Ticket", form + "&staffid=999").body, "Staff ID is Invalid");
    EXPECT_EQ(send("POST", "/Tickets/Ticket",
                   std::regex_replace(form, std::regex("autouserid=1"), "userid=1"))
                  .body,
              "User Email is Invalid");

    const auto created = send("POST", "/Tickets/Ticket", form);
    ASSERT_EQ(created.status, 200) << created.body;
    EXPECT_EQ(leaf(created.body, "subject"), "Printer on fire");
    EXPECT_EQ(leaf(created.body, "lastactivity"), "1800000000");
    EXPECT_EQ(leaf(created.body, "creationtime"), "1800000000");
    EXPECT_NE(created.body.find("<posts>\n<post>\n"), std::string::npos);
    const std::string id = std::regex_replace(
        created.body, std::regex("(?:.|\n)*<ticket id=\"([0-9]+)\"(?:.|\n)*"), "$1");
    EXPECT_EQ(get("/Tickets/Ticket/" + id).body, created.body);
}

TEST_F(writes, ticket_put_is_partial_ignores_invalid_values_and_moves_lastactivity) {
    const auto before = get("/Tickets/Ticket/5").body;
    const auto r = send("PUT", "/Tickets/Ticket/5",
                        "subject=New%20subject&ticketstatusid=999&ownerstaffid=999");
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(leaf(r.body, "subject"), "New subject");
    EXPECT_EQ(leaf(r.body, "statusid"), leaf(before, "statusid"));          // invalid: ignored
    EXPECT_EQ(leaf(r.body, "ownerstaffid"), leaf(before, "ownerstaffid"));  // invalid: ignored
    EXPECT_EQ(leaf(r.body, "fullname"), leaf(before, "fullname"));          // not sent: kept
    EXPECT_EQ(leaf(r.body, "lastactivity"), "1800000000");
    // ownerstaffid=0 unassigns
    EXPECT_EQ(leaf(send("PUT", "/Tickets/Ticket/5", "ownerstaffid=0").body, "ownerstaffid"), "0");
}

TEST_F(writes, delete_is_hard_then_get_and_delete_give_404) {
    EXPECT_EQ(send("DELETE", "/Tickets/Ticket/3", "").status, 401);  // DELETE reads $_GET
    const auto del = client_->request("DELETE", "/api/index.php?/Tickets/Ticket/3&" + auth());
    EXPECT_EQ(del.status, 200);
    EXPECT_EQ(del.body, "");
    const auto gone = get("/Tickets/Ticket/3");
    EXPECT_EQ(gone.status, 404);
    EXPECT_EQ(gone.body, "Ticket not Found");
    EXPECT_EQ(client_->request("DELETE", "/api/index.php?/Tickets/Ticket/3&" + auth()).status, 404);
    EXPECT_EQ(get("/Tickets/TicketPost/ListAll/3").status, 404);
}

TEST_F(writes, posts_and_notes_move_lastactivity_trashing_does_not) {
    const auto post =
        send("POST", "/Tickets/TicketPost", "ticketid=7&contents=Any%20news%3F&userid=1");
    ASSERT_EQ(post.status, 200) << post.body;
    EXPECT_NE(post.body.find("<contents><![CDATA[Any news?]]></contents>"), std::string::npos);
    EXPECT_EQ(leaf(get("/Tickets/Ticket/7").body, "lastactivity"), "1800000000");

    control("POST", "/_control/clock", "advance=60");
    ASSERT_EQ(
        send("POST", "/Tickets/TicketNote", "ticketid=7&staffid=1&contents=Called%20back").status,
        200);
    EXPECT_EQ(leaf(get("/Tickets/Ticket/7").body, "lastactivity"), "1800000060");

    control("POST", "/_control/clock", "advance=60");
    ASSERT_EQ(control("POST", "/_control/tickets/7", "departmentid=0").status, 200);
    const auto trashed = get("/Tickets/Ticket/7").body;
    EXPECT_EQ(leaf(trashed, "departmentid"), "0");
    EXPECT_EQ(leaf(trashed, "lastactivity"), "1800000060");

    // A staff post is stored as text and e-mailed unless private.
    const auto staff = send("POST", "/Tickets/TicketPost", "ticketid=8&contents=Done&staffid=2");
    EXPECT_EQ(leaf(staff.body, "isemailed"), "1");
    EXPECT_EQ(leaf(staff.body, "creator"), "1");
    // Post validation texts
    EXPECT_EQ(send("POST", "/Tickets/TicketPost", "contents=x&userid=1").body,
              "No Ticket ID Specified");
    EXPECT_EQ(send("POST", "/Tickets/TicketPost", "ticketid=8&userid=1").body,
              "No Contents Specified");
    EXPECT_EQ(send("POST", "/Tickets/TicketPost", "ticketid=8&contents=x").body,
              "Staff ID and User ID is empty");
    EXPECT_EQ(send("POST", "/Tickets/TicketPost", "ticketid=8&contents=x&userid=9999").body,
              "User ID is Invalid");
    EXPECT_EQ(send("POST", "/Tickets/TicketPost", "ticketid=99999&contents=x&userid=1").body,
              "Ticket not Found");
}

TEST_F(writes, post_delete_removes_the_post) {
    const auto post = send("POST", "/Tickets/TicketPost", "ticketid=9&contents=temp&userid=1");
    const std::string pid = leaf(post.body, "ticketpostid");
    EXPECT_EQ(get("/Tickets/TicketPost/9/" + pid).status, 200);
    EXPECT_EQ(
        client_->request("DELETE", "/api/index.php?/Tickets/TicketPost/9/" + pid + "&" + auth())
            .status,
        200);
    EXPECT_EQ(get("/Tickets/TicketPost/9/" + pid).body, "Ticket Post not Found");
}

TEST_F(writes, user_post_validation_order_and_put_requires_fullname) {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"fullname=A&password=p&email=a%40b.test", "One of the required fields is empty"},
        {"usergroupid=99&fullname=A&password=p&email=a%40b.test", "Invalid User Group"},
        {"usergroupid=1&fullname=A&password=p&email=a%40b.test",
         "User Group Specified is not of \"Registered\" type"},
        {"usergroupid=2&fullname=A&password=p&email=a%40b.test&userorganizationid=9999",
         "Invalid User Organization ID"},
        {"usergroupid=2&fullname=A&password=p&email=not-an-address", "Invalid Email Specified"},
    };
    for (const auto& [form, text] : cases) {
        const auto r = send("POST", "/Base/User", form);
        EXPECT_EQ(r.status, 400) << form;
        EXPECT_EQ(r.body, text) << form;
    }
    const std::string taken =
        emu_->api().read([](const helpdesk& m) { return m.users[0].emails[0]; });
    EXPECT_EQ(send("POST", "/Base/User",
                   "usergroupid=2&fullname=A&password=p&email=" + test::urlencode(taken))
                  .body,
              "Unable to insert user. Email address belongs to an existing user.");
    const auto created = send(
        "POST", "/Base/User",
        "usergroupid=2&fullname=New%20User&password=p&email[]=bad&email[]=n%40u.test&slaplanid=1");
    ASSERT_EQ(created.status, 200) << created.body;
    EXPECT_EQ(leaf(created.body, "email"), "n@u.test");  // invalid array entries dropped
    EXPECT_EQ(leaf(created.body, "slaplanid"), "1");
    const std::string uid = leaf(created.body, "id");

    EXPECT_EQ(send("PUT", "/Base/User/" + uid, "phone=123").body,
              "One of the required fields is empty");
    const auto put = send("PUT", "/Base/User/" + uid, "fullname=Renamed&phone=123");
    EXPECT_EQ(leaf(put.body, "fullname"), "Renamed");
    EXPECT_EQ(leaf(put.body, "email"), "n@u.test");  // kept when omitted
    EXPECT_EQ(client_->request("DELETE", "/api/index.php?/Base/User/" + uid + "&" + auth()).status,
              200);
    EXPECT_EQ(get("/Base/User/" + uid).body,
              "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<users>\n</users>");
    const auto again =
        client_->request("DELETE", "/api/index.php?/Base/User/" + uid + "&" + auth());
    EXPECT_EQ(again.status, 400);
    EXPECT_EQ(again.body.rfind("User Load Failed", 0), 0U);
}

TEST_F(writes, organization_put_replaces_every_field) {
    const auto created = send(
        "POST", "/Base/UserOrganization",
        "name=Acme&organizationtype=shared&city=Berlin&phone=1&website=https%3A%2F%2Facme.test");
    ASSERT_EQ(created.status, 200) << created.body;
    const std::string id = leaf(created.body, "id");
    EXPECT_EQ(leaf(created.body, "city"), "Berlin");
    control("POST", "/_control/clock", "advance=5");
    const auto put = send("PUT", "/Base/UserOrganization/" + id, "name=Acme%20AG");
    ASSERT_EQ(put.status, 200);
    EXPECT_EQ(leaf(put.body, "name"), "Acme AG");
    EXPECT_EQ(leaf(put.body, "organizationtype"), "shared");  // kept when omitted
    EXPECT_EQ(leaf(put.body, "city"), "");                    // reset: full replacement
    EXPECT_EQ(leaf(put.body, "website"), "");
    EXPECT_EQ(leaf(put.body, "lastupdate"), "1800000005");
    EXPECT_EQ(send("PUT", "/Base/UserOrganization/" + id, "city=x").body,
              "One of the required fields is empty");
    EXPECT_EQ(send("POST", "/Base/UserOrganization", "name=X").body,
              "One of the required fields is empty");
}

TEST_F(writes, ticket_post_checks_staffid_even_with_a_userid) {
    // kayako-api.md §4.1: a present staffid must exist even when userid is also sent, and that
    // check comes before the user's e-mail check.
    const std::string form =
        "subject=S&fullname=F&email=nobody%40example.test&contents=C&departmentid=1&"
        "ticketstatusid=1&ticketpriorityid=2&tickettypeid=1&userid=1";
    const auto r = send("POST", "/Tickets/Ticket", form + "&staffid=999");
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(r.content_type, "text/xml");
    EXPECT_EQ(r.body, "Staff ID is Invalid");
    EXPECT_EQ(send("POST", "/Tickets/Ticket", form).body, "User Email is Invalid");
}

TEST_F(writes, ticket_put_moves_lastactivity_applies_valid_fields_and_404s_unknown_ids) {
    const auto missing = send("PUT", "/Tickets/Ticket/99999", "subject=x");
    EXPECT_EQ(missing.status, 404);
    EXPECT_EQ(missing.content_type, "text/xml");
    EXPECT_EQ(missing.body, "Ticket not Found");

    control("POST", "/_control/clock", "advance=100");
    const auto before = get("/Tickets/Ticket/12").body;
    // departmentid 7 is the livechat department: not a tickets department, so ignored.
    auto r = send("PUT", "/Tickets/Ticket/12", "departmentid=7&ticketpriorityid=3");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(leaf(r.body, "departmentid"), leaf(before, "departmentid"));
    EXPECT_EQ(leaf(r.body, "priorityid"), "3");
    EXPECT_EQ(leaf(r.body, "subject"), leaf(before, "subject"));
    EXPECT_EQ(leaf(r.body, "lastactivity"), "1800000100");
    EXPECT_EQ(get("/Tickets/Ticket/12").body, r.body);  // Put answers what Get now returns

    control("POST", "/_control/clock", "advance=100");
    r = send("PUT", "/Tickets/Ticket/12", "departmentid=2&ticketstatusid=3&tickettypeid=2");
    EXPECT_EQ(leaf(r.body, "departmentid"), "2");
    EXPECT_EQ(leaf(r.body, "statusid"), "3");
    EXPECT_EQ(leaf(r.body, "typeid"), "2");
    EXPECT_EQ(leaf(r.body, "lastactivity"), "1800000200");

    // A mask id reaches the same ticket (kayako-api.md §4 notation).
    const std::string mask =
        emu_->api().read([](const helpdesk& m) { return m.find_ticket(12)->ticketmaskid; });
    control("POST", "/_control/clock", "advance=100");
    r = send("PUT", "/Tickets/Ticket/" + mask, "subject=By%20mask");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_NE(r.body.find("<ticket id=\"12\""), std::string::npos);
    EXPECT_EQ(leaf(r.body, "subject"), "By mask");
    EXPECT_EQ(leaf(r.body, "lastactivity"), "1800000300");
}

TEST_F(writes, deleting_a_post_moves_lastactivity) {
    const auto post = send("POST", "/Tickets/TicketPost", "ticketid=10&contents=temp&userid=1");
    const std::string pid = leaf(post.body, "ticketpostid");
    control("POST", "/_control/clock", "advance=30");
    const auto del =
        client_->request("DELETE", "/api/index.php?/Tickets/TicketPost/10/" + pid + "&" + auth());
    EXPECT_EQ(del.status, 200);
    EXPECT_EQ(del.body, "");
    EXPECT_EQ(leaf(get("/Tickets/Ticket/10").body, "lastactivity"), "1800000030");
    const auto again =
        client_->request("DELETE", "/api/index.php?/Tickets/TicketPost/10/" + pid + "&" + auth());
    EXPECT_EQ(again.status, 404);
    EXPECT_EQ(again.body, "Ticket Post not Found");
}

TEST_F(writes, user_sla_plan_and_put_validation_texts) {
    const auto sla = send("POST", "/Base/User",
                          "usergroupid=2&fullname=A&password=p&email=a%40b.test&slaplanid=5");
    EXPECT_EQ(sla.status, 400);
    EXPECT_EQ(sla.body, "Invalid SLA Plan");
    const auto missing = send("PUT", "/Base/User/99999", "fullname=A");
    EXPECT_EQ(missing.status, 400);
    EXPECT_EQ(missing.body, "User Load Failed: Invalid data provided");
    EXPECT_EQ(send("PUT", "/Base/User/2", "fullname=A&usergroupid=99").body, "Invalid User Group");
    EXPECT_EQ(send("PUT", "/Base/User/2", "fullname=A&usergroupid=1").body,
              "User Group Specified is not of \"Registered\" type");
    const std::string taken =
        emu_->api().read([](const helpdesk& m) { return m.find_user(1)->emails[0]; });
    EXPECT_EQ(send("PUT", "/Base/User/2", "fullname=A&email=" + test::urlencode(taken)).body,
              "Unable to update user. Email address belongs to an existing user.");
    EXPECT_EQ(send("PUT", "/Base/User/2", "fullname=A&email=not-an-address").body,
              "Invalid Email Specified");
    // userrole accepts manager or user; others keep the value.
    EXPECT_EQ(leaf(send("PUT", "/Base/User/2", "fullname=A&userrole=manager").body, "userrole"),
              "manager");
    EXPECT_EQ(leaf(send("PUT", "/Base/User/2", "fullname=A&userrole=boss").body, "userrole"),
              "manager");
}

TEST_F(writes, organization_validation_texts) {
    EXPECT_EQ(send("POST", "/Base/UserOrganization", "name=X&organizationtype=bogus").body,
              "One of the required fields is empty");
    const auto sla =
        send("POST", "/Base/UserOrganization", "name=X&organizationtype=shared&slaplanid=5");
    EXPECT_EQ(sla.status, 400);
    EXPECT_EQ(sla.body, "Invalid SLA Plan Specified");
    const auto missing = send("PUT", "/Base/UserOrganization/99999", "name=X");
    EXPECT_EQ(missing.status, 400);
    EXPECT_EQ(missing.body, "User Organization Load Failed: Invalid data provided");
    // organizationtype, when sent, is applied; slaplanid 1 is the one SLA plan.
    const auto put = send("PUT", "/Base/UserOrganization/1",
                          "name=Renamed&organizationtype=restricted&slaplanid=1&country=NZ");
    ASSERT_EQ(put.status, 200) << put.body;
    EXPECT_EQ(leaf(put.body, "organizationtype"), "restricted");
    EXPECT_EQ(leaf(put.body, "slaplanid"), "1");
    EXPECT_EQ(leaf(put.body, "country"), "NZ");
    EXPECT_EQ(leaf(put.body, "lastupdate"), "1800000000");
}

// Seeded posts are drawn lazily, a requester post's e-mail from the requester's addresses: a
// change of those addresses or the user's deletion must leave the posts that exist as they were
// (Kayako never rewrites a post). Found by the soak run (scripts/soak).
TEST_F(writes, a_user_deleted_or_given_new_addresses_leaves_the_posts_of_their_tickets_alone) {
    using snapshot = std::vector<std::pair<std::string, std::string>>;
    auto posts_of_user = [&](std::int64_t uid) {
        return emu_->api().read([uid](const helpdesk& m) {
            snapshot out;
            for (const auto& t : m.tickets)
                if (t.userid == uid)
                    for (const auto& p : m.posts_of(t)) out.emplace_back(p.contents, p.email);
            return out;
        });
    };
    // Two requesters whose tickets have requester posts.
    auto owners = emu_->api().read([](const helpdesk& m) {
        std::vector<std::int64_t> ids;
        for (const auto& t : m.tickets)
            for (const auto& p : m.posts_of(t))
                if (p.userid != 0 && p.userid == t.userid && ids.size() < 2 &&
                    std::find(ids.begin(), ids.end(), t.userid) == ids.end())
                    ids.push_back(t.userid);
        return ids;
    });
    ASSERT_EQ(owners.size(), 2u);
    const auto renamed_before = posts_of_user(owners[0]);
    const auto deleted_before = posts_of_user(owners[1]);
    ASSERT_FALSE(renamed_before.empty());
    ASSERT_FALSE(deleted_before.empty());

    const auto put = send("PUT", "/Base/User/" + std::to_string(owners[0]),
                          "fullname=New&email[]=one%40new.test&email[]=two%40new.test&"
                          "email[]=three%40new.test");
    ASSERT_EQ(put.status, 200) << put.body;
    EXPECT_EQ(posts_of_user(owners[0]), renamed_before);

    const auto del = client_->request(
        "DELETE", "/api/index.php?/Base/User/" + std::to_string(owners[1]) + "&" + auth());
    ASSERT_EQ(del.status, 200) << del.body;
    EXPECT_EQ(posts_of_user(owners[1]), deleted_before);
}

}  // namespace
}  // namespace ksync::emulator
