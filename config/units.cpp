// Durations and sizes as operators write them: "1h30m", "500ms", "64MiB".

#include "config/config.hpp"

#include <array>
#include <charconv>
#include <limits>
#include <stdexcept>

namespace ksync::config {
namespace {

struct unit {
    std::string_view name;
    std::int64_t ms;
};

// Largest first: parse_duration requires parts in this order, so "30m1h" is rejected as a typo.
constexpr std::array<unit, 5> duration_units{{
    {"d", 86'400'000},
    {"h", 3'600'000},
    {"m", 60'000},
    {"s", 1'000},
    {"ms", 1},
}};

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}
bool is_alpha(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

}  // namespace

duration parse_duration(std::string_view text) {
    if (text.empty()) throw std::invalid_argument("empty duration");
    if (text.front() == '-') throw std::invalid_argument("negative durations are not allowed");
    std::int64_t total = 0;
    std::size_t last_unit = 0;  // index into duration_units + 1 of the previous part
    std::size_t i = 0;
    while (i < text.size()) {
        const std::size_t digits_begin = i;
        while (i < text.size() && is_digit(text[i])) ++i;
        if (i == digits_begin) {
            throw std::invalid_argument("expected a number at \"" + std::string(text.substr(i)) +
                                        "\"");
        }
        std::int64_t value = 0;
        const auto [ptr, ec] = std::from_chars(text.data() + digits_begin, text.data() + i, value);
        if (ec != std::errc{} || ptr != text.data() + i)
            throw std::invalid_argument("number too large");
        if (i < text.size() && (text[i] == '.' || text[i] == ',')) {
            throw std::invalid_argument(
                "fractions are not allowed; combine units instead (1h30m, "
                "not 1.5h)");
        }
        const std::size_t unit_begin = i;
        while (i < text.size() && is_alpha(text[i])) ++i;
        const std::string_view name = text.substr(unit_begin, i - unit_begin);
        if (name.empty()) {
            throw std::invalid_argument(
                "a duration needs a unit (ms, s, m, h or d), e.g. \"90s\" or \"15m\"");
        }
        std::size_t index = 0;
        while (index < duration_units.size() && duration_units[index].name != name) ++index;
        if (index == duration_units.size()) {
            throw std::invalid_argument("unknown unit \"" + std::string(name) +
                                        "\" (use ms, s, m, h or d)");
        }
        if (index + 1 <= last_unit) {
            throw std::invalid_argument("units must go from largest to smallest, each once");
        }
        last_unit = index + 1;
        const std::int64_t factor = duration_units[index].ms;
        if (value > (std::numeric_limits<std::int64_t>::max() - total) / factor) {
            throw std::invalid_argument("duration too large");
        }
        total += value * factor;
    }
    return duration{total};
}

std::string format_duration(duration d) {
    std::int64_t left = d.count();
    if (left == 0) return "0s";
    std::string out;
    if (left < 0) {
        out = "-";
        left = -left;
    }
    for (const auto& u : duration_units) {
        if (left >= u.ms) {
            out += std::to_string(left / u.ms);
            out += u.name;
            left %= u.ms;
        }
    }
    return out;
}

namespace {

struct size_unit {
    std::string_view name;
    std::uint64_t bytes;
};

constexpr std::array<size_unit, 8> size_units{{
    {"", 1},
    {"B", 1},
    {"KiB", 1ull << 10},
    {"MiB", 1ull << 20},
    {"GiB", 1ull << 30},
    {"KB", 1'000},
    {"MB", 1'000'000},
    {"GB", 1'000'000'000},
}};

}  // namespace

std::uint64_t parse_size(std::string_view text) {
    if (text.empty()) throw std::invalid_argument("empty size");
    if (text.front() == '-') throw std::invalid_argument("negative sizes are not allowed");
    std::size_t i = 0;
    while (i < text.size() && is_digit(text[i])) ++i;
    if (i == 0) throw std::invalid_argument("expected a number, e.g. \"64MiB\"");
    std::uint64_t value = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + i, value);
    if (ec != std::errc{} || ptr != text.data() + i) throw std::invalid_argument("size too large");
    const std::string_view name = text.substr(i);
    for (const auto& u : size_units) {
        if (u.name == name) {
            if (value > std::numeric_limits<std::uint64_t>::max() / u.bytes) {
                throw std::invalid_argument("size too large");
            }
            return value * u.bytes;
        }
    }
    throw std::invalid_argument("unknown unit \"" + std::string(name) +
                                "\" (use B, KiB, MiB, GiB, KB, MB or GB)");
}

std::string format_size(std::uint64_t bytes) {
    if (bytes != 0) {
        for (std::uint64_t factor : {1ull << 30, 1ull << 20, 1ull << 10}) {
            if (bytes % factor == 0) {
                const char* name = factor == (1ull << 30)   ? "GiB"
                                   : factor == (1ull << 20) ? "MiB"
                                                            : "KiB";
                return std::to_string(bytes / factor) + name;
            }
        }
    }
    return std::to_string(bytes) + "B";
}

}  // namespace ksync::config
