// Write methods (kayako-api.md §4.1-§4.3, §4.10, §4.11): validation in Kayako's order with its
// exact texts, and the quirks a sync depends on (partial ticket PUT ignoring invalid values,
// user PUT requiring fullname, organisation PUT replacing every field, lastactivity moving on
// every ticket change, hard deletes).
#include "tests/emulator/service.hpp"

#include <algorithm>
#include <regex>

namespace ksync::emulator {

namespace {

using detail::status_text;
using detail::xml_ok;
using args_t = std::vector<std::string>;

bool blank(const php::vars& v, std::string_view key) {
    return !v.has(key) || php::trim(v.get(key)).empty();
}

bool valid_email(std::string_view e) {
    static const std::regex re(R"(^[^@\s]+@[^@\s]+\.[^@\s]+$)");
    return std::regex_match(e.begin(), e.end(), re);
}

bool iequal(std::string_view a, std::string_view b) {
    return php::lower(a) == php::lower(b);
}

const user* user_by_email(const helpdesk& m, std::string_view email) {
    for (const auto& u : m.users)
        for (const auto& e : u.emails)
            if (iequal(e, email)) return &u;
    return nullptr;
}

const ticket* lookup_ticket(const helpdesk& m, std::string_view id) {
    if (php::is_numeric(id)) return m.find_ticket(php::to_int(id));
    return m.find_ticket_by_mask(id);
}

http_response empty_ok() {
    return {200, "text/xml", ""};
}

// Makes a seeded ticket's children explicit before they change.
void materialize(const helpdesk& m, ticket& t) {
    if (!t.posts) t.posts = m.posts_of(t);
    if (!t.attachments) t.attachments = m.attachments_of(t);
}

// A seeded requester post draws its e-mail from the user's addresses (seed.cpp posts_of), and
// the draw shifts everything after it: before a user's addresses change or the user is deleted,
// the posts of their tickets are made explicit, so existing posts keep their contents and e-mail.
void materialize_tickets_of_user(helpdesk& m, id_t userid) {
    for (auto& t : m.tickets)
        if (t.userid == userid) materialize(m, t);
}

std::string new_mask(helpdesk& m, id_t id) {
    std::uint64_t h = detail::mix64(m.seed, static_cast<std::uint64_t>(id) * 16 + 11);
    std::string mask;
    for (int i = 0; i < 3; ++i, h /= 26) mask.push_back(static_cast<char>('A' + h % 26));
    char buf[32];
    std::snprintf(buf, sizeof buf, "-%03lld-%05lld", static_cast<long long>((id / 100000) % 1000),
                  static_cast<long long>(id % 100000));
    return mask + buf;
}

user& create_user(helpdesk& m, std::int64_t now, std::string fullname, std::string email,
                  id_t group = 2) {
    user u;
    u.userid = m.next_userid++;
    u.usergroupid = group;
    u.fullname = std::move(fullname);
    u.emails.push_back(std::move(email));
    u.dateline = now;
    m.users.push_back(std::move(u));
    return m.users.back();
}

void refresh_reply_fields(const helpdesk& m, ticket& t) {
    const auto& posts = *t.posts;
    t.totalreplies = posts.empty() ? 0 : static_cast<std::int64_t>(posts.size()) - 1;
    t.laststaffreplytime = t.lastuserreplytime = 0;
    t.hasattachments = 0;
    for (const auto& p : posts) {
        if (p.creator == 1) t.laststaffreplytime = p.dateline;
        if (p.creator == 2) t.lastuserreplytime = p.dateline;
        if (p.hasattachments != 0) t.hasattachments = 1;
    }
    if (!posts.empty()) t.lastreplier = posts.back().fullname;
    (void)m;
}

// ---- Tickets/Ticket Post -----------------------------------------------------------------

http_response ticket_post(call_context& c, const args_t&) {
    const auto& p = c.post;
    static const std::pair<const char*, const char*> required[] = {
        {"subject", "Subject is empty"},
        {"fullname", "Fullname is empty"},
        {"email", "Email is empty"},
        {"contents", "Contents is empty"},
        {"departmentid", "Department ID is empty"},
        {"ticketstatusid", "Ticket Status ID is empty"},
        {"ticketpriorityid", "Ticket Priority ID is empty"},
        {"tickettypeid", "Ticket Type ID is empty"},
    };
    for (const auto& [field, text] : required)
        if (blank(p, field)) return status_text(400, text);
    if (p.empty("userid") && p.empty("staffid") && p.empty("autouserid"))
        return status_text(400,
                           "Staff ID, User ID and Auto User ID values are empty or not provided");
    helpdesk& m = *c.writable;
    const department* dept = m.find_department(php::to_int(p.get("departmentid")));
    if (dept == nullptr) return status_text(400, "Department ID is Invalid");
    if (dept->departmentapp != "tickets") return status_text(400, "Department App is not Tickets");
    const ticket_status* status = m.find_status(php::to_int(p.get("ticketstatusid")));
    if (status == nullptr) return status_text(400, "Ticket Status ID is Invalid");
    if (m.find_priority(php::to_int(p.get("ticketpriorityid"))) == nullptr)
        return status_text(400, "Ticket Priority ID is Invalid");
    if (m.find_type(php::to_int(p.get("tickettypeid"))) == nullptr)
        return status_text(400, "Ticket Type ID is Invalid");
    const staff_member* staff = nullptr;
    if (!p.empty("staffid")) {
        staff = m.find_staff(php::to_int(p.get("staffid")));
        if (staff == nullptr) return status_text(400, "Staff ID is Invalid");
    }

    const std::int64_t now = c.now;
    std::string fullname = p.get("fullname");
    std::string email = p.get("email");
    id_t userid = 0;
    int creator = 2;
    post first;
    first.dateline = now;
    first.contents = p.get("contents");
    first.ipaddress = "127.0.0.1";
    const bool phone = p.get("type") == "phone";
    if (p.get("autouserid") == "1") {
        const user* u = user_by_email(m, email);
        userid = u ? u->userid : create_user(m, now, fullname, email).userid;
    } else if (!p.empty("userid")) {
        userid = php::to_int(p.get("userid"));
        if (const user* u = m.find_user(userid)) {
            const bool owns = std::any_of(u->emails.begin(), u->emails.end(),
                                          [&](const std::string& e) { return iequal(e, email); });
            if (!owns) return status_text(400, "User Email is Invalid");
            fullname = u->fullname;
        }
    } else {
        const user* u = user_by_email(m, email);
        userid = u ? u->userid : create_user(m, now, fullname, email).userid;
        creator = 1;
    }
    // create_user may have reallocated the users vector: look things up again from here on.
    staff = staff ? m.find_staff(php::to_int(p.get("staffid"))) : nullptr;

    ticket t;
    t.ticketid = m.next_ticketid++;
    t.ticketmaskid = new_mask(m, t.ticketid);
    t.departmentid = dept->departmentid;
    t.ticketstatusid = status->ticketstatusid;
    t.priorityid = php::to_int(p.get("ticketpriorityid"));
    t.tickettypeid = php::to_int(p.get("tickettypeid"));
    t.userid = userid;
    t.fullname = fullname;
    t.email = email;
    t.subject = p.get("subject");
    t.dateline = t.lastactivity = now;
    t.creator = creator;
    t.creationmode = creator == 1 ? 7 : 4;
    t.tickettype = phone ? 2 : 1;
    t.ipaddress = "127.0.0.1";
    t.isresolved = status->markasresolved;
    if (t.isresolved) t.resolutiondateline = now;
    if (!p.empty("ownerstaffid"))
        if (const staff_member* owner = m.find_staff(php::to_int(p.get("ownerstaffid")))) {
            t.ownerstaffid = owner->staffid;
            t.ownerstaffname = owner->fullname;
        }
    if (!p.empty("templategroup")) {
        const std::string tg = p.get("templategroup");
        for (const auto& g : m.template_groups)
            if ((php::is_numeric(tg) && g.tgroupid == php::to_int(tg)) || iequal(g.title, tg))
                t.tgroupid = g.tgroupid;
    }
    first.ticketpostid = m.next_postid++;
    first.ticketid = t.ticketid;
    first.creator = creator;
    if (creator == 1 && staff != nullptr) {
        first.staffid = staff->staffid;
        if (!phone && valid_email(email)) {
            // A staff-created default ticket: the post is the staff member's reply to the customer.
            first.emailto = email;
            first.fullname = staff->fullname;
            first.email = staff->email;
            first.isemailed = 1;
        } else {
            first.fullname = fullname;
            first.email = email;
        }
    } else {
        first.userid = userid;
        first.fullname = fullname;
        first.email = email;
    }
    t.posts = std::vector<post>{first};
    t.attachments = std::vector<attachment>{};
    refresh_reply_fields(m, t);
    m.tickets.push_back(std::move(t));
    return xml_ok(detail::render_tickets(m, c.options, {&m.tickets.back()}, true));
}

// ---- Tickets/Ticket Put: partial, invalid values silently ignored ------------------------

http_response ticket_put(call_context& c, const args_t& a) {
    helpdesk& m = *c.writable;
    const ticket* found = a.empty() ? nullptr : lookup_ticket(m, a[0]);
    if (found == nullptr) return status_text(404, "Ticket not Found");
    ticket& t = *m.find_ticket(found->ticketid);
    // Seeded posts are derived from ticket fields (email, user); pin them before those change,
    // as a real helpdesk stores its posts.
    materialize(m, t);
    const auto& p = c.post;
    bool changed = false;
    auto set = [&](auto& field, auto value) {
        if (field != value) {
            field = value;
            changed = true;
        }
    };
    if (p.has("departmentid"))
        if (const department* d = m.find_department(php::to_int(p.get("departmentid")));
            d && d->departmentapp == "tickets")
            set(t.departmentid, d->departmentid);
    if (p.has("ticketstatusid"))
        if (const ticket_status* s = m.find_status(php::to_int(p.get("ticketstatusid")))) {
            set(t.ticketstatusid, s->ticketstatusid);
            if (t.isresolved != s->markasresolved) {
                t.isresolved = s->markasresolved;
                t.resolutiondateline = s->markasresolved ? c.now : 0;
            }
        }
    if (p.has("ticketpriorityid"))
        if (const auto* x = m.find_priority(php::to_int(p.get("ticketpriorityid"))))
            set(t.priorityid, x->priorityid);
    if (p.has("tickettypeid"))
        if (const auto* x = m.find_type(php::to_int(p.get("tickettypeid"))))
            set(t.tickettypeid, x->tickettypeid);
    if (p.has("ownerstaffid")) {
        const id_t owner = php::to_int(p.get("ownerstaffid"));
        if (owner == 0) {
            set(t.ownerstaffid, id_t{0});
            set(t.ownerstaffname, std::string());
        } else if (const staff_member* s = m.find_staff(owner)) {
            set(t.ownerstaffid, s->staffid);
            set(t.ownerstaffname, s->fullname);
        }
    }
    if (p.has("subject")) set(t.subject, p.get("subject"));
    if (p.has("fullname")) set(t.fullname, p.get("fullname"));
    if (p.has("email")) set(t.email, p.get("email"));
    if (p.has("userid"))
        if (const user* u = m.find_user(php::to_int(p.get("userid")))) set(t.userid, u->userid);
    if (p.has("templategroup")) {
        const std::string tg = p.get("templategroup");
        for (const auto& g : m.template_groups)
            if ((php::is_numeric(tg) && g.tgroupid == php::to_int(tg)) || iequal(g.title, tg))
                set(t.tgroupid, g.tgroupid);
    }
    if (changed) t.lastactivity = c.now;  // UpdatePool stamps every change
    return xml_ok(detail::render_tickets(m, c.options, {&t}, true));
}

http_response ticket_delete(call_context& c, const args_t& a) {
    helpdesk& m = *c.writable;
    const ticket* t = a.empty() ? nullptr : lookup_ticket(m, a[0]);
    if (t == nullptr) return status_text(404, "Ticket not Found");
    const id_t id = t->ticketid;
    std::erase_if(m.tickets, [&](const ticket& x) { return x.ticketid == id; });
    return empty_ok();
}

// ---- Tickets/TicketPost Post / Delete -----------------------------------------------------

http_response post_post(call_context& c, const args_t&) {
    const auto& p = c.post;
    helpdesk& m = *c.writable;
    if (blank(p, "ticketid")) return status_text(400, "No Ticket ID Specified");
    if (blank(p, "contents")) return status_text(400, "No Contents Specified");
    if (p.empty("userid") && p.empty("staffid"))
        return status_text(400, "Staff ID and User ID is empty");
    const user* u = nullptr;
    const staff_member* s = nullptr;
    if (!p.empty("userid")) {
        u = m.find_user(php::to_int(p.get("userid")));
        if (u == nullptr) return status_text(400, "User ID is Invalid");
    } else {
        s = m.find_staff(php::to_int(p.get("staffid")));
        if (s == nullptr) return status_text(400, "Staff ID is Invalid");
    }
    const ticket* found = lookup_ticket(m, p.get("ticketid"));
    if (found == nullptr) return status_text(404, "Ticket not Found");
    ticket& t = *m.find_ticket(found->ticketid);
    materialize(m, t);
    post np;
    np.ticketpostid = m.next_postid++;
    np.ticketid = t.ticketid;
    np.dateline = c.now;
    np.contents = p.get("contents");
    if (u != nullptr) {
        np.creator = 2;
        np.userid = u->userid;
        np.fullname = u->fullname;
        np.email = u->emails.empty() ? std::string() : u->emails.front();
        np.ipaddress = "127.0.0.1";
    } else {
        np.creator = 1;
        np.staffid = s->staffid;
        np.fullname = s->fullname;
        np.email = s->email;
        np.isprivate = p.get("isprivate") == "1" ? 1 : 0;
        // The shifted CreateStaff arguments: always ishtml=0; e-mailed only for plain text
        // contents that are not private.
        const bool html = np.contents.find('<') != std::string::npos &&
                          np.contents.find('>') != std::string::npos;
        np.isemailed = (!html && np.isprivate == 0) ? 1 : 0;
        np.emailto = np.isemailed ? t.email : std::string();
    }
    t.posts->push_back(np);
    refresh_reply_fields(m, t);
    t.lastactivity = c.now;
    // Same XML as TicketPost ListAll, holding the new post only.
    std::string out;
    xml_writer w(out, c.options.php);
    w.open("posts");
    w.open("post");
    w.leaf("id", np.ticketpostid);
    w.leaf("ticketpostid", np.ticketpostid);
    w.leaf("ticketid", np.ticketid);
    w.leaf("dateline", np.dateline);
    w.leaf("userid", np.userid);
    w.leaf("fullname", np.fullname);
    w.leaf("email", np.email);
    w.leaf("emailto", np.emailto);
    w.leaf("ipaddress", np.ipaddress);
    w.leaf("hasattachments", np.hasattachments);
    w.leaf("creator", np.creator);
    w.leaf("isthirdparty", np.isthirdparty);
    w.leaf("ishtml", np.ishtml);
    w.leaf("isemailed", np.isemailed);
    w.leaf("staffid", np.staffid);
    w.leaf("issurveycomment", np.issurveycomment);
    w.leaf("contents", np.contents);
    w.leaf("isprivate", np.isprivate);
    w.close("post");
    w.close("posts");
    w.finish();
    return xml_ok(std::move(out));
}

http_response post_delete(call_context& c, const args_t& a) {
    helpdesk& m = *c.writable;
    if (a.size() < 2) return status_text(404, "Ticket not Found");
    const ticket* found = lookup_ticket(m, a[0]);
    if (found == nullptr) return status_text(404, "Ticket not Found");
    const id_t postid = php::to_int(a[1]);
    ticket* owner = nullptr;
    for (auto& other : m.tickets) {
        const bool has =
            other.posts
                ? std::any_of(other.posts->begin(), other.posts->end(),
                              [&](const post& x) { return x.ticketpostid == postid; })
                : (postid >= other.first_postid && postid < other.first_postid + other.post_count);
        if (has) {
            owner = &other;
            break;
        }
    }
    if (owner == nullptr) return status_text(404, "Ticket Post not Found");
    if (owner->ticketid != found->ticketid)
        return status_text(400, "Post does not belong to the specified ticket");
    materialize(m, *owner);
    std::erase_if(*owner->posts, [&](const post& x) { return x.ticketpostid == postid; });
    std::erase_if(*owner->attachments,
                  [&](const attachment& x) { return x.ticketpostid == postid; });
    refresh_reply_fields(m, *owner);
    owner->lastactivity = c.now;
    return empty_ok();
}

// ---- Tickets/TicketNote Post --------------------------------------------------------------

http_response note_post(call_context& c, const args_t&) {
    const auto& p = c.post;
    helpdesk& m = *c.writable;
    if (blank(p, "ticketid")) return status_text(400, "No Ticket ID Specified");
    const ticket* found = lookup_ticket(m, p.get("ticketid"));
    if (found == nullptr) return status_text(404, "Ticket not Found");
    const staff_member* s =
        p.empty("staffid") ? nullptr : m.find_staff(php::to_int(p.get("staffid")));
    if (s == nullptr && blank(p, "fullname"))
        return status_text(400, "No fullname or staff id specified");
    if (!p.has("contents")) return status_text(400, "No contents specified");
    ticket& t = *m.find_ticket(found->ticketid);
    ticket_note n;
    n.ticketnoteid = m.next_noteid++;
    n.ticketid = t.ticketid;
    n.staffid = s ? s->staffid : 0;
    n.staffname = s ? s->fullname : p.get("fullname");
    if (!p.empty("forstaffid"))
        if (const staff_member* f = m.find_staff(php::to_int(p.get("forstaffid"))))
            n.forstaffid = f->staffid;
    n.notecolor = p.empty("notecolor") ? 1 : static_cast<int>(php::to_int(p.get("notecolor")));
    n.dateline = c.now;
    n.note = p.get("contents");
    t.notes.push_back(n);
    t.hasnotes = 1;
    t.lastactivity = c.now;  // the hasnotes update goes through UpdatePool
    std::string out;
    xml_writer w(out, c.options.php);
    w.open("notes");
    w.leaf("note", n.note,
           {{"type", "ticket"},
            {"id", n.ticketnoteid},
            {"ticketid", n.ticketid},
            {"notecolor", n.notecolor},
            {"creatorstaffid", n.staffid},
            {"forstaffid", n.forstaffid},
            {"creatorstaffname", n.staffname},
            {"creationdate", n.dateline}});
    w.close("notes");
    w.finish();
    return xml_ok(std::move(out));
}

// ---- Base/User Post / Put / Delete --------------------------------------------------------

std::string render_one_user(const call_context& c, const user& u) {
    std::string out;
    xml_writer w(out, c.options.php);
    w.open("users");
    detail::render_user(w, u);
    w.close("users");
    w.finish();
    return out;
}

// Emails from `email` (a string) or `email[]`: invalid array entries are dropped.
std::vector<std::string> posted_emails(const php::vars& p, bool& single) {
    std::vector<std::string> out;
    const php::value* v = p.find("email");
    single = v != nullptr && !v->is_array;
    if (v == nullptr) return out;
    if (v->is_array) {
        for (const auto& e : v->list())
            if (valid_email(php::trim(e))) out.emplace_back(php::trim(e));
    } else if (valid_email(php::trim(v->scalar))) {
        out.emplace_back(php::trim(v->scalar));
    }
    return out;
}

http_response user_post(call_context& c, const args_t&) {
    const auto& p = c.post;
    helpdesk& m = *c.writable;
    if (blank(p, "fullname") || blank(p, "password") || p.empty("usergroupid") || p.empty("email"))
        return status_text(400, "One of the required fields is empty");
    const user_group* g = m.find_user_group(php::to_int(p.get("usergroupid")));
    if (g == nullptr) return status_text(400, "Invalid User Group");
    if (g->grouptype != 1)
        return status_text(400, "User Group Specified is not of \"Registered\" type");
    if (!p.empty("userorganizationid") &&
        m.find_organization(php::to_int(p.get("userorganizationid"))) == nullptr)
        return status_text(400, "Invalid User Organization ID");
    if (!p.empty("slaplanid") && php::to_int(p.get("slaplanid")) != 1)
        return status_text(400, "Invalid SLA Plan");
    bool single = false;
    const auto emails = posted_emails(p, single);
    for (const auto& e : emails)
        if (user_by_email(m, e) != nullptr)
            return status_text(400,
                               "Unable to insert user. Email address belongs to an existing user.");
    if (emails.empty()) return status_text(400, "Invalid Email Specified");
    user& u = create_user(m, c.now, p.get("fullname"), emails.front(), g->usergroupid);
    u.emails = emails;
    u.userorganizationid = php::to_int(p.get("userorganizationid"));
    for (const char* s : {"Mr.", "Ms.", "Mrs.", "Dr."})
        if (iequal(p.get("salutation"), s)) u.salutation = s;
    u.userdesignation = p.get("designation");
    u.phone = p.get("phone");
    u.timezonephp = p.get("timezone");
    u.isenabled = p.has("isenabled") ? (php::to_int(p.get("isenabled")) != 0 ? 1 : 0) : 1;
    u.userrole = p.get("userrole") == "manager" ? 2 : 1;
    u.enabledst = php::to_int(p.get("enabledst")) != 0 ? 1 : 0;
    u.slaplanid = p.empty("slaplanid") ? 0 : 1;  // Kayako's (int)array bug: always 1
    u.slaplanexpiry = php::to_int(p.get("slaplanexpiry"));
    u.userexpiry = php::to_int(p.get("userexpiry"));
    return xml_ok(render_one_user(c, u));
}

http_response user_put(call_context& c, const args_t& a) {
    const auto& p = c.post;
    helpdesk& m = *c.writable;
    const id_t id = a.empty() ? 0 : php::to_int(a[0]);
    const user* found = m.find_user(id);
    if (found == nullptr) return status_text(400, "User Load Failed: Invalid data provided");
    if (blank(p, "fullname")) return status_text(400, "One of the required fields is empty");
    if (p.has("usergroupid")) {
        const user_group* g = m.find_user_group(php::to_int(p.get("usergroupid")));
        if (g == nullptr) return status_text(400, "Invalid User Group");
        if (g->grouptype != 1)
            return status_text(400, "User Group Specified is not of \"Registered\" type");
    }
    if (!p.empty("userorganizationid") &&
        m.find_organization(php::to_int(p.get("userorganizationid"))) == nullptr)
        return status_text(400, "Invalid User Organization ID");
    if (!p.empty("slaplanid") && php::to_int(p.get("slaplanid")) != 1)
        return status_text(400, "Invalid SLA Plan");
    bool single = false;
    std::vector<std::string> emails;
    if (p.has("email")) {
        emails = posted_emails(p, single);
        for (const auto& e : emails)
            if (const user* other = user_by_email(m, e); other && other->userid != id)
                return status_text(
                    400, "Unable to update user. Email address belongs to an existing user.");
        if (emails.empty()) return status_text(400, "Invalid Email Specified");
    }
    if (!emails.empty()) materialize_tickets_of_user(m, id);
    user& u = const_cast<user&>(*found);
    u.fullname = p.get("fullname");
    if (p.has("usergroupid")) u.usergroupid = php::to_int(p.get("usergroupid"));
    if (p.has("userorganizationid"))
        u.userorganizationid = php::to_int(p.get("userorganizationid"));
    if (p.has("salutation")) {
        u.salutation.clear();
        for (const char* s : {"Mr.", "Ms.", "Mrs.", "Dr."})
            if (iequal(p.get("salutation"), s)) u.salutation = s;
    }
    if (p.has("designation")) u.userdesignation = p.get("designation");
    if (p.has("phone")) u.phone = p.get("phone");
    if (p.has("isenabled")) u.isenabled = php::to_int(p.get("isenabled")) != 0 ? 1 : 0;
    if (p.has("userrole")) {
        if (p.get("userrole") == "manager") u.userrole = 2;
        if (p.get("userrole") == "user") u.userrole = 1;
    }
    if (p.has("timezone")) u.timezonephp = p.get("timezone");
    if (p.has("enabledst")) u.enabledst = php::to_int(p.get("enabledst")) != 0 ? 1 : 0;
    if (p.has("slaplanid")) u.slaplanid = p.empty("slaplanid") ? 0 : 1;
    if (p.has("slaplanexpiry")) u.slaplanexpiry = php::to_int(p.get("slaplanexpiry"));
    if (p.has("userexpiry")) u.userexpiry = php::to_int(p.get("userexpiry"));
    if (!emails.empty()) u.emails = emails;
    return xml_ok(render_one_user(c, u));
}

http_response user_delete(call_context& c, const args_t& a) {
    helpdesk& m = *c.writable;
    const id_t id = a.empty() ? 0 : php::to_int(a[0]);
    if (m.find_user(id) == nullptr)
        return status_text(400, "User Load Failed: Invalid data provided");
    materialize_tickets_of_user(m, id);
    std::erase_if(m.users, [&](const user& u) { return u.userid == id; });
    return empty_ok();
}

// ---- Base/UserOrganization Post / Put -----------------------------------------------------

std::string render_one_org(const call_context& c, const organization& o) {
    std::string out;
    xml_writer w(out, c.options.php);
    w.open("userorganizations");
    detail::render_organization(w, o);
    w.close("userorganizations");
    w.finish();
    return out;
}

void apply_org_fields(const php::vars& p, organization& o) {
    // Every field not posted becomes empty/0: Put is a full replacement.
    o.address = p.get("address");
    o.city = p.get("city");
    o.state = p.get("state");
    o.postalcode = p.get("postalcode");
    o.country = p.get("country");
    o.phone = p.get("phone");
    o.fax = p.get("fax");
    o.website = p.get("website");
    o.slaplanid = php::to_int(p.get("slaplanid"));
    o.slaplanexpiry = php::to_int(p.get("slaplanexpiry"));
}

int org_type(const std::string& s) {
    return s == "shared" ? 2 : s == "restricted" ? 1 : 0;
}

http_response org_post(call_context& c, const args_t&) {
    const auto& p = c.post;
    helpdesk& m = *c.writable;
    if (blank(p, "name") || org_type(p.get("organizationtype")) == 0)
        return status_text(400, "One of the required fields is empty");
    if (!p.empty("slaplanid") && php::to_int(p.get("slaplanid")) != 1)
        return status_text(400, "Invalid SLA Plan Specified");
    organization o;
    o.userorganizationid = m.next_organizationid++;
    o.organizationname = p.get("name");
    o.organizationtype = org_type(p.get("organizationtype"));
    apply_org_fields(p, o);
    o.dateline = o.lastupdate = c.now;
    m.organizations.push_back(std::move(o));
    return xml_ok(render_one_org(c, m.organizations.back()));
}

http_response org_put(call_context& c, const args_t& a) {
    const auto& p = c.post;
    helpdesk& m = *c.writable;
    const organization* found = a.empty() ? nullptr : m.find_organization(php::to_int(a[0]));
    if (found == nullptr)
        return status_text(400, "User Organization Load Failed: Invalid data provided");
    if (blank(p, "name")) return status_text(400, "One of the required fields is empty");
    if (!p.empty("slaplanid") && php::to_int(p.get("slaplanid")) != 1)
        return status_text(400, "Invalid SLA Plan Specified");
    organization& o = const_cast<organization&>(*found);
    o.organizationname = p.get("name");
    if (org_type(p.get("organizationtype")) != 0)
        o.organizationtype = org_type(p.get("organizationtype"));
    apply_org_fields(p, o);
    o.lastupdate = c.now;
    return xml_ok(render_one_org(c, o));
}

}  // namespace

namespace detail {

void register_write_methods(std::map<std::pair<std::string, std::string>, controller_def>& c) {
    auto& ticket_methods = c[{"tickets", "Ticket"}].methods;
    ticket_methods["post"] = ticket_post;
    ticket_methods["put"] = ticket_put;
    ticket_methods["delete"] = ticket_delete;
    auto& post_methods = c[{"tickets", "TicketPost"}].methods;
    post_methods["post"] = post_post;
    post_methods["delete"] = post_delete;
    c[{"tickets", "TicketNote"}].methods["post"] = note_post;
    auto& user_methods = c[{"base", "User"}].methods;
    user_methods["post"] = user_post;
    user_methods["put"] = user_put;
    user_methods["delete"] = user_delete;
    auto& org_methods = c[{"base", "UserOrganization"}].methods;
    org_methods["post"] = org_post;
    org_methods["put"] = org_put;
}

}  // namespace detail

}  // namespace ksync::emulator
