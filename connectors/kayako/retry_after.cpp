#include "connectors/kayako/retry_after.hpp"

#include <array>
#include <cctype>
#include <charconv>
#include <string>
#include <vector>

namespace ksync::kayako {
namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

bool parse_int(std::string_view s, int& out) {
    if (s.empty()) return false;
    for (char c : s)
        if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    auto r = std::from_chars(s.data(), s.data() + s.size(), out);
    return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

int month_index(std::string_view m) {
    static constexpr std::array<std::string_view, 12> names = {
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    for (std::size_t i = 0; i < names.size(); ++i)
        if (names[i] == m) return static_cast<int>(i) + 1;
    return 0;
}

// hh:mm:ss
bool parse_clock(std::string_view s, int& h, int& m, int& sec) {
    if (s.size() != 8 || s[2] != ':' || s[5] != ':') return false;
    return parse_int(s.substr(0, 2), h) && parse_int(s.substr(3, 2), m) &&
           parse_int(s.substr(6, 2), sec) && h < 24 && m < 60 && sec < 61;
}

std::optional<std::chrono::system_clock::time_point> make_time(int y, int mon, int d, int h, int mi,
                                                               int s) {
    using namespace std::chrono;
    const year_month_day ymd{year{y}, month{static_cast<unsigned>(mon)},
                             day{static_cast<unsigned>(d)}};
    if (!ymd.ok()) return std::nullopt;
    // A 4-digit year can lie outside system_clock's range (nanoseconds: about 1678 to 2262);
    // converting it would overflow (found by tests/fuzz/fuzz_http_date): not a usable date.
    const sys_seconds t = sys_days{ymd} + hours{h} + minutes{mi} + seconds{s};
    constexpr auto lo = time_point_cast<seconds>(system_clock::time_point::min());
    constexpr auto hi = time_point_cast<seconds>(system_clock::time_point::max());
    if (t < lo || t > hi) return std::nullopt;
    return time_point_cast<system_clock::duration>(t);
}

std::vector<std::string_view> split_spaces(std::string_view s) {
    std::vector<std::string_view> parts;
    std::size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && s[i] == ' ') ++i;
        std::size_t j = i;
        while (j < s.size() && s[j] != ' ') ++j;
        if (j > i) parts.push_back(s.substr(i, j - i));
        i = j;
    }
    return parts;
}

}  // namespace

std::optional<std::chrono::system_clock::time_point> parse_http_date(std::string_view text) {
    text = trim(text);
    auto p = split_spaces(text);
    int d = 0, y = 0, h = 0, mi = 0, s = 0;
    // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
    if (p.size() == 6 && p[0].size() == 4 && p[0][3] == ',' && p[5] == "GMT") {
        const int mon = month_index(p[2]);
        if (p[1].size() == 2 && parse_int(p[1], d) && mon && p[3].size() == 4 &&
            parse_int(p[3], y) && parse_clock(p[4], h, mi, s))
            return make_time(y, mon, d, h, mi, s);
        return std::nullopt;
    }
    // RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT" (two-digit year: RFC 9110 says interpret a
    // year more than 50 years in the future as the past century).
    if (p.size() == 4 && !p[0].empty() && p[0].back() == ',' && p[3] == "GMT" && p[1].size() == 9 &&
        p[1][2] == '-' && p[1][6] == '-') {
        const int mon = month_index(p[1].substr(3, 3));
        int yy = 0;
        if (parse_int(p[1].substr(0, 2), d) && mon && parse_int(p[1].substr(7, 2), yy) &&
            parse_clock(p[2], h, mi, s)) {
            y = yy + (yy >= 70 ? 1900 : 2000);
            return make_time(y, mon, d, h, mi, s);
        }
        return std::nullopt;
    }
    // asctime: "Sun Nov  6 08:49:37 1994"
    if (p.size() == 5 && p[0].size() == 3) {
        const int mon = month_index(p[1]);
        if (mon && p[2].size() <= 2 && parse_int(p[2], d) && parse_clock(p[3], h, mi, s) &&
            p[4].size() == 4 && parse_int(p[4], y))
            return make_time(y, mon, d, h, mi, s);
    }
    return std::nullopt;
}

std::optional<std::chrono::milliseconds> parse_retry_after(
    std::string_view value, std::chrono::system_clock::time_point now,
    std::chrono::milliseconds clamp) {
    using namespace std::chrono;
    value = trim(value);
    if (value.empty()) return std::nullopt;
    if (std::isdigit(static_cast<unsigned char>(value.front()))) {
        // delta-seconds; a value too large for int is simply "very long": clamp it.
        for (char c : value)
            if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
        if (value.size() > 9) return clamp;
        int secs = 0;
        if (!parse_int(value, secs)) return std::nullopt;
        return std::min<milliseconds>(seconds(secs), clamp);
    }
    auto when = parse_http_date(value);
    if (!when) return std::nullopt;
    if (*when <= now) return milliseconds(0);
    return std::min<milliseconds>(duration_cast<milliseconds>(*when - now), clamp);
}

}  // namespace ksync::kayako
