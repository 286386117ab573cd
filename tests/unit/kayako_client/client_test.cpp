#include "connectors/kayako/client.hpp"
#include "tests/support/log_capture.hpp"
#include "tests/support/run_coro.hpp"
#include "tests/unit/kayako_client/fake_transport.hpp"

#include <boost/asio/io_context.hpp>

#include <gtest/gtest.h>

#include <set>

namespace {

namespace asio = boost::asio;
using namespace ksync::kayako;
using namespace std::chrono_literals;
using ksync::test::fake_transport;
using ksync::test::run_coro;

const std::string kSecret = "s3cr3t+/=TopSecretValue";

std::string ticket_xml(int id, int lastactivity) {
    return "<ticket id=\"" + std::to_string(id) + "\" flagtype=\"0\">\n<displayid><![CDATA[" +
           std::to_string(id) +
           "]]></displayid>\n<departmentid><![CDATA[1]]></departmentid>\n"
           "<subject><![CDATA[Subject " +
           std::to_string(id) +
           "]]></subject>\n"
           "<lastactivity><![CDATA[" +
           std::to_string(lastactivity) + "]]></lastactivity>\n</ticket>\n";
}

std::string tickets_doc(std::vector<int> ids) {
    std::string s = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<tickets>\n";
    for (int id : ids) s += ticket_xml(id, 1700000000 + id);
    return s + "</tickets>";
}

struct kayako_client : ::testing::Test {
    asio::io_context ioc;
    fake_transport transport;
    ksync::test::log_capture logs;
    std::unique_ptr<client> c;

    void make(client_options opts = {}) {
        opts.seed = 42;
        opts.retry.base = 1ms;
        opts.retry.cap = 5ms;
        opts.pacing = {4, 1e6, 1e6};
        request_builder b(parse_base_url("https://help.example.com/api/index.php"),
                          url_type::standard, credentials{"key-123", ksync::secret{kSecret}});
        c = std::make_unique<client>(ioc.get_executor(), transport, std::move(b), opts,
                                     logs.logger("kayako"));
    }
    void SetUp() override { make(); }

    template <class T>
    T run(asio::awaitable<T> aw) {
        return run_coro(ioc, std::move(aw));
    }
};

std::string salt_of(const ksync::http::request& r) {
    const auto& src = r.method == ksync::http::verb::get || r.method == ksync::http::verb::delete_
                          ? r.target
                          : r.body;
    auto pos = src.find("salt=");
    EXPECT_NE(pos, std::string::npos);
    auto end = src.find('&', pos);
    return src.substr(pos + 5, end == std::string::npos ? std::string::npos : end - pos - 5);
}

TEST_F(kayako_client, list_tickets_passes_every_filter_on_the_route) {
    transport.push_response(200, tickets_doc({3, 2}));
    ticket_list_query q;
    q.departments = {1, 2, 5};
    q.statuses = {1, 2, 3, 4};
    q.count = 2;
    q.start = 40;
    auto p = run(c->list_tickets(q));
    ASSERT_EQ(p.records.size(), 2u);
    EXPECT_EQ(p.records[0].id, 3);
    ASSERT_EQ(transport.requests.size(), 1u);
    const auto& r = transport.requests[0];
    EXPECT_EQ(r.method, ksync::http::verb::get);
    EXPECT_EQ(r.to.host, "help.example.com");
    EXPECT_TRUE(
        r.target.starts_with("/api/index.php?/Tickets/Ticket/ListAll/1,2,5/1,2,3,4/-1/-1/2/40/"
                             "lastactivity/DESC&apikey=key-123&salt="))
        << r.target;
}

TEST_F(kayako_client, a_server_ignoring_count_and_start_is_detected) {
    transport.push_response(200, tickets_doc({1, 2, 3}));
    ticket_list_query q;
    q.departments = {1};
    q.count = 2;
    try {
        run(c->list_tickets(q));
        FAIL() << "expected kayako_error";
    } catch (const kayako_error& e) {
        EXPECT_NE(std::string(e.what()).find("SWIFT-3324"), std::string::npos) << e.what();
    }
}

TEST_F(kayako_client, get_retries_a_503_with_a_fresh_salt) {
    transport.push_response(503, "Service Unavailable", "text/html");
    transport.push_failure(ksync::http::result_kind::maybe_sent);
    transport.push_response(200, tickets_doc({7}));
    auto t = run(c->get_ticket(7));
    ASSERT_TRUE(t);
    EXPECT_EQ(t->id, 7);
    ASSERT_EQ(transport.requests.size(), 3u);
    std::set<std::string> salts;
    for (auto& r : transport.requests) salts.insert(salt_of(r));
    EXPECT_EQ(salts.size(), 3u);
    EXPECT_EQ(c->stats().retries, 2u);
}

TEST_F(kayako_client, post_after_503_or_timeout_is_outcome_unknown_and_never_resent) {
    new_post p;
    p.ticketid = 5;
    p.contents = "hello";
    p.staffid = 1;
    transport.push_response(503, "busy", "text/html");
    EXPECT_THROW(run(c->create_post(p)), outcome_unknown);
    EXPECT_EQ(transport.requests.size(), 1u);

    transport.push_failure(ksync::http::result_kind::maybe_sent);
    EXPECT_THROW(run(c->create_post(p)), outcome_unknown);
    EXPECT_EQ(transport.requests.size(), 2u);
}

TEST_F(kayako_client, post_not_connected_is_safe_to_resend) {
    new_post p;
    p.ticketid = 5;
    p.contents = "hello";
    p.userid = 9;
    transport.push_failure(ksync::http::result_kind::not_connected);
    transport.push_response(
        200,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<posts>\n<post>\n<id><![CDATA[77]]></id>\n"
        "<ticketid><![CDATA[5]]></ticketid>\n<contents><![CDATA[hello]]></contents>\n</post>\n</"
        "posts>");
    auto created = run(c->create_post(p));
    EXPECT_EQ(created.id, 77);
    ASSERT_EQ(transport.requests.size(), 2u);
    // Credentials and fields travel in the form body; isprivate is always sent.
    const auto& r = transport.requests[1];
    EXPECT_EQ(r.content_type, "application/x-www-form-urlencoded");
    EXPECT_NE(r.body.find("ticketid=5"), std::string::npos);
    EXPECT_NE(r.body.find("isprivate=0"), std::string::npos);
    EXPECT_NE(r.body.find("apikey=key-123"), std::string::npos);
    EXPECT_EQ(r.target.find("apikey"), std::string::npos);
}

TEST_F(kayako_client, not_found_and_validation_errors_are_typed_and_not_retried) {
    transport.push_response(404, "Ticket not Found");
    EXPECT_FALSE(run(c->get_ticket(99)).has_value());
    transport.push_response(400, "Subject is empty");
    new_ticket t;
    try {
        run(c->create_ticket(t));
        FAIL();
    } catch (const kayako_error& e) {
        EXPECT_EQ(e.errc(), kayako_errc::bad_request);
        EXPECT_EQ(e.http_status(), 400);
        EXPECT_EQ(e.server_message(), "Subject is empty");
    }
    EXPECT_EQ(transport.requests.size(), 2u);
}

TEST_F(kayako_client, auth_failure_opens_the_breaker_without_a_hot_loop) {
    transport.push_response(401, "FAILED TO AUTHENTICATE");
    EXPECT_THROW(run(c->list_departments()), kayako_error);
    EXPECT_EQ(c->breaker_state(), circuit_breaker::state::open);
    EXPECT_THROW(run(c->list_departments()), circuit_open_error);
    EXPECT_THROW(run(c->list_departments()), circuit_open_error);
    EXPECT_EQ(transport.requests.size(), 1u);  // nothing more was sent
    EXPECT_FALSE(logs.contains(kSecret));
}

TEST_F(kayako_client, breaker_half_open_probe_closes_it_again) {
    client_options o;
    o.breaker.failure_threshold = 2;
    o.breaker.cooldown = 50ms;
    o.retry.max_attempts = 1;
    make(o);
    transport.push_failure(ksync::http::result_kind::not_connected);
    transport.push_failure(ksync::http::result_kind::not_connected);
    EXPECT_THROW(run(c->list_staff()), kayako_error);
    EXPECT_THROW(run(c->list_staff()), kayako_error);
    EXPECT_THROW(run(c->list_staff()), circuit_open_error);
    std::this_thread::sleep_for(60ms);
    transport.push_response(
        200, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<staffusers>\n</staffusers>");
    EXPECT_TRUE(run(c->list_staff()).records.empty());
    EXPECT_EQ(c->breaker_state(), circuit_breaker::state::closed);
}

TEST_F(kayako_client, retry_after_is_honoured_for_429) {
    transport.push_response(429, "slow down", "text/plain", {{"Retry-After", "1"}});
    transport.push_response(
        200, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<staffgroups>\n</staffgroups>");
    const auto start = std::chrono::steady_clock::now();
    run(c->list_staff_groups());
    EXPECT_GE(std::chrono::steady_clock::now() - start, 990ms);  // a lower bound, not a timing test
    EXPECT_EQ(transport.requests.size(), 2u);
}

TEST_F(kayako_client, one_bad_record_is_reported_not_fatal) {
    transport.push_response(
        200, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<tickets>\n" + ticket_xml(1, 5) +
                 "<ticket id=\"2\" "
                 "flagtype=\"0\">\n<departmentid><![CDATA[x1]]></departmentid>\n</ticket>\n" +
                 ticket_xml(3, 6) + "</tickets>");
    ticket_list_query q;
    q.departments = {1};
    auto p = run(c->list_tickets(q));
    ASSERT_EQ(p.records.size(), 2u);
    ASSERT_EQ(p.bad.size(), 1u);
    EXPECT_EQ(p.bad[0].id(), std::optional<std::int64_t>(2));
}

TEST_F(kayako_client, html_with_200_is_an_error_never_zero_records) {
    transport.push_response(200, "<html><body>Login</body></html>", "text/html");
    ticket_list_query q;
    q.departments = {1};
    EXPECT_THROW(run(c->list_tickets(q)), kayako_error);
}

TEST(client_fields, user_put_always_sends_fullname_and_org_put_sends_every_field) {
    user_update u;
    EXPECT_THROW(user_update_fields(u), std::invalid_argument);
    u.fullname = "Ada Lovelace";
    u.phone = "123";
    auto p = user_update_fields(u);
    ASSERT_EQ(p.items().size(), 2u);
    EXPECT_EQ(p.items()[0], (std::pair<std::string, std::string>{"fullname", "Ada Lovelace"}));

    organization_fields o;
    o.name = "ACME";
    auto op = organization_fields_params(o);
    std::set<std::string> names;
    for (auto& [k, v] : op.items()) names.insert(k);
    EXPECT_EQ(names, (std::set<std::string>{"name", "organizationtype", "address", "city", "state",
                                            "postalcode", "country", "phone", "fax", "website",
                                            "slaplanid", "slaplanexpiry"}));
}

TEST(client_fields, ticket_create_can_silence_the_autoresponder) {
    new_ticket t;
    t.subject = "s";
    t.ignoreautoresponder = true;
    t.autouserid = true;
    auto p = ticket_create_fields(t);
    bool found = false;
    for (auto& [k, v] : p.items())
        if (k == "ignoreautoresponder") found = v == "1";
    EXPECT_TRUE(found);
}

}  // namespace
