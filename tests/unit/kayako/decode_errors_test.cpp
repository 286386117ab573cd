// Single-record failures (quarantinable) versus whole-document failures, and value edge cases.
#include <gtest/gtest.h>

#include <string>

#include "connectors/kayako/decode.hpp"
#include "tests/unit/kayako/fixtures.hpp"

namespace {

using namespace ksync::kayako;

const std::string header = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

std::string user_xml(const std::string& id, const std::string& extra = {}) {
    return "<user>\n<id><![CDATA[" + id + "]]></id>\n<fullname><![CDATA[U" + id + "]]></fullname>\n" + extra +
           "</user>\n";
}

std::string users_doc(const std::string& body) { return header + "<users>\n" + body + "</users>"; }

TEST(kayako_decode_errors, bad_number_fails_only_that_record_with_index_and_id) {
    const std::string doc = users_doc(user_xml("1") + user_xml("2", "<dateline><![CDATA[12x]]></dateline>\n") +
                                      user_xml("3"));
    std::vector<std::int64_t> good;
    std::vector<record_error> bad;
    decode_users(
        doc, [&](user&& u) { good.push_back(u.id); }, [&](record_error&& e) { bad.push_back(std::move(e)); });
    EXPECT_EQ(good, (std::vector<std::int64_t>{1, 3}));
    ASSERT_EQ(bad.size(), 1u);
    EXPECT_EQ(bad[0].record_type(), "user");
    EXPECT_EQ(bad[0].index(), 1u);
    EXPECT_EQ(bad[0].id(), std::optional<std::int64_t>(2));
    EXPECT_EQ(bad[0].detail(), "<dateline>: '12x' is not an integer");
    EXPECT_EQ(std::string(bad[0].what()), "user #1 (id 2): <dateline>: '12x' is not an integer");
    EXPECT_EQ(bad[0].code(), make_error_code(kayako_errc::bad_record));
}

TEST(kayako_decode_errors, without_an_error_sink_the_record_error_is_thrown) {
    const std::string doc = users_doc(user_xml("1") + user_xml("2", "<isenabled><![CDATA[yes]]></isenabled>\n"));
    EXPECT_THROW((void)parse_users(doc), record_error);
    int delivered = 0;
    EXPECT_THROW(decode_users(doc, [&](user&&) { ++delivered; }), record_error);
    EXPECT_EQ(delivered, 1);
}

TEST(kayako_decode_errors, missing_or_empty_required_id_is_a_record_error) {
    const std::string doc = header + "<users>\n<user>\n<fullname><![CDATA[no id]]></fullname>\n</user>\n" +
                            user_xml("") + user_xml("4") + "</users>";
    std::vector<record_error> bad;
    std::vector<std::int64_t> good;
    decode_users(
        doc, [&](user&& u) { good.push_back(u.id); }, [&](record_error&& e) { bad.push_back(std::move(e)); });
    EXPECT_EQ(good, std::vector<std::int64_t>{4});
    ASSERT_EQ(bad.size(), 2u);
    EXPECT_EQ(bad[0].index(), 0u);
    EXPECT_FALSE(bad[0].id().has_value());
    EXPECT_EQ(bad[0].detail(), "<id>: missing or empty required id");
    EXPECT_EQ(bad[1].index(), 1u);

    const std::string tickets = header + "<tickets>\n<ticket flagtype=\"0\">\n</ticket>\n</tickets>";
    try {
        (void)parse_tickets(tickets);
        FAIL() << "expected record_error";
    } catch (const record_error& e) {
        EXPECT_EQ(e.detail(), "@id: missing or empty required id");
    }
}

TEST(kayako_decode_errors, nested_failure_names_its_path) {
    std::string doc = ksync::test::kayako_fixture("ticket-with-posts.xml");
    const std::string good = "<dateline><![CDATA[1700000200]]></dateline>";
    doc.replace(doc.find(good), good.size(), "<dateline><![CDATA[17000002OO]]></dateline>");
    std::vector<record_error> bad;
    decode_tickets(doc, [](ticket&&) { FAIL() << "the ticket must be quarantined"; },
                   [&](record_error&& e) { bad.push_back(std::move(e)); });
    ASSERT_EQ(bad.size(), 1u);
    EXPECT_EQ(bad[0].id(), std::optional<std::int64_t>(1003));
    EXPECT_EQ(bad[0].detail(), "<posts>/<post>[1]/<dateline>: '17000002OO' is not an integer");
}

TEST(kayako_decode_errors, attribute_failures_name_the_attribute) {
    const std::string doc = header + "<tickets>\n<ticket id=\"7\" flagtype=\"red\">\n</ticket>\n</tickets>";
    try {
        (void)parse_tickets(doc);
        FAIL() << "expected record_error";
    } catch (const record_error& e) {
        EXPECT_EQ(e.id(), std::optional<std::int64_t>(7));
        EXPECT_EQ(e.detail(), "@flagtype: 'red' is not an integer");
    }
}

TEST(kayako_decode_errors, out_of_range_numbers_are_errors_not_truncated) {
    EXPECT_THROW((void)parse_users(users_doc(user_xml("1", "<dateline><![CDATA[99999999999999999999]]></dateline>\n"))),
                 record_error);
    // flagtype is an int: 2^31 does not fit.
    EXPECT_THROW((void)parse_tickets(header + "<tickets>\n<ticket id=\"1\" flagtype=\"2147483648\">\n</ticket>\n</tickets>"),
                 record_error);
    EXPECT_THROW((void)parse_users(users_doc(user_xml("1", "<dateline><![CDATA[1.5]]></dateline>\n"))), record_error);
    EXPECT_THROW((void)parse_users(users_doc(user_xml("1", "<dateline><![CDATA[+5]]></dateline>\n"))), record_error);
    EXPECT_THROW((void)parse_users(users_doc(user_xml("1", "<dateline><![CDATA[0x10]]></dateline>\n"))), record_error);
}

TEST(kayako_decode_errors, empty_and_whitespace_values) {
    // <x />, <x></x>, CDATA[0], plain text and whitespace around CDATA all decode.
    const auto users = parse_users(users_doc(
        user_xml("1", "<dateline />\n<lastvisit></lastvisit>\n<slaplanid><![CDATA[0]]></slaplanid>\n") +
        user_xml("2", "<dateline>1650000000</dateline>\n<lastvisit>\n<![CDATA[42]]>\n</lastvisit>\n"
                      "<isenabled><![CDATA[2]]></isenabled>\n")));
    ASSERT_EQ(users.size(), 2u);
    EXPECT_EQ(users[0].dateline, 0);
    EXPECT_EQ(users[0].lastvisit, 0);
    EXPECT_EQ(users[1].dateline, 1650000000);
    EXPECT_EQ(users[1].lastvisit, 42);
    EXPECT_TRUE(users[1].isenabled);
}

TEST(kayako_decode_errors, unknown_elements_and_attributes_are_ignored) {
    const std::string doc =
        header + "<tickets>\n<paging total=\"3\" />\n<ticket id=\"5\" flagtype=\"1\" color=\"red\">\n"
                 "<futurefield><![CDATA[x]]></futurefield>\n<subject><![CDATA[S]]></subject>\n"
                 "<nested><deep><![CDATA[1]]></deep></nested>\n<watcher staffid=\"3\" name=\"N\" role=\"lead\" />\n"
                 "</ticket>\n<!-- comment -->\n</tickets>";
    const auto tickets = parse_tickets(doc);
    ASSERT_EQ(tickets.size(), 1u);
    EXPECT_EQ(tickets[0].id, 5);
    EXPECT_EQ(tickets[0].flagtype, 1);
    EXPECT_EQ(tickets[0].subject, "S");
    EXPECT_EQ(tickets[0].watchers, (std::vector<watcher>{{3, "N"}}));
}

TEST(kayako_decode_errors, fields_out_of_order_still_map) {
    const auto users = parse_users(users_doc(
        "<user>\n<email><![CDATA[b@x]]></email>\n<fullname><![CDATA[F]]></fullname>\n<id><![CDATA[9]]></id>\n"
        "<email><![CDATA[c@x]]></email>\n</user>\n"));
    ASSERT_EQ(users.size(), 1u);
    EXPECT_EQ(users[0].id, 9);
    EXPECT_EQ(users[0].fullname, "F");
    EXPECT_EQ(users[0].emails, (std::vector<std::string>{"b@x", "c@x"}));
}

TEST(kayako_decode_errors, wrong_decoder_for_the_document_is_a_document_error) {
    const std::string tickets = ksync::test::kayako_fixture("tickets-list.xml");
    EXPECT_THROW((void)parse_users(tickets), xml_error);
    EXPECT_THROW((void)parse_ticket_count(tickets), xml_error);
    // <customfields> is the root of two different documents: each decoder refuses the other.
    EXPECT_THROW((void)parse_ticket_custom_fields(ksync::test::kayako_fixture("customfields.xml"), 1), xml_error);
    EXPECT_THROW((void)parse_custom_field_definitions(ksync::test::kayako_fixture("ticket-customfields.xml")),
                 xml_error);
    try {
        (void)parse_users(tickets);
    } catch (const xml_error& e) {
        EXPECT_EQ(std::string(e.what()), "unexpected root element <tickets>, expected <users>");
        EXPECT_EQ(e.code(), make_error_code(kayako_errc::malformed_document));
    }
}

TEST(kayako_decode_errors, bad_value_in_whole_document_decoders) {
    std::string count = ksync::test::kayako_fixture("ticketcount.xml");
    count.replace(count.find("totalitems=\"7\""), 14, "totalitems=\"x\"");
    EXPECT_THROW((void)parse_ticket_count(count), record_error);
    std::string cf = ksync::test::kayako_fixture("ticket-customfields.xml");
    cf.replace(cf.find("<group id=\"2\""), 13, "<group id=\"\"");
    try {
        (void)parse_ticket_custom_fields(cf, 77);
        FAIL() << "expected record_error";
    } catch (const record_error& e) {
        EXPECT_EQ(e.id(), std::optional<std::int64_t>(77));
        EXPECT_EQ(e.detail(), "<group>[1]@id: missing or empty required id");
    }
}

TEST(kayako_decode_errors, bad_record_values_are_shown_short_and_printable) {
    // (A control byte would make the whole document malformed XML; a tab is legal XML.)
    const std::string junk = std::string(100, 'a') + "\t";
    try {
        (void)parse_users(users_doc(user_xml("1", "<dateline><![CDATA[" + junk + "]]></dateline>\n")));
        FAIL();
    } catch (const record_error& e) {
        EXPECT_LT(std::string(e.what()).size(), 150u);
        EXPECT_EQ(std::string(e.what()).find('\t'), std::string::npos);
    }
}

}  // namespace
