#include "connectors/kayako/response.hpp"

#include <algorithm>
#include <cctype>

namespace ksync::kayako {

namespace {

bool is_space(char c) noexcept {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

std::string to_lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

bool contains_icase(std::string_view hay, std::string_view needle) {
    return to_lower(hay).find(needle) != std::string::npos;
}

bool looks_like_html(std::string_view body) {
    const std::string head = to_lower(body.substr(0, 4096));
    return head.find("<!doctype html") != std::string::npos ||
           head.find("<html") != std::string::npos || head.find("<body") != std::string::npos ||
           head.find("<head") != std::string::npos || head.find("<div") != std::string::npos ||
           head.find("<title") != std::string::npos;
}

kayako_errc errc_for_status(int status) noexcept {
    switch (status) {
        case 400:
            return kayako_errc::bad_request;
        case 401:
            return kayako_errc::unauthorized;
        case 403:
            return kayako_errc::forbidden;
        case 404:
            return kayako_errc::not_found;
        case 405:
            return kayako_errc::method_not_allowed;
        default:
            return status >= 500 && status <= 599 ? kayako_errc::server_error
                                                  : kayako_errc::unexpected_response;
    }
}

std::string_view mime_type(std::string_view content_type) noexcept {
    return trim(content_type.substr(0, content_type.find(';')));
}

bool is_name_char(char c) noexcept {
    return !(is_space(c) || c == '>' || c == '/' || c == '<' || c == '\0');
}

struct root_element {
    std::string_view name;  // empty: no root element
    std::size_t pos = 0;    // offset of its '<'
};

// The first element after the prolog (comments, PIs and a DOCTYPE are skipped: the decoder
// rejects a DOCTYPE itself, with a better message).
root_element find_root(std::string_view xml) noexcept {
    std::size_t i = 0;
    while (i < xml.size()) {
        const auto lt = xml.find('<', i);
        if (lt == std::string_view::npos || lt + 1 >= xml.size()) return {};
        const char c = xml[lt + 1];
        if (c == '?' || c == '!') {
            const std::string_view close = xml.substr(lt, 4) == "<!--" ? "-->" : ">";
            const auto end = xml.find(close, lt + 2);
            if (end == std::string_view::npos) return {};
            i = end + close.size();
            continue;
        }
        std::size_t j = lt + 1;
        while (j < xml.size() && is_name_char(xml[j])) ++j;
        return {xml.substr(lt + 1, j - lt - 1), lt};
    }
    return {};
}

// True if the document (which starts with "<?xml", so trimming moves no offsets at the front)
// ends by closing its root: "</root>" or a self-closing root that is the last tag.
bool ends_with_root_close(std::string_view xml, const root_element& root) {
    const std::string_view t = trim(xml);
    if (t.empty() || t.back() != '>') return false;
    const auto last_lt = t.rfind('<');
    if (last_lt == root.pos) return t.size() >= 2 && t[t.size() - 2] == '/';
    std::string_view last = trim(t.substr(last_lt + 1, t.size() - last_lt - 2));  // "/root"
    return !last.empty() && last.front() == '/' && trim(last.substr(1)) == root.name;
}

}  // namespace

std::string sanitize_server_text(std::string_view text, std::size_t max_len) {
    // Strip tags (an HTML error page becomes its visible text), then redact, then clean.
    std::string plain;
    plain.reserve(std::min(text.size(), max_len * 4));
    bool in_tag = false;
    for (const char c : text.substr(0, max_len * 16)) {
        if (c == '<') {
            in_tag = true;
            plain.push_back(' ');
        } else if (c == '>' && in_tag) {
            in_tag = false;
        } else if (!in_tag) {
            plain.push_back(c);
        }
    }
    const std::string redacted = redact_url(plain);
    std::string out;
    out.reserve(std::min(redacted.size(), max_len + 3));
    bool last_space = true;  // also trims leading whitespace
    for (const char c : redacted) {
        const auto u = static_cast<unsigned char>(c);
        const bool space = is_space(c) || u < 0x20 || u == 0x7f;
        if (space) {
            if (!last_space) out.push_back(' ');
            last_space = true;
        } else {
            out.push_back(c);
            last_space = false;
        }
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    if (out.size() > max_len) {
        std::size_t cut = max_len;
        while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
        out.resize(cut);
        out += "...";
    }
    return out;
}

checked_response check_response(http_method method, int status, std::string_view content_type,
                                std::string_view body) {
    if (status != 200) {
        const kayako_errc code = errc_for_status(status);
        std::string message = sanitize_server_text(body);
        std::string detail;
        if (status == 403 && trim(body).empty()) {
            detail = "empty 403: the REST API interface is disabled in the Kayako Admin CP";
        } else if (looks_like_html(body)) {
            detail = "HTML error page (unknown controller or disallowed URI characters?)";
        } else if (status == 401) {
            detail = "authentication failed (check the API key and the secret)";
        }
        throw kayako_error(code, status, std::move(message), std::move(detail));
    }

    if (trim(body).empty()) {
        if (method == http_method::delete_) return {};
        throw kayako_error(kayako_errc::unexpected_response, status, {},
                           "empty body with HTTP 200 for " + std::string(to_string(method)) +
                               " (only DELETE answers with an empty body)");
    }

    const auto xml_start = body.find("<?xml");
    const std::string_view prefix =
        xml_start == std::string_view::npos ? body : body.substr(0, xml_start);
    // An uncaught exception aborts the script, so XML after such a block cannot be trusted.
    if (contains_icase(prefix, "uncaught exception")) {
        throw kayako_error(kayako_errc::server_error, status, sanitize_server_text(prefix),
                           "HTTP 200 carrying an \"Uncaught Exception\" block");
    }
    if (xml_start == std::string_view::npos) {
        if (looks_like_html(body)) {
            throw kayako_error(kayako_errc::unexpected_response, status,
                               sanitize_server_text(body, 200),
                               "HTML page instead of XML (a login, proxy or WAF page?)");
        }
        throw kayako_error(kayako_errc::unexpected_response, status,
                           sanitize_server_text(body, 200), "body is not XML");
    }

    const std::string mime = to_lower(mime_type(content_type));
    if (mime != "text/xml" && mime != "application/xml") {
        throw kayako_error(
            kayako_errc::unexpected_response, status, {},
            "Content-Type '" + sanitize_server_text(content_type, 100) + "' instead of text/xml");
    }

    checked_response out;
    out.xml = body.substr(xml_start);
    const root_element root = find_root(out.xml);
    if (root.name.empty()) {
        throw kayako_error(kayako_errc::unexpected_response, status, {},
                           "XML document without a root element");
    }
    if (!ends_with_root_close(out.xml, root)) {
        const std::string_view t = trim(out.xml);
        const std::string_view tail = t.substr(t.size() - std::min<std::size_t>(t.size(), 300));
        throw kayako_error(kayako_errc::unexpected_response, status,
                           sanitize_server_text(tail, 200),
                           "content after the root element <" + std::string(root.name) +
                               "> (a truncated document, or the HTML appended for an unlicensed "
                               "host name: is the configured host the licensed one?)");
    }
    if (!trim(prefix).empty()) {
        out.warning =
            "text before the XML declaration (PHP warning?): " + sanitize_server_text(prefix);
    }
    return out;
}

}  // namespace ksync::kayako
