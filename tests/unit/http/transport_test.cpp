// Pure parts of the transport contract: URL parsing, target redaction, header lookup.
#include "connectors/http/transport.hpp"

#include <gtest/gtest.h>

namespace {

using ksync::http::errc;
using ksync::http::parse_url;
using ksync::http::redact_target;

TEST(http_url, parses_scheme_host_port_and_target) {
    auto u = parse_url("https://Support.Example.com/api/index.php?e=/Tickets/Ticket");
    ASSERT_TRUE(u);
    EXPECT_TRUE(u->where.tls);
    EXPECT_EQ(u->where.host, "support.example.com");
    EXPECT_EQ(u->where.port, 443);
    EXPECT_EQ(u->target, "/api/index.php?e=/Tickets/Ticket");
    EXPECT_EQ(u->where.host_header(), "support.example.com");

    auto p = parse_url("http://127.0.0.1:8080");
    ASSERT_TRUE(p);
    EXPECT_FALSE(p->where.tls);
    EXPECT_EQ(p->where.port, 8080);
    EXPECT_EQ(p->target, "/");
    EXPECT_EQ(p->where.host_header(), "127.0.0.1:8080");
    EXPECT_EQ(p->where.to_string(), "http://127.0.0.1:8080");

    auto q = parse_url("https://h?x=1");
    ASSERT_TRUE(q);
    EXPECT_EQ(q->target, "/?x=1");

    auto v6 = parse_url("https://[::1]:8443/a");
    ASSERT_TRUE(v6);
    EXPECT_EQ(v6->where.host, "::1");
    EXPECT_EQ(v6->where.port, 8443);
    EXPECT_EQ(v6->where.host_header(), "[::1]:8443");
}

TEST(http_url, rejects_what_it_cannot_represent_safely) {
    for (const char* bad : {"", "ftp://h/", "https://", "https:///x", "https://user:pw@h/",
                            "https://h:0/", "https://h:65536/", "https://h:80x/", "https://h:/",
                            "https://h/a b", "https://h/a\r\nX: y", "https://h/#frag", "h/x",
                            "https://[::1/"}) {
        auto u = parse_url(bad);
        ASSERT_FALSE(u) << bad;
        EXPECT_EQ(u.error(), errc::invalid_request) << bad;
    }
}

TEST(http_url, redacts_credential_parameters_only) {
    EXPECT_EQ(redact_target("/api/index.php?e=/Tickets/Ticket/ListAll&apikey=abc&salt=123&"
                            "signature=xyz%3D"),
              "/api/index.php?e=/Tickets/Ticket/ListAll&apikey=***&salt=***&signature=***");
    EXPECT_EQ(redact_target("/x?password=p&access_token=t&ClientSecret=s&api_key=k&page=2"),
              "/x?password=***&access_token=***&ClientSecret=***&api_key=***&page=2");
    EXPECT_EQ(redact_target("/plain/path"), "/plain/path");
    EXPECT_EQ(redact_target("/x?flag&e=1"), "/x?flag&e=1");
}

TEST(http_response, header_lookup_is_case_insensitive) {
    ksync::http::response r;
    r.headers = {{"Content-Type", "text/xml"}, {"retry-after", "120"}, {"X-A", "1"}, {"x-a", "2"}};
    EXPECT_EQ(r.content_type(), "text/xml");
    EXPECT_EQ(r.retry_after().value_or(""), "120");
    EXPECT_EQ(r.header("X-A").value_or(""), "1");  // first one wins
    EXPECT_FALSE(r.header("Location"));
    ksync::http::response empty;
    EXPECT_EQ(empty.content_type(), "");
}

TEST(http_errors, have_a_category_and_messages) {
    const boost::system::error_code ec = errc::certificate_rejected;
    EXPECT_STREQ(ec.category().name(), "ksync.http");
    EXPECT_EQ(ec.message(), "server certificate rejected");
    EXPECT_EQ(ksync::http::to_string(ksync::http::result_kind::maybe_sent), "maybe_sent");
}

}  // namespace
