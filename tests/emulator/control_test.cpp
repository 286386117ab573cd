// Part 2: the control interface (model dump, request log, clock, staff-side changes) and every
// injected fault, over raw loopback HTTP.
#include "tests/emulator/server.hpp"
#include "tests/emulator/test_client.hpp"

#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/write.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <memory>

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
    raw_client second(emu_->port());
    fault("endpoint=Tickets/TicketStatus&kind=reset&count=1");
    EXPECT_THROW(second.request("GET", status_route()), boost::system::system_error);
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

}  // namespace
}  // namespace ksync::emulator
