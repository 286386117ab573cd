#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace ksync::kayako {

// Parses an HTTP-date (RFC 9110 §5.6.7: IMF-fixdate, and the obsolete RFC 850 and asctime forms
// a recipient must accept) into a system_clock time. nullopt when it is not a valid date.
std::optional<std::chrono::system_clock::time_point> parse_http_date(std::string_view text);

// Retry-After (RFC 9110 §10.2.3): delta-seconds or an HTTP-date, relative to `now`.
// A date in the past gives 0; a value above `clamp` gives `clamp` (a far date usually means a
// wrong clock, and nobody should wait a day because of it). nullopt when unparseable.
std::optional<std::chrono::milliseconds> parse_retry_after(
    std::string_view value, std::chrono::system_clock::time_point now,
    std::chrono::milliseconds clamp);

}  // namespace ksync::kayako
