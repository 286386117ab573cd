// Base app controllers, read side (kayako-api.md §4.10-§4.16).
#include "tests/emulator/service.hpp"

#include <algorithm>

namespace ksync::emulator {

namespace {

using detail::status_text;
using detail::xml_ok;
using args_t = std::vector<std::string>;

// GetList / Get for the lookup controllers: id 0 (or none) lists everything by id, an unknown id
// gives the empty container with 200.
template <class T, class Render>
http_response lookup(call_context& c, const std::vector<T>& all, id_t T::*key,
                     const char* container, const args_t& a, Render render) {
    const id_t id = a.empty() ? 0 : php::to_int(a[0]);
    std::string out;
    xml_writer w(out, c.options.php);
    w.open(container);
    for (const auto& x : all)
        if (id == 0 || x.*key == id) render(w, x);
    w.close(container);
    w.finish();
    return xml_ok(std::move(out));
}

}  // namespace

void detail::render_user(xml_writer& w, const user& u) {
    w.open("user");
    w.leaf("id", u.userid);
    w.leaf_int("usergroupid", u.usergroupid);
    w.leaf("userrole", u.userrole == 2 ? "manager" : "user");
    w.leaf_int("userorganizationid", u.userorganizationid);
    w.leaf("salutation", u.salutation);
    w.leaf("userexpiry", u.userexpiry);
    w.leaf("fullname", u.fullname);
    for (const auto& e : u.emails) w.leaf("email", e);
    w.leaf("designation", u.userdesignation);
    w.leaf("phone", u.phone);
    w.leaf("dateline", u.dateline);
    w.leaf("lastvisit", u.lastvisit);
    w.leaf("isenabled", u.isenabled);
    w.leaf("timezone", u.timezonephp);
    w.leaf("enabledst", u.enabledst);
    w.leaf("slaplanid", u.slaplanid);
    w.leaf("slaplanexpiry", u.slaplanexpiry);
    w.close("user");
}

namespace {

// WHERE userid >= marker ORDER BY userid LIMIT maxitems (max 1000).
http_response users_from(call_context& c, std::int64_t marker, std::int64_t maxitems) {
    if (maxitems <= 0 || maxitems > 1000) maxitems = 1000;
    const auto& users = c.model.users;
    auto it = std::lower_bound(users.begin(), users.end(), marker,
                               [](const user& u, std::int64_t m) { return u.userid < m; });
    std::string out;
    out.reserve(512 + static_cast<std::size_t>(maxitems) * 700);
    xml_writer w(out, c.options.php);
    w.open("users");
    for (std::int64_t n = 0; it != users.end() && n < maxitems; ++it, ++n)
        detail::render_user(w, *it);
    w.close("users");
    w.finish();
    return xml_ok(std::move(out));
}

http_response user_getlist(call_context& c, const args_t&) {
    return users_from(c, 0, 1000);
}

http_response user_filter(call_context& c, const args_t& a) {
    const std::int64_t marker = a.empty() ? 0 : php::to_int(a[0]);
    const std::int64_t max = a.size() > 1 && !a[1].empty() ? php::to_int(a[1]) : 1000;
    return users_from(c, marker, max);
}

http_response user_get(call_context& c, const args_t& a) {
    const id_t id = a.empty() ? 0 : php::to_int(a[0]);
    if (id == 0) return users_from(c, 0, 1000);
    std::string out;
    xml_writer w(out, c.options.php);
    w.open("users");
    if (const user* u = c.model.find_user(id)) detail::render_user(w, *u);
    w.close("users");
    w.finish();
    return xml_ok(std::move(out));
}

}  // namespace

void detail::render_organization(xml_writer& w, const organization& o) {
    w.open("userorganization");
    w.leaf("id", o.userorganizationid);
    w.leaf("name", o.organizationname);
    w.leaf("organizationtype", o.organizationtype == 2 ? "shared" : "restricted");
    w.leaf("address", o.address);
    w.leaf("city", o.city);
    w.leaf("state", o.state);
    w.leaf("postalcode", o.postalcode);
    w.leaf("country", o.country);
    w.leaf("phone", o.phone);
    w.leaf("fax", o.fax);
    w.leaf("website", o.website);
    w.comment("Timeline Properties");
    w.leaf("dateline", o.dateline);
    w.leaf("lastupdate", o.lastupdate);
    w.comment("Custom SLA Properties");
    w.leaf("slaplanid", o.slaplanid);
    w.leaf("slaplanexpiry", o.slaplanexpiry);
    w.close("userorganization");
}

namespace {

void render_user_group(xml_writer& w, const user_group& g) {
    w.open("usergroup");
    w.leaf("id", g.usergroupid);
    w.leaf("title", g.title);
    w.leaf("grouptype", g.grouptype == 0 ? "guest" : "registered");
    w.leaf("ismaster", g.ismaster);
    w.close("usergroup");
}

void render_staff(xml_writer& w, const staff_member& s) {
    w.open("staff");
    w.leaf("id", s.staffid);
    w.leaf("staffgroupid", s.staffgroupid);
    w.leaf("firstname", s.firstname);
    w.leaf("lastname", s.lastname);
    w.leaf("fullname", s.fullname);
    w.leaf("username", s.username);
    w.leaf("email", s.email);
    w.leaf("designation", s.designation);
    w.leaf("greeting", s.greeting);
    w.leaf("mobilenumber", s.mobilenumber);
    w.leaf("isenabled", s.isenabled);
    w.leaf("timezone", s.timezonephp);
    w.leaf("enabledst", s.enabledst);
    w.leaf("signature", s.signature);
    w.close("staff");
}

void render_staff_group(xml_writer& w, const staff_group& g) {
    w.open("staffgroup");
    w.leaf("id", g.staffgroupid);
    w.leaf("title", g.title);
    w.leaf("isadmin", g.isadmin);
    w.close("staffgroup");
}

void render_department(xml_writer& w, const department& d) {
    w.open("department");
    w.leaf("id", d.departmentid);
    w.leaf("title", d.title);
    w.leaf("type", d.departmenttype);
    w.leaf("module", d.departmentapp);
    w.leaf("app", d.departmentapp);
    w.leaf("displayorder", d.displayorder);
    w.leaf("parentdepartmentid", d.parentdepartmentid);
    w.leaf("uservisibilitycustom", d.uservisibilitycustom);
    w.open("usergroups");
    for (auto g : d.usergroupids) w.leaf("id", g);
    w.close("usergroups");
    w.close("department");
}

template <class T>
std::vector<const T*> by_displayorder(const std::vector<T>& v, int T::*order, id_t T::*key) {
    std::vector<const T*> out;
    for (const auto& x : v) out.push_back(&x);
    std::stable_sort(out.begin(), out.end(), [&](const T* a, const T* b) {
        return a->*order != b->*order ? a->*order < b->*order : a->*key < b->*key;
    });
    return out;
}

http_response customfield_getlist(call_context& c, const args_t&) {
    std::string out;
    xml_writer w(out, c.options.php);
    w.open("customfields");
    for (const auto* f : by_displayorder(c.model.custom_fields, &custom_field::displayorder,
                                         &custom_field::customfieldid)) {
        int grouptype = 0;
        for (const auto& g : c.model.custom_field_groups)
            if (g.customfieldgroupid == f->customfieldgroupid) grouptype = g.grouptype;
        w.empty("customfield", {{"customfieldid", f->customfieldid},
                                {"customfieldgroupid", f->customfieldgroupid},
                                {"title", f->title},
                                {"fieldtype", f->fieldtype},
                                {"fieldname", f->fieldname},
                                {"defaultvalue", f->defaultvalue},
                                {"isrequired", f->isrequired},
                                {"usereditable", f->usereditable},
                                {"staffeditable", f->staffeditable},
                                {"regexpvalidate", f->regexpvalidate},
                                {"displayorder", f->displayorder},
                                {"encryptindb", f->encryptindb},
                                {"description", f->description},
                                {"grouptype", grouptype}});
    }
    w.close("customfields");
    w.finish();
    return xml_ok(std::move(out));
}

http_response customfield_listoptions(call_context& c, const args_t& a) {
    if (a.empty() || php::to_int(a[0]) == 0) return status_text(400, "No Custom Field ID Provided");
    const id_t id = php::to_int(a[0]);
    std::string out;
    xml_writer w(out, c.options.php);
    w.open("customfieldoptions");
    for (const auto& o : c.model.custom_field_options)
        if (o.customfieldid == id)
            w.empty("option", {{"customfieldoptionid", o.customfieldoptionid},
                               {"customfieldid", o.customfieldid},
                               {"optionvalue", o.optionvalue},
                               {"displayorder", o.displayorder},
                               {"isselected", o.isselected},
                               {"parentcustomfieldoptionid", o.parentcustomfieldoptionid}});
    w.close("customfieldoptions");
    w.finish();
    return xml_ok(std::move(out));
}

http_response customfieldgroup_list(call_context& c, const args_t& a) {
    const id_t dept = a.empty() ? 0 : php::to_int(a[0]);
    std::string out;
    xml_writer w(out, c.options.php);
    w.open("customfieldgroups");
    id_t link_id = 0;
    for (const auto* g :
         by_displayorder(c.model.custom_field_groups, &custom_field_group::displayorder,
                         &custom_field_group::customfieldgroupid)) {
        if (dept == 0) {
            w.empty("customfieldgroup", {{"customfieldgroupid", g->customfieldgroupid},
                                         {"title", g->title},
                                         {"grouptype", g->grouptype},
                                         {"visibilitytype", g->visibilitytype},
                                         {"displayorder", g->displayorder}});
            continue;
        }
        for (std::size_t i = 0; i < g->departmentids.size(); ++i) {
            // customfielddeplinks rows, numbered in (group, department) order.
            ++link_id;
            if (g->departmentids[i] != dept) continue;
            w.empty("customfieldgroup", {{"customfieldgroupid", g->customfieldgroupid},
                                         {"title", g->title},
                                         {"grouptype", g->grouptype},
                                         {"visibilitytype", g->visibilitytype},
                                         {"displayorder", g->displayorder},
                                         {"customfielddeplinkid", link_id},
                                         {"departmentid", dept}});
        }
    }
    w.close("customfieldgroups");
    w.finish();
    return xml_ok(std::move(out));
}

}  // namespace

namespace detail {

void register_base_controllers(std::map<std::pair<std::string, std::string>, controller_def>& c) {
    c[{"base", "User"}].methods = {
        {"getlist", user_getlist}, {"filter", user_filter}, {"get", user_get}};

    auto orgs = [](call_context& ctx, const args_t& a) {
        return lookup(ctx, ctx.model.organizations, &organization::userorganizationid,
                      "userorganizations", a, detail::render_organization);
    };
    auto groups = [](call_context& ctx, const args_t& a) {
        return lookup(ctx, ctx.model.user_groups, &user_group::usergroupid, "usergroups", a,
                      render_user_group);
    };
    auto staff = [](call_context& ctx, const args_t& a) {
        return lookup(ctx, ctx.model.staff, &staff_member::staffid, "staffusers", a, render_staff);
    };
    auto staff_groups = [](call_context& ctx, const args_t& a) {
        return lookup(ctx, ctx.model.staff_groups, &staff_group::staffgroupid, "staffgroups", a,
                      render_staff_group);
    };
    auto departments = [](call_context& ctx, const args_t& a) {
        return lookup(ctx, ctx.model.departments, &department::departmentid, "departments", a,
                      render_department);
    };
    c[{"base", "UserOrganization"}].methods = {{"getlist", orgs}, {"get", orgs}};
    c[{"base", "UserGroup"}].methods = {{"getlist", groups}, {"get", groups}};
    c[{"base", "Staff"}].methods = {{"getlist", staff}, {"get", staff}};
    c[{"base", "StaffGroup"}].methods = {{"getlist", staff_groups}, {"get", staff_groups}};
    c[{"base", "Department"}].methods = {{"getlist", departments}, {"get", departments}};
    c[{"base", "CustomField"}].methods = {{"getlist", customfield_getlist},
                                          {"listoptions", customfield_listoptions}};
    c[{"base", "CustomFieldGroup"}].methods = {{"getlist", customfieldgroup_list},
                                               {"get", customfieldgroup_list}};
    auto search_only = [](call_context&, const args_t&) {
        return status_text(400, "Not Implemented, Call POST /Base/UserSearch instead.");
    };
    c[{"base", "UserSearch"}].methods = {{"getlist", search_only},
                                         {"get", search_only},
                                         {"put", search_only},
                                         {"delete", search_only}};
}

}  // namespace detail

}  // namespace ksync::emulator
