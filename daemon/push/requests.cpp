#include "daemon/push/requests.hpp"

#include "daemon/push/fields.hpp"

#include <boost/json/parse.hpp>

#include <stdexcept>

namespace ksync::push {

namespace json = boost::json;

namespace {

const json::value* get(const json::object& o, std::string_view key) {
    const auto it = o.find(key);
    if (it == o.end() || it->value().is_null()) return nullptr;
    return &it->value();
}

std::string text(const json::object& o, std::string_view key) {
    const auto* v = get(o, key);
    if (!v) throw std::invalid_argument("intake row has no " + std::string(key));
    return std::string(v->as_string());
}

std::optional<std::string> opt_text(const json::object& o, std::string_view key) {
    const auto* v = get(o, key);
    if (!v) return std::nullopt;
    return std::string(v->as_string());
}

std::int64_t integer(const json::object& o, std::string_view key) {
    const auto* v = get(o, key);
    if (!v) throw std::invalid_argument("intake row has no " + std::string(key));
    return v->to_number<std::int64_t>();
}

std::optional<std::int64_t> opt_integer(const json::object& o, std::string_view key) {
    const auto* v = get(o, key);
    if (!v) return std::nullopt;
    return v->to_number<std::int64_t>();
}

bool flag(const json::object& o, std::string_view key) {
    const auto* v = get(o, key);
    return v && v->as_bool();
}

std::optional<bool> opt_flag(const json::object& o, std::string_view key) {
    const auto* v = get(o, key);
    if (!v) return std::nullopt;
    return v->as_bool();
}

std::optional<kayako::unix_time> opt_time(const json::object& o, std::string_view key) {
    const auto* v = get(o, key);
    if (!v) return std::nullopt;
    return parse_pg_timestamp(v->as_string());
}

}  // namespace

json::object parse_object(std::string_view text) {
    boost::system::error_code ec;
    auto v = json::parse(text, ec);
    if (ec || !v.is_object()) throw std::invalid_argument("not a JSON object");
    return std::move(v.as_object());
}

kayako::new_ticket ticket_from_intake(const json::object& row) {
    kayako::new_ticket t;
    t.subject = text(row, "subject");
    t.fullname = text(row, "full_name");
    t.email = text(row, "email");
    t.contents = text(row, "contents");
    t.departmentid = integer(row, "department_id");
    t.ticketstatusid = integer(row, "status_id");
    t.ticketpriorityid = integer(row, "priority_id");
    t.tickettypeid = integer(row, "type_id");
    t.userid = opt_integer(row, "user_id");
    t.staffid = opt_integer(row, "staff_id");
    t.autouserid = flag(row, "auto_user");
    t.ownerstaffid = opt_integer(row, "owner_staff_id");
    t.emailqueueid = opt_integer(row, "email_queue_id");
    t.templategroup = opt_text(row, "template_group");
    t.phone = opt_text(row, "creation_type").value_or("default") == "phone";
    t.ignoreautoresponder = flag(row, "ignore_auto_responder");
    return t;
}

kayako::new_post post_from_intake(const json::object& row, kayako::id_t ticket_id) {
    kayako::new_post p;
    p.ticketid = ticket_id;
    p.contents = text(row, "contents");
    p.userid = opt_integer(row, "user_id");
    p.staffid = opt_integer(row, "staff_id");
    p.isprivate = flag(row, "is_private");
    return p;
}

kayako::new_note note_from_intake(const json::object& row, kayako::id_t ticket_id) {
    kayako::new_note n;
    n.ticketid = ticket_id;
    n.contents = text(row, "contents");
    n.staffid = opt_integer(row, "staff_id");
    n.fullname = opt_text(row, "full_name");
    n.forstaffid = opt_integer(row, "for_staff_id");
    if (auto c = opt_integer(row, "note_color")) n.notecolor = static_cast<int>(*c);
    return n;
}

kayako::new_user user_from_intake(const json::object& row, ksync::secret password) {
    kayako::new_user u;
    u.fullname = text(row, "full_name");
    u.password = std::move(password);
    const auto* emails = get(row, "emails");
    if (!emails) throw std::invalid_argument("intake row has no emails");
    for (const auto& e : emails->as_array()) u.emails.emplace_back(e.as_string());
    u.usergroupid = integer(row, "user_group_id");
    u.userorganizationid = opt_integer(row, "user_organization_id");
    u.salutation = opt_text(row, "salutation");
    u.designation = opt_text(row, "designation");
    u.phone = opt_text(row, "phone");
    u.timezone = opt_text(row, "timezone");
    u.userrole = opt_text(row, "user_role");
    u.isenabled = opt_flag(row, "is_enabled");
    u.enabledst = opt_flag(row, "enable_dst");
    u.sendwelcomeemail = opt_flag(row, "send_welcome_email");
    u.slaplanid = opt_integer(row, "sla_plan_id");
    u.slaplanexpiry = opt_time(row, "sla_plan_expires_at");
    u.userexpiry = opt_time(row, "expires_at");
    return u;
}

kayako::organization_fields organization_from_intake(const json::object& row) {
    kayako::organization_fields o;
    o.name = text(row, "name");
    o.organizationtype = opt_text(row, "organization_type").value_or("restricted");
    o.address = opt_text(row, "address").value_or("");
    o.city = opt_text(row, "city").value_or("");
    o.state = opt_text(row, "state_or_region").value_or("");
    o.postalcode = opt_text(row, "postal_code").value_or("");
    o.country = opt_text(row, "country").value_or("");
    o.phone = opt_text(row, "phone").value_or("");
    o.fax = opt_text(row, "fax").value_or("");
    o.website = opt_text(row, "website").value_or("");
    o.slaplanid = opt_integer(row, "sla_plan_id").value_or(0);
    o.slaplanexpiry = opt_time(row, "sla_plan_expires_at").value_or(0);
    return o;
}

std::optional<kayako::id_t> intake_target_ticket(const json::object& row,
                                                 std::optional<std::int64_t>* intake_ticket) {
    if (auto id = opt_integer(row, "ticket_id")) return *id;
    if (intake_ticket) *intake_ticket = opt_integer(row, "intake_ticket_id");
    return std::nullopt;
}

std::string describe_call(std::string_view method, std::string_view path,
                          const kayako::param_list& fields) {
    std::string out = std::string(method) + " " + std::string(path);
    for (const auto& [name, value] : fields.items()) {
        out += ' ';
        out += name;
        out += '=';
        if (name == "password") {
            out += "<hidden>";
            continue;
        }
        const bool quote = value.empty() || value.find_first_of(" \t\n\"") != std::string::npos;
        if (!quote) {
            out += value;
            continue;
        }
        out += '"';
        for (char c : value) {
            if (c == '"' || c == '\\') out += '\\';
            if (c == '\n') {
                out += "\\n";
                continue;
            }
            out += c;
        }
        out += '"';
    }
    return out;
}

}  // namespace ksync::push
