#include "connectors/kayako/url.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using namespace ksync::kayako;

// A fixed auth triple so targets can be compared literally; the signature is a real one
// (openssl vector from signing_test.cpp) and contains '/', which must be percent-encoded.
auth_fields fixed_auth() {
    return {"4f6a1b2c-1111-4222-8333-944455556666", "8f14e45fceea167a5a36dedd4bea2543",
            ksync::secret{"8J4SNSxwpya8TrF/k3Ho3OOpO7QVhcz7/qSePDaXC1k="}};
}

constexpr const char* auth_query =
    "apikey=4f6a1b2c-1111-4222-8333-944455556666&salt=8f14e45fceea167a5a36dedd4bea2543"
    "&signature=8J4SNSxwpya8TrF%2Fk3Ho3OOpO7QVhcz7%2FqSePDaXC1k%3D";

request_builder builder(url_type type, std::string_view base = "https://help.example.com/api/index.php") {
    return request_builder(parse_base_url(base), type,
                           credentials{"4f6a1b2c-1111-4222-8333-944455556666",
                                       ksync::secret{"the-secret-value+/="}});
}

TEST(kayako_url, parses_base_url_forms_to_the_same_index_php) {
    for (const auto* s : {"https://help.example.com/api/index.php", "https://help.example.com/api/",
                          "https://help.example.com/api", "HTTPS://help.example.com/api"}) {
        const base_url b = parse_base_url(s);
        EXPECT_EQ(b.scheme, "https") << s;
        EXPECT_EQ(b.host, "help.example.com") << s;
        EXPECT_EQ(b.port, 443) << s;
        EXPECT_EQ(b.path, "/api/index.php") << s;
        EXPECT_EQ(b.host_header(), "help.example.com") << s;
    }
    const base_url local = parse_base_url("http://127.0.0.1:8080");
    EXPECT_EQ(local.path, "/index.php");
    EXPECT_EQ(local.port, 8080);
    EXPECT_EQ(local.host_header(), "127.0.0.1:8080");
    const base_url v6 = parse_base_url("http://[::1]:9000/kayako/");
    EXPECT_EQ(v6.host, "[::1]");
    EXPECT_EQ(v6.host_header(), "[::1]:9000");
    EXPECT_EQ(v6.path, "/kayako/index.php");
}

TEST(kayako_url, rejects_bad_base_urls) {
    for (const auto* s : {"help.example.com/api", "ftp://help.example.com/", "https://user:pw@help.example.com/",
                          "https://help.example.com/api?x=1", "https://help.example.com/api#f", "https:///api",
                          "https://help.example.com:0/", "https://help.example.com:70000/",
                          "https://help.example.com:80x/", "https://help.example.com/a b/"}) {
        EXPECT_THROW((void)parse_base_url(s), request_error) << s;
    }
}

TEST(kayako_url, get_standard_type_puts_raw_route_and_auth_in_query) {
    const auto spec = builder(url_type::standard)
                          .build_with_auth(http_method::get,
                                           {"Tickets", "Ticket", "ListAll", "1,2", "-1", "-1", "-1", "100",
                                            "0", "lastactivity", "DESC"},
                                           {}, fixed_auth());
    EXPECT_EQ(spec.method, http_method::get);
    EXPECT_EQ(spec.host, "help.example.com");
    // Commas stay raw: Kayako reads this route without url-decoding, so %2C would become "2C".
    EXPECT_EQ(spec.target, std::string("/api/index.php?/Tickets/Ticket/ListAll/1,2/-1/-1/-1/100/0/lastactivity/DESC&") +
                               auth_query);
    EXPECT_TRUE(spec.content_type.empty());
    EXPECT_TRUE(spec.body.empty());
}

TEST(kayako_url, get_e_type_and_extra_query_parameters) {
    const auto spec = builder(url_type::e).build_with_auth(
        http_method::get, {"Base", "User", "Filter", "1", "1000"}, param_list{{"x", "a b&c"}}, fixed_auth());
    EXPECT_EQ(spec.target, std::string("/api/index.php?e=/Base/User/Filter/1/1000&") + auth_query + "&x=a%20b%26c");
}

TEST(kayako_url, delete_uses_the_query_like_get) {
    const auto spec = builder(url_type::standard)
                          .build_with_auth(http_method::delete_, {"Tickets", "TicketNote", "1001", "502"}, {},
                                           fixed_auth());
    EXPECT_EQ(spec.target, std::string("/api/index.php?/Tickets/TicketNote/1001/502&") + auth_query);
    EXPECT_TRUE(spec.body.empty());
    EXPECT_TRUE(spec.content_type.empty());
}

TEST(kayako_url, post_puts_fields_and_auth_in_a_php_style_form_body) {
    param_list p;
    p.add("ticketid", "1003").add("contents", "Hello world & more=yes\n\xF0\x9F\x98\x80").add("staffid", "9");
    const auto spec = builder(url_type::standard)
                          .build_with_auth(http_method::post, {"Tickets", "TicketPost"}, p, fixed_auth());
    EXPECT_EQ(spec.target, "/api/index.php?/Tickets/TicketPost");
    EXPECT_EQ(spec.content_type, "application/x-www-form-urlencoded");
    EXPECT_EQ(spec.body,
              "ticketid=1003&contents=Hello+world+%26+more%3Dyes%0A%F0%9F%98%80&staffid=9&"
              "apikey=4f6a1b2c-1111-4222-8333-944455556666&salt=8f14e45fceea167a5a36dedd4bea2543"
              "&signature=8J4SNSxwpya8TrF%2Fk3Ho3OOpO7QVhcz7%2FqSePDaXC1k%3D");
}

TEST(kayako_url, put_e_type_with_array_parameters) {
    param_list p;
    p.add("title", "Support EU").add_array("usergroupid", {"2", "3"}).add("uservisibilitycustom", "1");
    const auto spec =
        builder(url_type::e).build_with_auth(http_method::put, {"Base", "Department", "2"}, p, fixed_auth());
    EXPECT_EQ(spec.target, "/api/index.php?e=/Base/Department/2");
    EXPECT_EQ(spec.content_type, "application/x-www-form-urlencoded");
    EXPECT_EQ(spec.body, std::string("title=Support+EU&usergroupid%5B%5D=2&usergroupid%5B%5D=3&"
                                     "uservisibilitycustom=1&") +
                             auth_query);
}

TEST(kayako_url, ticket_mask_ids_and_colons_pass) {
    const auto spec = builder(url_type::standard)
                          .build_with_auth(http_method::get, {"Tickets", "Ticket", "ABC-123-45678"}, {}, fixed_auth());
    EXPECT_EQ(spec.target.rfind("/api/index.php?/Tickets/Ticket/ABC-123-45678&", 0), 0u) << spec.target;
    EXPECT_NO_THROW(validate_segment("a_b:c,d-e"));
}

TEST(kayako_url, refuses_segments_kayako_would_drop_or_alter) {
    // Empty: dropped by the router (later arguments shift). The others pass Kayako's URI filter
    // or not, but Clean() would remove the character, or the router reinterprets the segment.
    for (const std::string& s : std::vector<std::string>{"", "a.b", "a b", " 1", "a/b", "1%2C2", "k=v", "~x", "caf\xC3\xA9", "a@b", "R:1",
                                "r:1", std::string("1\0", 2), "1\n", "&x=1", "a?b", "a#b"}) {
        EXPECT_THROW(validate_segment(s), request_error) << s;
        EXPECT_THROW((void)builder(url_type::standard).build(http_method::get, {"Tickets", "Ticket", s}), request_error)
            << s;
    }
}

TEST(kayako_url, segment_error_names_the_problem_without_credentials) {
    try {
        (void)builder(url_type::standard).build(http_method::get, {"Tickets", "Ticket", "a.b"});
        FAIL() << "expected request_error";
    } catch (const request_error& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find("'.'"), std::string::npos) << what;
        EXPECT_EQ(what.find("the-secret-value"), std::string::npos);
        EXPECT_EQ(what.find("4f6a1b2c"), std::string::npos);
    }
}

TEST(kayako_url, needs_app_and_controller_and_refuses_reserved_parameter_names) {
    EXPECT_THROW((void)builder(url_type::standard).build(http_method::get, {"Tickets"}), request_error);
    for (const auto* name : {"e", "apikey", "salt", "signature", "SALT", ""}) {
        param_list p;
        EXPECT_THROW(p.add(name, "x"), request_error) << name;
    }
}

TEST(kayako_url, every_build_signs_with_a_fresh_salt_and_never_leaks_the_secret) {
    const auto b = builder(url_type::standard);
    const auto one = b.build(http_method::get, {"Tickets", "TicketStatus"});
    const auto two = b.build(http_method::get, {"Tickets", "TicketStatus"});
    EXPECT_NE(one.target, two.target);
    const auto post = b.build(http_method::post, {"Tickets", "TicketNote"}, param_list{{"ticketid", "1"}});
    for (const auto* text : {&one.target, &two.target, &post.body, &post.target}) {
        EXPECT_EQ(text->find("the-secret-value"), std::string::npos) << *text;
    }
    EXPECT_NE(post.body.find("salt="), std::string::npos);
    EXPECT_EQ(post.target.find("salt="), std::string::npos) << "POST auth must not be in the query";
}

TEST(kayako_url, constructor_refuses_empty_credentials) {
    EXPECT_THROW(request_builder(parse_base_url("https://h/"), url_type::standard, credentials{"", ksync::secret{"x"}}),
                 request_error);
    EXPECT_THROW(request_builder(parse_base_url("https://h/"), url_type::standard, credentials{"k", ksync::secret{}}),
                 request_error);
}

TEST(kayako_url, redacts_auth_values_in_targets_bodies_and_echoed_text) {
    const auto spec = builder(url_type::standard)
                          .build_with_auth(http_method::get, {"Tickets", "Ticket", "1"}, param_list{{"a", "1"}},
                                           fixed_auth());
    EXPECT_EQ(redact_url(spec.target), "/api/index.php?/Tickets/Ticket/1&apikey=***&salt=***&signature=***&a=1");

    const auto post = builder(url_type::e).build_with_auth(http_method::post, {"Tickets", "TicketNote"},
                                                           param_list{{"contents", "salt=pepper"}}, fixed_auth());
    EXPECT_EQ(redact_url(post.body), "contents=salt%3Dpepper&apikey=***&salt=***&signature=***");

    EXPECT_EQ(redact_url("https://h/api/index.php?e=/X/Y&SIGNATURE=abc%2F&Salt=1#frag"),
              "https://h/api/index.php?e=/X/Y&SIGNATURE=***&Salt=***#frag");
    EXPECT_EQ(redact_url("Router: /index.php?/A/B&apikey=k&salt=s\nnext line"),
              "Router: /index.php?/A/B&apikey=***&salt=***\nnext line");
    // Only whole parameter names at a boundary.
    EXPECT_EQ(redact_url("/x?mysalt=1&saltine=2"), "/x?mysalt=1&saltine=2");
}

TEST(kayako_url, encoders_follow_php) {
    EXPECT_EQ(form_encode("a b+c/~*.-_"), "a+b%2Bc%2F%7E%2A.-_");
    EXPECT_EQ(percent_encode("a b+c/~*.-_"), "a%20b%2Bc%2F~%2A.-_");
    EXPECT_EQ(to_string(http_method::delete_), "DELETE");
}

}  // namespace
