#include "tests/emulator/xml_writer.hpp"

#include <gtest/gtest.h>

namespace ksync::emulator {
namespace {

std::string doc(php_version php, void (*body)(xml_writer&)) {
    std::string out;
    xml_writer w(out, php);
    body(w);
    w.finish();
    return out;
}

TEST(xml_writer, declaration_no_indentation_no_trailing_newline) {
    const auto out = doc(php_version::php7, [](xml_writer& w) {
        w.open("users");
        w.open("user");
        w.leaf("id", std::int64_t{5});
        w.leaf("fullname", "Zoë 🎉");
        w.leaf("phone", "");
        w.close("user");
        w.close("users");
    });
    EXPECT_EQ(out,
              "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<users>\n<user>\n"
              "<id><![CDATA[5]]></id>\n<fullname><![CDATA[Zoë 🎉]]></fullname>\n<phone />\n"
              "</user>\n</users>");
}

TEST(xml_writer, empty_container_keeps_its_newline) {
    const auto out = doc(php_version::php7, [](xml_writer& w) {
        w.open("users");
        w.close("users");
    });
    EXPECT_EQ(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<users>\n</users>");
}

TEST(xml_writer, string_zero_is_cdata_but_int_cast_zero_depends_on_php) {
    auto body = [](xml_writer& w) {
        w.open("u");
        w.leaf("a", "0");
        w.leaf("b", std::int64_t{0});
        w.leaf_int("userorganizationid", 0);
        w.leaf_int("usergroupid", 2);
        w.close("u");
    };
    EXPECT_EQ(doc(php_version::php7, body),
              "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<u>\n<a><![CDATA[0]]></a>\n"
              "<b><![CDATA[0]]></b>\n<userorganizationid />\n"
              "<usergroupid><![CDATA[2]]></usergroupid>\n</u>");
    EXPECT_EQ(doc(php_version::php8, body),
              "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<u>\n<a><![CDATA[0]]></a>\n"
              "<b><![CDATA[0]]></b>\n<userorganizationid><![CDATA[0]]></userorganizationid>\n"
              "<usergroupid><![CDATA[2]]></usergroupid>\n</u>");
}

TEST(xml_writer, cdata_strips_control_bytes_and_splits_terminators) {
    std::string out;
    xml_writer::append_cdata_clean(out, std::string("a\x01\x08\x0b\x0c\x1f\x7f\tb\nc\rd]]>e", 18));
    EXPECT_EQ(out, "a\tb\nc\rd]]]]><![CDATA[>e");
    out.clear();
    // Stripping happens first, so a control byte inside "]]>" does not protect it.
    xml_writer::append_cdata_clean(out, std::string("x]]\x02>y", 6));
    EXPECT_EQ(out, "x]]]]><![CDATA[>y");
}

TEST(xml_writer, value_of_only_control_bytes_is_an_empty_cdata_not_an_empty_tag) {
    const auto out = doc(php_version::php7, [](xml_writer& w) { w.leaf("x", "\x01"); });
    EXPECT_EQ(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<x><![CDATA[]]></x>");
}

TEST(xml_writer, attributes_are_htmlspecialchars_escaped) {
    auto body = [](xml_writer& w) {
        w.empty("watcher", {{"staffid", std::int64_t{2}}, {"name", "Ann O'Brien <&> \"x\""}});
        w.comment("Ticket Count grouped by Status");
    };
    EXPECT_EQ(doc(php_version::php7, body),
              "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<watcher staffid=\"2\" "
              "name=\"Ann O'Brien &lt;&amp;&gt; &quot;x&quot;\" />\n"
              "<!-- Ticket Count grouped by Status -->");
    EXPECT_EQ(doc(php_version::php8, body),
              "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<watcher staffid=\"2\" "
              "name=\"Ann O&#039;Brien &lt;&amp;&gt; &quot;x&quot;\" />\n"
              "<!-- Ticket Count grouped by Status -->");
}

TEST(xml_writer, leaf_with_attributes) {
    const auto out = doc(php_version::php7, [](xml_writer& w) {
        w.leaf("note", "text", {{"type", "ticket"}, {"id", std::int64_t{3}}});
        w.leaf("note", "", {{"type", "user"}});
    });
    EXPECT_EQ(out,
              "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
              "<note type=\"ticket\" id=\"3\"><![CDATA[text]]></note>\n<note type=\"user\" />");
}

}  // namespace
}  // namespace ksync::emulator
