#pragma once

// Byte-exact reimplementation of Kayako's SWIFT_XML writer (kayako-api.md §3.1), writing straight
// into a caller-owned std::string so a 1000-ticket page costs one buffer and no per-tag allocation.
//
//   <?xml version="1.0" encoding="UTF-8"?>\n   declaration + newline
//   <parent a="v">\n ... </parent>\n           no indentation; every line ends in \n
//   <leaf><![CDATA[value]]></leaf>\n           every non-empty value in CDATA (numbers too)
//   <leaf />\n                                 values PHP considers == '' (see leaf_int for 0)
//   <!-- comment -->\n
// finish() trims the document, so it never ends in a newline.

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

namespace ksync::emulator {

// PHP 7 treats integer 0 as == '' (so `(int)` fields that are 0 render as `<x />`); PHP 8 does
// not. PHP >= 8.1 also escapes ' in attributes (htmlspecialchars ENT_QUOTES default).
enum class php_version { php7, php8 };

// An attribute value: text, or a number rendered in decimal (attributes never collapse to empty).
struct xml_attr {
    xml_attr(std::string_view n, std::string_view t) : name(n), text(t) {}
    xml_attr(std::string_view n, const char* t) : name(n), text(t) {}
    xml_attr(std::string_view n, const std::string& t) : name(n), text(t) {}
    xml_attr(std::string_view n, std::int64_t v) : name(n), number(v), is_number(true) {}
    xml_attr(std::string_view n, int v) : name(n), number(v), is_number(true) {}

    std::string_view name;
    std::string_view text;
    std::int64_t number = 0;
    bool is_number = false;
};

class xml_writer {
public:
    // Appends the declaration to `out` (which may already hold reserved capacity).
    xml_writer(std::string& out, php_version php);

    void open(std::string_view tag);
    void open(std::string_view tag, std::initializer_list<xml_attr> attrs);
    void close(std::string_view tag);

    // A string column: empty string -> `<tag />`, anything else -> CDATA (even "0").
    void leaf(std::string_view tag, std::string_view value);
    void leaf(std::string_view tag, std::string_view value, std::initializer_list<xml_attr> attrs);
    // A numeric DB column: PHP's mysqli hands it over as a string, so 0 is CDATA[0] everywhere.
    void leaf(std::string_view tag, std::int64_t value);
    void leaf(std::string_view tag, int value) { leaf(tag, static_cast<std::int64_t>(value)); }
    // A value PHP cast with (int) or computed as an integer: 0 renders `<tag />` on PHP 7 only.
    void leaf_int(std::string_view tag, std::int64_t value);
    // A leaf with attributes and no value (`<watcher staffid="1" name="x" />`).
    void empty(std::string_view tag, std::initializer_list<xml_attr> attrs);
    void comment(std::string_view text);

    // Trims trailing whitespace like PHP's trim(); the writer must not be used afterwards.
    void finish();

    [[nodiscard]] php_version php() const noexcept { return php_; }

    // SWIFT_XML::Clean: strips control bytes other than \t \n \r, then splits "]]>".
    static void append_cdata_clean(std::string& out, std::string_view value);
    // htmlspecialchars for attribute values.
    static void append_escaped(std::string& out, std::string_view value, php_version php);

private:
    void attrs(std::initializer_list<xml_attr> list);
    void cdata_leaf(std::string_view tag, std::string_view value);
    std::string& out_;
    php_version php_;
};

}  // namespace ksync::emulator
