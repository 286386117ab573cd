// Hostile and broken XML: every case must be a clean xml_error, read nothing external, and stay
// within bounded memory (reliability.md §2).
#include <gtest/gtest.h>
#include <libxml/parser.h>
#include <sys/resource.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "connectors/kayako/decode.hpp"
#include "connectors/kayako/xml.hpp"
#include "tests/unit/kayako/fixtures.hpp"

namespace {

using namespace ksync::kayako;

long max_rss_kib() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

// The peak RSS may not grow by more than this while a hostile document is rejected. Expanding
// any of the amplification payloads below would need gigabytes.
constexpr long rss_ceiling_kib = 64 * 1024;

// A file whose content must never show up anywhere.
class canary_file {
public:
    canary_file() {
        std::random_device rd;
        content_ = "CANARY-" + std::to_string(rd()) + "-" + std::to_string(rd());
        path_ = std::filesystem::temp_directory_path() / ("ksync-canary-" + std::to_string(rd()) + ".txt");
        std::ofstream(path_) << content_;
    }
    ~canary_file() {
        std::error_code ec;
        std::filesystem::remove(path_, ec);
    }
    canary_file(const canary_file&) = delete;
    canary_file& operator=(const canary_file&) = delete;
    [[nodiscard]] std::string url() const { return "file://" + path_.string(); }
    [[nodiscard]] const std::string& content() const { return content_; }

private:
    std::filesystem::path path_;
    std::string content_;
};

// Decodes `doc` as a ticket list, expecting an xml_error; returns its message. Fails the test if
// any record is delivered containing `forbidden`, or if the peak RSS grows beyond the ceiling.
std::string expect_xml_error(const std::string& doc, const std::string& forbidden = {}) {
    const long before = max_rss_kib();
    std::string message;
    try {
        decode_tickets(doc, [&](ticket&& t) {
            if (!forbidden.empty()) {
                EXPECT_EQ(t.subject.find(forbidden), std::string::npos);
            }
        });
        ADD_FAILURE() << "expected xml_error for: " << doc.substr(0, 120);
    } catch (const xml_error& e) {
        message = e.what();
    } catch (const std::exception& e) {
        ADD_FAILURE() << "expected xml_error, got: " << e.what();
    }
    EXPECT_LT(max_rss_kib() - before, rss_ceiling_kib) << "memory grew while rejecting the document";
    if (!forbidden.empty()) {
        EXPECT_EQ(message.find(forbidden), std::string::npos) << message;
    }
    return message;
}

TEST(kayako_xml_hostile, options_never_include_dangerous_flags) {
    constexpr int forbidden = XML_PARSE_NOENT | XML_PARSE_DTDLOAD | XML_PARSE_DTDATTR | XML_PARSE_DTDVALID |
                              XML_PARSE_XINCLUDE | XML_PARSE_HUGE | XML_PARSE_RECOVER;
    static_assert((reader_options & forbidden) == 0);
    EXPECT_EQ(reader_options, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    EXPECT_FALSE(xml_runtime_version().empty());
}

TEST(kayako_xml_hostile, external_entity_is_rejected_and_canary_never_read) {
    const canary_file canary;
    const std::string doc = "<?xml version=\"1.0\"?>\n<!DOCTYPE tickets [<!ENTITY x SYSTEM \"" + canary.url() +
                            "\">]>\n<tickets>\n<ticket id=\"1\" flagtype=\"0\">\n<subject>&x;</subject>\n"
                            "</ticket>\n</tickets>";
    const std::string msg = expect_xml_error(doc, canary.content());
    EXPECT_NE(msg.find("DOCTYPE"), std::string::npos) << msg;
}

TEST(kayako_xml_hostile, parameter_entity_and_external_dtd_are_rejected) {
    const canary_file canary;
    expect_xml_error("<?xml version=\"1.0\"?>\n<!DOCTYPE tickets [<!ENTITY % p SYSTEM \"" + canary.url() +
                         "\"> %p;]>\n<tickets>\n</tickets>",
                     canary.content());
    const std::string msg = expect_xml_error(
        "<?xml version=\"1.0\"?>\n<!DOCTYPE tickets SYSTEM \"" + canary.url() + "\">\n<tickets>\n</tickets>",
        canary.content());
    EXPECT_NE(msg.find("DOCTYPE"), std::string::npos) << msg;
    expect_xml_error("<?xml version=\"1.0\"?>\n<!DOCTYPE tickets PUBLIC \"-//X//Y\" \"http://127.0.0.1:9/x.dtd\">\n"
                     "<tickets>\n</tickets>");
}

TEST(kayako_xml_hostile, deny_all_loader_blocks_even_a_noent_parse) {
    // Defence in depth: if someone ever parsed with NOENT|DTDLOAD, the process-wide loader that
    // xml_init() installs still refuses the file.
    xml_init();
    const canary_file canary;
    const std::string doc = "<?xml version=\"1.0\"?>\n<!DOCTYPE r [<!ENTITY x SYSTEM \"" + canary.url() +
                            "\">]>\n<r>&x;</r>";
    xmlDocPtr parsed = xmlReadMemory(doc.data(), static_cast<int>(doc.size()), nullptr, nullptr,
                                     XML_PARSE_NOENT | XML_PARSE_DTDLOAD | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    std::string text;
    if (parsed != nullptr) {
        const xml_string content{xmlNodeGetContent(xmlDocGetRootElement(parsed))};
        text = std::string(view(content.get()));
        xmlFreeDoc(parsed);
    }
    EXPECT_EQ(text.find(canary.content()), std::string::npos);
}

TEST(kayako_xml_hostile, billion_laughs_is_rejected_cheaply) {
    std::string dtd = "<!ENTITY lol0 \"lol\">\n";
    for (int i = 1; i <= 10; ++i) {
        dtd += "<!ENTITY lol" + std::to_string(i) + " \"";
        for (int j = 0; j < 10; ++j) dtd += "&lol" + std::to_string(i - 1) + ";";
        dtd += "\">\n";
    }
    const std::string doc = "<?xml version=\"1.0\"?>\n<!DOCTYPE tickets [\n" + dtd +
                            "]>\n<tickets>\n<ticket id=\"1\" flagtype=\"0\">\n<subject>&lol10;</subject>\n"
                            "</ticket>\n</tickets>";
    expect_xml_error(doc, "lollollol");
}

TEST(kayako_xml_hostile, quadratic_blowup_is_rejected_cheaply) {
    // One 100 KB entity referenced 20,000 times: 2 GB if expanded (reliability.md §2.1).
    std::string doc = "<?xml version=\"1.0\"?>\n<!DOCTYPE tickets [<!ENTITY a \"" + std::string(100000, 'a') +
                      "\">]>\n<tickets>\n<ticket id=\"1\" flagtype=\"0\">\n<subject>";
    doc.reserve(doc.size() + 20000 * 3 + 64);
    for (int i = 0; i < 20000; ++i) doc += "&a;";
    doc += "</subject>\n</ticket>\n</tickets>";
    expect_xml_error(doc);
}

TEST(kayako_xml_hostile, undeclared_entity_without_dtd_is_malformed) {
    const std::string msg = expect_xml_error(
        "<?xml version=\"1.0\"?>\n<tickets>\n<ticket id=\"1\" flagtype=\"0\">\n<subject>&x;</subject>\n</ticket>\n"
        "</tickets>");
    EXPECT_NE(msg.find("line 4: "), std::string::npos) << msg;
}

TEST(kayako_xml_hostile, malformed_xml_reports_line_and_message) {
    const std::string msg = expect_xml_error(
        "<?xml version=\"1.0\"?>\n<tickets>\n<ticket id=\"1\" flagtype=\"0\">\n<subject>x</subjekt>\n</ticket>\n"
        "</tickets>");
    EXPECT_EQ(msg.rfind("malformed XML: line 4: ", 0), 0u) << msg;
    expect_xml_error("<?xml version=\"1.0\"?>\n<tickets>\n<ticket id=\"1\" flagtype=\"0\" flagtype=\"1\">\n"
                     "</ticket>\n</tickets>");
    expect_xml_error("<?xml version=\"1.0\"?>\n<tickets>\n<ticket id=1>\n</ticket>\n</tickets>");
    expect_xml_error("<?xml version=\"1.0\"?>\n<tickets>\n</tickets>\n<tickets>\n</tickets>");
}

TEST(kayako_xml_hostile, every_truncation_of_a_page_is_an_error) {
    // Never "a shorter valid page": a cut anywhere (also between records) fails the page.
    const std::string full = ksync::test::kayako_fixture("tickets-list.xml");
    for (std::size_t cut = 0; cut < full.size(); cut += 37) {
        SCOPED_TRACE("cut at " + std::to_string(cut));
        expect_xml_error(full.substr(0, cut));
    }
    const auto ticket_end = full.find("</ticket>") + 10;
    expect_xml_error(full.substr(0, ticket_end));
    expect_xml_error(full.substr(0, full.size() - 1));
}

TEST(kayako_xml_hostile, nul_bytes_are_rejected) {
    const std::string full = ksync::test::kayako_fixture("tickets-list.xml");
    std::string inside = full;
    inside.insert(inside.find("Dana Staff"), 1, '\0');
    expect_xml_error(inside);
    expect_xml_error(full + std::string(1, '\0'));
    expect_xml_error(std::string(1, '\0') + full);
}

TEST(kayako_xml_hostile, invalid_utf8_and_control_characters_are_rejected) {
    const std::string full = ksync::test::kayako_fixture("tickets-list.xml");
    std::string bad = full;
    bad.replace(bad.find("Dana Staff"), 4, "D\xC3\x28n");
    expect_xml_error(bad);
    std::string ctrl = full;
    ctrl.replace(ctrl.find("Dana Staff"), 1, "\x01");
    expect_xml_error(ctrl);
}

TEST(kayako_xml_hostile, wrong_empty_or_missing_root) {
    EXPECT_NE(expect_xml_error("<?xml version=\"1.0\"?>\n<html><body>hi</body></html>").find("unexpected root"),
              std::string::npos);
    expect_xml_error(ksync::test::kayako_fixture("users.xml"));
    expect_xml_error("");
    expect_xml_error("   \n");
    expect_xml_error("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    expect_xml_error("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- only a comment -->");
    expect_xml_error("NO SALT PROVIDED!");
}

TEST(kayako_xml_hostile, excessive_nesting_is_rejected) {
    std::string doc = "<?xml version=\"1.0\"?>\n<tickets>\n<ticket id=\"1\" flagtype=\"0\">\n";
    for (int i = 0; i < 5000; ++i) doc += "<a>";
    for (int i = 0; i < 5000; ++i) doc += "</a>";
    doc += "</ticket>\n</tickets>";
    expect_xml_error(doc);
}

TEST(kayako_xml_hostile, errors_never_reach_stderr) {
    // The structured handler captures parser errors; nothing is printed.
    testing::internal::CaptureStderr();
    expect_xml_error("<?xml version=\"1.0\"?>\n<tickets>\n<ticket>\n</tickets>");
    const canary_file canary;
    expect_xml_error("<?xml version=\"1.0\"?>\n<!DOCTYPE tickets [<!ENTITY x SYSTEM \"" + canary.url() +
                     "\">]>\n<tickets>&x;</tickets>");
    EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
}

}  // namespace
