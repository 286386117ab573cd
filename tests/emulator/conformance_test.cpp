// Conformance of the emulator with kayako-api.md, driven over real loopback HTTP with raw
// requests (tests/emulator/test_client.hpp), never with the project's connector.
#include "tests/emulator/server.hpp"
#include "tests/emulator/test_client.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <regex>
#include <set>

namespace ksync::emulator {
namespace {

using test::auth_fields;
using test::raw_client;
using test::raw_response;

constexpr const char* decl = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

class conformance : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        emulator_options o;
        o.seed = 7;
        o.size.tickets = 400;
        o.size.users = 2500;
        o.size.trashed_percent = 10;
        emu_ = std::make_unique<emulator>(o);
        emu_->start();
    }
    static void TearDownTestSuite() { emu_.reset(); }

    void SetUp() override { client_ = std::make_unique<raw_client>(emu_->port()); }

    static const api_options& opts() { return emu_->api().options(); }
    static std::string auth(const std::string& salt = "1234567890") {
        return auth_fields(opts().apikey, opts().secret, salt);
    }
    // GET in the standard URL type: index.php?/Route&auth
    raw_response get(const std::string& route) {
        return client_->request("GET", "/api/index.php?" + route + "&" + auth());
    }
    // Ticket ids of a <tickets> document, in order.
    static std::vector<long> ticket_ids(const std::string& xml) {
        std::vector<long> ids;
        static const std::regex re("<ticket id=\"([0-9]+)\"");
        for (auto it = std::sregex_iterator(xml.begin(), xml.end(), re);
             it != std::sregex_iterator(); ++it)
            ids.push_back(std::stol((*it)[1]));
        return ids;
    }
    static std::vector<long> user_ids(const std::string& xml) {
        std::vector<long> ids;
        static const std::regex re("<user>\n<id><!\\[CDATA\\[([0-9]+)\\]\\]></id>");
        for (auto it = std::sregex_iterator(xml.begin(), xml.end(), re);
             it != std::sregex_iterator(); ++it)
            ids.push_back(std::stol((*it)[1]));
        return ids;
    }
    static std::string all_status_ids() {
        return emu_->api().read([](const helpdesk& m) {
            std::string s;
            for (const auto& st : m.statuses)
                s += (s.empty() ? "" : ",") + std::to_string(st.ticketstatusid);
            return s;
        });
    }
    static std::string all_department_ids() {
        return emu_->api().read([](const helpdesk& m) {
            std::string s;
            for (const auto& d : m.departments)
                if (d.departmentapp == "tickets")
                    s += (s.empty() ? "" : ",") + std::to_string(d.departmentid);
            return s;
        });
    }

    static std::unique_ptr<emulator> emu_;
    std::unique_ptr<raw_client> client_;
};

std::unique_ptr<emulator> conformance::emu_;

// ---- §2 authentication ------------------------------------------------------------------

TEST_F(conformance, disabled_api_gives_403_with_an_empty_body) {
    emu_->api().set_api_enabled(false);
    const auto r = get("/Tickets/TicketStatus");
    emu_->api().set_api_enabled(true);
    EXPECT_EQ(r.status, 403);
    EXPECT_EQ(r.body, "");
}

TEST_F(conformance, missing_empty_or_zero_salt_is_no_salt_provided) {
    const std::string key = "apikey=" + test::urlencode(opts().apikey);
    for (const std::string& q :
         {key, key + "&salt=",
          key + "&salt=0&signature=" + test::urlencode(test::hmac_signature("0", opts().secret))}) {
        const auto r = client_->request("GET", "/api/index.php?/Tickets/TicketStatus&" + q);
        EXPECT_EQ(r.status, 401) << q;
        EXPECT_EQ(r.body, "NO SALT PROVIDED!") << q;
    }
}

TEST_F(conformance, wrong_key_or_signature_fails_to_authenticate) {
    const std::string sig = test::urlencode(test::hmac_signature("42", opts().secret));
    const std::vector<std::string> queries = {
        "apikey=wrong&salt=42&signature=" + sig,
        "salt=42&signature=" + sig,
        "apikey=" + opts().apikey + "&salt=42",
        "apikey=" + opts().apikey +
            "&salt=42&signature=" + test::urlencode(test::hmac_signature("43", opts().secret)),
        "apikey=" + opts().apikey + "&salt=42&signature=" +
            test::urlencode(test::hmac_signature("42", opts().secret + "x")),
    };
    for (const auto& q : queries) {
        const auto r = client_->request("GET", "/api/index.php?/Tickets/TicketStatus&" + q);
        EXPECT_EQ(r.status, 401) << q;
        EXPECT_EQ(r.body, "FAILED TO AUTHENTICATE") << q;
    }
}

TEST_F(conformance, unencoded_plus_in_signature_is_restored_and_apikey_is_trimmed) {
    // Find a salt whose signature has a '+', then send the signature without encoding it:
    // PHP decodes '+' to a space and the server turns spaces back into '+'.
    std::string salt, sig;
    for (int i = 1; sig.find('+') == std::string::npos; ++i) {
        salt = std::to_string(i);
        sig = test::hmac_signature(salt, opts().secret);
    }
    const auto r =
        client_->request("GET", "/api/index.php?/Tickets/TicketStatus&apikey=%20" + opts().apikey +
                                    "%20&salt=" + salt + "&signature=" + sig);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.content_type, "text/xml");
}

TEST_F(conformance, post_reads_auth_from_the_body_only) {
    const auto ok = client_->request("POST", "/api/index.php?/Tickets/Ticket/ListAll/1",
                                     "application/x-www-form-urlencoded", auth());
    EXPECT_EQ(ok.status, 200);
    EXPECT_EQ(ok.body, get("/Tickets/Ticket/ListAll/1").body);  // ListAll runs under any verb
    const auto in_query =
        client_->request("POST", "/api/index.php?/Tickets/Ticket/ListAll/1&" + auth(),
                         "application/x-www-form-urlencoded", "x=1");
    EXPECT_EQ(in_query.status, 401);
    EXPECT_EQ(in_query.body, "NO SALT PROVIDED!");
}

TEST_F(conformance, put_variable_source_follows_the_content_type_rule) {
    const std::string route = "/api/index.php?/Tickets/Ticket/ListAll/1";
    // urlencoded: the Router parsed the body into $_POST, which wins.
    EXPECT_EQ(client_->request("PUT", route, "application/x-www-form-urlencoded", auth()).status,
              200);
    // No form content type with a standard URL: $_GET (the route key) is non-empty, body ignored.
    const auto ignored = client_->request("PUT", route, "text/plain", auth());
    EXPECT_EQ(ignored.status, 401);
    EXPECT_EQ(ignored.body, "NO SALT PROVIDED!");
    // ... so auth in the query string works there.
    EXPECT_EQ(client_->request("PUT", route + "&" + auth(), "text/plain", "").status, 200);
    // PATH_INFO URL and no query: $_GET is empty, the raw body is parse_str'd.
    EXPECT_EQ(
        client_->request("PUT", "/api/index.php/Tickets/Ticket/ListAll/1", "text/plain", auth())
            .status,
        200);
}

TEST_F(conformance, json_content_type_reads_auth_from_the_json_body) {
    const std::string salt = "987";
    const std::string json = "{\"apikey\":\"" + opts().apikey + "\",\"salt\":\"" + salt +
                             "\",\"signature\":\"" + test::hmac_signature(salt, opts().secret) +
                             "\"}";
    EXPECT_EQ(
        client_->request("GET", "/api/index.php?/Tickets/TicketStatus", "application/json", json)
            .status,
        200);
    const auto r = client_->request("GET", "/api/index.php?/Tickets/TicketStatus&" + auth(),
                                    "application/json; charset=utf-8", "");
    EXPECT_EQ(r.status, 401);
    EXPECT_EQ(r.body, "NO SALT PROVIDED!");
}

// ---- §1 routing -------------------------------------------------------------------------

TEST_F(conformance, every_url_form_reaches_the_same_controller) {
    const auto standard = get("/Tickets/Ticket/ListAll/1,2");
    ASSERT_EQ(standard.status, 200);
    ASSERT_FALSE(ticket_ids(standard.body).empty());
    // ?e= is decoded twice: %252C -> %2C -> ','.
    EXPECT_EQ(
        client_
            ->request("GET", "/api/index.php?e=%2FTickets%2FTicket%2FListAll%2F1%252C2&" + auth())
            .body,
        standard.body);
    // PATH_INFO
    EXPECT_EQ(client_->request("GET", "/api/index.php/Tickets/Ticket/ListAll/1,2?" + auth()).body,
              standard.body);
    // empty segments are dropped; app is case-insensitive; actions are PHP method names
    EXPECT_EQ(get("//tickets//Ticket///listall//1,2/").body, standard.body);
    EXPECT_EQ(get("/TICKETS/Ticket/LISTALL/1,2").body, standard.body);
    // %252 becomes '/' before segmenting
    EXPECT_EQ(get("/Tickets%252Ticket%252ListAll/1,2").body, standard.body);
    // the e= route may carry the auth after an '&' of its own
    EXPECT_EQ(client_
                  ->request("GET", "/api/index.php?e=" +
                                       test::urlencode("/Tickets/Ticket/ListAll/1,2&" + auth()))
                  .body,
              standard.body);
}

TEST_F(conformance, arguments_are_cleaned_and_encoded_commas_break_lists) {
    // Clean() keeps [A-Za-z0-9_:,-]: "1%2C2" arrives as "12C2", not a list: dept [0] = trash.
    EXPECT_EQ(get("/Tickets/Ticket/ListAll/1%2C2").body, get("/Tickets/Ticket/ListAll/0").body);
    EXPECT_EQ(get("/Tickets/Ticket/ListAll/1~.").body, get("/Tickets/Ticket/ListAll/1").body);
}

TEST_F(conformance, disallowed_characters_give_400_html) {
    const auto r = get("/Tickets/Ticket/ListAll/1@2");
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(r.content_type, "text/html; charset=UTF-8");
    EXPECT_NE(r.body.find("The URI you submitted has disallowed characters."), std::string::npos);
    EXPECT_NE(r.body.find("<html>"), std::string::npos);
}

TEST_F(conformance, unknown_app_controller_or_private_action_gives_the_html_404) {
    for (const char* route : {"/Nope/Ticket/ListAll/1", "/Tickets/ticket/ListAll/1",
                              "/Tickets/Nope", "/Tickets/Ticket/_Secret", "/Tickets/Ticket/Load"}) {
        const auto r = get(route);
        EXPECT_EQ(r.status, 404) << route;
        EXPECT_EQ(r.content_type, "text/html; charset=UTF-8") << route;
        EXPECT_EQ(r.body.rfind("<!DOCTYPE html", 0), 0U) << route;
    }
    EXPECT_NE(get("/Nope/Ticket").body.find("\"Nope\" SWIFT App does not exist"),
              std::string::npos);
}

TEST_F(conformance, html_404_comes_before_authentication) {
    const auto r = client_->request("GET", "/api/index.php?/Tickets/Nope");
    EXPECT_EQ(r.status, 404);
}

TEST_F(conformance, unmapped_verb_gives_uncaught_exception_text_with_200) {
    const auto r = client_->request("PUT", "/api/index.php?/Tickets/TicketStatus/1",
                                    "application/x-www-form-urlencoded", auth());
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.content_type, "text/xml");
    EXPECT_EQ(r.body.rfind("Uncaught Exception\nRouter: /api/index.php?/Tickets/TicketStatus/1\n"
                           "Undeclared Function Called in API Controller: Put in ",
                           0),
              0U)
        << r.body;
    const auto patch =
        client_->request("PATCH", "/api/index.php?/Tickets/TicketStatus&" + auth(), "", "");
    EXPECT_EQ(patch.status, 200);
    EXPECT_EQ(patch.body.rfind("Uncaught Exception\n", 0), 0U);
}

TEST_F(conformance, a_real_method_with_missing_arguments_is_an_uncaught_exception) {
    const auto r = get("/Tickets/Ticket/ListAll");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body.rfind("Uncaught Exception\n", 0), 0U);
    EXPECT_NE(r.body.find("Too few arguments"), std::string::npos);
}

TEST_F(conformance, getlist_of_ticket_is_400_text) {
    const auto r = get("/Tickets/Ticket");
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(r.content_type, "text/xml");
    EXPECT_EQ(r.body, "Not Implemented, Call /Tickets/Ticket/ListAll instead.");
}

// ---- §3 XML ----------------------------------------------------------------------------

TEST_F(conformance, xml_has_the_declaration_cdata_and_no_trailing_newline) {
    const auto r = get("/Tickets/TicketStatus/1");
    EXPECT_EQ(r.content_type, "text/xml");
    EXPECT_EQ(r.body,
              std::string(decl) +
                  "<ticketstatuses>\n<ticketstatus>\n<id><![CDATA[1]]></id>\n"
                  "<title><![CDATA[Open]]></title>\n<displayorder><![CDATA[1]]></displayorder>\n"
                  "<departmentid><![CDATA[0]]></departmentid>\n"
                  "<displayicon><![CDATA[{$themepath}icon_ticketstatus1.png]]></displayicon>\n"
                  "<type><![CDATA[public]]></type>\n"
                  "<displayinmainlist><![CDATA[1]]></displayinmainlist>\n"
                  "<markasresolved><![CDATA[0]]></markasresolved>\n"
                  "<displaycount><![CDATA[1]]></displaycount>\n"
                  "<statuscolor><![CDATA[#4eafcb]]></statuscolor>\n"
                  "<statusbgcolor><![CDATA[#4eafcb]]></statusbgcolor>\n"
                  "<resetduetime><![CDATA[0]]></resetduetime>\n"
                  "<triggersurvey><![CDATA[0]]></triggersurvey>\n"
                  "<staffvisibilitycustom><![CDATA[0]]></staffvisibilitycustom>\n"
                  "</ticketstatus>\n</ticketstatuses>");
}

TEST_F(conformance, cdata_clean_up_and_empty_tags_over_http) {
    const long id = emu_->api().write([](helpdesk& m) {
        ticket& t = m.tickets.front();
        t.subject = std::string("a\x01]]>b", 6);
        t.tags.clear();
        return static_cast<long>(t.ticketid);
    });
    const auto r = get("/Tickets/Ticket/" + std::to_string(id));
    EXPECT_NE(r.body.find("<subject><![CDATA[a]]]]><![CDATA[>b]]></subject>\n"), std::string::npos);
    EXPECT_NE(r.body.find("<tags />\n"), std::string::npos);
}

TEST_F(conformance, int_cast_zero_renders_per_php_version) {
    // A user without an organisation: PHP 7 writes <userorganizationid />, PHP 8 CDATA[0].
    const long uid = emu_->api().read([](const helpdesk& m) {
        for (const auto& u : m.users)
            if (u.userorganizationid == 0) return static_cast<long>(u.userid);
        return 0L;
    });
    ASSERT_NE(uid, 0);
    EXPECT_NE(get("/Base/User/" + std::to_string(uid)).body.find("<userorganizationid />\n"),
              std::string::npos);

    emulator_options o;
    o.seed = 7;
    o.size.tickets = 400;
    o.size.users = 2500;
    o.size.trashed_percent = 10;
    o.api.php = php_version::php8;
    emulator php8(o);
    php8.start();
    raw_client c8(php8.port());
    const auto r =
        c8.request("GET", "/api/index.php?/Base/User/" + std::to_string(uid) + "&" + auth());
    EXPECT_NE(r.body.find("<userorganizationid><![CDATA[0]]></userorganizationid>\n"),
              std::string::npos);
    EXPECT_EQ(r.body.find("<userorganizationid />"), std::string::npos);
    php8.stop();
}

TEST_F(conformance, comments_in_organization_and_ticketcount) {
    const auto org = get("/Base/UserOrganization/1");
    EXPECT_NE(org.body.find("<website"), std::string::npos);
    EXPECT_NE(org.body.find("\n<!-- Timeline Properties -->\n<dateline>"), std::string::npos);
    EXPECT_NE(org.body.find("\n<!-- Custom SLA Properties -->\n<slaplanid>"), std::string::npos);
    const auto count = get("/Tickets/TicketCount");
    EXPECT_NE(
        count.body.find("</departments>\n<!-- Ticket Count grouped by Status -->\n<statuses>\n"),
        std::string::npos);
    EXPECT_NE(
        count.body.find("<!-- Unassigned Ticket Count grouped by Department -->\n<unassigned>"),
        std::string::npos);
}

// ---- §4.1 ListAll -------------------------------------------------------------------------

TEST_F(conformance, listall_defaults_to_unresolved_statuses) {
    const auto ids = ticket_ids(get("/Tickets/Ticket/ListAll/1").body);
    const auto expected = emu_->api().read([](const helpdesk& m) {
        std::vector<long> v;
        for (const auto& t : m.tickets)
            if (t.departmentid == 1 && !m.find_status(t.ticketstatusid)->markasresolved)
                v.push_back(static_cast<long>(t.ticketid));
        return v;
    });
    ASSERT_FALSE(expected.empty());
    EXPECT_EQ(ids, expected);
    // Every status id passed explicitly: resolved tickets appear too.
    const auto all = ticket_ids(get("/Tickets/Ticket/ListAll/1/" + all_status_ids()).body);
    EXPECT_GT(all.size(), ids.size());
    // -1 for statuses is the same as no status filter.
    EXPECT_EQ(ticket_ids(get("/Tickets/Ticket/ListAll/1/-1").body), ids);
}

TEST_F(conformance, department_zero_or_invalid_lists_the_trash) {
    const auto trash = ticket_ids(get("/Tickets/Ticket/ListAll/0/" + all_status_ids()).body);
    const auto expected = emu_->api().read([](const helpdesk& m) {
        std::vector<long> v;
        for (const auto& t : m.tickets)
            if (t.departmentid == 0) v.push_back(static_cast<long>(t.ticketid));
        return v;
    });
    ASSERT_FALSE(expected.empty());
    EXPECT_EQ(trash, expected);
    EXPECT_EQ(ticket_ids(get("/Tickets/Ticket/ListAll/9999/" + all_status_ids()).body), expected);
    EXPECT_EQ(ticket_ids(get("/Tickets/Ticket/ListAll/abc/" + all_status_ids()).body), expected);
    // Trashed tickets drop out of every department listing.
    const auto depts = ticket_ids(
        get("/Tickets/Ticket/ListAll/" + all_department_ids() + "/" + all_status_ids()).body);
    for (long id : expected) EXPECT_EQ(std::count(depts.begin(), depts.end(), id), 0);
}

TEST_F(conformance, count_and_start_are_offset_paging) {
    const std::string base =
        "/Tickets/Ticket/ListAll/" + all_department_ids() + "/" + all_status_ids() + "/-1/-1";
    const auto full = ticket_ids(get(base).body);
    ASSERT_GT(full.size(), 20U);
    std::vector<long> paged;
    for (std::size_t start = 0;; start += 7) {
        const auto page = ticket_ids(get(base + "/7/" + std::to_string(start)).body);
        paged.insert(paged.end(), page.begin(), page.end());
        if (page.size() < 7) break;
    }
    EXPECT_EQ(paged, full);
    // start is ignored unless count > 0
    EXPECT_EQ(ticket_ids(get(base + "/0/5").body), full);
    EXPECT_EQ(ticket_ids(get(base + "/-1/5").body), full);
}

TEST_F(conformance, sortfield_whitelist_and_order) {
    const std::string base =
        "/Tickets/Ticket/ListAll/" + all_department_ids() + "/" + all_status_ids() + "/-1/-1/0/0";
    const auto by_id = ticket_ids(get(base).body);
    EXPECT_TRUE(std::is_sorted(by_id.begin(), by_id.end()));
    EXPECT_EQ(ticket_ids(get(base + "/ticketid/ASC").body),
              by_id);  // ticketid is not whitelisted: fallback
    EXPECT_EQ(ticket_ids(get(base + "/bogus").body), by_id);
    auto desc = ticket_ids(get(base + "/ticketid/desc").body);
    std::reverse(desc.begin(), desc.end());
    EXPECT_EQ(desc, by_id);
}

TEST_F(conformance, ties_come_back_in_a_new_order_on_each_request) {
    const std::string route = "/Tickets/Ticket/ListAll/" + all_department_ids() + "/" +
                              all_status_ids() + "/-1/-1/0/0/lastactivity/DESC";
    const auto activity = emu_->api().read([](const helpdesk& m) {
        std::map<long, std::int64_t> a;
        for (const auto& t : m.tickets) a[static_cast<long>(t.ticketid)] = t.lastactivity;
        return a;
    });
    const auto first = ticket_ids(get(route).body);
    ASSERT_GT(first.size(), 100U);
    for (std::size_t i = 1; i < first.size(); ++i)
        ASSERT_GE(activity.at(first[i - 1]), activity.at(first[i]));
    // The largest group of equal lastactivity seconds.
    std::map<std::int64_t, int> sizes;
    for (long id : first) ++sizes[activity.at(id)];
    const auto biggest = std::max_element(sizes.begin(), sizes.end(),
                                          [](auto& a, auto& b) { return a.second < b.second; });
    ASSERT_GE(biggest->second, 8);
    auto group_of = [&](const std::vector<long>& ids) {
        std::vector<long> g;
        for (long id : ids)
            if (activity.at(id) == biggest->first) g.push_back(id);
        return g;
    };
    const auto g1 = group_of(first);
    bool reshuffled = false;
    for (int attempt = 0; attempt < 5 && !reshuffled; ++attempt) {
        const auto again = ticket_ids(get(route).body);
        auto g2 = group_of(again);
        reshuffled = g2 != g1;
        std::sort(g2.begin(), g2.end());
        auto sorted1 = g1;
        std::sort(sorted1.begin(), sorted1.end());
        EXPECT_EQ(g2, sorted1);  // the same tickets, only their order changes
    }
    EXPECT_TRUE(reshuffled);
}

TEST_F(conformance, owner_zero_lists_unassigned_and_getticketcount_counts) {
    const std::string route =
        "/Tickets/Ticket/ListAll/" + all_department_ids() + "/" + all_status_ids() + "/0";
    const auto ids = ticket_ids(get(route).body);
    const auto unassigned = emu_->api().read([](const helpdesk& m) {
        std::vector<long> v;
        for (const auto& t : m.tickets)
            if (t.ownerstaffid == 0 && t.departmentid != 0)
                v.push_back(static_cast<long>(t.ticketid));
        return v;
    });
    EXPECT_EQ(ids, unassigned);
    const auto count = get("/Tickets/Ticket/GetTicketCount/" + all_department_ids() + "/" +
                           all_status_ids() + "/0");
    EXPECT_EQ(count.body, std::string(decl) + "<tickets>\n<totalcount><![CDATA[" +
                              std::to_string(unassigned.size()) + "]]></totalcount>\n</tickets>");
}

TEST_F(conformance, ticket_get_by_id_or_mask_and_children_by_numeric_id_only) {
    const auto [id, mask] = emu_->api().read([](const helpdesk& m) {
        return std::pair<long, std::string>(static_cast<long>(m.tickets[5].ticketid),
                                            m.tickets[5].ticketmaskid);
    });
    const auto by_id = get("/Tickets/Ticket/" + std::to_string(id));
    EXPECT_EQ(by_id.status, 200);
    EXPECT_NE(by_id.body.find("<posts>\n<post>\n<id>"), std::string::npos);
    EXPECT_EQ(get("/Tickets/Ticket/" + mask).body, by_id.body);
    const auto missing = get("/Tickets/Ticket/999999");
    EXPECT_EQ(missing.status, 404);
    EXPECT_EQ(missing.body, "Ticket not Found");
    // Child controllers query their tables with the raw value: a mask id gives an empty list.
    EXPECT_EQ(get("/Tickets/TicketPost/ListAll/" + mask).body,
              std::string(decl) + "<posts>\n</posts>");
    EXPECT_NE(get("/Tickets/TicketPost/ListAll/" + std::to_string(id)).body.find("<post>"),
              std::string::npos);
}

TEST_F(conformance, posts_are_deterministic_from_the_seed) {
    const auto a = get("/Tickets/TicketPost/ListAll/3").body;
    emulator_options o;
    o.seed = 7;
    o.size.tickets = 400;
    o.size.users = 2500;
    o.size.trashed_percent = 10;
    emulator twin(o);
    twin.start();
    raw_client c(twin.port());
    EXPECT_EQ(c.request("GET", "/api/index.php?/Tickets/TicketPost/ListAll/3&" + auth()).body, a);
    twin.stop();
}

// ---- §4.10 User Filter -----------------------------------------------------------------

TEST_F(conformance, user_filter_marker_is_inclusive_and_capped_at_1000) {
    const auto first = user_ids(get("/Base/User/Filter/1/1000").body);
    ASSERT_EQ(first.size(), 1000U);
    EXPECT_EQ(first.front(), 1);
    EXPECT_EQ(first.back(), 1000);
    const auto from1000 = user_ids(get("/Base/User/Filter/1000/3").body);
    EXPECT_EQ(from1000, (std::vector<long>{1000, 1001, 1002}));
    EXPECT_EQ(user_ids(get("/Base/User/Filter/1/5000").body).size(), 1000U);  // capped
    EXPECT_EQ(user_ids(get("/Base/User/Filter/2001").body).size(), 500U);     // default 1000
    EXPECT_EQ(get("/Base/User").body, get("/Base/User/Filter/0/1000").body);
    EXPECT_EQ(get("/Base/User/0").body, get("/Base/User").body);  // id 0 lists
    // Paging with marker = last + 1 visits every user once, across the cap.
    std::vector<long> all;
    for (long marker = 0;;) {
        const auto page =
            user_ids(get("/Base/User/Filter/" + std::to_string(marker) + "/1000").body);
        all.insert(all.end(), page.begin(), page.end());
        if (page.size() < 1000) break;
        marker = page.back() + 1;
    }
    ASSERT_EQ(all.size(), 2500U);
    EXPECT_EQ(std::set<long>(all.begin(), all.end()).size(), 2500U);
}

TEST_F(conformance, users_have_one_to_three_email_elements) {
    const auto body = get("/Base/User/Filter/1/200").body;
    for (const auto id : user_ids(body)) {
        const auto start = body.find("<id><![CDATA[" + std::to_string(id) + "]]></id>");
        const auto end = body.find("</user>", start);
        const auto user = body.substr(start, end - start);
        int emails = 0;
        for (auto p = user.find("<email>"); p != std::string::npos; p = user.find("<email>", p + 1))
            ++emails;
        EXPECT_GE(emails, 1);
        EXPECT_LE(emails, 3);
    }
}

// ---- lookups ---------------------------------------------------------------------------

TEST_F(conformance, unknown_ids_on_lookup_controllers_give_empty_containers) {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"/Base/User/999999", "users"},
        {"/Base/UserOrganization/999999", "userorganizations"},
        {"/Base/UserGroup/999", "usergroups"},
        {"/Base/Staff/999", "staffusers"},
        {"/Base/StaffGroup/999", "staffgroups"},
        {"/Base/Department/999", "departments"},
        {"/Tickets/TicketStatus/999", "ticketstatuses"},
        {"/Tickets/TicketPriority/999", "ticketpriorities"},
        {"/Tickets/TicketType/999", "tickettypes"},
    };
    for (const auto& [route, container] : cases) {
        const auto r = get(route);
        EXPECT_EQ(r.status, 200) << route;
        EXPECT_EQ(r.body, std::string(decl) + "<" + container + ">\n</" + container + ">") << route;
    }
    // id 0 lists everything
    EXPECT_EQ(get("/Tickets/TicketStatus/0").body, get("/Tickets/TicketStatus").body);
    EXPECT_EQ(get("/Base/Department/0").body, get("/Base/Department").body);
}

TEST_F(conformance, child_lookups_report_their_errors) {
    EXPECT_EQ(get("/Tickets/TicketPost/1/999999").body, "Ticket Post not Found");
    const auto wrong = get("/Tickets/TicketPost/2/1");  // post 1 belongs to ticket 1
    EXPECT_EQ(wrong.status, 400);
    EXPECT_EQ(wrong.body, "Post does not belong to the specified ticket");
    EXPECT_EQ(get("/Tickets/TicketNote/1/999999").body, "Ticket note not Found");
    EXPECT_EQ(get("/Tickets/TicketAttachment/1/999999").body, "Attachment not Found");
    EXPECT_EQ(get("/Tickets/TicketTimeTrack/1/999999").body, "Ticket time tracking note not Found");
    const auto no_id = get("/Base/CustomField/ListOptions");
    EXPECT_EQ(no_id.status, 400);
    EXPECT_EQ(no_id.body, "No Custom Field ID Provided");
}

TEST_F(conformance, four_byte_characters_survive) {
    const auto body =
        get("/Tickets/Ticket/ListAll/" + all_department_ids() + "/" + all_status_ids()).body;
    const bool has_four_byte = std::any_of(body.begin(), body.end(), [](char c) {
        return (static_cast<unsigned char>(c) & 0xF8) == 0xF0;
    });
    EXPECT_TRUE(has_four_byte);
}

}  // namespace
}  // namespace ksync::emulator
