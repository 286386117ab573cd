#pragma once

// The one place that touches libxml2 directly (style.md §2.4, reliability.md §2): process-wide
// hardening, RAII handles, and a streaming reader that hands out one record subtree at a time.
//
// Hardening, all of which the tests in tests/unit/kayako/xml_hostile_test.cpp exercise:
//  - parser options NONET | NOERROR | NOWARNING only; never NOENT, DTDLOAD, DTDATTR, DTDVALID,
//    XINCLUDE, HUGE or RECOVER (RECOVER would read a truncated page as a short valid one);
//  - any DOCTYPE node fails the document before any of its content is read, which also closes
//    the entity-amplification paths libxml2 2.9 does not catch itself;
//  - xml_init() installs a deny-all external entity loader for the whole process;
//  - errors go to a per-reader structured handler and surface as xml_error("line N: msg"),
//    never to stderr.

#include <libxml/tree.h>
#include <libxml/xmlreader.h>

#include <memory>
#include <string>
#include <string_view>

#include "connectors/kayako/errors.hpp"

namespace ksync::kayako {

// Call once at startup before threads start (main) and in tests; idempotent and thread-safe.
// Runs LIBXML_TEST_VERSION and xmlInitParser() and installs the deny-all entity loader.
void xml_init();

// The version of the libxml2 actually loaded, for the startup log line.
[[nodiscard]] std::string xml_runtime_version();

// Exactly these options; exposed so a test can assert the forbidden bits are absent.
inline constexpr int reader_options = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING;

struct reader_deleter {
    void operator()(xmlTextReader* r) const noexcept { xmlFreeTextReader(r); }
};
using reader_ptr = std::unique_ptr<xmlTextReader, reader_deleter>;

struct xml_string_deleter {
    void operator()(xmlChar* s) const noexcept { xmlFree(s); }
};
using xml_string = std::unique_ptr<xmlChar, xml_string_deleter>;

// A borrowed libxml2 string as a view (nullptr -> empty).
[[nodiscard]] inline std::string_view view(const xmlChar* s) noexcept {
    return s == nullptr ? std::string_view{} : std::string_view(reinterpret_cast<const char*>(s));
}

// Streams the direct children of the root element of one in-memory document. Each child is
// expanded into a DOM subtree (xmlTextReaderExpand), handed out, and skipped with
// xmlTextReaderNext, so memory stays bounded by the largest single record.
class xml_child_stream {
public:
    // Does not copy `document`: it must outlive the stream. Throws xml_error.
    explicit xml_child_stream(std::string_view document);
    ~xml_child_stream();
    xml_child_stream(const xml_child_stream&) = delete;
    xml_child_stream& operator=(const xml_child_stream&) = delete;

    // Reads up to the root element; throws xml_error on a DOCTYPE, a missing root, or a root
    // not named `expected`.
    void open_root(std::string_view expected);

    // The next element child of the root, expanded; valid until the next call. nullptr once the
    // root is closed AND the document has ended cleanly (trailing junk, truncation or any parse
    // error throws xml_error instead).
    const xmlNode* next_child();

    // "line N: message" of the first parser error, or a generic text; for error messages.
    [[nodiscard]] std::string parser_error(std::string_view fallback) const;

private:
    int advance();  // Read or Next; throws on -1 and on a DOCTYPE
    static void on_error(void* self, xmlErrorPtr error) noexcept;

    reader_ptr reader_;
    std::string first_error_;
    bool skip_subtree_ = false;  // the current node was expanded: Next, not Read
    bool root_open_ = false;
    bool root_closed_ = false;
};

}  // namespace ksync::kayako
