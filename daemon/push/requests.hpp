#pragma once
// Intake rows (as the outbox stores them: to_jsonb of the row, password removed) -> the Kayako
// client's write requests, and the text of a call for `kayako-sync outbox dry-run`.
#include "connectors/kayako/client.hpp"
#include "connectors/kayako/url.hpp"

#include <boost/json/object.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace ksync::push {

boost::json::object parse_object(std::string_view text);  // throws std::invalid_argument

kayako::new_ticket ticket_from_intake(const boost::json::object& row);
// `ticket_id`: the row's ticket_id, or the Kayako id of its intake ticket.
kayako::new_post post_from_intake(const boost::json::object& row, kayako::id_t ticket_id);
kayako::new_note note_from_intake(const boost::json::object& row, kayako::id_t ticket_id);
kayako::new_user user_from_intake(const boost::json::object& row, ksync::secret password);
kayako::organization_fields organization_from_intake(const boost::json::object& row);

// The intake row's ticket: its ticket_id, or nullopt with the intake ticket id in `intake_ticket`.
std::optional<kayako::id_t> intake_target_ticket(const boost::json::object& row,
                                                 std::optional<std::int64_t>* intake_ticket);

// "PUT /Tickets/Ticket/12  ticketstatusid=3 subject="a b"": one line per call, values quoted
// when they contain spaces or are empty, passwords shown as <hidden>.
std::string describe_call(std::string_view method, std::string_view path,
                          const kayako::param_list& fields);

}  // namespace ksync::push
