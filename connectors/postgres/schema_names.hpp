#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ksync::pg {

// The configured schema pair of one helpdesk (design.md "Names"): several helpdesks can share a
// database, each with its own pair.
struct schema_names {
    std::string mirror = "kayako";
    std::string state = "kayako_sync";

    friend bool operator==(const schema_names&, const schema_names&) = default;
};

// Throws std::invalid_argument unless `name` is a plausible PostgreSQL identifier (1..63 bytes,
// letters, digits, _ and $, not starting with a digit). Identifiers are always quoted when used;
// this check only keeps configuration typos out of the catalogue.
void validate_schema_name(std::string_view name);
void validate(const schema_names& names);

// Advisory lock keys of one helpdesk, derived from its state schema name so that helpdesks in
// one database never contend: the first 8 bytes of SHA-256("kayako-sync:<purpose>:<state>").
std::int64_t advisory_key(std::string_view purpose, std::string_view state_schema);
inline std::int64_t migration_lock_key(const schema_names& n) {
    return advisory_key("migrate", n.state);
}
inline std::int64_t feed_lock_key(const schema_names& n) {
    return advisory_key("feed", n.state);
}
inline std::int64_t leader_lock_key(const schema_names& n) {
    return advisory_key("leader", n.state);
}

// NOTIFY channel that announces committed feed rows (payload: the entity name). Listen with
// LISTEN "<state>.changes" (quoted, it contains a dot).
inline std::string feed_channel(const schema_names& n) {
    return n.state + ".changes";
}

// NOTIFY channel the push-back triggers signal when they queue a change (payload: the entity).
inline std::string push_channel(const schema_names& n) {
    return n.state + ".outbox";
}

// Quoting for SQL text built by this library (identifiers and literals never come from Kayako).
std::string quote_ident(std::string_view name);
std::string quote_literal(std::string_view text);

}  // namespace ksync::pg
