#include "tests/emulator/php.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace ksync::emulator::php {

namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool is_php_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\0' || c == '\x0B';
}

// Splits a decoded PHP variable name into its base name and bracket indexes, the way
// php_register_variable_ex does. Returns false when the variable is dropped.
bool split_name(std::string_view name, std::string& base, std::vector<std::string>& path,
                std::vector<bool>& auto_index) {
    while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
    const auto open = name.find('[');
    std::string_view head = open == std::string_view::npos ? name : name.substr(0, open);
    if (head.empty()) return false;
    base.assign(head);
    // PHP mangles ' ' and '.' in the top-level name (and '[' when no index follows).
    for (auto& c : base)
        if (c == ' ' || c == '.') c = '_';
    if (open == std::string_view::npos) return true;

    std::string_view rest = name.substr(open);
    bool first = true;
    while (!rest.empty() && rest.front() == '[') {
        const auto close = rest.find(']');
        if (close == std::string_view::npos) {
            if (first) {
                // "a[b" without ']' : the '[' becomes '_' and the rest is part of the name.
                base.push_back('_');
                for (char c : rest.substr(1)) base.push_back(c == ' ' || c == '.' ? '_' : c);
            }
            break;
        }
        std::string idx(rest.substr(1, close - 1));
        auto_index.push_back(idx.empty());
        path.push_back(std::move(idx));
        rest.remove_prefix(close + 1);
        first = false;
    }
    return true;
}

}  // namespace

std::string urldecode(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        if (c == '+') {
            out.push_back(' ');
        } else if (c == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 &&
                   hex_value(s[i + 2]) >= 0) {
            out.push_back(static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2])));
            i += 2;
        } else {
            out.push_back(c);
        }
    }
    return out;
}

std::vector<std::string> value::list() const {
    std::vector<std::string> out;
    for (const auto& [path, v] : items)
        if (path.size() == 1) out.push_back(v);
    return out;
}

bool vars::has(std::string_view key) const {
    return find(key) != nullptr;
}

const value* vars::find(std::string_view key) const {
    for (const auto& [k, v] : entries_)
        if (k == key) return &v;
    return nullptr;
}

std::string vars::get(std::string_view key) const {
    const value* v = find(key);
    return v == nullptr || v->is_array ? std::string() : v->scalar;
}

bool vars::empty(std::string_view key) const {
    const value* v = find(key);
    if (v == nullptr) return true;
    if (v->is_array) return v->items.empty();
    return v->scalar.empty() || v->scalar == "0";
}

value& vars::slot(const std::string& key) {
    for (auto& [k, v] : entries_)
        if (k == key) return v;
    entries_.emplace_back(key, value{});
    return entries_.back().second;
}

void vars::set(std::string key, value v) {
    slot(key) = std::move(v);
}

void vars::set_scalar(std::string key, std::string v) {
    value& s = slot(key);
    s = value{};
    s.scalar = std::move(v);
}

void vars::erase(std::string_view key) {
    std::erase_if(entries_, [&](const auto& e) { return e.first == key; });
}

void vars::merge(const vars& other) {
    for (const auto& [k, v] : other.entries_) slot(k) = v;
}

void parse_str(std::string_view query, vars& out, bool only_if_unset) {
    vars fresh;
    std::size_t pos = 0;
    while (pos <= query.size()) {
        auto amp = query.find('&', pos);
        if (amp == std::string_view::npos) amp = query.size();
        const std::string_view pair = query.substr(pos, amp - pos);
        pos = amp + 1;
        if (pair.empty()) continue;
        const auto eq = pair.find('=');
        const std::string name = urldecode(pair.substr(0, eq));
        std::string val =
            eq == std::string_view::npos ? std::string() : urldecode(pair.substr(eq + 1));

        std::string base;
        std::vector<std::string> path;
        std::vector<bool> auto_index;
        if (!split_name(name, base, path, auto_index)) continue;
        if (path.empty()) {
            fresh.set_scalar(base, std::move(val));
            continue;
        }
        value current;
        if (const value* existing = fresh.find(base); existing != nullptr && existing->is_array)
            current = *existing;
        current.is_array = true;
        current.scalar.clear();
        // Resolve `[]` to the next integer index at its level, as PHP does.
        for (std::size_t level = 0; level < path.size(); ++level) {
            if (!auto_index[level]) continue;
            long long next = 0;
            for (const auto& [p, v] : current.items) {
                if (p.size() <= level ||
                    !std::equal(path.begin(), path.begin() + static_cast<long>(level), p.begin()))
                    continue;
                long long n = 0;
                auto [ptr, ec] =
                    std::from_chars(p[level].data(), p[level].data() + p[level].size(), n);
                if (ec == std::errc() && ptr == p[level].data() + p[level].size())
                    next = std::max(next, n + 1);
            }
            path[level] = std::to_string(next);
        }
        auto it = std::find_if(current.items.begin(), current.items.end(),
                               [&](const auto& item) { return item.first == path; });
        if (it != current.items.end())
            it->second = std::move(val);
        else
            current.items.emplace_back(std::move(path), std::move(val));
        fresh.set(base, std::move(current));
    }
    for (const auto& [k, v] : fresh.entries())
        if (!only_if_unset || !out.has(k)) out.set(k, v);
}

bool uri_argument_allowed(std::string_view s) {
    for (char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (std::isalnum(u) != 0) continue;
        // \s in PCRE without /u: space, \t, \n, \v, \f, \r
        if (c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r') continue;
        if (c == ',' || c == '~' || c == '%' || c == '.' || c == ':' || c == '=' || c == '_' ||
            c == '-')
            continue;
        return false;
    }
    return true;
}

std::string clean(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (std::isalnum(u) != 0 || c == '_' || c == ':' || c == ',' || c == '-') out.push_back(c);
    }
    return out;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_php_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_php_space(s.back())) s.remove_suffix(1);
    return s;
}

bool is_numeric(std::string_view s) {
    // PHP allows leading whitespace (and, since 8, trailing whitespace).
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' ||
                          s.front() == '\r' || s.front() == '\v' || s.front() == '\f'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' ||
                          s.back() == '\r' || s.back() == '\v' || s.back() == '\f'))
        s.remove_suffix(1);
    std::size_t i = 0;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    std::size_t digits = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])) != 0) ++i, ++digits;
    if (i < s.size() && s[i] == '.') {
        ++i;
        while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])) != 0) ++i, ++digits;
    }
    if (digits == 0) return false;
    if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
        ++i;
        if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
        std::size_t exp = 0;
        while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])) != 0) ++i, ++exp;
        if (exp == 0) return false;
    }
    return i == s.size();
}

long long to_int(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' ||
                          s.front() == '\r' || s.front() == '\v' || s.front() == '\f'))
        s.remove_prefix(1);
    if (!s.empty() && s.front() == '+') s.remove_prefix(1);
    long long v = 0;
    std::from_chars(s.data(), s.data() + s.size(), v);
    return v;
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

namespace {

struct json_reader {
    std::string_view s;
    std::size_t i = 0;

    void ws() {
        while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) ++i;
    }
    bool string(std::string& out) {
        if (i >= s.size() || s[i] != '"') return false;
        ++i;
        while (i < s.size() && s[i] != '"') {
            char c = s[i++];
            if (c != '\\') {
                out.push_back(c);
                continue;
            }
            if (i >= s.size()) return false;
            c = s[i++];
            switch (c) {
                case 'n':
                    out.push_back('\n');
                    break;
                case 't':
                    out.push_back('\t');
                    break;
                case 'r':
                    out.push_back('\r');
                    break;
                case 'b':
                    out.push_back('\b');
                    break;
                case 'f':
                    out.push_back('\f');
                    break;
                case 'u': {
                    if (i + 4 > s.size()) return false;
                    unsigned cp = 0;
                    for (int k = 0; k < 4; ++k) {
                        const int h = hex_value(s[i++]);
                        if (h < 0) return false;
                        cp = cp * 16 + static_cast<unsigned>(h);
                    }
                    // Basic Multilingual Plane only: auth fields are ASCII anyway.
                    if (cp < 0x80) {
                        out.push_back(static_cast<char>(cp));
                    } else if (cp < 0x800) {
                        out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
                        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
                    } else {
                        out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
                        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
                        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
                    }
                    break;
                }
                default:
                    out.push_back(c);
            }
        }
        if (i >= s.size()) return false;
        ++i;
        return true;
    }
    // Skips any JSON value; returns its scalar rendering when it is a scalar.
    bool any(std::optional<std::string>& scalar) {
        ws();
        if (i >= s.size()) return false;
        const char c = s[i];
        if (c == '"') {
            std::string v;
            if (!string(v)) return false;
            scalar = std::move(v);
            return true;
        }
        if (c == '{' || c == '[') {
            const char close = c == '{' ? '}' : ']';
            ++i;
            ws();
            if (i < s.size() && s[i] == close) {
                ++i;
                return true;
            }
            while (true) {
                if (close == '}') {
                    ws();
                    std::string k;
                    if (!string(k)) return false;
                    ws();
                    if (i >= s.size() || s[i] != ':') return false;
                    ++i;
                }
                std::optional<std::string> ignored;
                if (!any(ignored)) return false;
                ws();
                if (i < s.size() && s[i] == ',') {
                    ++i;
                    continue;
                }
                if (i < s.size() && s[i] == close) {
                    ++i;
                    return true;
                }
                return false;
            }
        }
        const std::size_t start = i;
        while (i < s.size() && s[i] != ',' && s[i] != '}' && s[i] != ']' && s[i] != ' ' &&
               s[i] != '\n' && s[i] != '\r' && s[i] != '\t')
            ++i;
        const std::string_view lit = s.substr(start, i - start);
        if (lit == "true") {
            scalar = "1";
        } else if (lit == "false" || lit == "null") {
            scalar = "";
        } else if (is_numeric(lit)) {
            scalar = std::string(lit);
        } else {
            return false;
        }
        return true;
    }
};

}  // namespace

std::optional<vars> json_object(std::string_view body) {
    json_reader r{body};
    r.ws();
    if (r.i >= body.size() || body[r.i] != '{') return std::nullopt;
    ++r.i;
    vars out;
    r.ws();
    if (r.i < body.size() && body[r.i] == '}') return out;
    while (true) {
        r.ws();
        std::string key;
        if (!r.string(key)) return std::nullopt;
        r.ws();
        if (r.i >= body.size() || body[r.i] != ':') return std::nullopt;
        ++r.i;
        std::optional<std::string> scalar;
        if (!r.any(scalar)) return std::nullopt;
        if (scalar) out.set_scalar(key, std::move(*scalar));
        r.ws();
        if (r.i < body.size() && body[r.i] == ',') {
            ++r.i;
            continue;
        }
        if (r.i < body.size() && body[r.i] == '}') {
            ++r.i;
            r.ws();
            return r.i == body.size() ? std::optional<vars>(std::move(out)) : std::nullopt;
        }
        return std::nullopt;
    }
}

}  // namespace ksync::emulator::php
