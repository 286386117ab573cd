#pragma once

// The few PHP behaviours the Kayako front controller depends on, reimplemented so the emulator
// parses requests the way PHP fills $_GET/$_POST (kayako-api.md §1): urldecode, parse_str with
// array syntax (`a[]=`, `a[0]=`, `a%5B0%5D=`), PHP's loose empty(), and the Router's Clean().

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ksync::emulator::php {

// PHP urldecode(): '+' becomes a space, %XX is decoded, a malformed escape stays as is.
std::string urldecode(std::string_view s);

// One PHP variable of a superglobal: a scalar string or an array of (key path, value) entries.
// Arrays keep PHP's insertion order; nested keys (`a[1][x]`) keep their full key path.
struct value {
    std::string scalar;
    bool is_array = false;
    std::vector<std::pair<std::vector<std::string>, std::string>> items;

    // The array elements whose key path has one element, in order (e.g. usergroupid[]).
    [[nodiscard]] std::vector<std::string> list() const;
};

// A superglobal such as $_GET: ordered by insertion like a PHP array.
class vars {
public:
    [[nodiscard]] bool has(std::string_view key) const;
    [[nodiscard]] const value* find(std::string_view key) const;
    // The scalar value, or "" when missing or an array.
    [[nodiscard]] std::string get(std::string_view key) const;
    // PHP empty($x[key]): missing, "", "0", or an empty array.
    [[nodiscard]] bool empty(std::string_view key) const;
    [[nodiscard]] bool empty() const { return entries_.empty(); }
    [[nodiscard]] std::size_t size() const { return entries_.size(); }
    void set(std::string key, value v);
    void set_scalar(std::string key, std::string v);
    void erase(std::string_view key);
    // Copies every key of `other` into this one (array_merge for string keys: other wins).
    void merge(const vars& other);
    [[nodiscard]] const std::vector<std::pair<std::string, value>>& entries() const {
        return entries_;
    }

private:
    value& slot(const std::string& key);
    std::vector<std::pair<std::string, value>> entries_;
};

// PHP parse_str(): splits on '&', decodes keys and values, turns '.' and ' ' in the top-level
// key into '_', and understands bracket syntax. `only_if_unset` adds keys missing from `out` only.
void parse_str(std::string_view query, vars& out, bool only_if_unset = false);

// The Router's argument check: ^[A-Za-z0-9\s,~%.:=_-]+$ (an empty string passes).
bool uri_argument_allowed(std::string_view s);

// Clean(): keeps only [A-Za-z0-9_:,-].
std::string clean(std::string_view s);

// PHP trim() with its default character set (space, \t, \n, \r, \0, \x0B).
std::string_view trim(std::string_view s);

// is_numeric() for the strings Kayako passes around (optional sign, digits, one dot, exponent).
bool is_numeric(std::string_view s);

// (int) cast of a string: leading whitespace, optional sign, digits; anything else gives 0.
long long to_int(std::string_view s);

// Lower-cases ASCII letters (PHP strtolower on the ASCII range).
std::string lower(std::string_view s);

// A flat JSON object decoded like json_decode(..., true) would for auth fields: string, number
// and boolean members become strings (true "1", false ""), nested values are skipped. Returns
// nullopt when the body is not a JSON object (PHP would give null, i.e. no variables at all).
std::optional<vars> json_object(std::string_view body);

}  // namespace ksync::emulator::php
