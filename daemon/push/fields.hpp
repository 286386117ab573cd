#pragma once
// The fields push-back can change (kayako-api.md §6), in one table per entity: the mirror column,
// Kayako's form field, and how a value is compared. Values travel as canonical JSON:
//   integer -> number, text -> string, boolean -> bool, time -> unix seconds or null (0 = null),
//   text_array -> array of strings.
// The trigger's JSON (to_jsonb of the mirror row, timestamps in the editing session's time zone)
// and Kayako's records both normalise to that form, so "changed on both sides" is plain equality.
#include "connectors/kayako/client.hpp"
#include "connectors/postgres/row_mapping.hpp"

#include <boost/json/value.hpp>

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace ksync::push {

enum class field_kind { integer, text, boolean, time, text_array };

struct writable_field {
    std::string_view column;  // mirror column
    std::string_view kayako;  // form field of the PUT
    field_kind kind;
};

// Columns a local edit may change and push (the migration's trigger lists the same ones).
// Empty for entities push-back does not write.
const std::vector<writable_field>& writable_fields(pg::entity e);
const writable_field* find_field(pg::entity e, std::string_view column);

using field_values = std::map<std::string, boost::json::value>;  // column -> canonical value

// "2026-12-02T03:15:14.123+05:30" (PostgreSQL's to_jsonb of timestamptz) -> unix seconds.
// Throws std::invalid_argument on anything else.
std::int64_t parse_pg_timestamp(std::string_view text);

// Normalises one value of a column as the trigger stored it. Throws std::invalid_argument when
// the value does not fit the column's kind.
boost::json::value canonical(field_kind kind, const boost::json::value& v);

// Parses a JSON object (the outbox's old_values/new_values) into canonical values of the
// entity's writable columns; other keys are ignored.
field_values parse_values(pg::entity e, std::string_view json_object);

// Kayako's current values of the writable columns.
field_values remote_values(const kayako::ticket& t);
field_values remote_values(const kayako::user& u);
field_values remote_values(const kayako::organization& o);

// What goes on the wire. `send` holds canonical values keyed by column.
kayako::ticket_update to_ticket_update(const field_values& send);
kayako::user_update to_user_update(const field_values& send);                  // needs full_name
kayako::organization_fields to_organization_fields(const field_values& send);  // every field

// Short text of a canonical value for logs, conflicts and errors.
std::string show(const boost::json::value& v);

}  // namespace ksync::push
