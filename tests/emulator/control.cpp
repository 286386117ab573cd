// The control interface (unauthenticated, loopback only, under /_control/ beside the API paths):
// what tests use to change data behind the daemon's back, move the clock, read the truth and the
// request log, and inject faults. Documented in README.md ("kayako-emulator control interface").
#include "tests/emulator/service.hpp"

#include <openssl/evp.h>

#include <cstdio>

namespace ksync::emulator {

namespace {

// A minimal JSON writer: objects and arrays with automatic commas.
class json {
public:
    json& open_object() { return sep(), out_ += '{', first_ = true, *this; }
    json& close_object() { return out_ += '}', first_ = false, *this; }
    json& open_array() { return sep(), out_ += '[', first_ = true, *this; }
    json& close_array() { return out_ += ']', first_ = false, *this; }
    json& key(std::string_view k) {
        sep();
        quote(k);
        out_ += ':';
        first_ = true;  // the value follows without a comma
        return *this;
    }
    json& value(std::string_view v) { return sep(), quote(v), *this; }
    json& value(std::int64_t v) { return sep(), out_ += std::to_string(v), *this; }
    json& value(int v) { return value(static_cast<std::int64_t>(v)); }
    json& value(bool v) { return sep(), out_ += v ? "true" : "false", *this; }
    template <class T>
    json& field(std::string_view k, const T& v) {
        key(k);
        return value(v);
    }
    json& field(std::string_view k, const std::string& v) {
        key(k);
        return value(std::string_view(v));
    }
    json& field(std::string_view k, const char* v) {
        key(k);
        return value(std::string_view(v));
    }
    template <class T>
    json& ids(std::string_view k, const std::vector<T>& v) {
        key(k).open_array();
        for (const auto& x : v) value(static_cast<std::int64_t>(x));
        return close_array();
    }
    std::string take() { return std::move(out_); }

private:
    void sep() {
        if (!first_) out_ += ',';
        first_ = false;
    }
    void quote(std::string_view s) {
        out_ += '"';
        for (char c : s) {
            switch (c) {
                case '"':
                    out_ += "\\\"";
                    break;
                case '\\':
                    out_ += "\\\\";
                    break;
                case '\n':
                    out_ += "\\n";
                    break;
                case '\r':
                    out_ += "\\r";
                    break;
                case '\t':
                    out_ += "\\t";
                    break;
                default:
                    if (static_cast<unsigned char>(c) < 0x20) {
                        char buf[8];
                        std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned char>(c));
                        out_ += buf;
                    } else {
                        out_ += c;
                    }
            }
        }
        out_ += '"';
    }
    std::string out_;
    bool first_ = true;
};

std::string base64(std::string_view data) {
    std::string out(4 * ((data.size() + 2) / 3), '\0');
    out.resize(static_cast<std::size_t>(EVP_EncodeBlock(
        reinterpret_cast<unsigned char*>(out.data()),
        reinterpret_cast<const unsigned char*>(data.data()), static_cast<int>(data.size()))));
    return out;
}

http_response json_response(int status, std::string body) {
    return {status, "application/json", std::move(body)};
}

http_response json_error(int status, std::string_view message) {
    json j;
    j.open_object().field("error", std::string(message)).close_object();
    return json_response(status, j.take());
}

std::string dump_model(const helpdesk& m, std::int64_t now) {
    json j;
    j.open_object();
    j.field("seed", static_cast<std::int64_t>(m.seed)).field("now", now);
    j.key("departments").open_array();
    for (const auto& d : m.departments)
        j.open_object()
            .field("departmentid", d.departmentid)
            .field("title", d.title)
            .field("type", d.departmenttype)
            .field("app", d.departmentapp)
            .field("displayorder", d.displayorder)
            .field("parentdepartmentid", d.parentdepartmentid)
            .field("uservisibilitycustom", d.uservisibilitycustom)
            .ids("usergroupids", d.usergroupids)
            .close_object();
    j.close_array();
    j.key("statuses").open_array();
    for (const auto& s : m.statuses)
        j.open_object()
            .field("ticketstatusid", s.ticketstatusid)
            .field("title", s.title)
            .field("departmentid", s.departmentid)
            .field("markasresolved", s.markasresolved)
            .field("type", s.statustype)
            .close_object();
    j.close_array();
    j.key("priorities").open_array();
    for (const auto& p : m.priorities)
        j.open_object().field("priorityid", p.priorityid).field("title", p.title).close_object();
    j.close_array();
    j.key("types").open_array();
    for (const auto& t : m.types)
        j.open_object()
            .field("tickettypeid", t.tickettypeid)
            .field("title", t.title)
            .close_object();
    j.close_array();
    j.key("staff_groups").open_array();
    for (const auto& g : m.staff_groups)
        j.open_object()
            .field("staffgroupid", g.staffgroupid)
            .field("title", g.title)
            .field("isadmin", g.isadmin)
            .close_object();
    j.close_array();
    j.key("staff").open_array();
    for (const auto& s : m.staff)
        j.open_object()
            .field("staffid", s.staffid)
            .field("staffgroupid", s.staffgroupid)
            .field("fullname", s.fullname)
            .field("username", s.username)
            .field("email", s.email)
            .field("isenabled", s.isenabled)
            .close_object();
    j.close_array();
    j.key("user_groups").open_array();
    for (const auto& g : m.user_groups)
        j.open_object()
            .field("usergroupid", g.usergroupid)
            .field("title", g.title)
            .field("grouptype", g.grouptype == 0 ? "guest" : "registered")
            .field("ismaster", g.ismaster)
            .close_object();
    j.close_array();
    j.key("organizations").open_array();
    for (const auto& o : m.organizations)
        j.open_object()
            .field("userorganizationid", o.userorganizationid)
            .field("name", o.organizationname)
            .field("organizationtype", o.organizationtype == 2 ? "shared" : "restricted")
            .field("address", o.address)
            .field("city", o.city)
            .field("state", o.state)
            .field("postalcode", o.postalcode)
            .field("country", o.country)
            .field("phone", o.phone)
            .field("fax", o.fax)
            .field("website", o.website)
            .field("dateline", o.dateline)
            .field("lastupdate", o.lastupdate)
            .field("slaplanid", o.slaplanid)
            .field("slaplanexpiry", o.slaplanexpiry)
            .close_object();
    j.close_array();
    j.key("users").open_array();
    for (const auto& u : m.users) {
        j.open_object()
            .field("userid", u.userid)
            .field("usergroupid", u.usergroupid)
            .field("userrole", u.userrole == 2 ? "manager" : "user")
            .field("userorganizationid", u.userorganizationid)
            .field("salutation", u.salutation)
            .field("fullname", u.fullname);
        j.key("emails").open_array();
        for (const auto& e : u.emails) j.value(std::string_view(e));
        j.close_array();
        j.field("designation", u.userdesignation)
            .field("phone", u.phone)
            .field("dateline", u.dateline)
            .field("lastvisit", u.lastvisit)
            .field("isenabled", u.isenabled)
            .field("timezone", u.timezonephp)
            .field("enabledst", u.enabledst)
            .field("slaplanid", u.slaplanid)
            .field("slaplanexpiry", u.slaplanexpiry)
            .field("userexpiry", u.userexpiry)
            .close_object();
    }
    j.close_array();
    j.key("tickets").open_array();
    for (const auto& t : m.tickets) {
        j.open_object()
            .field("ticketid", t.ticketid)
            .field("ticketmaskid", t.ticketmaskid)
            .field("flagtype", t.flagtype)
            .field("departmentid", t.departmentid)
            .field("ticketstatusid", t.ticketstatusid)
            .field("priorityid", t.priorityid)
            .field("tickettypeid", t.tickettypeid)
            .field("userid", t.userid)
            .field("ownerstaffid", t.ownerstaffid)
            .field("ownerstaffname", t.ownerstaffname)
            .field("fullname", t.fullname)
            .field("email", t.email)
            .field("lastreplier", t.lastreplier)
            .field("subject", t.subject)
            .field("dateline", t.dateline)
            .field("lastactivity", t.lastactivity)
            .field("laststaffreplytime", t.laststaffreplytime)
            .field("lastuserreplytime", t.lastuserreplytime)
            .field("slaplanid", t.slaplanid)
            .field("duetime", t.duetime)
            .field("resolutionduedateline", t.resolutionduedateline)
            .field("totalreplies", t.totalreplies)
            .field("ipaddress", t.ipaddress)
            .field("creator", t.creator)
            .field("creationmode", t.creationmode)
            .field("tickettype", t.tickettype)
            .field("isescalated", t.isescalated)
            .field("tgroupid", t.tgroupid)
            .field("tags", t.tags)
            .field("isresolved", t.isresolved)
            .ids("watchers", t.watcher_staffids)
            .ids("workflows", t.workflowids);
        j.key("posts").open_array();
        for (const auto& p : m.posts_of(t))
            j.open_object()
                .field("ticketpostid", p.ticketpostid)
                .field("dateline", p.dateline)
                .field("userid", p.userid)
                .field("staffid", p.staffid)
                .field("creator", p.creator)
                .field("fullname", p.fullname)
                .field("email", p.email)
                .field("emailto", p.emailto)
                .field("ishtml", p.ishtml)
                .field("isprivate", p.isprivate)
                .field("isemailed", p.isemailed)
                .field("hasattachments", p.hasattachments)
                .field("contents", p.contents)
                .close_object();
        j.close_array();
        j.key("notes").open_array();
        for (const auto& n : t.notes)
            j.open_object()
                .field("ticketnoteid", n.ticketnoteid)
                .field("staffid", n.staffid)
                .field("forstaffid", n.forstaffid)
                .field("staffname", n.staffname)
                .field("notecolor", n.notecolor)
                .field("dateline", n.dateline)
                .field("contents", n.note)
                .close_object();
        j.close_array();
        j.key("timetracks").open_array();
        for (const auto& x : t.timetracks)
            j.open_object()
                .field("tickettimetrackid", x.tickettimetrackid)
                .field("timespent", x.timespent)
                .field("timebillable", x.timebillable)
                .field("dateline", x.dateline)
                .field("workdateline", x.workdateline)
                .field("workerstaffid", x.workerstaffid)
                .field("creatorstaffid", x.creatorstaffid)
                .field("notes", x.notes)
                .close_object();
        j.close_array();
        j.key("attachments").open_array();
        for (const auto& a : m.attachments_of(t))
            j.open_object()
                .field("attachmentid", a.attachmentid)
                .field("ticketpostid", a.ticketpostid)
                .field("filename", a.filename)
                .field("filetype", a.filetype)
                .field("filesize", static_cast<std::int64_t>(a.contents.size()))
                .field("contents", base64(a.contents))
                .close_object();
        j.close_array();
        j.close_object();
    }
    j.close_array();
    j.close_object();
    return j.take();
}

std::string dump_log(const std::vector<log_entry>& log) {
    json j;
    j.open_array();
    for (const auto& e : log) {
        j.open_object()
            .field("seq", static_cast<std::int64_t>(e.seq))
            .field("time", e.time)
            .field("method", e.method)
            .field("path", e.path)
            .field("endpoint", e.endpoint)
            .field("salt", e.salt);
        j.key("fields").open_object();
        for (const auto& [k, v] : e.fields) j.field(k, v);
        j.close_object();
        j.field("status", e.status).field("fault", e.fault).close_object();
    }
    j.close_array();
    return j.take();
}

}  // namespace

http_response service::control(const http_request& req) {
    if (!req.from_loopback)
        return json_error(403, "the control interface answers loopback peers only");
    const std::string_view target = req.target;
    const auto q = target.find('?');
    const std::string_view path = target.substr(0, q);
    php::vars form;
    if (q != std::string_view::npos) php::parse_str(target.substr(q + 1), form);
    if (req.method == "POST" || req.method == "PUT" || req.method == "DELETE") {
        php::vars body;
        php::parse_str(req.body, body);
        form.merge(body);
    }
    std::vector<std::string> seg;
    for (std::size_t pos = 1; pos <= path.size();) {
        auto slash = path.find('/', pos);
        if (slash == std::string_view::npos) slash = path.size();
        if (slash > pos) seg.emplace_back(path.substr(pos, slash - pos));
        pos = slash + 1;
    }
    // seg[0] == "_control"
    const std::string what = seg.size() > 1 ? seg[1] : std::string();
    const std::string& verb = req.method;

    if (what == "model" && verb == "GET") {
        const std::int64_t t = now();
        return json_response(200, read([&](const helpdesk& m) { return dump_model(m, t); }));
    }
    if (what == "log") {
        if (verb == "GET") return json_response(200, dump_log(request_log()));
        if (verb == "DELETE") {
            std::lock_guard lock(log_mutex_);
            log_.clear();
            return json_response(200, "{}");
        }
    }
    if (what == "clock") {
        if (verb == "POST") {
            std::lock_guard lock(clock_mutex_);
            const auto elapsed = std::chrono::duration_cast<std::chrono::seconds>(
                                     std::chrono::steady_clock::now() - clock_set_at_)
                                     .count();
            std::int64_t current = clock_frozen_ ? model_.now : model_.now + elapsed;
            if (form.has("set")) current = php::to_int(form.get("set"));
            if (form.has("advance")) current += php::to_int(form.get("advance"));
            if (form.has("freeze")) clock_frozen_ = form.get("freeze") == "1";
            model_.now = current;
            clock_set_at_ = std::chrono::steady_clock::now();
        }
        if (verb == "POST" || verb == "GET") {
            json j;
            j.open_object().field("now", now()).close_object();
            return json_response(200, j.take());
        }
    }
    if (what == "faults") {
        if (verb == "DELETE") {
            clear_faults();
            return json_response(200, "{}");
        }
        if (verb == "POST") {
            fault_rule f;
            f.endpoint = form.get("endpoint");
            f.verb = form.get("verb");
            f.kind = form.get("kind");
            static const char* kinds[] = {
                "status",       "rate_limit",    "hang",          "reset",       "html_200",
                "uncaught_200", "xxe",           "huge_body",     "latency",     "slow",
                "truncate",     "lost_response", "malformed_xml", "php_warning", "html_after_xml"};
            if (std::none_of(std::begin(kinds), std::end(kinds),
                             [&](const char* k) { return f.kind == k; }))
                return json_error(400, "unknown fault kind");
            if (form.has("count")) f.remaining = static_cast<int>(php::to_int(form.get("count")));
            if (form.has("probability")) f.probability = std::stod(form.get("probability"));
            if (form.has("status")) f.status = static_cast<int>(php::to_int(form.get("status")));
            f.retry_after = form.get("retry_after");
            f.delay_ms = static_cast<int>(php::to_int(form.get("delay_ms")));
            if (form.has("interval_ms"))
                f.interval_ms = static_cast<int>(php::to_int(form.get("interval_ms")));
            if (form.has("size")) f.size = static_cast<std::size_t>(php::to_int(form.get("size")));
            json j;
            j.open_object().field("id", add_fault(f)).close_object();
            return json_response(200, j.take());
        }
        if (verb == "GET") {
            std::lock_guard lock(fault_mutex_);
            json j;
            j.open_array();
            for (const auto& f : faults_)
                j.open_object()
                    .field("id", f.id)
                    .field("endpoint", f.endpoint)
                    .field("verb", f.verb)
                    .field("kind", f.kind)
                    .field("remaining", f.remaining)
                    .field("hits", f.hits)
                    .close_object();
            j.close_array();
            return json_response(200, j.take());
        }
    }
    if (what == "api" && verb == "POST") {
        set_api_enabled(form.get("enabled") != "0");
        return json_response(200, "{}");
    }

    // ---- changes made "as a staff member would", through the same code as the API methods
    auto call = [&](const std::string& app, const std::string& controller,
                    const std::string& method, std::vector<std::string> args, php::vars fields) {
        php::vars get;
        return run_method(controllers_.at({app, controller}), method, args,
                          http_request{verb, req.target, "", "", "", true}, get, fields,
                          "/_control");
    };
    if (what == "tickets") {
        if (seg.size() == 2 && verb == "POST") return call("tickets", "Ticket", "post", {}, form);
        if (seg.size() == 3 && verb == "DELETE")
            return call("tickets", "Ticket", "delete", {seg[2]}, form);
        if (seg.size() == 3 && verb == "POST") {
            // Trashing is a direct column update in Kayako: lastactivity does not move.
            if (form.has("departmentid") && php::to_int(form.get("departmentid")) == 0) {
                const bool found = write([&](helpdesk& m) {
                    ticket* t = m.find_ticket(php::to_int(seg[2]));
                    if (t != nullptr) t->departmentid = 0;
                    return t != nullptr;
                });
                if (!found) return json_error(404, "no such ticket");
                form.erase("departmentid");
                if (form.empty()) return json_response(200, "{}");
            }
            return call("tickets", "Ticket", "put", {seg[2]}, form);
        }
        if (seg.size() == 4 && seg[3] == "posts" && verb == "POST") {
            form.set_scalar("ticketid", seg[2]);
            return call("tickets", "TicketPost", "post", {}, form);
        }
        if (seg.size() == 4 && seg[3] == "notes" && verb == "POST") {
            form.set_scalar("ticketid", seg[2]);
            return call("tickets", "TicketNote", "post", {}, form);
        }
    }
    if (what == "users") {
        if (seg.size() == 2 && verb == "POST") return call("base", "User", "post", {}, form);
        if (seg.size() == 3 && verb == "POST") return call("base", "User", "put", {seg[2]}, form);
        if (seg.size() == 3 && verb == "DELETE")
            return call("base", "User", "delete", {seg[2]}, form);
    }
    if (what == "organizations") {
        if (seg.size() == 2 && verb == "POST")
            return call("base", "UserOrganization", "post", {}, form);
        if (seg.size() == 3 && verb == "POST")
            return call("base", "UserOrganization", "put", {seg[2]}, form);
    }
    return json_error(404, "unknown control path");
}

}  // namespace ksync::emulator
