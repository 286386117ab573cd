#include "config/yaml_reader.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>

namespace ksync::config::detail {
namespace {

std::string line_suffix(const YAML::Node& node) {
    const YAML::Mark mark = node.Mark();
    if (mark.is_null() || mark.line < 0) return {};
    return " (line " + std::to_string(mark.line + 1) + ")";
}

std::string type_name(const YAML::Node& n) {
    switch (n.Type()) {
        case YAML::NodeType::Map:
            return "a mapping";
        case YAML::NodeType::Sequence:
            return "a list";
        case YAML::NodeType::Null:
            return "nothing";
        case YAML::NodeType::Scalar:
            return "a single value";
        case YAML::NodeType::Undefined:
            break;
    }
    return "nothing";
}

// The raw text of a scalar; anything else is a type error.
std::string scalar(const YAML::Node& n, const std::string& path, std::string_view expected) {
    if (!n.IsScalar()) {
        fail(n, path, "expected " + std::string(expected) + ", got " + type_name(n));
    }
    return n.Scalar();
}

std::string quoted(const std::string& value) {
    // Values in messages are bounded so a pasted blob cannot flood the terminal.
    std::string v = value.size() > 60 ? value.substr(0, 60) + "..." : value;
    return "\"" + v + "\"";
}

// Optimal string alignment distance: a swap of two neighbours ("retyr") counts as one edit.
std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
    for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
    for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
                d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
            }
        }
    }
    return d[a.size()][b.size()];
}

}  // namespace

void fail(const YAML::Node& node, const std::string& path, const std::string& reason) {
    throw config_error(path, reason + line_suffix(node));
}

section::section(const YAML::Node& node, std::string path) : node_(node), path_(std::move(path)) {
    if (!node_.IsDefined() || node_.IsNull()) {
        node_ = YAML::Node(YAML::NodeType::Map);
        return;
    }
    if (!node_.IsMap()) {
        fail(node_, path_.empty() ? std::string("(top level)") : path_,
             "expected a mapping of keys, got " + type_name(node_));
    }
    // yaml-cpp keeps duplicate keys and answers lookups with the first one; a second value the
    // operator believes in would be silently ignored, so refuse it.
    std::set<std::string, std::less<>> seen;
    for (const auto& kv : node_) {
        if (!kv.first.IsScalar()) fail(kv.first, path_of("?"), "keys must be plain names");
        const std::string& k = kv.first.Scalar();
        if (!seen.insert(k).second) fail(kv.first, path_of(k), "duplicate key");
    }
}

std::string section::path_of(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

bool section::has(std::string_view key) {
    known_.emplace(key);
    for (const auto& kv : node_) {
        if (kv.first.Scalar() == key) return true;
    }
    return false;
}

std::optional<YAML::Node> section::take(std::string_view key) {
    known_.emplace(key);
    for (const auto& kv : node_) {
        if (kv.first.Scalar() == key) return kv.second;
    }
    return std::nullopt;
}

section section::child(std::string_view key) {
    auto n = take(key);
    return section(n ? *n : YAML::Node(), path_of(key));
}

void section::finish() const {
    std::vector<std::string> known(known_.begin(), known_.end());
    for (const auto& kv : node_) {
        const std::string& k = kv.first.Scalar();
        if (known_.contains(k)) continue;
        std::string reason = "unknown key";
        if (auto guess = nearest(k, known)) reason += " (did you mean '" + *guess + "'?)";
        fail(kv.first, path_of(k), reason);
    }
}

std::string as_string(const YAML::Node& n, const std::string& path, bool sensitive) {
    if (n.IsNull()) fail(n, path, "has no value");
    if (sensitive && !n.IsScalar()) {
        // Do not describe the structure further: it may be the secret, mis-indented.
        fail(n, path, "expected a single string value");
    }
    return scalar(n, path, "a string");
}

std::string as_nonempty_string(const YAML::Node& n, const std::string& path) {
    std::string s = as_string(n, path);
    if (s.empty()) fail(n, path, "must not be empty");
    return s;
}

bool as_bool(const YAML::Node& n, const std::string& path) {
    const std::string s = scalar(n, path, "true or false");
    if (s == "true" || s == "True" || s == "TRUE" || s == "yes" || s == "on") return true;
    if (s == "false" || s == "False" || s == "FALSE" || s == "no" || s == "off") return false;
    fail(n, path, "expected true or false, got " + quoted(s));
}

long long as_int(const YAML::Node& n, const std::string& path, long long min, long long max) {
    const std::string s = scalar(n, path, "an integer");
    long long v = 0;
    const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || ptr != s.data() + s.size() || s.empty()) {
        fail(n, path, "expected an integer, got " + quoted(s));
    }
    if (v < min || v > max) {
        fail(n, path,
             "must be between " + std::to_string(min) + " and " + std::to_string(max) + ", got " +
                 s);
    }
    return v;
}

double as_double(const YAML::Node& n, const std::string& path, double min, double max,
                 bool min_exclusive) {
    const std::string s = scalar(n, path, "a number");
    double v = 0;
    const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || ptr != s.data() + s.size() || s.empty() || !std::isfinite(v)) {
        fail(n, path, "expected a number, got " + quoted(s));
    }
    if ((min_exclusive ? v <= min : v < min) || v > max) {
        fail(n, path,
             fmt::format("must be {} {} and at most {}, got {}",
                         min_exclusive ? "greater than" : "at least", min, max, s));
    }
    return v;
}

duration as_duration(const YAML::Node& n, const std::string& path, bool positive) {
    const std::string s = scalar(n, path, "a duration such as \"90s\" or \"15m\"");
    duration d{};
    try {
        d = parse_duration(s);
    } catch (const std::invalid_argument& e) {
        fail(n, path, "invalid duration " + quoted(s) + ": " + e.what());
    }
    if (positive && d.count() == 0) fail(n, path, "must be greater than zero");
    return d;
}

std::uint64_t as_size(const YAML::Node& n, const std::string& path, std::uint64_t min,
                      std::uint64_t max) {
    const std::string s = scalar(n, path, "a size such as \"64MiB\"");
    std::uint64_t v = 0;
    try {
        v = parse_size(s);
    } catch (const std::invalid_argument& e) {
        fail(n, path, "invalid size " + quoted(s) + ": " + e.what());
    }
    if (v < min || v > max) {
        fail(n, path,
             "must be between " + format_size(min) + " and " + format_size(max) + ", got " + s);
    }
    return v;
}

std::size_t as_choice(const YAML::Node& n, const std::string& path,
                      const std::vector<std::string_view>& choices) {
    std::string list;
    for (auto c : choices) list += (list.empty() ? "" : "|") + std::string(c);
    const std::string s = scalar(n, path, "one of " + list);
    for (std::size_t i = 0; i < choices.size(); ++i) {
        if (choices[i] == s) return i;
    }
    fail(n, path, "expected one of " + list + ", got " + quoted(s));
}

std::optional<std::string> nearest(std::string_view word,
                                   const std::vector<std::string>& candidates) {
    std::optional<std::string> best;
    std::size_t best_distance = 0;
    for (const auto& c : candidates) {
        const std::size_t d = edit_distance(word, c);
        if (!best || d < best_distance) {
            best = c;
            best_distance = d;
        }
    }
    // A third of the word (at least one edit, at most three) separates a typo from another name.
    const std::size_t limit = std::clamp<std::size_t>(word.size() / 3, 1, 3);
    if (best && best_distance <= limit) return best;
    return std::nullopt;
}

}  // namespace ksync::config::detail
