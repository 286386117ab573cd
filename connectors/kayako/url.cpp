#include "connectors/kayako/url.hpp"

#include <algorithm>
#include <charconv>

namespace ksync::kayako {

namespace {

constexpr std::string_view form_content_type = "application/x-www-form-urlencoded";

bool is_alnum(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

char lower(char c) noexcept {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                              [](char x, char y) { return lower(x) == lower(y); });
}

void append_hex(std::string& out, unsigned char c) {
    static constexpr std::string_view hex = "0123456789ABCDEF";
    out.push_back('%');
    out.push_back(hex[c >> 4]);
    out.push_back(hex[c & 0x0f]);
}

bool is_reserved_name(std::string_view name) noexcept {
    return iequals(name, "e") || iequals(name, "apikey") || iequals(name, "salt") ||
           iequals(name, "signature");
}

void check_param_name(std::string_view name) {
    if (name.empty()) throw request_error("empty parameter name");
    if (is_reserved_name(name)) {
        throw request_error("parameter name '" + std::string(name) +
                            "' is reserved for routing/authentication");
    }
}

void append_pair(std::string& out, std::string_view name, std::string_view value, bool form) {
    if (!out.empty() && out.back() != '?') out.push_back('&');
    out += form ? form_encode(name) : percent_encode(name);
    out.push_back('=');
    out += form ? form_encode(value) : percent_encode(value);
}

}  // namespace

std::string_view to_string(http_method m) noexcept {
    switch (m) {
        case http_method::get:
            return "GET";
        case http_method::post:
            return "POST";
        case http_method::put:
            return "PUT";
        case http_method::delete_:
            return "DELETE";
    }
    return "GET";
}

// ---- param_list ---------------------------------------------------------------------------

param_list::param_list(std::initializer_list<std::pair<std::string, std::string>> items) {
    for (const auto& [name, value] : items) add(name, value);
}

param_list& param_list::add(std::string name, std::string value) {
    check_param_name(name);
    items_.emplace_back(std::move(name), std::move(value));
    return *this;
}

param_list& param_list::add_array(std::string name, const std::vector<std::string>& values) {
    check_param_name(name);
    for (const auto& v : values) items_.emplace_back(name + "[]", v);
    return *this;
}

// ---- base URL -------------------------------------------------------------------------------

std::string base_url::host_header() const {
    const bool default_port =
        (scheme == "https" && port == 443) || (scheme == "http" && port == 80);
    return default_port ? host : host + ":" + std::to_string(port);
}

base_url parse_base_url(std::string_view url) {
    base_url out;
    const auto scheme_end = url.find("://");
    if (scheme_end == std::string_view::npos) {
        throw request_error("Kayako base URL must start with http:// or https://");
    }
    std::string scheme(url.substr(0, scheme_end));
    std::transform(scheme.begin(), scheme.end(), scheme.begin(), lower);
    if (scheme != "http" && scheme != "https") {
        throw request_error("Kayako base URL scheme must be http or https, not '" + scheme + "'");
    }
    out.scheme = scheme;
    std::string_view rest = url.substr(scheme_end + 3);
    if (rest.find_first_of("?#") != std::string_view::npos) {
        throw request_error("Kayako base URL must not contain a query or fragment");
    }
    const auto path_start = rest.find('/');
    std::string_view authority = rest.substr(0, path_start);
    std::string_view path = path_start == std::string_view::npos ? "" : rest.substr(path_start);
    if (authority.find('@') != std::string_view::npos) {
        throw request_error("Kayako base URL must not contain user info");
    }
    std::string_view port_text;
    if (!authority.empty() && authority.front() == '[') {  // IPv6 literal
        const auto close = authority.find(']');
        if (close == std::string_view::npos) throw request_error("Kayako base URL: bad IPv6 host");
        out.host = std::string(authority.substr(0, close + 1));
        const std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') throw request_error("Kayako base URL: bad host");
            port_text = after.substr(1);
        }
    } else {
        const auto colon = authority.find(':');
        out.host = std::string(authority.substr(0, colon));
        if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
    }
    if (out.host.empty() || out.host == "[]") throw request_error("Kayako base URL has no host");
    for (const char c : out.host) {
        if (!(is_alnum(c) || c == '.' || c == '-' || c == '_' || c == '[' || c == ']' ||
              c == ':')) {
            throw request_error("Kayako base URL: invalid character in host");
        }
    }
    if (port_text.empty()) {
        out.port = scheme == "https" ? 443 : 80;
    } else {
        unsigned value = 0;
        const auto [p, ec] =
            std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
        if (ec != std::errc{} || p != port_text.data() + port_text.size() || value == 0 ||
            value > 65535) {
            throw request_error("Kayako base URL: invalid port");
        }
        out.port = static_cast<std::uint16_t>(value);
    }
    // Like the official library's setBaseURL: strip a trailing index.php, ensure one '/', then
    // append index.php again, so "…/api", "…/api/" and "…/api/index.php" are the same.
    std::string p(path);
    constexpr std::string_view index = "index.php";
    if (p.size() >= index.size() && p.compare(p.size() - index.size(), index.size(), index) == 0) {
        p.resize(p.size() - index.size());
    }
    if (p.empty() || p.back() != '/') p.push_back('/');
    for (const char c : p) {
        if (!(is_alnum(c) || c == '/' || c == '.' || c == '-' || c == '_' || c == '~')) {
            throw request_error("Kayako base URL: path characters must be [A-Za-z0-9/._~-]");
        }
    }
    out.path = p + std::string(index);
    return out;
}

// ---- encoding -----------------------------------------------------------------------------

std::string form_encode(std::string_view s) {
    std::string out;
    out.reserve(s.size() + s.size() / 4);
    for (const char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if (is_alnum(ch) || ch == '.' || ch == '_' || ch == '-') {
            out.push_back(ch);
        } else if (ch == ' ') {
            out.push_back('+');
        } else {
            append_hex(out, c);
        }
    }
    return out;
}

std::string percent_encode(std::string_view s) {
    std::string out;
    out.reserve(s.size() + s.size() / 4);
    for (const char ch : s) {
        if (is_alnum(ch) || ch == '.' || ch == '_' || ch == '-' || ch == '~') {
            out.push_back(ch);
        } else {
            append_hex(out, static_cast<unsigned char>(ch));
        }
    }
    return out;
}

// ---- segments -------------------------------------------------------------------------------

// The server accepts an argument matching ^[A-Za-z0-9\s,~%.:=_-]+$ but then passes it through
// Clean(), which deletes everything except [A-Za-z0-9_:,-]; segments are also trimmed, empty ones
// are dropped (later arguments shift left), "R:"-prefixed ones are skipped and "k=v" ones turn
// the argument list into a map. So any character outside [A-Za-z0-9_:,-] would make Kayako act on
// a different value than the one we meant: refuse it here instead of sending it.
void validate_segment(std::string_view segment) {
    if (segment.empty()) {
        throw request_error(
            "empty URL path segment: Kayako drops empty segments and shifts later arguments");
    }
    for (const char c : segment) {
        if (!(is_alnum(c) || c == '_' || c == ':' || c == ',' || c == '-')) {
            std::string shown;
            const auto byte = static_cast<unsigned char>(c);
            if (byte < 0x20 || byte >= 0x7f) {
                shown = "byte ";
                append_hex(shown, byte);
            } else {
                shown = std::string("'") + c + "'";
            }
            throw request_error(
                "URL path segment contains " + shown +
                ": Kayako would remove or reinterpret it (allowed: [A-Za-z0-9_:,-])");
        }
    }
    if (segment.size() >= 2 && (segment[0] == 'R' || segment[0] == 'r') && segment[1] == ':') {
        throw request_error("URL path segment starting with 'R:' is skipped by Kayako's router");
    }
}

// ---- request_builder ------------------------------------------------------------------------

request_builder::request_builder(const base_url& base, url_type type, credentials creds)
    : base_(base), type_(type), creds_(std::move(creds)) {
    if (creds_.api_key.empty()) throw request_error("Kayako API key is empty");
    if (creds_.secret.empty()) throw request_error("Kayako API secret is empty");
}

http_request_spec request_builder::build(http_method method,
                                         const std::vector<std::string>& segments,
                                         const param_list& params) const {
    return build_with_auth(method, segments, params, make_auth_fields(creds_));
}

http_request_spec request_builder::build_with_auth(http_method method,
                                                   const std::vector<std::string>& segments,
                                                   const param_list& params,
                                                   const auth_fields& auth) const {
    if (segments.size() < 2) {
        throw request_error("a Kayako route needs at least an app and a controller segment");
    }
    std::string route;
    for (const auto& s : segments) {
        validate_segment(s);
        route.push_back('/');
        route += s;  // raw: commas must not become %2C (Clean() would turn "1%2C2" into "12C2")
    }

    http_request_spec spec;
    spec.method = method;
    spec.host = base_.host_header();
    spec.target = base_.path;
    spec.target += type_ == url_type::standard ? "?" : "?e=";
    // The segment alphabet needs no escaping in a query, in either URL form.
    spec.target += route;

    const bool in_body = method == http_method::post || method == http_method::put;
    std::string& out = in_body ? spec.body : spec.target;
    if (in_body) {
        // PUT needs this exact header, or Kayako reads the (route-only) query instead of the body
        // and answers "NO SALT PROVIDED!" (§1.3).
        spec.content_type = std::string(form_content_type);
        for (const auto& [name, value] : params.items()) append_pair(out, name, value, true);
    }
    // GET/DELETE: auth in the query; apikey and salt are [0-9a-f-] in practice, the signature has
    // '+', '/' and '=' and must be encoded (the server would see '+' as a space otherwise).
    append_pair(out, "apikey", auth.apikey, in_body);
    append_pair(out, "salt", auth.salt, in_body);
    append_pair(out, "signature", auth.signature.reveal(), in_body);
    if (!in_body) {
        for (const auto& [name, value] : params.items()) append_pair(out, name, value, false);
    }
    return spec;
}

// ---- redaction ------------------------------------------------------------------------------

std::string redact_url(std::string_view in) {
    static constexpr std::string_view names[] = {"apikey", "salt", "signature"};
    std::string out;
    out.reserve(in.size());
    std::size_t i = 0;
    while (i < in.size()) {
        const bool at_boundary = i == 0 || in[i - 1] == '?' || in[i - 1] == '&';
        bool redacted = false;
        if (at_boundary) {
            for (const auto name : names) {
                if (in.size() - i > name.size() && iequals(in.substr(i, name.size()), name) &&
                    in[i + name.size()] == '=') {
                    out.append(in.substr(i, name.size() + 1));
                    out += "***";
                    i += name.size() + 1;
                    while (i < in.size() && in[i] != '&' && in[i] != '#' && in[i] != ' ' &&
                           in[i] != '\n' && in[i] != '\r' && in[i] != '\t') {
                        ++i;
                    }
                    redacted = true;
                    break;
                }
            }
        }
        if (!redacted) out.push_back(in[i++]);
    }
    return out;
}

}  // namespace ksync::kayako
