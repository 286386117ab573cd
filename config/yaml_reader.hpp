#pragma once

// Internal to config/: a strict view of one YAML mapping. Every key read is recorded, so finish()
// can reject the keys nobody asked for (typos) and suggest the nearest known one. All errors are
// config_error with the full key path; values of sensitive keys are never quoted in them.

#include "config/config.hpp"

#include <yaml-cpp/yaml.h>

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace ksync::config::detail {

[[noreturn]] void fail(const YAML::Node& node, const std::string& path, const std::string& reason);

class section {
public:
    // `node` must be a mapping; a null node (a key with no value, or an absent section) reads as
    // an empty mapping. `path` is "" for the document root.
    section(const YAML::Node& node, std::string path);

    [[nodiscard]] std::string path_of(std::string_view key) const;
    [[nodiscard]] const std::string& path() const noexcept { return path_; }
    [[nodiscard]] bool has(std::string_view key);
    // The value at key, or nothing when absent. Records the key as known.
    [[nodiscard]] std::optional<YAML::Node> take(std::string_view key);
    [[nodiscard]] section child(std::string_view key);
    // Rejects every key that was never asked for.
    void finish() const;

private:
    YAML::Node node_;
    std::string path_;
    std::set<std::string, std::less<>> known_;
};

// Scalar conversions. `path` names the key in errors.
std::string as_string(const YAML::Node& n, const std::string& path, bool sensitive = false);
std::string as_nonempty_string(const YAML::Node& n, const std::string& path);
bool as_bool(const YAML::Node& n, const std::string& path);
long long as_int(const YAML::Node& n, const std::string& path, long long min, long long max);
double as_double(const YAML::Node& n, const std::string& path, double min, double max,
                 bool min_exclusive);
// positive: zero is rejected ("an interval of zero"); otherwise zero is allowed.
duration as_duration(const YAML::Node& n, const std::string& path, bool positive);
std::uint64_t as_size(const YAML::Node& n, const std::string& path, std::uint64_t min,
                      std::uint64_t max);
// One of `choices`; returns its index.
std::size_t as_choice(const YAML::Node& n, const std::string& path,
                      const std::vector<std::string_view>& choices);

// The closest of `candidates` to `word` if it is close enough to be a likely typo.
std::optional<std::string> nearest(std::string_view word,
                                   const std::vector<std::string>& candidates);

}  // namespace ksync::config::detail
