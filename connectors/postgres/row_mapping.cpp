#include "connectors/postgres/row_mapping.hpp"

#include <openssl/evp.h>

#include <array>
#include <ctime>
#include <memory>
#include <stdexcept>

namespace ksync::pg {
namespace {

const entity_spec specs[] = {
    {entity::tickets,
     "tickets",
     {"id",
      "display_id",
      "flag_type",
      "department_id",
      "status_id",
      "priority_id",
      "type_id",
      "user_id",
      "user_organization",
      "user_organization_id",
      "owner_staff_id",
      "owner_staff_name",
      "full_name",
      "email",
      "last_replier",
      "subject",
      "created_at",
      "last_activity_at",
      "last_staff_reply_at",
      "last_user_reply_at",
      "sla_plan_id",
      "next_reply_due_at",
      "resolution_due_at",
      "replies",
      "ip_address",
      "creator",
      "creation_mode",
      "creation_type",
      "is_escalated",
      "escalation_rule_id",
      "template_group_id",
      "template_group_name",
      "tags",
      "watchers",
      "workflows"},
     1,
     false},
    {entity::posts,
     "posts",
     {"id", "ticket_id", "created_at", "user_id", "full_name", "email", "email_to", "ip_address",
      "has_attachments", "creator", "is_third_party", "is_html", "is_emailed", "staff_id",
      "is_survey_comment", "contents", "is_private"},
     1,
     true},
    {entity::notes,
     "notes",
     {"id", "ticket_id", "note_color", "creator_staff_id", "creator_staff_name", "for_staff_id",
      "created_at", "contents"},
     1,
     true},
    {entity::time_tracks,
     "time_tracks",
     {"id", "ticket_id", "time_worked_seconds", "time_billable_seconds", "billed_at", "worked_at",
      "worker_staff_id", "worker_staff_name", "creator_staff_id", "creator_staff_name",
      "note_color", "contents"},
     1,
     true},
    {entity::attachments,
     "attachments",
     {"id", "ticket_id", "post_id", "file_name", "file_size", "file_type", "created_at"},
     1,
     true},
    {entity::ticket_custom_field_values,
     "ticket_custom_field_values",
     {"ticket_id", "field_id", "group_id", "group_title", "field_title", "field_type", "field_name",
      "value", "file_name"},
     2,
     true},
    {entity::custom_fields,
     "custom_fields",
     {"id", "group_id", "title", "field_type", "field_name", "default_value", "is_required",
      "is_user_editable", "is_staff_editable", "regexp_validate", "display_order", "encrypt_in_db",
      "description", "group_type"},
     1,
     false},
    {entity::custom_field_options,
     "custom_field_options",
     {"id", "custom_field_id", "option_value", "display_order", "is_selected", "parent_option_id"},
     1,
     false},
    {entity::users,
     "users",
     {"id", "user_group_id", "user_role", "user_organization_id", "salutation", "expires_at",
      "full_name", "emails", "designation", "phone", "created_at", "last_visit_at", "is_enabled",
      "timezone", "enable_dst", "sla_plan_id", "sla_plan_expires_at"},
     1,
     false},
    {entity::organizations,
     "organizations",
     {"id", "name", "organization_type", "address", "city", "state", "postal_code", "country",
      "phone", "fax", "website", "created_at", "updated_at", "sla_plan_id", "sla_plan_expires_at"},
     1,
     false},
    {entity::user_groups, "user_groups", {"id", "title", "group_type", "is_master"}, 1, false},
    {entity::staff,
     "staff",
     {"id", "staff_group_id", "first_name", "last_name", "full_name", "user_name", "email",
      "designation", "greeting", "mobile_number", "is_enabled", "timezone", "enable_dst",
      "signature"},
     1,
     false},
    {entity::staff_groups, "staff_groups", {"id", "title", "is_admin"}, 1, false},
    {entity::departments,
     "departments",
     {"id", "title", "type", "module", "app", "display_order", "parent_department_id",
      "user_visibility_custom", "user_group_ids"},
     1,
     false},
    {entity::ticket_statuses,
     "ticket_statuses",
     {"id", "title", "display_order", "department_id", "display_icon", "type",
      "display_in_main_list", "mark_as_resolved", "display_count", "status_color",
      "status_bg_color", "reset_due_time", "trigger_survey", "staff_visibility_custom",
      "staff_group_ids"},
     1,
     false},
    {entity::ticket_priorities,
     "ticket_priorities",
     {"id", "title", "display_order", "fr_color_code", "bg_color_code", "type",
      "user_visibility_custom", "user_group_ids"},
     1,
     false},
    {entity::ticket_types,
     "ticket_types",
     {"id", "title", "display_order", "department_id", "display_icon", "type",
      "user_visibility_custom", "user_group_ids"},
     1,
     false},
};
static_assert(std::size(specs) == entity_count);

// COPY text format escapes (backslash, tab, newline, carriage return). NUL cannot be stored in a
// PostgreSQL text value at all and never occurs in XML 1.0 content, so it is dropped.
void append_copy_escaped(std::string& out, std::string_view v) {
    for (char c : v) {
        switch (c) {
            case '\\':
                out += "\\\\";
                break;
            case '\t':
                out += "\\t";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\0':
                break;
            default:
                out += c;
        }
    }
}

void append_u32(std::string& out, std::uint32_t n) {
    for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((n >> shift) & 0xff);
}

const EVP_MD* sha256() {
    // Fetched once: an implicit fetch per digest costs a lock and a lookup in OpenSSL 3.
    static const std::unique_ptr<EVP_MD, decltype(&EVP_MD_free)> md{
        EVP_MD_fetch(nullptr, "SHA256", nullptr), &EVP_MD_free};
    if (!md) throw std::runtime_error("SHA-256 is not available");
    return md.get();
}

std::string json_ids(const std::vector<kayako::watcher>& w) {
    std::string out = "[";
    for (std::size_t i = 0; i < w.size(); ++i) {
        if (i) out += ", ";
        out += "{\"staff_id\": " + std::to_string(w[i].staffid) +
               ", \"name\": " + json_string(w[i].name) + "}";
    }
    return out + "]";
}

std::string json_workflows(const std::vector<kayako::workflow>& w) {
    std::string out = "[";
    for (std::size_t i = 0; i < w.size(); ++i) {
        if (i) out += ", ";
        out +=
            "{\"id\": " + std::to_string(w[i].id) + ", \"title\": " + json_string(w[i].title) + "}";
    }
    return out + "]";
}

}  // namespace

std::string_view entity_name(entity e) {
    return spec(e).table;
}

std::optional<entity> entity_from_name(std::string_view name) {
    for (const auto& s : specs)
        if (s.table == name) return s.id;
    return std::nullopt;
}

const entity_spec& spec(entity e) {
    return specs[static_cast<std::size_t>(e)];
}

// ---- row_builder -------------------------------------------------------------------------------

row_builder::row_builder(const entity_spec& s) : spec_(s) {
    line_.reserve(256);
    hash_input_.reserve(256);
}

void row_builder::field(std::optional<std::string_view> v) {
    if (count_++ > 0) line_ += '\t';
    if (!v) {
        line_ += "\\N";
        hash_input_ += '\0';  // tag: NULL
        return;
    }
    append_copy_escaped(line_, *v);
    hash_input_ += '\1';  // tag: value, then its length, then its bytes
    append_u32(hash_input_, static_cast<std::uint32_t>(v->size()));
    hash_input_.append(v->data(), v->size());
}

row_builder& row_builder::integer(std::int64_t v) {
    field(std::to_string(v));
    return *this;
}
row_builder& row_builder::text(std::string_view v) {
    field(v);
    return *this;
}
row_builder& row_builder::optional_text(const std::optional<std::string>& v) {
    field(v ? std::optional<std::string_view>(*v) : std::nullopt);
    return *this;
}
row_builder& row_builder::boolean(bool v) {
    field(v ? "t" : "f");
    return *this;
}
row_builder& row_builder::time(kayako::unix_time v) {
    if (v == 0)
        field(std::nullopt);
    else
        field(iso_utc(v));
    return *this;
}
row_builder& row_builder::text_array(const std::vector<std::string>& v) {
    field(array_literal(v));
    return *this;
}
row_builder& row_builder::id_array(const std::vector<id_t>& v) {
    std::string out = "{";
    for (std::size_t i = 0; i < v.size(); ++i) {
        if (i) out += ',';
        out += std::to_string(v[i]);
    }
    field(out + "}");
    return *this;
}
row_builder& row_builder::json(std::string_view raw) {
    field(raw);
    return *this;
}

mapped_row row_builder::finish(object_key key) {
    if (count_ != spec_.columns.size())
        throw std::logic_error("mapping of " + std::string(spec_.table) + " produced " +
                               std::to_string(count_) + " columns, the table has " +
                               std::to_string(spec_.columns.size()));
    mapped_row row;
    row.key = key;
    unsigned int len = 0;
    if (EVP_Digest(hash_input_.data(), hash_input_.size(), row.hash.data(), &len, sha256(),
                   nullptr) != 1 ||
        len != 32)
        throw std::runtime_error("SHA-256 failed");
    row.copy_line = std::move(line_);
    line_.clear();
    hash_input_.clear();
    count_ = 0;
    return row;
}

// ---- text helpers
// --------------------------------------------------------------------------------

std::string iso_utc(kayako::unix_time t) {
    const std::time_t tt = static_cast<std::time_t>(t);
    std::tm tm{};
    if (gmtime_r(&tt, &tm) == nullptr)
        throw std::out_of_range("timestamp out of range: " + std::to_string(t));
    char buf[40];
    const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S+00", &tm);
    return std::string(buf, n);
}

std::string array_literal(const std::vector<std::string>& v) {
    std::string out = "{";
    for (std::size_t i = 0; i < v.size(); ++i) {
        if (i) out += ',';
        out += '"';
        for (char c : v[i]) {
            if (c == '"' || c == '\\') out += '\\';
            if (c != '\0') out += c;
        }
        out += '"';
    }
    return out + "}";
}

std::string json_string(std::string_view v) {
    std::string out = "\"";
    for (char c : v) {
        const auto u = static_cast<unsigned char>(c);
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            case '\b':
                out += "\\b";
                break;
            case '\f':
                out += "\\f";
                break;
            case '\0':
                break;  // jsonb cannot hold \u0000
            default:
                if (u < 0x20) {
                    static constexpr char hex[] = "0123456789abcdef";
                    out += "\\u00";
                    out += hex[u >> 4];
                    out += hex[u & 0xf];
                } else {
                    out += c;
                }
        }
    }
    return out + "\"";
}

std::vector<std::string> split_tags(std::string_view tags) {
    std::vector<std::string> out;
    std::size_t i = 0;
    while (i < tags.size()) {
        while (i < tags.size() && tags[i] == ' ') ++i;
        std::size_t j = i;
        while (j < tags.size() && tags[j] != ' ') ++j;
        if (j > i) out.emplace_back(tags.substr(i, j - i));
        i = j;
    }
    return out;
}

std::vector<custom_field_value_row> flatten(const kayako::ticket_custom_fields& v) {
    std::vector<custom_field_value_row> out;
    for (const auto& g : v.groups)
        for (const auto& f : g.fields) out.push_back({v.ticketid, g.id, g.title, f});
    return out;
}

// ---- mappings (column order = spec order = migrations/0001)
// ----------------------------------------

void map_record(const kayako::ticket& r, std::vector<mapped_row>& out) {
    row_builder b{spec(entity::tickets)};
    b.integer(r.id)
        .text(r.displayid)
        .integer(r.flagtype)
        .integer(r.departmentid)
        .integer(r.statusid)
        .integer(r.priorityid)
        .integer(r.tickettypeid)
        .integer(r.userid)
        .text(r.userorganization)
        .integer(r.userorganizationid)
        .integer(r.ownerstaffid)
        .text(r.ownerstaffname)
        .text(r.fullname)
        .text(r.email)
        .text(r.lastreplier)
        .text(r.subject)
        .time(r.creationtime)
        .time(r.lastactivity)
        .time(r.laststaffreply)
        .time(r.lastuserreply)
        .integer(r.slaplanid)
        .time(r.nextreplydue)
        .time(r.resolutiondue)
        .integer(r.replies)
        .text(r.ipaddress)
        .integer(r.creator)
        .integer(r.creationmode)
        .integer(r.creationtype)
        .boolean(r.isescalated)
        .integer(r.escalationruleid)
        .integer(r.templategroupid)
        .optional_text(r.templategroupname)
        .text_array(split_tags(r.tags))
        .json(json_ids(r.watchers))
        .json(json_workflows(r.workflows));
    out.push_back(b.finish({r.id, std::nullopt}));
}

void map_record(const kayako::post& r, std::vector<mapped_row>& out) {
    row_builder b{spec(entity::posts)};
    b.integer(r.id)
        .integer(r.ticketid)
        .time(r.dateline)
        .integer(r.userid)
        .text(r.fullname)
        .text(r.email)
        .text(r.emailto)
        .text(r.ipaddress)
        .boolean(r.hasattachments)
        .integer(r.creator)
        .boolean(r.isthirdparty)
        .boolean(r.ishtml)
        .boolean(r.isemailed)
        .integer(r.staffid)
        .boolean(r.issurveycomment)
        .text(r.contents)
        .boolean(r.isprivate);
    out.push_back(b.finish({r.id, std::nullopt}));
}

void map_record(const kayako::note& r, std::vector<mapped_row>& out) {
    if (!r.type.empty() && r.type != "ticket")
        throw std::invalid_argument("the notes table holds ticket notes; got a note of type \"" +
                                    r.type + "\"");
    row_builder b{spec(entity::notes)};
    b.integer(r.id)
        .integer(r.ticketid)
        .integer(r.notecolor)
        .integer(r.creatorstaffid)
        .text(r.creatorstaffname)
        .integer(r.forstaffid)
        .time(r.creationdate)
        .text(r.contents);
    out.push_back(b.finish({r.id, std::nullopt}));
}

void map_record(const kayako::time_track& r, std::vector<mapped_row>& out) {
    row_builder b{spec(entity::time_tracks)};
    b.integer(r.id)
        .integer(r.ticketid)
        .integer(r.timeworked)
        .integer(r.timebillable)
        .time(r.billdate)
        .time(r.workdate)
        .integer(r.workerstaffid)
        .text(r.workerstaffname)
        .integer(r.creatorstaffid)
        .text(r.creatorstaffname)
        .integer(r.notecolor)
        .text(r.contents);
    out.push_back(b.finish({r.id, std::nullopt}));
}

void map_record(const kayako::attachment& r, std::vector<mapped_row>& out) {
    row_builder b{spec(entity::attachments)};
    b.integer(r.id)
        .integer(r.ticketid)
        .integer(r.ticketpostid)
        .text(r.filename)
        .integer(r.filesize)
        .text(r.filetype)
        .time(r.dateline);
    out.push_back(b.finish({r.id, std::nullopt}));
}

void map_record(const custom_field_value_row& r, std::vector<mapped_row>& out) {
    row_builder b{spec(entity::ticket_custom_field_values)};
    b.integer(r.ticket_id)
        .integer(r.field.id)
        .integer(r.group_id)
        .text(r.group_title)
        .text(r.field.title)
        .integer(r.field.type)
        .text(r.field.name)
        .text(r.field.value)
        .optional_text(r.field.filename);
    out.push_back(b.finish({r.ticket_id, r.field.id}));
}

void map_record(const kayako::ticket_custom_fields& r, std::vector<mapped_row>& out) {
    for (const auto& row : flatten(r)) map_record(row, out);
}

void map_record(const kayako::custom_field_definition& r, std::vector<mapped_row>& out) {
    row_builder b{spec(entity::custom_fields)};
    b.integer(r.customfieldid)
        .integer(r.customfieldgroupid)
        .text(r.title)
        .integer(r.fieldtype)
        .text(r.fieldname)
        .text(r.defaultvalue)
        .boolean(r.isrequired)
        .boolean(r.usereditable)
        .boolean(r.staffeditable)
        .text(r.regexpvalidate)
        .integer(r.displayorder)
        .boolean(r.encryptindb)
        .text(r.description)
        .integer(r.grouptype);
    out.push_back(b.finish({r.customfieldid, std::nullopt}));
}

void map_record(const kayako::custom_field_option& r, std::vector<mapped_row>& out) {
    row_builder b{spec(entity::custom_field_options)};
    b.integer(r.customfieldoptionid)
        .integer(r.customfieldid)
        .text(r.optionvalue)
        .integer(r.displayorder)
        .boolean(r.isselected)
        .integer(r.parentcustomfieldoptionid);
    out.push_back(b.finish({r.customfieldoptionid, std::nullopt}));
}

void map_record(const kayako::user& r, std::vector<mapped_row>& out) {
    row_builder b{spec(entity::users)};
    b.integer(r.id)
        .integer(r.usergroupid)
        .text(r.userrole)
        .integer(r.userorganizationid)
        .text(r.salutation)
        .time(r.userexpiry)
        .text(r.fullname)
        .text_array(r.emails)
        .text(r.designation)
        .text(r.phone)
        .time(r.dateline)
        .time(r.lastvisit)
        .boolean(r.isenabled)
        .text(r.timezone)
        .boolean(r.enabledst)
        .integer(r.slaplanid)
        .time(r.slaplanexpiry);
    out.push_back(b.finish({r.id, std::nullopt}));
}

void map_record(const kayako::organization& r, std::vector<mapped_row>& out) {
    row_builder b{spec(entity::organizations)};
    b.integer(r.id)
        .text(r.name)
        .text(r.organizationtype)
        .text(r.address)
        .text(r.city)
        .text(r.state)
        .text(r.postalcode)
        .text(r.country)
        .text(r.phone)
        .text(r.fax)
        .text(r.website)
        .time(r.dateline)
        .time(r.lastupdate)
        .integer(r.slaplanid)
        .time(r.slaplanexpiry);
    out.push_back(b.finish({r.id, std::nullopt}));
}

void map_record(const kayako::user_group& r, std::vector<mapped_row>& out) {
    row_builder b{spec(entity::user_groups)};
    b.integer(r.id).text(r.title).text(r.grouptype).boolean(r.ismaster);
    out.push_back(b.finish({r.id, std::nullopt}));
}

void map_record(const kayako::staff& r, std::vector<mapped_row>& out) {
    row_builder b{spec(entity::staff)};
    b.integer(r.id)
        .integer(r.staffgroupid)
        .text(r.firstname)
        .text(r.lastname)
        .text(r.fullname)
        .text(r.username)
        .text(r.email)
        .text(r.designation)
        .text(r.greeting)
        .text(r.mobilenumber)
        .boolean(r.isenabled)
        .text(r.timezone)
        .boolean(r.enabledst)
        .text(r.signature);
    out.push_back(b.finish({r.id, std::nullopt}));
}

void map_record(const kayako::staff_group& r, std::vector<mapped_row>& out) {
    row_builder b{spec(entity::staff_groups)};
    b.integer(r.id).text(r.title).boolean(r.isadmin);
    out.push_back(b.finish({r.id, std::nullopt}));
}

void map_record(const kayako::department& r, std::vector<mapped_row>& out) {
    row_builder b{spec(entity::departments)};
    b.integer(r.id)
        .text(r.title)
        .text(r.type)
        .text(r.module)
        .text(r.app)
        .integer(r.displayorder)
        .integer(r.parentdepartmentid)
        .boolean(r.uservisibilitycustom)
        .id_array(r.usergroups);
    out.push_back(b.finish({r.id, std::nullopt}));
}

void map_record(const kayako::ticket_status& r, std::vector<mapped_row>& out) {
    row_builder b{spec(entity::ticket_statuses)};
    b.integer(r.id)
        .text(r.title)
        .integer(r.displayorder)
        .integer(r.departmentid)
        .text(r.displayicon)
        .text(r.type)
        .boolean(r.displayinmainlist)
        .boolean(r.markasresolved)
        .boolean(r.displaycount)
        .text(r.statuscolor)
        .text(r.statusbgcolor)
        .boolean(r.resetduetime)
        .boolean(r.triggersurvey)
        .boolean(r.staffvisibilitycustom)
        .id_array(r.staffgroupids);
    out.push_back(b.finish({r.id, std::nullopt}));
}

void map_record(const kayako::ticket_priority& r, std::vector<mapped_row>& out) {
    row_builder b{spec(entity::ticket_priorities)};
    b.integer(r.id)
        .text(r.title)
        .integer(r.displayorder)
        .text(r.frcolorcode)
        .text(r.bgcolorcode)
        .text(r.type)
        .boolean(r.uservisibilitycustom)
        .id_array(r.usergroupids);
    out.push_back(b.finish({r.id, std::nullopt}));
}

void map_record(const kayako::ticket_type& r, std::vector<mapped_row>& out) {
    row_builder b{spec(entity::ticket_types)};
    b.integer(r.id)
        .text(r.title)
        .integer(r.displayorder)
        .integer(r.departmentid)
        .text(r.displayicon)
        .text(r.type)
        .boolean(r.uservisibilitycustom)
        .id_array(r.usergroupids);
    out.push_back(b.finish({r.id, std::nullopt}));
}

}  // namespace ksync::pg
