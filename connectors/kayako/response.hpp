#pragma once

// Classifying a Kayako HTTP response before any XML is decoded (kayako-api.md §2, §3). A response
// is either a usable XML document (or the empty body of a DELETE) or a kayako_error; nothing in
// between is ever read as "zero records".

#include <string>
#include <string_view>

#include "connectors/kayako/errors.hpp"
#include "connectors/kayako/url.hpp"

namespace ksync::kayako {

struct checked_response {
    // The XML document, starting at "<?xml" (text before it removed). Empty only for the empty
    // 200 body of a DELETE. A view into the body passed to check_response().
    std::string_view xml;
    // Non-empty when text preceded "<?xml" (a PHP warning block): the caller logs it. Already
    // redacted and bounded.
    std::string warning;
};

// status/content_type/body as received. Throws kayako_error for:
//  - 400/401/403/404/405 (plain-text message kept as server_message), 5xx, any other non-200;
//  - 200 with an "Uncaught Exception" block (server_error), an HTML page, a non-XML body, a
//    Content-Type other than text/xml or application/xml, no root element, or content after the
//    root element such as the HTML <div> an unlicensed host name appends (unexpected_response);
//  - 200 with an empty body, except for DELETE.
[[nodiscard]] checked_response check_response(http_method method, int status,
                                              std::string_view content_type, std::string_view body);

// Server text made safe and short enough for an error or a log line: credentials redacted,
// control characters replaced, HTML tags stripped, at most max_len bytes (cut at a UTF-8 boundary).
[[nodiscard]] std::string sanitize_server_text(std::string_view text, std::size_t max_len = 500);

}  // namespace ksync::kayako
