#pragma once

// Record -> mirror row mapping and the canonical content hash. Pure: no database needed, so the
// mapping of every field is unit-testable. Each entity's column list here must equal its table in
// migrations/0001 (a pg test compares them with the catalogue).

#include "connectors/kayako/records.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ksync::pg {

using kayako::id_t;

// One per mirror table; the name is the table name and the feed's `entity` value.
enum class entity {
    tickets,
    posts,
    notes,
    time_tracks,
    attachments,
    ticket_custom_field_values,
    custom_fields,
    custom_field_options,
    users,
    organizations,
    user_groups,
    staff,
    staff_groups,
    departments,
    ticket_statuses,
    ticket_priorities,
    ticket_types,
};
inline constexpr std::size_t entity_count = 17;

std::string_view entity_name(entity e);
std::optional<entity> entity_from_name(std::string_view name);

struct entity_spec {
    entity id;
    std::string_view table;
    std::vector<std::string_view> columns;  // data columns in COPY order; key columns first
    std::size_t key_columns = 1;            // 1 (id) or 2 (ticket_id, field_id)
    bool has_ticket_id = false;             // child of a ticket: known_ids can filter by ticket
};
const entity_spec& spec(entity e);

// Key of a mirror object: (id) or, for ticket_custom_field_values, (ticket_id, field_id).
struct object_key {
    id_t id = 0;
    std::optional<id_t> sub_id;
    friend auto operator<=>(const object_key&, const object_key&) = default;
};

// A mapped record: its key, its data columns as one line of COPY text, and the SHA-256 over a
// length-prefixed encoding of the unescaped column values (NULL distinct from "").
struct mapped_row {
    object_key key;
    std::string copy_line;
    std::array<unsigned char, 32> hash{};
};

// Builds one mapped_row column by column; the conversions are the mirror's conventions.
class row_builder {
public:
    explicit row_builder(const entity_spec& s);
    row_builder& integer(std::int64_t v);
    row_builder& text(std::string_view v);
    row_builder& optional_text(const std::optional<std::string>& v);
    row_builder& boolean(bool v);
    row_builder& time(kayako::unix_time v);  // 0 -> NULL
    row_builder& text_array(const std::vector<std::string>& v);
    row_builder& id_array(const std::vector<id_t>& v);
    row_builder& json(std::string_view raw);  // an already valid JSON text
    mapped_row finish(object_key key);        // throws std::logic_error on a column count mismatch

private:
    void field(std::optional<std::string_view> v);
    const entity_spec& spec_;
    std::size_t count_ = 0;
    std::string line_;
    std::string hash_input_;
};

// Text helpers, exposed for tests.
std::string iso_utc(kayako::unix_time t);  // "2024-05-01 12:00:00+00"
std::string array_literal(const std::vector<std::string>& v);
std::string json_string(std::string_view v);  // "..." with JSON escapes
std::vector<std::string> split_tags(
    std::string_view tags);  // Kayako sends one space-separated string

// One row per value of a ticket's custom fields (the mirror's ticket_custom_field_values).
struct custom_field_value_row {
    id_t ticket_id = 0;
    id_t group_id = 0;
    std::string group_title;
    kayako::custom_field_value field;
};
std::vector<custom_field_value_row> flatten(const kayako::ticket_custom_fields& v);

// map_record: one record -> its mirror row(s), appended to `out`.
void map_record(const kayako::ticket& r, std::vector<mapped_row>& out);
void map_record(const kayako::post& r, std::vector<mapped_row>& out);
void map_record(const kayako::note& r, std::vector<mapped_row>& out);  // ticket notes only
void map_record(const kayako::time_track& r, std::vector<mapped_row>& out);
void map_record(const kayako::attachment& r, std::vector<mapped_row>& out);
void map_record(const kayako::ticket_custom_fields& r,
                std::vector<mapped_row>& out);  // one row per field
void map_record(const custom_field_value_row& r, std::vector<mapped_row>& out);
void map_record(const kayako::custom_field_definition& r, std::vector<mapped_row>& out);
void map_record(const kayako::custom_field_option& r, std::vector<mapped_row>& out);
void map_record(const kayako::user& r, std::vector<mapped_row>& out);
void map_record(const kayako::organization& r, std::vector<mapped_row>& out);
void map_record(const kayako::user_group& r, std::vector<mapped_row>& out);
void map_record(const kayako::staff& r, std::vector<mapped_row>& out);
void map_record(const kayako::staff_group& r, std::vector<mapped_row>& out);
void map_record(const kayako::department& r, std::vector<mapped_row>& out);
void map_record(const kayako::ticket_status& r, std::vector<mapped_row>& out);
void map_record(const kayako::ticket_priority& r, std::vector<mapped_row>& out);
void map_record(const kayako::ticket_type& r, std::vector<mapped_row>& out);

// The entity each record type is applied to.
template <class R>
struct record_entity;
template <>
struct record_entity<kayako::ticket> {
    static constexpr entity value = entity::tickets;
};
template <>
struct record_entity<kayako::post> {
    static constexpr entity value = entity::posts;
};
template <>
struct record_entity<kayako::note> {
    static constexpr entity value = entity::notes;
};
template <>
struct record_entity<kayako::time_track> {
    static constexpr entity value = entity::time_tracks;
};
template <>
struct record_entity<kayako::attachment> {
    static constexpr entity value = entity::attachments;
};
template <>
struct record_entity<kayako::ticket_custom_fields> {
    static constexpr entity value = entity::ticket_custom_field_values;
};
template <>
struct record_entity<custom_field_value_row> {
    static constexpr entity value = entity::ticket_custom_field_values;
};
template <>
struct record_entity<kayako::custom_field_definition> {
    static constexpr entity value = entity::custom_fields;
};
template <>
struct record_entity<kayako::custom_field_option> {
    static constexpr entity value = entity::custom_field_options;
};
template <>
struct record_entity<kayako::user> {
    static constexpr entity value = entity::users;
};
template <>
struct record_entity<kayako::organization> {
    static constexpr entity value = entity::organizations;
};
template <>
struct record_entity<kayako::user_group> {
    static constexpr entity value = entity::user_groups;
};
template <>
struct record_entity<kayako::staff> {
    static constexpr entity value = entity::staff;
};
template <>
struct record_entity<kayako::staff_group> {
    static constexpr entity value = entity::staff_groups;
};
template <>
struct record_entity<kayako::department> {
    static constexpr entity value = entity::departments;
};
template <>
struct record_entity<kayako::ticket_status> {
    static constexpr entity value = entity::ticket_statuses;
};
template <>
struct record_entity<kayako::ticket_priority> {
    static constexpr entity value = entity::ticket_priorities;
};
template <>
struct record_entity<kayako::ticket_type> {
    static constexpr entity value = entity::ticket_types;
};

template <class R>
std::vector<mapped_row> map_records(const std::vector<R>& records) {
    std::vector<mapped_row> out;
    out.reserve(records.size());
    for (const auto& r : records) map_record(r, out);
    return out;
}

}  // namespace ksync::pg
