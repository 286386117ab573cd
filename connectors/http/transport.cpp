#include "connectors/http/transport.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>

namespace ksync::http {
namespace {

char lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

std::string to_lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), lower);
    return out;
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return lower(x) == lower(y);
           });
}

bool has_control_or_space(std::string_view s) {
    return std::any_of(s.begin(), s.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u <= 0x20 || u == 0x7f;
    });
}

bool sensitive_name(std::string_view name) {
    const std::string n = to_lower(name);
    if (n == "apikey" || n == "salt" || n == "signature") return true;
    static constexpr std::array<std::string_view, 5> parts{"key", "pass", "secret", "token", "sig"};
    return std::any_of(parts.begin(), parts.end(),
                       [&](std::string_view p) { return n.find(p) != std::string::npos; });
}

boost::system::error_code invalid() { return make_error_code(errc::invalid_request); }

}  // namespace

std::string origin::host_header() const {
    const bool v6 = host.find(':') != std::string::npos;
    std::string h = v6 ? "[" + host + "]" : host;
    if (port != (tls ? 443 : 80)) h += ":" + std::to_string(port);
    return h;
}

std::string origin::to_string() const {
    const bool v6 = host.find(':') != std::string::npos;
    return std::string(tls ? "https://" : "http://") + (v6 ? "[" + host + "]" : host) + ":" +
           std::to_string(port);
}

boost::system::result<url> parse_url(std::string_view text) {
    if (text.empty() || has_control_or_space(text)) return invalid();
    url out;
    const auto sep = text.find("://");
    if (sep == std::string_view::npos) return invalid();
    const std::string scheme = to_lower(text.substr(0, sep));
    if (scheme == "https") {
        out.where.tls = true;
        out.where.port = 443;
    } else if (scheme == "http") {
        out.where.tls = false;
        out.where.port = 80;
    } else {
        return invalid();
    }
    text.remove_prefix(sep + 3);
    if (text.find('#') != std::string_view::npos) return invalid();
    const auto auth_end = text.find_first_of("/?");
    std::string_view authority = text.substr(0, auth_end);
    const std::string_view rest =
        auth_end == std::string_view::npos ? std::string_view{} : text.substr(auth_end);
    if (authority.empty() || authority.find('@') != std::string_view::npos) return invalid();

    std::string_view host;
    std::string_view port;
    if (authority.front() == '[') {
        const auto close = authority.find(']');
        if (close == std::string_view::npos || close == 1) return invalid();
        host = authority.substr(1, close - 1);
        const auto after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') return invalid();
            port = after.substr(1);
            if (port.empty()) return invalid();
        }
    } else {
        const auto colon = authority.find(':');
        host = authority.substr(0, colon);
        if (colon != std::string_view::npos) {
            port = authority.substr(colon + 1);
            if (port.empty()) return invalid();
        }
    }
    if (host.empty()) return invalid();
    if (!port.empty()) {
        unsigned value = 0;
        const auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
        if (ec != std::errc{} || ptr != port.data() + port.size() || value == 0 || value > 65535)
            return invalid();
        out.where.port = static_cast<std::uint16_t>(value);
    }
    out.where.host = to_lower(host);
    if (rest.empty())
        out.target = "/";
    else if (rest.front() == '?')
        out.target = "/" + std::string(rest);
    else
        out.target = std::string(rest);
    return out;
}

std::string redact_target(std::string_view target) {
    const auto q = target.find('?');
    if (q == std::string_view::npos) return std::string(target);
    std::string out(target.substr(0, q + 1));
    std::string_view query = target.substr(q + 1);
    bool first = true;
    while (true) {
        const auto amp = query.find('&');
        const std::string_view param = query.substr(0, amp);
        if (!first) out += '&';
        first = false;
        const auto eq = param.find('=');
        const std::string_view name = param.substr(0, eq);
        if (eq != std::string_view::npos && sensitive_name(name)) {
            out += name;
            out += "=***";
        } else {
            out += param;
        }
        if (amp == std::string_view::npos) break;
        query.remove_prefix(amp + 1);
    }
    return out;
}

std::optional<std::string_view> response::header(std::string_view name) const {
    for (const auto& f : headers)
        if (iequals(f.name, name)) return std::string_view(f.value);
    return std::nullopt;
}

std::string_view response::content_type() const { return header("Content-Type").value_or(""); }

std::optional<std::string_view> response::retry_after() const { return header("Retry-After"); }

std::string_view to_string(result_kind k) noexcept {
    switch (k) {
        case result_kind::response: return "response";
        case result_kind::not_connected: return "not_connected";
        case result_kind::maybe_sent: return "maybe_sent";
        case result_kind::response_too_large: return "response_too_large";
        case result_kind::redirect_refused: return "redirect_refused";
    }
    return "unknown";
}

}  // namespace ksync::http
