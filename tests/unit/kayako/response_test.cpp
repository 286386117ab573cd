#include "connectors/kayako/response.hpp"

#include <gtest/gtest.h>

#include "connectors/kayako/decode.hpp"
#include "tests/unit/kayako/fixtures.hpp"

namespace {

using namespace ksync::kayako;
using ksync::test::kayako_fixture;

kayako_error expect_error(http_method m, int status, std::string_view ct, std::string_view body) {
    try {
        (void)check_response(m, status, ct, body);
    } catch (const kayako_error& e) {
        return e;
    }
    ADD_FAILURE() << "expected kayako_error for status " << status << " body " << body.substr(0, 80);
    return kayako_error(kayako_errc::unexpected_response, 0, {}, "no error");
}

TEST(kayako_response, xml_200_is_success) {
    const std::string body = kayako_fixture("tickets-list.xml");
    for (const auto* ct : {"text/xml", "text/xml; charset=UTF-8", "Application/XML"}) {
        const checked_response r = check_response(http_method::get, 200, ct, body);
        EXPECT_EQ(r.xml, body) << ct;
        EXPECT_TRUE(r.warning.empty());
    }
}

TEST(kayako_response, empty_container_is_a_valid_empty_result) {
    // §3.2: Get by unknown id on a lookup controller answers 200 with an empty container.
    const std::string body = kayako_fixture("usergroups-empty.xml");
    EXPECT_EQ(check_response(http_method::get, 200, "text/xml", body).xml, body);
    EXPECT_TRUE(parse_user_groups(body).empty());
    EXPECT_NO_THROW((void)check_response(http_method::get, 200, "text/xml", "<?xml version=\"1.0\"?>\n<users />"));
}

TEST(kayako_response, auth_failures_are_unauthorized_with_kayakos_message) {
    auto e = expect_error(http_method::get, 401, "text/html", kayako_fixture("error-401-no-salt.txt"));
    EXPECT_EQ(e.errc(), kayako_errc::unauthorized);
    EXPECT_EQ(e.http_status(), 401);
    EXPECT_EQ(e.server_message(), "NO SALT PROVIDED!");
    e = expect_error(http_method::put, 401, "", kayako_fixture("error-401-failed.txt"));
    EXPECT_EQ(e.errc(), kayako_errc::unauthorized);
    EXPECT_EQ(e.server_message(), "FAILED TO AUTHENTICATE");
    EXPECT_NE(std::string(e.what()).find("FAILED TO AUTHENTICATE"), std::string::npos);
    EXPECT_EQ(e.code(), make_error_code(kayako_errc::unauthorized));
    EXPECT_STREQ(e.code().category().name(), "kayako");
}

TEST(kayako_response, empty_403_means_api_disabled) {
    const auto e = expect_error(http_method::get, 403, "text/html", "");
    EXPECT_EQ(e.errc(), kayako_errc::forbidden);
    EXPECT_TRUE(e.server_message().empty());
    EXPECT_NE(std::string(e.what()).find("disabled"), std::string::npos) << e.what();
}

TEST(kayako_response, validation_and_not_found_messages_are_kept) {
    auto e = expect_error(http_method::get, 404, "text/xml", kayako_fixture("error-404-ticket.txt"));
    EXPECT_EQ(e.errc(), kayako_errc::not_found);
    EXPECT_EQ(e.server_message(), "Ticket not Found");
    e = expect_error(http_method::post, 400, "text/xml", kayako_fixture("error-400-validation.txt"));
    EXPECT_EQ(e.errc(), kayako_errc::bad_request);
    EXPECT_EQ(e.http_status(), 400);
    EXPECT_EQ(e.server_message(), "Subject is empty");
}

TEST(kayako_response, html_404_page_becomes_not_found_with_its_text) {
    const auto e = expect_error(http_method::get, 404, "text/html", kayako_fixture("error-404-page.html"));
    EXPECT_EQ(e.errc(), kayako_errc::not_found);
    EXPECT_NE(e.server_message().find("Page Not Found"), std::string::npos) << e.server_message();
    EXPECT_EQ(e.server_message().find('<'), std::string::npos) << e.server_message();
}

TEST(kayako_response, other_statuses) {
    EXPECT_EQ(expect_error(http_method::get, 500, "text/html", "oops").errc(), kayako_errc::server_error);
    EXPECT_EQ(expect_error(http_method::get, 503, "text/html", "").errc(), kayako_errc::server_error);
    EXPECT_EQ(expect_error(http_method::get, 405, "text/xml", "x").errc(), kayako_errc::method_not_allowed);
    EXPECT_EQ(expect_error(http_method::get, 302, "text/html", "").errc(), kayako_errc::unexpected_response);
    EXPECT_EQ(expect_error(http_method::get, 201, "text/xml", kayako_fixture("notes.xml")).errc(),
              kayako_errc::unexpected_response);
}

TEST(kayako_response, uncaught_exception_with_200_is_a_server_error_and_redacted) {
    const auto e = expect_error(http_method::put, 200, "text/xml", kayako_fixture("error-200-uncaught-exception.txt"));
    EXPECT_EQ(e.errc(), kayako_errc::server_error);
    EXPECT_EQ(e.http_status(), 200);
    const std::string what = e.what();
    EXPECT_NE(what.find("Undeclared Function Called in API Controller: Put"), std::string::npos) << what;
    // The Router line echoes the request URL: the auth values must not survive.
    for (const auto* leaked : {"4f6a1b2c-1111-4222-8333-944455556666", "8f14e45fceea167a5a36dedd4bea2543",
                               "8J4SNSxwpya8TrF"}) {
        EXPECT_EQ(what.find(leaked), std::string::npos) << leaked;
        EXPECT_EQ(e.server_message().find(leaked), std::string::npos) << leaked;
    }
    EXPECT_NE(what.find("apikey=***"), std::string::npos) << what;
}

TEST(kayako_response, warning_text_before_xml_is_tolerated_and_reported) {
    const std::string body = kayako_fixture("warning-before-xml.xml");
    const checked_response r = check_response(http_method::post, 200, "text/xml", body);
    EXPECT_EQ(r.xml.substr(0, 5), "<?xml");
    EXPECT_NE(r.warning.find("Undefined array key \"isprivate\""), std::string::npos) << r.warning;
    const auto posts = parse_posts(r.xml);
    ASSERT_EQ(posts.size(), 1u);
    EXPECT_EQ(posts[0].id, 2005);
}

TEST(kayako_response, html_appended_by_an_unlicensed_host_is_an_error) {
    const auto e = expect_error(http_method::get, 200, "text/xml", kayako_fixture("unlicensed-host.xml"));
    EXPECT_EQ(e.errc(), kayako_errc::unexpected_response);
    EXPECT_NE(std::string(e.what()).find("licensed"), std::string::npos) << e.what();
    // And the decoder alone refuses it too (defence in depth).
    EXPECT_THROW((void)parse_user_groups(kayako_fixture("unlicensed-host.xml")), xml_error);
}

TEST(kayako_response, html_or_plain_text_200_is_never_zero_records) {
    auto e = expect_error(http_method::get, 200, "text/html", kayako_fixture("login-page.html"));
    EXPECT_EQ(e.errc(), kayako_errc::unexpected_response);
    EXPECT_NE(std::string(e.what()).find("HTML"), std::string::npos);
    e = expect_error(http_method::get, 200, "text/plain", "OK");
    EXPECT_EQ(e.errc(), kayako_errc::unexpected_response);
}

TEST(kayako_response, wrong_content_type_with_xml_body_is_an_error) {
    const auto e = expect_error(http_method::get, 200, "text/html; charset=UTF-8", kayako_fixture("users.xml"));
    EXPECT_EQ(e.errc(), kayako_errc::unexpected_response);
    EXPECT_NE(std::string(e.what()).find("text/html"), std::string::npos);
    EXPECT_EQ(expect_error(http_method::get, 200, "", kayako_fixture("users.xml")).errc(),
              kayako_errc::unexpected_response);
}

TEST(kayako_response, empty_200_is_valid_only_for_delete) {
    const checked_response r = check_response(http_method::delete_, 200, "text/xml", "");
    EXPECT_TRUE(r.xml.empty());
    for (const auto m : {http_method::get, http_method::post, http_method::put}) {
        EXPECT_EQ(expect_error(m, 200, "text/xml", "").errc(), kayako_errc::unexpected_response);
        EXPECT_EQ(expect_error(m, 200, "text/xml", "\n  ").errc(), kayako_errc::unexpected_response);
    }
}

TEST(kayako_response, missing_root_or_truncated_document_is_an_error) {
    EXPECT_EQ(expect_error(http_method::get, 200, "text/xml", "<?xml version=\"1.0\" encoding=\"UTF-8\"?>").errc(),
              kayako_errc::unexpected_response);
    const std::string full = kayako_fixture("tickets-list.xml");
    EXPECT_EQ(expect_error(http_method::get, 200, "text/xml", full.substr(0, full.size() - 3)).errc(),
              kayako_errc::unexpected_response);
    EXPECT_EQ(expect_error(http_method::get, 200, "text/xml", full.substr(0, full.size() / 2)).errc(),
              kayako_errc::unexpected_response);
}

TEST(kayako_response, sanitize_bounds_and_cleans_server_text) {
    const std::string long_text(5000, 'x');
    EXPECT_EQ(sanitize_server_text(long_text, 100).size(), 103u);
    EXPECT_EQ(sanitize_server_text("a\x01\x02 b\r\n\tc"), "a b c");
    // Never cuts a UTF-8 sequence in half.
    EXPECT_EQ(sanitize_server_text("ab\xC3\xA9", 3), "ab...");
}

}  // namespace
