// Part 2: the control interface (model dump, request log, clock, staff-side changes) and every
// injected fault, over raw loopback HTTP.
#include "tests/emulator/server.hpp"
#include "tests/emulator/test_client.hpp"

#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/write.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <regex>
#include <thread>
#include <tuple>

namespace ksync::emulator {
namespace {

using test::raw_client;
using test::raw_response;

class control_fixture : public ::testing::Test {
protected:
    void SetUp() override {
        emulator_options o;
        o.seed = 5;
        o.size.tickets = 40;
        o.size.users = 30;
        emu_ = std::make_unique<emulator>(o);
        emu_->start();
        client_ = std::make_unique<raw_client>(emu_->port());
    }
    void TearDown() override {
        client_.reset();
        emu_.reset();
    }
    std::string auth(const std::string& salt = "2718") {
        const auto& o = emu_->api().options();
        return test::auth_fields(o.apikey, o.secret, salt);
    }
    std::string status_route() { return "/api/index.php?/Tickets/TicketStatus&" + auth(); }
    raw_response control(const std::string& verb, const std::string& path,
                         const std::string& form = "") {
        return client_->request(verb, path, "application/x-www-form-urlencoded", form);
    }
    void fault(const std::string& form) {
        const auto r = control("POST", "/_control/faults", form);
        ASSERT_EQ(r.status, 200) << r.body;
    }
    std::string normal_status_body() {
        raw_client c(emu_->port());
        return c.request("GET", status_route()).body;
    }

    // The text of the first <tag> leaf of an XML answer ("" for <tag />).
    static std::string leaf(const std::string& xml, const std::string& tag) {
        const std::regex re("<" + tag + "><!\\[CDATA\\[([^\\]]*)\\]\\]></" + tag + ">");
        std::smatch m;
        if (std::regex_search(xml, m, re)) return m[1];
        return xml.find("<" + tag + " />") != std::string::npos ? "" : "<missing>";
    }

    std::unique_ptr<emulator> emu_;
    std::unique_ptr<raw_client> client_;
};

TEST_F(control_fixture, model_dump_shows_changes_made_through_the_control_interface) {
    const auto changed = control("POST", "/_control/tickets/4", "subject=Changed%20by%20staff");
    ASSERT_EQ(changed.status, 200) << changed.body;
    const auto dump = control("GET", "/_control/model");
    EXPECT_EQ(dump.status, 200);
    EXPECT_EQ(dump.content_type, "application/json");
    EXPECT_NE(dump.body.find("\"ticketid\":4,"), std::string::npos);
    EXPECT_NE(dump.body.find("\"subject\":\"Changed by staff\""), std::string::npos);
    EXPECT_NE(dump.body.find("\"posts\":[{\"ticketpostid\":"), std::string::npos);
    // Staff-side create and delete
    EXPECT_EQ(control("DELETE", "/_control/tickets/4").status, 200);
    EXPECT_EQ(client_->request("GET", "/api/index.php?/Tickets/Ticket/4&" + auth()).status, 404);
    EXPECT_EQ(control("GET", "/_control/nope").status, 404);
}

TEST_F(control_fixture, request_log_records_calls_without_credentials) {
    client_->request("POST", "/api/index.php?/Tickets/Ticket/ListAll/1",
                     "application/x-www-form-urlencoded", "email=x%40y.test&" + auth("4242"));
    client_->request("GET", "/api/index.php?/Base/User/1&apikey=wrong&salt=99&signature=abc");
    const auto log = control("GET", "/_control/log").body;
    EXPECT_NE(log.find("\"method\":\"POST\",\"path\":\"/Tickets/Ticket/ListAll/1\","
                       "\"endpoint\":\"tickets/Ticket/listall\",\"salt\":\"4242\","
                       "\"fields\":{\"email\":\"x@y.test\"},\"status\":200"),
              std::string::npos)
        << log;
    EXPECT_NE(log.find("\"path\":\"/Base/User/1\",\"endpoint\":\"base/User/get\",\"salt\":\"99\","
                       "\"fields\":{},\"status\":401"),
              std::string::npos)
        << log;
    EXPECT_EQ(log.find(emu_->api().options().apikey), std::string::npos);
    EXPECT_EQ(log.find("signature"), std::string::npos);
    control("DELETE", "/_control/log");
    EXPECT_EQ(control("GET", "/_control/log").body, "[]");
}

TEST_F(control_fixture, clock_can_be_set_frozen_and_advanced) {
    EXPECT_EQ(control("POST", "/_control/clock", "set=1900000000&freeze=1").body,
              "{\"now\":1900000000}");
    EXPECT_EQ(control("POST", "/_control/clock", "advance=30").body, "{\"now\":1900000030}");
    EXPECT_EQ(control("GET", "/_control/clock").body, "{\"now\":1900000030}");
}

TEST_F(control_fixture, api_can_be_disabled_at_run_time) {
    control("POST", "/_control/api", "enabled=0");
    EXPECT_EQ(client_->request("GET", status_route()).status, 403);
    control("POST", "/_control/api", "enabled=1");
    EXPECT_EQ(client_->request("GET", status_route()).status, 200);
}

TEST_F(control_fixture, status_fault_by_count_then_normal_service) {
    fault("endpoint=Tickets/TicketStatus&kind=status&status=503&count=2");
    EXPECT_EQ(client_->request("GET", status_route()).status, 503);
    EXPECT_EQ(client_->request("GET", status_route()).status, 503);
    EXPECT_EQ(client_->request("GET", status_route()).status, 200);
    for (int code : {500, 502, 504}) {
        fault("endpoint=Tickets/TicketStatus&kind=status&count=1&status=" + std::to_string(code));
        EXPECT_EQ(client_->request("GET", status_route()).status, code);
    }
}

TEST_F(control_fixture, faults_match_their_endpoint_and_probability) {
    fault("endpoint=Tickets/Ticket/ListAll&kind=status&status=500");
    EXPECT_EQ(client_->request("GET", status_route()).status, 200);
    EXPECT_EQ(client_->request("GET", "/api/index.php?/Tickets/Ticket/ListAll/1&" + auth()).status,
              500);
    control("DELETE", "/_control/faults");
    fault("kind=status&status=500&probability=0");
    for (int i = 0; i < 20; ++i) EXPECT_EQ(client_->request("GET", status_route()).status, 200);
}

TEST_F(control_fixture, rate_limit_with_retry_after_seconds_or_date) {
    fault("endpoint=Tickets/TicketStatus&kind=rate_limit&retry_after=7&count=1");
    fault(
        "endpoint=Tickets/"
        "TicketStatus&kind=rate_limit&retry_after=Wed,%2021%20Oct%202026%2007:28:00%20GMT&count=1");
    namespace http = boost::beast::http;
    for (const std::string expected : {"7", "Wed, 21 Oct 2026 07:28:00 GMT"}) {
        boost::asio::io_context ioc;
        boost::asio::ip::tcp::socket s(ioc);
        s.connect({boost::asio::ip::make_address("127.0.0.1"), emu_->port()});
        http::request<http::empty_body> req{http::verb::get, status_route(), 11};
        http::write(s, req);
        boost::beast::flat_buffer b;
        http::response<http::string_body> res;
        http::read(s, b, res);
        EXPECT_EQ(res.result_int(), 429U);
        EXPECT_EQ(res[http::field::retry_after], expected);
    }
}

TEST_F(control_fixture, latency_delays_the_answer) {
    fault("endpoint=Tickets/TicketStatus&kind=latency&delay_ms=300&count=1");
    const auto t0 = std::chrono::steady_clock::now();
    const auto r = client_->request("GET", status_route());
    EXPECT_EQ(r.status, 200);
    EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(300));
}

TEST_F(control_fixture, hang_accepts_and_never_answers) {
    fault("endpoint=Tickets/TicketStatus&kind=hang&count=1");
    client_->set_receive_timeout(300);
    EXPECT_THROW(client_->request("GET", status_route()), boost::system::system_error);
    raw_client other(emu_->port());
    EXPECT_EQ(other.request("GET", status_route()).status, 200);  // the server still serves
}

TEST_F(control_fixture, slow_sends_the_same_bytes_one_at_a_time) {
    const std::string normal = normal_status_body();
    fault("endpoint=Tickets/TicketStatus&kind=slow&interval_ms=1&count=1");
    const auto r = client_->request("GET", status_route());
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, normal);
}

TEST_F(control_fixture, truncated_body_and_connection_reset_fail_the_read) {
    fault("endpoint=Tickets/TicketStatus&kind=truncate&count=1");
    EXPECT_THROW(client_->request("GET", status_route()), boost::system::system_error);
    // The server closed that connection with a reset: later control calls need a new one.
    client_ = std::make_unique<raw_client>(emu_->port());
    raw_client second(emu_->port());
    fault("endpoint=Tickets/TicketStatus&kind=reset&count=1");
    EXPECT_THROW(second.request("GET", status_route()), boost::system::system_error);
    EXPECT_EQ(client_->request("GET", status_route()).status, 200);  // the server still serves
}

TEST_F(control_fixture, lost_response_applies_the_post) {
    fault("endpoint=Tickets/TicketNote&verb=POST&kind=lost_response&count=1");
    EXPECT_THROW(client_->request("POST", "/api/index.php?/Tickets/TicketNote",
                                  "application/x-www-form-urlencoded",
                                  "ticketid=2&staffid=1&contents=applied%20but%20unseen&" + auth()),
                 boost::system::system_error);
    raw_client c(emu_->port());
    EXPECT_NE(c.request("GET", "/_control/model").body.find("\"contents\":\"applied but unseen\""),
              std::string::npos);
}

TEST_F(control_fixture, body_faults_damage_a_200_answer) {
    const std::string normal = normal_status_body();
    fault("endpoint=Tickets/TicketStatus&kind=malformed_xml&count=1");
    auto r = client_->request("GET", status_route());
    EXPECT_EQ(r.status, 200);
    EXPECT_LT(r.body.size(), normal.size());
    EXPECT_EQ(normal.rfind(r.body, 0), 0U);

    fault("endpoint=Tickets/TicketStatus&kind=php_warning&count=1");
    r = client_->request("GET", status_route());
    EXPECT_EQ(r.body.rfind("\nWarning: ", 0), 0U);
    EXPECT_EQ(r.body.substr(r.body.find("<?xml")), normal);

    fault("endpoint=Tickets/TicketStatus&kind=html_after_xml&count=1");
    r = client_->request("GET", status_route());
    EXPECT_EQ(r.body.rfind(normal, 0), 0U);
    EXPECT_EQ(r.body.substr(normal.size(), 5), "<div ");

    fault("endpoint=Tickets/TicketStatus&kind=html_200&count=1");
    r = client_->request("GET", status_route());
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.content_type, "text/html; charset=UTF-8");

    fault("endpoint=Tickets/TicketStatus&kind=uncaught_200&count=1");
    r = client_->request("GET", status_route());
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body.rfind("Uncaught Exception\n", 0), 0U);

    fault("endpoint=Tickets/TicketStatus&kind=xxe&count=1");
    r = client_->request("GET", status_route());
    EXPECT_NE(r.body.find("<!ENTITY xxe SYSTEM \"file:///etc/passwd\">"), std::string::npos);

    fault("endpoint=Tickets/TicketStatus&kind=huge_body&size=5000000&count=1");
    r = client_->request("GET", status_route());
    EXPECT_EQ(r.body.size(), 5000000U);
    EXPECT_EQ(r.body.rfind("<?xml", 0), 0U);

    EXPECT_EQ(control("POST", "/_control/faults", "kind=bogus").status, 400);
}

// ---- the interface itself ----------------------------------------------------------------

TEST_F(control_fixture, control_answers_are_json_and_refuse_other_peers) {
    EXPECT_EQ(control("DELETE", "/_control/log").body, "{}");
    EXPECT_EQ(control("DELETE", "/_control/faults").body, "{}");
    EXPECT_EQ(control("POST", "/_control/api", "enabled=1").body, "{}");
    const auto unknown = control("GET", "/_control/nope");
    EXPECT_EQ(unknown.status, 404);
    EXPECT_EQ(unknown.content_type, "application/json");
    EXPECT_EQ(unknown.body, "{\"error\":\"unknown control path\"}");
    EXPECT_EQ(control("PUT", "/_control/model").body, "{\"error\":\"unknown control path\"}");
    const auto bad_kind = control("POST", "/_control/faults", "kind=bogus");
    EXPECT_EQ(bad_kind.status, 400);
    EXPECT_EQ(bad_kind.body, "{\"error\":\"unknown fault kind\"}");
    // A peer that is not on the loopback interface (the server sets from_loopback per socket).
    http_request remote{"GET", "/_control/model", "", "127.0.0.1", "", false};
    const auto refused = emu_->api().handle(remote);
    EXPECT_EQ(refused.status, 403);
    EXPECT_EQ(refused.content_type, "application/json");
    EXPECT_EQ(refused.body, "{\"error\":\"the control interface answers loopback peers only\"}");
    // Control calls are not API calls: the request log stays empty.
    EXPECT_EQ(control("GET", "/_control/log").body, "[]");
}

TEST_F(control_fixture, clock_resumes_when_unfrozen) {
    EXPECT_EQ(control("POST", "/_control/clock", "set=1900000000&freeze=0").body,
              "{\"now\":1900000000}");
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));
    const auto now = std::stoll(control("GET", "/_control/clock").body.substr(7));
    EXPECT_GE(now, 1900000001);
    EXPECT_LE(now, 1900000030);
    // advance without set moves the running clock; freeze=1 alone pins the current second.
    const auto frozen = control("POST", "/_control/clock", "freeze=1").body;
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));
    EXPECT_EQ(control("GET", "/_control/clock").body, frozen);
}

TEST_F(control_fixture, model_dump_has_the_documented_shape) {
    control("POST", "/_control/clock", "set=1900000000&freeze=1");
    const auto org =
        control("POST", "/_control/organizations", "name=Acme&organizationtype=shared&city=Berlin");
    ASSERT_EQ(org.status, 200) << org.body;
    const std::string oid = leaf(org.body, "id");
    const auto usr = control("POST", "/_control/users",
                             "usergroupid=2&fullname=Dana&password=p&email=dana%40example.test&"
                             "phone=555&userorganizationid=" +
                                 oid);
    ASSERT_EQ(usr.status, 200) << usr.body;
    const std::string uid = leaf(usr.body, "id");
    // Contents with a quote, a line feed and a control byte: the dump escapes them.
    const auto tk = control("POST", "/_control/tickets",
                            "subject=Dump%20me&fullname=X&email=dana%40example.test&"
                            "contents=Say%20%22hi%22%0A%01&departmentid=1&ticketstatusid=1&"
                            "ticketpriorityid=2&tickettypeid=1&userid=" +
                                uid);
    ASSERT_EQ(tk.status, 200) << tk.body;
    const std::string tid =
        std::regex_replace(tk.body, std::regex("(?:.|\n)*<ticket id=\"([0-9]+)\"(?:.|\n)*"), "$1");
    control("POST", "/_control/clock", "advance=60");
    const auto note =
        control("POST", "/_control/tickets/" + tid + "/notes", "staffid=1&contents=Called");
    ASSERT_EQ(note.status, 200) << note.body;

    struct ids {
        std::string mask, staffname;
        std::int64_t postid = 0, noteid = 0;
    };
    const ids x = emu_->api().read([&](const helpdesk& m) {
        const ticket* t = m.find_ticket(std::stoll(tid));
        return ids{t->ticketmaskid, m.find_staff(1)->fullname, m.posts_of(*t).at(0).ticketpostid,
                   t->notes.at(0).ticketnoteid};
    });

    const auto dump = control("GET", "/_control/model");
    ASSERT_EQ(dump.status, 200);
    EXPECT_EQ(dump.content_type, "application/json");
    const std::string& j = dump.body;
    EXPECT_EQ(j.rfind("{\"seed\":5,\"now\":1900000060,\"departments\":[{\"departmentid\":", 0), 0U)
        << j.substr(0, 200);
    EXPECT_EQ(j.substr(j.size() - 2), "]}");
    // The top-level arrays in their documented order, each object with its keys in order.
    const std::vector<std::pair<std::string, std::string>> sections = {
        {"departments",
         "departmentid,title,type,app,displayorder,parentdepartmentid,uservisibilitycustom,"
         "usergroupids"},
        {"statuses", "ticketstatusid,title,departmentid,markasresolved,type"},
        {"priorities", "priorityid,title"},
        {"types", "tickettypeid,title"},
        {"staff_groups", "staffgroupid,title,isadmin"},
        {"staff", "staffid,staffgroupid,fullname,username,email,isenabled"},
        {"user_groups", "usergroupid,title,grouptype,ismaster"},
    };
    std::size_t last = 0;
    for (const auto& [name, keys] : sections) {
        const auto at = j.find("\"" + name + "\":[{");
        ASSERT_NE(at, std::string::npos) << name;
        EXPECT_GT(at, last) << name;
        last = at;
        const std::string first = j.substr(at, j.find('}', at) - at);
        std::string found;
        static const std::regex key_re("[{,]\"([a-z_]+)\":");
        for (auto it = std::sregex_iterator(first.begin(), first.end(), key_re);
             it != std::sregex_iterator(); ++it)
            found += (found.empty() ? "" : ",") + (*it)[1].str();
        EXPECT_EQ(found, keys) << name;
    }
    for (const std::string name : {"organizations", "users", "tickets"}) {
        const auto at = j.find("],\"" + name + "\":[{");
        ASSERT_NE(at, std::string::npos) << name;
        EXPECT_GT(at, last) << name;
        last = at;
    }
    EXPECT_NE(j.find("{\"userorganizationid\":" + oid +
                     ",\"name\":\"Acme\",\"organizationtype\":\"shared\",\"address\":\"\","
                     "\"city\":\"Berlin\",\"state\":\"\",\"postalcode\":\"\",\"country\":\"\","
                     "\"phone\":\"\",\"fax\":\"\",\"website\":\"\",\"dateline\":1900000000,"
                     "\"lastupdate\":1900000000,\"slaplanid\":0,\"slaplanexpiry\":0}"),
              std::string::npos);
    EXPECT_NE(j.find("{\"userid\":" + uid +
                     ",\"usergroupid\":2,\"userrole\":\"user\","
                     "\"userorganizationid\":" +
                     oid +
                     ",\"salutation\":\"\",\"fullname\":\"Dana\","
                     "\"emails\":[\"dana@example.test\"],\"designation\":\"\",\"phone\":\"555\","
                     "\"dateline\":1900000000,\"lastvisit\":0,\"isenabled\":1,\"timezone\":\"\","
                     "\"enabledst\":0,\"slaplanid\":0,\"slaplanexpiry\":0,\"userexpiry\":0}"),
              std::string::npos);
    const std::string expected_ticket =
        "{\"ticketid\":" + tid + ",\"ticketmaskid\":\"" + x.mask +
        "\",\"flagtype\":0,\"departmentid\":1,\"ticketstatusid\":1,\"priorityid\":2,"
        "\"tickettypeid\":1,\"userid\":" +
        uid +
        ",\"ownerstaffid\":0,\"ownerstaffname\":\"\",\"fullname\":\"Dana\","
        "\"email\":\"dana@example.test\",\"lastreplier\":\"Dana\",\"subject\":\"Dump me\","
        "\"dateline\":1900000000,\"lastactivity\":1900000060,\"laststaffreplytime\":0,"
        "\"lastuserreplytime\":1900000000,\"slaplanid\":0,\"duetime\":0,"
        "\"resolutionduedateline\":0,\"totalreplies\":0,\"ipaddress\":\"127.0.0.1\","
        "\"creator\":2,\"creationmode\":4,\"tickettype\":1,\"isescalated\":0,\"tgroupid\":1,"
        "\"tags\":\"\",\"isresolved\":0,\"watchers\":[],\"workflows\":[],"
        "\"posts\":[{\"ticketpostid\":" +
        std::to_string(x.postid) + ",\"dateline\":1900000000,\"userid\":" + uid +
        ",\"staffid\":0,\"creator\":2,\"fullname\":\"Dana\",\"email\":\"dana@example.test\","
        "\"emailto\":\"\",\"ishtml\":0,\"isprivate\":0,\"isemailed\":0,\"hasattachments\":0,"
        "\"contents\":\"Say \\\"hi\\\"\\n\\u0001\"}],"
        "\"notes\":[{\"ticketnoteid\":" +
        std::to_string(x.noteid) + ",\"staffid\":1,\"forstaffid\":0,\"staffname\":\"" +
        x.staffname +
        "\",\"notecolor\":1,\"dateline\":1900000060,\"contents\":\"Called\"}],"
        "\"timetracks\":[],\"attachments\":[]}";
    EXPECT_NE(j.find(expected_ticket), std::string::npos)
        << j.substr(j.find("{\"ticketid\":" + tid + ","), expected_ticket.size() + 40);
    // Seeded attachments are dumped with their size and base64 contents.
    EXPECT_NE(j.find("\"attachments\":[{\"attachmentid\":"), std::string::npos);
    EXPECT_TRUE(std::regex_search(
        j, std::regex("\\{\"attachmentid\":[0-9]+,\"ticketpostid\":[0-9]+,\"filename\":\"[^\"]+\","
                      "\"filetype\":\"[^\"]+\",\"filesize\":[0-9]+,\"contents\":\"[A-Za-z0-9+/=]*"
                      "\"\\}")));
}

TEST_F(control_fixture, staff_side_changes_use_the_api_rules) {
    control("POST", "/_control/clock", "set=1900000000&freeze=1");
    // users: create, change, delete; the API's validation texts come back as JSON-less text.
    const auto bad = control("POST", "/_control/users", "fullname=A");
    EXPECT_EQ(bad.status, 400);
    EXPECT_EQ(bad.body, "One of the required fields is empty");
    const auto usr = control("POST", "/_control/users",
                             "usergroupid=2&fullname=Eve&password=p&email=eve%40example.test");
    ASSERT_EQ(usr.status, 200) << usr.body;
    const std::string uid = leaf(usr.body, "id");
    EXPECT_EQ(leaf(control("POST", "/_control/users/" + uid, "fullname=Eve%20B").body, "fullname"),
              "Eve B");
    EXPECT_EQ(client_->request("GET", "/api/index.php?/Base/User/" + uid + "&" + auth()).body,
              control("POST", "/_control/users/" + uid, "fullname=Eve%20B").body);
    EXPECT_EQ(control("DELETE", "/_control/users/" + uid).status, 200);
    EXPECT_EQ(client_->request("GET", "/api/index.php?/Base/User/" + uid + "&" + auth()).body,
              "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<users>\n</users>");
    // organizations: create, then a full replacement
    const auto org = control("POST", "/_control/organizations",
                             "name=Initech&organizationtype=restricted&city=Austin");
    ASSERT_EQ(org.status, 200) << org.body;
    const std::string oid = leaf(org.body, "id");
    control("POST", "/_control/clock", "advance=10");
    const auto org2 = control("POST", "/_control/organizations/" + oid, "name=Initech%20Inc");
    EXPECT_EQ(leaf(org2.body, "city"), "");
    EXPECT_EQ(leaf(org2.body, "lastupdate"), "1900000010");
    // tickets: a post and a note move lastactivity like the API's
    control("POST", "/_control/clock", "advance=10");
    const auto post =
        control("POST", "/_control/tickets/6/posts", "contents=From%20staff&staffid=1");
    ASSERT_EQ(post.status, 200) << post.body;
    EXPECT_EQ(leaf(post.body, "contents"), "From staff");
    const auto lastactivity = [&] {
        return emu_->api().read([](const helpdesk& m) { return m.find_ticket(6)->lastactivity; });
    };
    EXPECT_EQ(lastactivity(), 1900000020);
    control("POST", "/_control/clock", "advance=10");
    ASSERT_EQ(control("POST", "/_control/tickets/6/notes", "staffid=1&contents=n").status, 200);
    EXPECT_EQ(lastactivity(), 1900000030);
    control("POST", "/_control/clock", "advance=10");
    EXPECT_EQ(leaf(control("POST", "/_control/tickets/6", "subject=Staff%20edit").body, "subject"),
              "Staff edit");
    EXPECT_EQ(lastactivity(), 1900000040);
    EXPECT_EQ(control("POST", "/_control/tickets/99999", "departmentid=0").body,
              "{\"error\":\"no such ticket\"}");
    EXPECT_EQ(control("POST", "/_control/tickets/99999", "subject=x").body, "Ticket not Found");
    EXPECT_EQ(control("DELETE", "/_control/tickets/99999").status, 404);
    // None of this is in the request log, which records API calls only: the two user Gets.
    const auto log = control("GET", "/_control/log").body;
    EXPECT_EQ(log.find("_control"), std::string::npos) << log;
    EXPECT_EQ(log.rfind("[{\"seq\":1,", 0), 0U) << log;
    EXPECT_NE(log.find("},{\"seq\":2,"), std::string::npos) << log;
    EXPECT_EQ(log.find("\"seq\":3,"), std::string::npos) << log;
}

// ---- faults --------------------------------------------------------------------------------

TEST_F(control_fixture, faults_are_listed_with_remaining_and_hits) {
    EXPECT_EQ(
        control("POST", "/_control/faults", "endpoint=Tickets/TicketStatus&kind=status&count=2")
            .body,
        "{\"id\":1}");
    EXPECT_EQ(control("POST", "/_control/faults", "kind=latency&verb=POST&delay_ms=1").body,
              "{\"id\":2}");
    client_->request("GET", status_route());
    EXPECT_EQ(control("GET", "/_control/faults").body,
              "[{\"id\":1,\"endpoint\":\"Tickets/TicketStatus\",\"verb\":\"\",\"kind\":\"status\","
              "\"remaining\":1,\"hits\":1},"
              "{\"id\":2,\"endpoint\":\"\",\"verb\":\"POST\",\"kind\":\"latency\","
              "\"remaining\":-1,\"hits\":0}]");
    control("DELETE", "/_control/faults");
    EXPECT_EQ(control("GET", "/_control/faults").body, "[]");
    EXPECT_EQ(client_->request("GET", status_route()).status, 200);
}

TEST_F(control_fixture, verb_and_method_endpoints_narrow_a_fault) {
    // "Tickets/Ticket" matches every Ticket method; verb=POST only the create.
    fault("endpoint=Tickets/Ticket&verb=POST&kind=status&status=502");
    EXPECT_EQ(client_->request("GET", "/api/index.php?/Tickets/Ticket/4&" + auth()).status, 200);
    EXPECT_EQ(client_
                  ->request("POST", "/api/index.php?/Tickets/Ticket",
                            "application/x-www-form-urlencoded", auth())
                  .status,
              502);
    control("DELETE", "/_control/faults");
    // The endpoint names the method that runs (kayako-api.md §1.2): Tickets/Ticket/get is the
    // Get of a ticket id, not ListAll.
    fault("endpoint=Tickets/Ticket/get&kind=status&status=500");
    EXPECT_EQ(client_->request("GET", "/api/index.php?/Tickets/Ticket/ListAll/1&" + auth()).status,
              200);
    EXPECT_EQ(client_->request("GET", "/api/index.php?/Tickets/Ticket/4&" + auth()).status, 500);
}

TEST_F(control_fixture, replacing_faults_answer_exact_bytes) {
    fault("endpoint=Tickets/TicketStatus&kind=status&status=503&count=1");
    auto r = client_->request("GET", status_route());
    EXPECT_EQ(r.status, 503);
    EXPECT_EQ(r.content_type, "text/html; charset=iso-8859-1");
    EXPECT_EQ(r.body,
              "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html><head>\n"
              "<title>503 Error</title>\n</head><body>\n<h1>Error 503</h1>\n"
              "<p>The server is temporarily unable to service your request.</p>\n"
              "</body></html>\n");

    fault("endpoint=Tickets/TicketStatus&kind=rate_limit&count=1");
    r = client_->request("GET", status_route());
    EXPECT_EQ(r.status, 429);
    EXPECT_EQ(r.content_type, "text/html; charset=iso-8859-1");
    EXPECT_EQ(r.body, "<html><body><h1>429 Too Many Requests</h1></body></html>\n");

    fault("endpoint=Tickets/TicketStatus&kind=html_200&count=1");
    r = client_->request("GET", status_route());
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body,
              "<!DOCTYPE html>\n<html><head><title>Maintenance</title></head><body>"
              "<h1>We'll be back soon</h1><p>The help desk is being upgraded.</p>"
              "</body></html>\n");

    fault("endpoint=Tickets/TicketStatus&kind=uncaught_200&count=1");
    r = client_->request("GET", status_route());
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.content_type, "text/xml");
    const std::string db = "/var/www/kayako/__swift/library/Database/class.SWIFT_Database.php";
    EXPECT_EQ(r.body,
              "Uncaught Exception\nRouter: /api/index.php?/Tickets/TicketStatus\n"
              "Unable to connect to the database: Too many connections in " +
                  db + ":183\n\n" + std::string(77, '=') + "\n\n#0 " + db +
                  "(183): SWIFT_Controller::Load()\n#1 {main}");

    fault("endpoint=Tickets/TicketStatus&kind=xxe&count=1");
    r = client_->request("GET", status_route());
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.content_type, "text/xml");
    EXPECT_EQ(r.body,
              "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
              "<!DOCTYPE tickets [\n<!ENTITY xxe SYSTEM \"file:///etc/passwd\">\n]>\n"
              "<tickets>\n<ticket id=\"1\" flagtype=\"0\">\n"
              "<subject>&xxe;</subject>\n</ticket>\n</tickets>");

    fault("endpoint=Tickets/TicketStatus&kind=huge_body&size=100&count=1");
    r = client_->request("GET", status_route());
    EXPECT_EQ(r.status, 200);
    const std::string head = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<tickets>\n<!-- ";
    const std::string tail = " -->\n</tickets>";
    EXPECT_EQ(r.body.size(), 100U);
    EXPECT_EQ(r.body, head + std::string(100 - head.size() - tail.size(), 'x') + tail);
    // Replacing faults answer before authentication, as a proxy or a broken PHP would.
    fault("endpoint=Tickets/TicketStatus&kind=status&status=500&count=1");
    EXPECT_EQ(client_->request("GET", "/api/index.php?/Tickets/TicketStatus").status, 500);
}

// Faults that replace the answer do not run the request; the others run it and damage only
// the answer. Checked with a note POST and the model, and every call is logged with its fault.
TEST_F(control_fixture, replacing_faults_skip_the_write_damaging_faults_apply_it) {
    const auto notes = [&] {
        return emu_->api().read([](const helpdesk& m) { return m.find_ticket(2)->notes.size(); });
    };
    const std::size_t start = notes();
    int salt = 100;
    auto post_note = [&](const std::string& kind, const std::string& extra, bool answers) {
        fault("endpoint=Tickets/TicketNote&verb=POST&count=1&kind=" + kind + extra);
        raw_client c(emu_->port());
        c.set_receive_timeout(400);
        const std::string body =
            "ticketid=2&staffid=1&contents=" + kind + "&" + auth(std::to_string(++salt));
        if (answers) {
            const auto r = c.request("POST", "/api/index.php?/Tickets/TicketNote",
                                     "application/x-www-form-urlencoded", body);
            EXPECT_NE(r.status, 0) << kind;
        } else {
            EXPECT_THROW(c.request("POST", "/api/index.php?/Tickets/TicketNote",
                                   "application/x-www-form-urlencoded", body),
                         boost::system::system_error)
                << kind;
        }
    };
    const std::vector<std::tuple<std::string, std::string, bool>> replacing = {
        {"status", "&status=503", true},
        {"rate_limit", "", true},
        {"hang", "", false},
        {"reset", "", false},
        {"html_200", "", true},
        {"uncaught_200", "", true},
        {"xxe", "", true},
        {"huge_body", "&size=1000", true}};
    for (const auto& [kind, extra, answers] : replacing) {
        post_note(kind, extra, answers);
        EXPECT_EQ(notes(), start) << kind << " must not run the request";
    }
    const std::vector<std::tuple<std::string, std::string, bool>> damaging = {
        {"latency", "&delay_ms=10", true}, {"slow", "&interval_ms=1", true},
        {"truncate", "", false},           {"lost_response", "", false},
        {"malformed_xml", "", true},       {"php_warning", "", true},
        {"html_after_xml", "", true}};
    std::size_t expected = start;
    for (const auto& [kind, extra, answers] : damaging) {
        post_note(kind, extra, answers);
        EXPECT_EQ(notes(), ++expected) << kind << " must run the request";
    }
    // The request log names the fault of each call, in order; status is what was answered
    // (200 for hang and reset, which answer nothing).
    const auto log = control("GET", "/_control/log").body;
    std::vector<std::string> seen;
    static const std::regex entry_re(
        "\"endpoint\":\"tickets/TicketNote/post\",\"salt\":\"[0-9]+\","
        "\"fields\":\\{\"ticketid\":\"2\",\"staffid\":\"1\","
        "\"contents\":\"([a-z_0-9]+)\"\\},\"status\":([0-9]+),"
        "\"fault\":\"([a-z_0-9]+)\"");
    for (auto it = std::sregex_iterator(log.begin(), log.end(), entry_re);
         it != std::sregex_iterator(); ++it) {
        EXPECT_EQ((*it)[1].str(), (*it)[3].str());
        seen.push_back((*it)[3].str() + ":" + (*it)[2].str());
    }
    EXPECT_EQ(seen, (std::vector<std::string>{
                        "status:503", "rate_limit:429", "hang:200", "reset:200", "html_200:200",
                        "uncaught_200:200", "xxe:200", "huge_body:200", "latency:200", "slow:200",
                        "truncate:200", "lost_response:200", "malformed_xml:200", "php_warning:200",
                        "html_after_xml:200"}))
        << log;
}

TEST_F(control_fixture, request_log_entry_has_every_documented_field) {
    control("POST", "/_control/clock", "set=1900000000&freeze=1");
    fault("endpoint=Tickets/Ticket&kind=php_warning&count=1");
    client_->request("PUT", "/api/index.php?/Tickets/Ticket/4", "application/x-www-form-urlencoded",
                     "subject=A%26B&tags[]=x&tags[]=y&" + auth("555"));
    client_->request("GET", status_route());
    EXPECT_EQ(
        control("GET", "/_control/log").body,
        "[{\"seq\":1,\"time\":1900000000,\"method\":\"PUT\",\"path\":\"/Tickets/Ticket/4\","
        "\"endpoint\":\"tickets/Ticket/put\",\"salt\":\"555\","
        "\"fields\":{\"subject\":\"A&B\",\"tags[0]\":\"x\",\"tags[1]\":\"y\"},"
        "\"status\":200,\"fault\":\"php_warning\"},"
        "{\"seq\":2,\"time\":1900000000,\"method\":\"GET\",\"path\":\"/Tickets/TicketStatus\","
        "\"endpoint\":\"tickets/TicketStatus/getlist\",\"salt\":\"2718\",\"fields\":{},"
        "\"status\":200,\"fault\":\"\"}]");
    // seq keeps counting after the log is cleared.
    control("DELETE", "/_control/log");
    client_->request("GET", status_route());
    EXPECT_EQ(control("GET", "/_control/log").body.rfind("[{\"seq\":3,", 0), 0U);
}

}  // namespace
}  // namespace ksync::emulator
