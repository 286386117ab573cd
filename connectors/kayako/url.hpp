#pragma once

// Building Kayako REST requests (kayako-api.md §1, §2, §7): the route in one of the two URL forms,
// the auth fields in the query (GET/DELETE) or in an application/x-www-form-urlencoded body
// (POST/PUT), path arguments raw. Transport-agnostic: the result is a plain description that the
// HTTP client (connectors/http) sends.

#include <cstdint>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "connectors/kayako/signing.hpp"

namespace ksync::kayako {

enum class url_type {
    standard,  // <base>/index.php?/Tickets/Ticket/1&apikey=...   (route read raw, not url-decoded)
    e,         // <base>/index.php?e=/Tickets/Ticket/1&apikey=... (route url-decoded twice)
};

enum class http_method { get, post, put, delete_ };

[[nodiscard]] std::string_view to_string(http_method m) noexcept;  // "GET", "POST", ...

// Thrown for a request that cannot be expressed faithfully (bad segment, bad base URL, reserved
// parameter name). Never carries credentials.
class request_error : public std::invalid_argument {
public:
    using std::invalid_argument::invalid_argument;
};

// Query parameters (GET/DELETE) or form fields (POST/PUT), in order. add_array() writes PHP's
// `name[]=v1&name[]=v2` (brackets percent-encoded, which PHP decodes before parsing).
class param_list {
public:
    param_list() = default;
    param_list(std::initializer_list<std::pair<std::string, std::string>> items);

    param_list& add(std::string name, std::string value);
    param_list& add_array(std::string name, const std::vector<std::string>& values);

    [[nodiscard]] const std::vector<std::pair<std::string, std::string>>& items() const noexcept {
        return items_;
    }
    [[nodiscard]] bool empty() const noexcept { return items_.empty(); }

private:
    std::vector<std::pair<std::string, std::string>> items_;
};

// The parsed base URL, e.g. https://help.example.com/api/index.php.
struct base_url {
    std::string scheme;  // "http" | "https"
    std::string host;    // without port; IPv6 literals keep their brackets
    std::uint16_t port = 0;
    std::string path;  // always ends in "/index.php"

    // The Host header value: host, plus ":port" when it is not the scheme's default.
    [[nodiscard]] std::string host_header() const;
};

// Accepts "<scheme>://host[:port]/path", where the path may end in "index.php", "/" or neither
// (the official library strips a trailing index.php and appends it again). No query, fragment
// or user info.
[[nodiscard]] base_url parse_base_url(std::string_view url);

// One request, ready for a transport. `target` is the request-target (path + query) to put on
// the request line. Contains the signature: never log it unredacted (see redact_url).
struct http_request_spec {
    http_method method = http_method::get;
    std::string host;          // Host header value
    std::string target;        // e.g. /api/index.php?/Tickets/Ticket/1&apikey=...
    std::string content_type;  // "application/x-www-form-urlencoded" for POST/PUT, else empty
    std::string body;          // form body for POST/PUT, else empty
};

class request_builder {
public:
    request_builder(const base_url& base, url_type type, credentials creds);

    // segments: {"Tickets", "Ticket", "ListAll", "1,2", "-1"}. Each must be non-empty and
    // consist only of [A-Za-z0-9_:,-] and must not start with "R:" (see the .cpp for why this
    // is stricter than the server's filter); otherwise request_error. params go to the query for
    // GET/DELETE and to the form body for POST/PUT, with the auth fields (fresh salt each call).
    [[nodiscard]] http_request_spec build(http_method method,
                                          const std::vector<std::string>& segments,
                                          const param_list& params = {}) const;

    // As build(), with caller-supplied auth fields (tests; retries must NOT reuse them).
    [[nodiscard]] http_request_spec build_with_auth(http_method method,
                                                    const std::vector<std::string>& segments,
                                                    const param_list& params,
                                                    const auth_fields& auth) const;

    [[nodiscard]] const base_url& base() const noexcept { return base_; }
    [[nodiscard]] url_type type() const noexcept { return type_; }

private:
    base_url base_;
    url_type type_;
    credentials creds_;
};

// Checks one path segment; throws request_error naming the problem (not the whole URL).
void validate_segment(std::string_view segment);

// Percent-encoding as PHP's urlencode(): [A-Za-z0-9._-] kept, space -> '+', the rest %XX.
[[nodiscard]] std::string form_encode(std::string_view s);
// RFC 3986 unreserved kept, the rest %XX (space -> %20).
[[nodiscard]] std::string percent_encode(std::string_view s);

// For logging: replaces the values of the apikey, salt and signature parameters with "***" in
// a URL, a request-target or a form body. Names are matched case-insensitively after the start,
// '?' or '&', so server text that echoes a request URL can be passed through it too.
[[nodiscard]] std::string redact_url(std::string_view url_or_body);

}  // namespace ksync::kayako
