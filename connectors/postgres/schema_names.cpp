#include "connectors/postgres/schema_names.hpp"

#include <openssl/evp.h>

#include <array>
#include <stdexcept>
#include <string>

namespace ksync::pg {

void validate_schema_name(std::string_view name) {
    auto bad = [&](const char* why) {
        throw std::invalid_argument("invalid schema name \"" + std::string(name) + "\": " + why);
    };
    if (name.empty()) bad("empty");
    if (name.size() > 63) bad("longer than 63 bytes");
    if (name[0] >= '0' && name[0] <= '9') bad("starts with a digit");
    for (char c : name) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '_' || c == '$';
        if (!ok) bad("only letters, digits, _ and $ are allowed");
    }
}

void validate(const schema_names& names) {
    validate_schema_name(names.mirror);
    validate_schema_name(names.state);
    if (names.mirror == names.state)
        throw std::invalid_argument("the mirror and state schemas must differ (both are \"" +
                                    names.mirror + "\")");
}

std::int64_t advisory_key(std::string_view purpose, std::string_view state_schema) {
    const std::string input =
        "kayako-sync:" + std::string(purpose) + ":" + std::string(state_schema);
    std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
    unsigned int len = 0;
    if (EVP_Digest(input.data(), input.size(), md.data(), &len, EVP_sha256(), nullptr) != 1)
        throw std::runtime_error("advisory_key: SHA-256 failed");
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | md[static_cast<std::size_t>(i)];
    return static_cast<std::int64_t>(v);
}

std::string quote_ident(std::string_view name) {
    std::string out = "\"";
    for (char c : name) {
        if (c == '"') out += '"';
        out += c;
    }
    out += '"';
    return out;
}

std::string quote_literal(std::string_view text) {
    std::string out = "'";
    for (char c : text) {
        if (c == '\'') out += '\'';
        out += c;
    }
    out += '\'';
    return out;
}

}  // namespace ksync::pg
