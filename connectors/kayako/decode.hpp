#pragma once

// Decoders for every Kayako response document (kayako-api.md §3-§5), into the structs of
// records.hpp. Input: the XML from check_response() (starting at "<?xml").
//
// Rules shared by all decoders:
//  - The root element is checked; a wrong root, a DOCTYPE, malformed or truncated XML, NUL bytes,
//    or content after the root throw xml_error: the whole page is unusable.
//  - Records are decoded one at a time with bounded memory (one record subtree at a time).
//  - A record that cannot be decoded (a malformed number, a missing required id) is a
//    record_error carrying the record type, its 0-based index in the page and its id when known.
//    With an error sink, decoding continues with the next record; without one, it is thrown.
//  - Values may be CDATA (Kayako wraps every non-empty scalar) or plain text; adjacent CDATA
//    sections are joined (Kayako splits "]]>" that way). `<x />` and CDATA[0] both give 0 / false
//    / "". Whitespace-only text next to CDATA is layout (a pretty-printed capture) and dropped.
//  - Unknown elements and attributes are ignored (newer servers may add some); a missing known
//    element keeps its default.
//
// The record sink and error sink are called in document order. If the document turns out to be
// broken after some records were delivered, xml_error is still thrown at the end: the caller must
// treat the page as failed (in particular never infer deletions from it).

#include <functional>
#include <string_view>
#include <vector>

#include "connectors/kayako/errors.hpp"
#include "connectors/kayako/records.hpp"

namespace ksync::kayako {

template <class T>
using record_sink = std::function<void(T&&)>;
using error_sink = std::function<void(record_error&&)>;

// Streaming decoders: <root> -> each record.
void decode_tickets(std::string_view xml, const record_sink<ticket>& on_record,
                    const error_sink& on_error = {});  // <tickets><ticket>
void decode_posts(std::string_view xml, const record_sink<post>& on_record,
                  const error_sink& on_error = {});  // <posts><post>
void decode_notes(std::string_view xml, const record_sink<note>& on_record,
                  const error_sink& on_error = {});  // <notes><note>
void decode_time_tracks(std::string_view xml, const record_sink<time_track>& on_record,
                        const error_sink& on_error = {});  // <timetracks><timetrack>
void decode_attachments(std::string_view xml, const record_sink<attachment>& on_record,
                        const error_sink& on_error = {});  // <attachments><attachment>
void decode_users(std::string_view xml, const record_sink<user>& on_record,
                  const error_sink& on_error = {});  // <users><user>
void decode_organizations(
    std::string_view xml, const record_sink<organization>& on_record,
    const error_sink& on_error = {});  // <userorganizations><userorganization>
void decode_user_groups(std::string_view xml, const record_sink<user_group>& on_record,
                        const error_sink& on_error = {});  // <usergroups><usergroup>
void decode_staff(std::string_view xml, const record_sink<staff>& on_record,
                  const error_sink& on_error = {});  // <staffusers><staff>
void decode_staff_groups(std::string_view xml, const record_sink<staff_group>& on_record,
                         const error_sink& on_error = {});  // <staffgroups><staffgroup>
void decode_departments(std::string_view xml, const record_sink<department>& on_record,
                        const error_sink& on_error = {});  // <departments><department>
void decode_ticket_statuses(std::string_view xml, const record_sink<ticket_status>& on_record,
                            const error_sink& on_error = {});  // <ticketstatuses><ticketstatus>
void decode_ticket_priorities(
    std::string_view xml, const record_sink<ticket_priority>& on_record,
    const error_sink& on_error = {});  // <ticketpriorities><ticketpriority>
void decode_ticket_types(std::string_view xml, const record_sink<ticket_type>& on_record,
                         const error_sink& on_error = {});  // <tickettypes><tickettype>
void decode_custom_field_definitions(
    std::string_view xml, const record_sink<custom_field_definition>& on_record,
    const error_sink& on_error = {});  // <customfields><customfield/>
void decode_custom_field_options(std::string_view xml,
                                 const record_sink<custom_field_option>& on_record,
                                 const error_sink& on_error = {});  // <customfieldoptions><option/>

// Convenience: the whole page as a vector; the first record_error or xml_error is thrown.
[[nodiscard]] std::vector<ticket> parse_tickets(std::string_view xml);
[[nodiscard]] std::vector<post> parse_posts(std::string_view xml);
[[nodiscard]] std::vector<note> parse_notes(std::string_view xml);
[[nodiscard]] std::vector<time_track> parse_time_tracks(std::string_view xml);
[[nodiscard]] std::vector<attachment> parse_attachments(std::string_view xml);
[[nodiscard]] std::vector<user> parse_users(std::string_view xml);
[[nodiscard]] std::vector<organization> parse_organizations(std::string_view xml);
[[nodiscard]] std::vector<user_group> parse_user_groups(std::string_view xml);
[[nodiscard]] std::vector<staff> parse_staff(std::string_view xml);
[[nodiscard]] std::vector<staff_group> parse_staff_groups(std::string_view xml);
[[nodiscard]] std::vector<department> parse_departments(std::string_view xml);
[[nodiscard]] std::vector<ticket_status> parse_ticket_statuses(std::string_view xml);
[[nodiscard]] std::vector<ticket_priority> parse_ticket_priorities(std::string_view xml);
[[nodiscard]] std::vector<ticket_type> parse_ticket_types(std::string_view xml);
[[nodiscard]] std::vector<custom_field_definition> parse_custom_field_definitions(
    std::string_view xml);
[[nodiscard]] std::vector<custom_field_option> parse_custom_field_options(std::string_view xml);

// Whole-document decoders (small documents; any error fails the document):
// <customfields><group id title displayorder><field id title type name [filename]>value</field>
// ticketid is not in the XML; it is copied into the result.
[[nodiscard]] ticket_custom_fields parse_ticket_custom_fields(std::string_view xml, id_t ticketid);
// <ticketcount><departments>…</departments><statuses/><owners/><unassigned/></ticketcount>
[[nodiscard]] ticket_count parse_ticket_count(std::string_view xml);

}  // namespace ksync::kayako
