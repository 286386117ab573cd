#include "tests/emulator/xml_writer.hpp"

#include <charconv>

namespace ksync::emulator {

namespace {

void append_number(std::string& out, std::int64_t v) {
    char buf[24];
    auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, v);
    (void)ec;
    out.append(buf, ptr);
}

bool is_stripped_control(unsigned char c) {
    return (c <= 0x08) || c == 0x0B || c == 0x0C || (c >= 0x0E && c <= 0x1F) || c == 0x7F;
}

}  // namespace

xml_writer::xml_writer(std::string& out, php_version php) : out_(out), php_(php) {
    out_.append("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
}

void xml_writer::open(std::string_view tag) {
    out_.push_back('<');
    out_.append(tag);
    out_.append(">\n");
}

void xml_writer::open(std::string_view tag, std::initializer_list<xml_attr> list) {
    out_.push_back('<');
    out_.append(tag);
    attrs(list);
    out_.append(">\n");
}

void xml_writer::close(std::string_view tag) {
    out_.append("</");
    out_.append(tag);
    out_.append(">\n");
}

void xml_writer::leaf(std::string_view tag, std::string_view value) {
    if (value.empty()) {
        out_.push_back('<');
        out_.append(tag);
        out_.append(" />\n");
        return;
    }
    cdata_leaf(tag, value);
}

void xml_writer::leaf(std::string_view tag, std::string_view value,
                      std::initializer_list<xml_attr> list) {
    out_.push_back('<');
    out_.append(tag);
    attrs(list);
    if (value.empty()) {
        out_.append(" />\n");
        return;
    }
    out_.append("><![CDATA[");
    append_cdata_clean(out_, value);
    out_.append("]]></");
    out_.append(tag);
    out_.append(">\n");
}

void xml_writer::leaf(std::string_view tag, std::int64_t value) {
    out_.push_back('<');
    out_.append(tag);
    out_.append("><![CDATA[");
    append_number(out_, value);
    out_.append("]]></");
    out_.append(tag);
    out_.append(">\n");
}

void xml_writer::leaf_int(std::string_view tag, std::int64_t value) {
    if (value == 0 && php_ == php_version::php7) {
        out_.push_back('<');
        out_.append(tag);
        out_.append(" />\n");
        return;
    }
    leaf(tag, value);
}

void xml_writer::empty(std::string_view tag, std::initializer_list<xml_attr> list) {
    out_.push_back('<');
    out_.append(tag);
    attrs(list);
    out_.append(" />\n");
}

void xml_writer::comment(std::string_view text) {
    out_.append("<!-- ");
    out_.append(text);
    out_.append(" -->\n");
}

void xml_writer::finish() {
    // trim() also strips leading whitespace, but the declaration starts the document.
    while (!out_.empty() && (out_.back() == '\n' || out_.back() == ' ' || out_.back() == '\t' ||
                             out_.back() == '\r' || out_.back() == '\0' || out_.back() == '\x0B'))
        out_.pop_back();
}

void xml_writer::cdata_leaf(std::string_view tag, std::string_view value) {
    out_.push_back('<');
    out_.append(tag);
    out_.append("><![CDATA[");
    append_cdata_clean(out_, value);
    out_.append("]]></");
    out_.append(tag);
    out_.append(">\n");
}

void xml_writer::attrs(std::initializer_list<xml_attr> list) {
    for (const auto& a : list) {
        out_.push_back(' ');
        out_.append(a.name);
        out_.append("=\"");
        if (a.is_number)
            append_number(out_, a.number);
        else
            append_escaped(out_, a.text, php_);
        out_.push_back('"');
    }
}

void xml_writer::append_cdata_clean(std::string& out, std::string_view value) {
    // Fast path: most values hold neither control bytes nor ']'.
    bool special = false;
    for (char ch : value) {
        const auto c = static_cast<unsigned char>(ch);
        if (c == ']' || is_stripped_control(c)) {
            special = true;
            break;
        }
    }
    if (!special) {
        out.append(value);
        return;
    }
    // Same order as PHP: the control bytes go first, so "]]\x01>" also becomes a split "]]>".
    std::string stripped;
    stripped.reserve(value.size());
    for (char ch : value)
        if (!is_stripped_control(static_cast<unsigned char>(ch))) stripped.push_back(ch);
    std::string_view rest = stripped;
    while (true) {
        const auto pos = rest.find("]]>");
        if (pos == std::string_view::npos) {
            out.append(rest);
            break;
        }
        out.append(rest.substr(0, pos));
        out.append("]]]]><![CDATA[>");
        rest.remove_prefix(pos + 3);
    }
}

void xml_writer::append_escaped(std::string& out, std::string_view value, php_version php) {
    for (char c : value) {
        switch (c) {
            case '&':
                out.append("&amp;");
                break;
            case '<':
                out.append("&lt;");
                break;
            case '>':
                out.append("&gt;");
                break;
            case '"':
                out.append("&quot;");
                break;
            case '\'':
                if (php == php_version::php8)
                    out.append("&#039;");
                else
                    out.push_back(c);
                break;
            default:
                out.push_back(c);
        }
    }
}

}  // namespace ksync::emulator
