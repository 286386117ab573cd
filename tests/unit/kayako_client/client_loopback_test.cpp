// The Kayako client over the real HTTP transport against a small loopback server written for this
// test (not the emulator): paging through ListAll and Filter, and a 503-then-200 sequence that a
// GET retries while a POST reports "outcome unknown".
#include "connectors/http/client.hpp"
#include "connectors/kayako/client.hpp"
#include "tests/support/log_capture.hpp"
#include "tests/support/run_coro.hpp"
#include "tests/unit/http/test_server.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <string>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using namespace ksync::kayako;
using namespace std::chrono_literals;
using ksync::test::http::http_response;
using ksync::test::http::server_conn;
using ksync::test::http::test_server;

constexpr int kTickets = 2345;
constexpr int kUsers = 2100;

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out;
    std::size_t i = 0;
    while (true) {
        auto j = s.find(sep, i);
        out.push_back(s.substr(i, j == std::string::npos ? std::string::npos : j - i));
        if (j == std::string::npos) break;
        i = j + 1;
    }
    return out;
}

const std::string kDecl = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

std::string cdata(long v) {
    return "<![CDATA[" + std::to_string(v) + "]]>";
}

// Ticket ids kTickets..1, newest (highest lastactivity) first, offset paging.
std::string list_all(int count, int start) {
    std::string s = kDecl + "<tickets>\n";
    for (int i = start; i < std::min(start + count, kTickets); ++i) {
        const int id = kTickets - i;
        s += "<ticket id=\"" + std::to_string(id) + "\" flagtype=\"0\">\n<lastactivity>" +
             cdata(1'700'000'000 + id) + "</lastactivity>\n</ticket>\n";
    }
    return s + "</tickets>";
}

// Users 1..kUsers, marker inclusive, at most min(max, 1000).
std::string filter(int marker, int max) {
    std::string s = kDecl + "<users>\n";
    int n = 0;
    for (int id = std::max(marker, 1); id <= kUsers && n < std::min(max, 1000); ++id, ++n)
        s += "<user>\n<id>" + cdata(id) + "</id>\n<fullname><![CDATA[User " + std::to_string(id) +
             "]]></fullname>\n<email><![CDATA[u" + std::to_string(id) +
             "@example.com]]></email>\n</user>\n";
    return s + "</users>";
}

struct kayako_client_loopback : ::testing::Test {
    std::atomic<int> staff_calls{0};
    std::atomic<int> post_calls{0};

    // Routes by the raw query (the standard URL type: index.php?/App/Controller/...&apikey=...).
    asio::awaitable<void> serve(server_conn& c) {
        bhttp::request<bhttp::string_body> req;
        while (co_await c.read_request(req)) {
            const std::string target(req.target());
            const auto q = target.find("?/");
            const auto amp = target.find('&', q);
            const auto parts = split(target.substr(q + 2, amp - q - 2), '/');
            std::string resp;
            if (parts.size() >= 9 && parts[1] == "Ticket" && parts[2] == "ListAll") {
                resp = http_response(200, list_all(std::stoi(parts[7]), std::stoi(parts[8])),
                                     "Content-Type: text/xml\r\n");
            } else if (parts.size() >= 5 && parts[1] == "User" && parts[2] == "Filter") {
                resp = http_response(200, filter(std::stoi(parts[3]), std::stoi(parts[4])),
                                     "Content-Type: text/xml\r\n");
            } else if (parts.size() >= 2 && parts[1] == "Staff") {
                resp =
                    ++staff_calls == 1
                        ? http_response(503, "Service Unavailable", "Content-Type: text/html\r\n")
                        : http_response(200, kDecl + "<staffusers>\n</staffusers>",
                                        "Content-Type: text/xml\r\n");
            } else if (parts.size() >= 2 && parts[1] == "TicketPost") {
                ++post_calls;
                resp = http_response(503, "Service Unavailable", "Content-Type: text/html\r\n");
            } else {
                resp =
                    http_response(404, "not routed in this test", "Content-Type: text/plain\r\n");
            }
            if (!co_await c.write(std::move(resp))) co_return;
        }
    }

    test_server server{std::nullopt, [this](server_conn& c) { return serve(c); }};
    asio::io_context ioc;
    ksync::test::log_capture logs;
    std::unique_ptr<ksync::http::client> transport;
    std::unique_ptr<client> kayako;

    void SetUp() override {
        ksync::http::client_options hopts;
        hopts.allow_plain_http = true;
        transport =
            std::make_unique<ksync::http::client>(ioc.get_executor(), hopts, logs.logger("http"));
        client_options opts;
        opts.retry.base = 1ms;
        opts.retry.cap = 10ms;
        request_builder b(
            parse_base_url("http://127.0.0.1:" + std::to_string(server.port()) + "/api/index.php"),
            url_type::standard, credentials{"key", ksync::secret{"secret-value"}});
        kayako = std::make_unique<client>(ioc.get_executor(), *transport, std::move(b), opts,
                                          logs.logger("kayako"));
    }
};

TEST_F(kayako_client_loopback, pages_through_listall_and_filter) {
    auto run =
        [&]() -> asio::awaitable<std::pair<std::vector<std::int64_t>, std::vector<std::int64_t>>> {
        std::vector<std::int64_t> tickets, users;
        ticket_list_query q;
        q.departments = {1, 2};
        q.statuses = {1, 2, 3};
        q.count = 1000;
        for (q.start = 0;; q.start += q.count) {
            auto p = co_await kayako->list_tickets(q);
            for (auto& t : p.records) tickets.push_back(t.id);
            if (p.records.size() < static_cast<std::size_t>(q.count)) break;
        }
        for (std::int64_t marker = 1;;) {
            auto p = co_await kayako->filter_users(marker, 1000);
            for (auto& u : p.records) users.push_back(u.id);
            if (p.records.size() < 1000) break;
            marker = p.records.back().id + 1;  // the marker is inclusive
        }
        co_return std::pair{tickets, users};
    };
    auto [tickets, users] = ksync::test::run_coro(ioc, run());
    ASSERT_EQ(tickets.size(), static_cast<std::size_t>(kTickets));
    EXPECT_EQ(std::set<std::int64_t>(tickets.begin(), tickets.end()).size(), tickets.size());
    EXPECT_EQ(tickets.front(), kTickets);
    EXPECT_EQ(tickets.back(), 1);
    ASSERT_EQ(users.size(), static_cast<std::size_t>(kUsers));
    EXPECT_EQ(users.back(), kUsers);
    // 3 ListAll pages + 3 Filter pages, on kept-alive connections.
    EXPECT_EQ(server.requests(), 6u);
    EXPECT_LE(server.accepts(), 2u);
}

TEST_F(kayako_client_loopback, a_503_is_retried_for_get_but_outcome_unknown_for_post) {
    auto page = ksync::test::run_coro(ioc, kayako->list_staff());
    EXPECT_TRUE(page.records.empty());
    EXPECT_EQ(staff_calls.load(), 2);

    new_post p;
    p.ticketid = 1;
    p.contents = "hi";
    p.staffid = 1;
    EXPECT_THROW(ksync::test::run_coro(ioc, kayako->create_post(p)), outcome_unknown);
    EXPECT_EQ(post_calls.load(), 1);
    EXPECT_FALSE(logs.contains("secret-value"));
}

}  // namespace
