#include "daemon/push/fields.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <charconv>
#include <chrono>
#include <stdexcept>

namespace ksync::push {

namespace json = boost::json;
using pg::entity;

namespace {

const std::vector<writable_field> ticket_fields = {
    {"department_id", "departmentid", field_kind::integer},
    {"status_id", "ticketstatusid", field_kind::integer},
    {"priority_id", "ticketpriorityid", field_kind::integer},
    {"type_id", "tickettypeid", field_kind::integer},
    {"owner_staff_id", "ownerstaffid", field_kind::integer},
    {"subject", "subject", field_kind::text},
    {"full_name", "fullname", field_kind::text},
    {"email", "email", field_kind::text},
    {"user_id", "userid", field_kind::integer},
};

const std::vector<writable_field> user_fields = {
    {"full_name", "fullname", field_kind::text},
    {"user_group_id", "usergroupid", field_kind::integer},
    {"user_organization_id", "userorganizationid", field_kind::integer},
    {"salutation", "salutation", field_kind::text},
    {"designation", "designation", field_kind::text},
    {"phone", "phone", field_kind::text},
    {"is_enabled", "isenabled", field_kind::boolean},
    {"user_role", "userrole", field_kind::text},
    {"emails", "email", field_kind::text_array},
    {"timezone", "timezone", field_kind::text},
    {"enable_dst", "enabledst", field_kind::boolean},
    {"sla_plan_id", "slaplanid", field_kind::integer},
    {"sla_plan_expires_at", "slaplanexpiry", field_kind::time},
    {"expires_at", "userexpiry", field_kind::time},
};

const std::vector<writable_field> organization_fields = {
    {"name", "name", field_kind::text},
    {"organization_type", "organizationtype", field_kind::text},
    {"address", "address", field_kind::text},
    {"city", "city", field_kind::text},
    {"state", "state", field_kind::text},
    {"postal_code", "postalcode", field_kind::text},
    {"country", "country", field_kind::text},
    {"phone", "phone", field_kind::text},
    {"fax", "fax", field_kind::text},
    {"website", "website", field_kind::text},
    {"sla_plan_id", "slaplanid", field_kind::integer},
    {"sla_plan_expires_at", "slaplanexpiry", field_kind::time},
};

const std::vector<writable_field> none;

int digits(std::string_view s, std::size_t pos, std::size_t n) {
    if (pos + n > s.size()) throw std::invalid_argument("timestamp too short");
    int v = 0;
    const auto [p, ec] = std::from_chars(s.data() + pos, s.data() + pos + n, v);
    if (ec != std::errc{} || p != s.data() + pos + n)
        throw std::invalid_argument("timestamp has a non-digit where a digit belongs");
    return v;
}

json::value time_value(kayako::unix_time t) {
    if (t == 0) return nullptr;
    return json::value(static_cast<std::int64_t>(t));
}

json::value strings(const std::vector<std::string>& v) {
    json::array a;
    for (const auto& s : v) a.emplace_back(s);
    return a;
}

std::int64_t as_int(const field_values& f, const char* column) {
    return f.at(column).as_int64();
}
std::string as_text(const field_values& f, const char* column) {
    return std::string(f.at(column).as_string());
}
kayako::unix_time as_time(const json::value& v) {
    return v.is_null() ? 0 : v.as_int64();
}

}  // namespace

const std::vector<writable_field>& writable_fields(entity e) {
    switch (e) {
        case entity::tickets:
            return ticket_fields;
        case entity::users:
            return user_fields;
        case entity::organizations:
            return organization_fields;
        default:
            return none;
    }
}

const writable_field* find_field(entity e, std::string_view column) {
    for (const auto& f : writable_fields(e))
        if (f.column == column) return &f;
    return nullptr;
}

std::int64_t parse_pg_timestamp(std::string_view s) {
    // YYYY-MM-DDTHH:MM:SS[.fraction](+|-)HH[:MM]   (a space instead of T is accepted too)
    if (s.size() < 19 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') ||
        s[13] != ':' || s[16] != ':')
        throw std::invalid_argument("not a timestamp: " + std::string(s));
    const int y = digits(s, 0, 4), mo = digits(s, 5, 2), d = digits(s, 8, 2);
    const int h = digits(s, 11, 2), mi = digits(s, 14, 2), sec = digits(s, 17, 2);
    std::size_t pos = 19;
    if (pos < s.size() && s[pos] == '.') {
        ++pos;
        while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;  // sub-second: dropped
    }
    int offset = 0;
    if (pos < s.size()) {
        const char sign = s[pos];
        if (sign != '+' && sign != '-')
            throw std::invalid_argument("bad timestamp zone: " + std::string(s));
        const int oh = digits(s, pos + 1, 2);
        int om = 0;
        if (pos + 3 < s.size()) {
            if (s[pos + 3] != ':')
                throw std::invalid_argument("bad timestamp zone: " + std::string(s));
            om = digits(s, pos + 4, 2);
            if (pos + 6 != s.size())
                throw std::invalid_argument("bad timestamp zone: " + std::string(s));
        }
        offset = (sign == '-' ? -1 : 1) * (oh * 3600 + om * 60);
    }
    using namespace std::chrono;
    const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)},
                             day{static_cast<unsigned>(d)}};
    if (!ymd.ok()) throw std::invalid_argument("not a date: " + std::string(s));
    const auto days = sys_days{ymd}.time_since_epoch().count();
    return static_cast<std::int64_t>(days) * 86400 + h * 3600 + mi * 60 + sec - offset;
}

json::value canonical(field_kind kind, const json::value& v) {
    switch (kind) {
        case field_kind::integer:
            if (v.is_int64()) return v;
            if (v.is_uint64()) return json::value(static_cast<std::int64_t>(v.as_uint64()));
            if (v.is_double()) return json::value(static_cast<std::int64_t>(v.as_double()));
            break;
        case field_kind::text:
            if (v.is_string()) return v;
            break;
        case field_kind::boolean:
            if (v.is_bool()) return v;
            break;
        case field_kind::time:
            if (v.is_null()) return nullptr;
            if (v.is_string()) {
                const auto t = parse_pg_timestamp(v.as_string());
                return t == 0 ? json::value(nullptr) : json::value(t);
            }
            if (v.is_int64()) return v.as_int64() == 0 ? json::value(nullptr) : v;
            break;
        case field_kind::text_array:
            if (v.is_array()) {
                json::array out;
                for (const auto& e : v.as_array()) {
                    if (!e.is_string()) throw std::invalid_argument("array of non-strings");
                    out.push_back(e);
                }
                return out;
            }
            break;
    }
    throw std::invalid_argument("value " + json::serialize(v) + " does not fit the column");
}

field_values parse_values(entity e, std::string_view text) {
    field_values out;
    if (text.empty()) return out;
    const json::value doc = json::parse(text);
    if (!doc.is_object()) throw std::invalid_argument("field values are not a JSON object");
    for (const auto& [k, v] : doc.as_object()) {
        const writable_field* f = find_field(e, k);
        if (!f) continue;
        try {
            out.emplace(std::string(k), canonical(f->kind, v));
        } catch (const std::invalid_argument& ex) {
            throw std::invalid_argument(std::string(k) + ": " + ex.what());
        }
    }
    return out;
}

field_values remote_values(const kayako::ticket& t) {
    return {
        {"department_id", json::value(t.departmentid)},
        {"status_id", json::value(t.statusid)},
        {"priority_id", json::value(t.priorityid)},
        {"type_id", json::value(t.tickettypeid)},
        {"owner_staff_id", json::value(t.ownerstaffid)},
        {"subject", json::value(t.subject)},
        {"full_name", json::value(t.fullname)},
        {"email", json::value(t.email)},
        {"user_id", json::value(t.userid)},
    };
}

field_values remote_values(const kayako::user& u) {
    return {
        {"full_name", json::value(u.fullname)},
        {"user_group_id", json::value(u.usergroupid)},
        {"user_organization_id", json::value(u.userorganizationid)},
        {"salutation", json::value(u.salutation)},
        {"designation", json::value(u.designation)},
        {"phone", json::value(u.phone)},
        {"is_enabled", json::value(u.isenabled)},
        {"user_role", json::value(u.userrole)},
        {"emails", strings(u.emails)},
        {"timezone", json::value(u.timezone)},
        {"enable_dst", json::value(u.enabledst)},
        {"sla_plan_id", json::value(u.slaplanid)},
        {"sla_plan_expires_at", time_value(u.slaplanexpiry)},
        {"expires_at", time_value(u.userexpiry)},
    };
}

field_values remote_values(const kayako::organization& o) {
    return {
        {"name", json::value(o.name)},
        {"organization_type", json::value(o.organizationtype)},
        {"address", json::value(o.address)},
        {"city", json::value(o.city)},
        {"state", json::value(o.state)},
        {"postal_code", json::value(o.postalcode)},
        {"country", json::value(o.country)},
        {"phone", json::value(o.phone)},
        {"fax", json::value(o.fax)},
        {"website", json::value(o.website)},
        {"sla_plan_id", json::value(o.slaplanid)},
        {"sla_plan_expires_at", time_value(o.slaplanexpiry)},
    };
}

kayako::ticket_update to_ticket_update(const field_values& send) {
    kayako::ticket_update u;
    for (const auto& [column, v] : send) {
        if (column == "department_id")
            u.departmentid = v.as_int64();
        else if (column == "status_id")
            u.ticketstatusid = v.as_int64();
        else if (column == "priority_id")
            u.ticketpriorityid = v.as_int64();
        else if (column == "type_id")
            u.tickettypeid = v.as_int64();
        else if (column == "owner_staff_id")
            u.ownerstaffid = v.as_int64();
        else if (column == "user_id")
            u.userid = v.as_int64();
        else if (column == "subject")
            u.subject = std::string(v.as_string());
        else if (column == "full_name")
            u.fullname = std::string(v.as_string());
        else if (column == "email")
            u.email = std::string(v.as_string());
        else
            throw std::invalid_argument("tickets." + column + " is not writable");
    }
    return u;
}

kayako::user_update to_user_update(const field_values& send) {
    kayako::user_update u;
    u.fullname = as_text(send, "full_name");
    for (const auto& [column, v] : send) {
        if (column == "full_name") continue;
        if (column == "user_group_id")
            u.usergroupid = v.as_int64();
        else if (column == "user_organization_id")
            u.userorganizationid = v.as_int64();
        else if (column == "salutation")
            u.salutation = std::string(v.as_string());
        else if (column == "designation")
            u.designation = std::string(v.as_string());
        else if (column == "phone")
            u.phone = std::string(v.as_string());
        else if (column == "is_enabled")
            u.isenabled = v.as_bool();
        else if (column == "user_role")
            u.userrole = std::string(v.as_string());
        else if (column == "timezone")
            u.timezone = std::string(v.as_string());
        else if (column == "enable_dst")
            u.enabledst = v.as_bool();
        else if (column == "sla_plan_id")
            u.slaplanid = v.as_int64();
        else if (column == "sla_plan_expires_at")
            u.slaplanexpiry = as_time(v);
        else if (column == "expires_at")
            u.userexpiry = as_time(v);
        else if (column == "emails") {
            std::vector<std::string> emails;
            for (const auto& e : v.as_array()) emails.emplace_back(e.as_string());
            u.emails = std::move(emails);
        } else
            throw std::invalid_argument("users." + column + " is not writable");
    }
    return u;
}

kayako::organization_fields to_organization_fields(const field_values& send) {
    kayako::organization_fields o;
    o.name = as_text(send, "name");
    o.organizationtype = as_text(send, "organization_type");
    o.address = as_text(send, "address");
    o.city = as_text(send, "city");
    o.state = as_text(send, "state");
    o.postalcode = as_text(send, "postal_code");
    o.country = as_text(send, "country");
    o.phone = as_text(send, "phone");
    o.fax = as_text(send, "fax");
    o.website = as_text(send, "website");
    o.slaplanid = as_int(send, "sla_plan_id");
    o.slaplanexpiry = as_time(send.at("sla_plan_expires_at"));
    return o;
}

std::string show(const json::value& v) {
    std::string s = json::serialize(v);
    if (s.size() > 200) s = s.substr(0, 200) + "...";
    return s;
}

}  // namespace ksync::push
