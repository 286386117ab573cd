// Tickets app controllers, read side (kayako-api.md §4.1-§4.9).
#include "tests/emulator/service.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <unordered_map>

namespace ksync::emulator {

namespace {

using detail::status_text;
using detail::xml_ok;
using args_t = std::vector<std::string>;

std::string base64(std::string_view data) {
    std::string out(4 * ((data.size() + 2) / 3), '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(data.data()),
                                  static_cast<int>(data.size()));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

// PHP raises ArgumentCountError when a required parameter is missing.
void require_args(const args_t& a, std::size_t n, const char* method, const char* file, int line) {
    if (a.size() < n)
        throw php_exception{"Too few arguments to function " + std::string(method) + "(), " +
                                std::to_string(a.size()) + " passed and exactly " +
                                std::to_string(n) + " expected",
                            file, line};
}

constexpr const char* ticket_file =
    "/var/www/kayako/__apps/tickets/api/class.Controller_Ticket.php";
constexpr const char* post_file =
    "/var/www/kayako/__apps/tickets/api/class.Controller_TicketPost.php";

// SWIFT_Ticket::GetObjectOnID: numeric ids by ticketid, anything else by mask.
const ticket* lookup_ticket(const helpdesk& m, std::string_view id) {
    if (php::is_numeric(id)) return m.find_ticket(php::to_int(id));
    return m.find_ticket_by_mask(id);
}

// Child tables are queried with the raw value: a mask id matches no rows (MySQL casts it to 0).
bool child_query_matches(std::string_view raw) {
    return php::is_numeric(raw);
}

template <class T>
void shuffle_unordered(std::vector<T>& v, std::uint64_t nonce) {
    // "No ORDER BY": the emulator returns such lists in a new order on each request.
    std::uint64_t state = nonce;
    for (std::size_t j = v.size(); j > 1; --j) {
        state = detail::mix64(state, j);
        std::swap(v[j - 1], v[state % j]);
    }
}

void render_post(xml_writer& w, const post& p, bool strip_format) {
    w.open("post");
    w.leaf("id", p.ticketpostid);
    w.leaf("ticketpostid", p.ticketpostid);
    w.leaf("ticketid", p.ticketid);
    w.leaf("dateline", p.dateline);
    w.leaf("userid", p.userid);
    w.leaf("fullname", p.fullname);
    w.leaf("email", p.email);
    w.leaf("emailto", p.emailto);
    w.leaf("ipaddress", p.ipaddress);
    w.leaf("hasattachments", p.hasattachments);
    w.leaf("creator", p.creator);
    w.leaf("isthirdparty", p.isthirdparty);
    w.leaf("ishtml", p.ishtml);
    w.leaf("isemailed", p.isemailed);
    w.leaf("staffid", p.staffid);
    w.leaf("issurveycomment", p.issurveycomment);
    if (strip_format) {
        // SWIFT-1949: preg_replace('/[^\P{C}\r\n\t]/u', '', contents) in TicketPost only.
        std::string cleaned;
        cleaned.reserve(p.contents.size());
        const std::string& s = p.contents;
        for (std::size_t i = 0; i < s.size();) {
            const auto c = static_cast<unsigned char>(s[i]);
            std::size_t len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
            if (i + len > s.size()) len = s.size() - i;
            std::uint32_t cp = c;
            if (len == 2) cp = ((c & 0x1Fu) << 6) | (static_cast<unsigned char>(s[i + 1]) & 0x3Fu);
            if (len == 3)
                cp = ((c & 0x0Fu) << 12) | ((static_cast<unsigned char>(s[i + 1]) & 0x3Fu) << 6) |
                     (static_cast<unsigned char>(s[i + 2]) & 0x3Fu);
            if (len == 4)
                cp = ((c & 0x07u) << 18) | ((static_cast<unsigned char>(s[i + 1]) & 0x3Fu) << 12) |
                     ((static_cast<unsigned char>(s[i + 2]) & 0x3Fu) << 6) |
                     (static_cast<unsigned char>(s[i + 3]) & 0x3Fu);
            const bool control =
                (cp < 0x20 && cp != '\r' && cp != '\n' && cp != '\t') || (cp >= 0x7F && cp <= 0x9F);
            const bool format = cp == 0xAD || (cp >= 0x200B && cp <= 0x200F) ||
                                (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2060 && cp <= 0x2064) ||
                                cp == 0xFEFF || (cp >= 0x0600 && cp <= 0x0605);
            const bool private_use = (cp >= 0xE000 && cp <= 0xF8FF) || cp >= 0xF0000;
            if (!control && !format && !private_use) cleaned.append(s, i, len);
            i += len;
        }
        w.leaf("contents", cleaned);
    } else {
        w.leaf("contents", p.contents);
    }
    w.leaf("isprivate", p.isprivate);
}

std::string render_notes_list(const helpdesk& m, const api_options& o,
                              std::vector<const ticket_note*> notes) {
    (void)m;
    std::string out;
    xml_writer w(out, o.php);
    w.open("notes");
    for (const auto* n : notes)
        w.leaf("note", n->note,
               {{"type", "ticket"},
                {"id", n->ticketnoteid},
                {"ticketid", n->ticketid},
                {"notecolor", n->notecolor},
                {"creatorstaffid", n->staffid},
                {"forstaffid", n->forstaffid},
                {"creatorstaffname", n->staffname},
                {"creationdate", n->dateline}});
    w.close("notes");
    w.finish();
    return out;
}

std::string render_timetracks(const api_options& o, const std::vector<const time_track*>& list) {
    std::string out;
    xml_writer w(out, o.php);
    w.open("timetracks");
    for (const auto* t : list)
        w.leaf("timetrack", t->notes,
               {{"id", t->tickettimetrackid},
                {"ticketid", t->ticketid},
                {"timeworked", t->timespent},
                {"timebillable", t->timebillable},
                {"billdate", t->dateline},
                {"workdate", t->workdateline},
                {"workerstaffid", t->workerstaffid},
                {"workerstaffname", t->workerstaffname},
                {"creatorstaffid", t->creatorstaffid},
                {"creatorstaffname", t->creatorstaffname},
                {"notecolor", t->notecolor}});
    w.close("timetracks");
    w.finish();
    return out;
}

void render_attachment(xml_writer& w, const attachment& a, bool with_ticket, bool contents) {
    w.open("attachment");
    w.leaf("id", a.attachmentid);
    if (with_ticket) {
        w.leaf("ticketid", a.ticketid);
        w.leaf("ticketpostid", a.ticketpostid);
    }
    w.leaf("filename", a.filename);
    w.leaf("filesize", static_cast<std::int64_t>(a.contents.size()));
    w.leaf("filetype", a.filetype);
    w.leaf("dateline", a.dateline);
    if (contents) w.leaf("contents", base64(a.contents));
    w.close("attachment");
}

http_response not_implemented(std::string text) {
    return status_text(400, std::move(text));
}

// ---- Tickets/Ticket ------------------------------------------------------------------

http_response ticket_listall(call_context& c, const args_t& a) {
    require_args(a, 1, "Controller_Ticket::ListAll", ticket_file, 132);
    const auto list = c.svc.listall(c.model, {a, c.post.get("email")}, c.nonce, true);
    return xml_ok(detail::render_tickets(c.model, c.options, list, false));
}

http_response ticket_count(call_context& c, const args_t& a) {
    require_args(a, 1, "Controller_Ticket::GetTicketCount", ticket_file, 214);
    // Same filters; count and start do not apply (only four arguments are read).
    args_t filters(a.begin(), a.begin() + static_cast<long>(std::min<std::size_t>(a.size(), 4)));
    const auto list = c.svc.listall(c.model, {filters, c.post.get("email")}, c.nonce, false);
    std::string out;
    xml_writer w(out, c.options.php);
    w.open("tickets");
    w.leaf_int("totalcount", static_cast<std::int64_t>(list.size()));
    w.close("tickets");
    w.finish();
    return xml_ok(std::move(out));
}

http_response ticket_get(call_context& c, const args_t& a) {
    require_args(a, 1, "Controller_Ticket::Get", ticket_file, 318);
    const ticket* t = lookup_ticket(c.model, a[0]);
    if (t == nullptr) return status_text(404, "Ticket not Found");
    return xml_ok(detail::render_tickets(c.model, c.options, {t}, true));
}

// ---- Tickets/TicketPost ----------------------------------------------------------------

std::string render_posts(const helpdesk& m, const api_options& o, const ticket& t,
                         const std::vector<post>& posts) {
    std::vector<attachment> atts;
    bool any = false;
    for (const auto& p : posts) any = any || p.hasattachments != 0;
    if (any) atts = m.attachments_of(t);
    std::string out;
    out.reserve(posts.size() * 2048 + 256);
    xml_writer w(out, o.php);
    w.open("posts");
    for (const auto& p : posts) {
        render_post(w, p, true);
        if (p.hasattachments != 0) {
            w.open("attachments");
            for (const auto& at : atts)
                if (at.ticketpostid == p.ticketpostid) render_attachment(w, at, false, true);
            w.close("attachments");
        }
        w.close("post");
    }
    w.close("posts");
    w.finish();
    return out;
}

http_response post_listall(call_context& c, const args_t& a) {
    require_args(a, 1, "Controller_TicketPost::ListAll", post_file, 96);
    const ticket* t = lookup_ticket(c.model, a[0]);
    if (t == nullptr) return status_text(404, "Ticket not Found");
    std::vector<post> posts;
    if (child_query_matches(a[0])) posts = c.model.posts_of(*t);
    if (c.options.posts_descending) std::reverse(posts.begin(), posts.end());
    return xml_ok(render_posts(c.model, c.options, *t, posts));
}

http_response post_get(call_context& c, const args_t& a) {
    require_args(a, 2, "Controller_TicketPost::Get", post_file, 152);
    const ticket* t = lookup_ticket(c.model, a[0]);
    if (t == nullptr) return status_text(404, "Ticket not Found");
    const id_t postid = php::to_int(a[1]);
    // The post is loaded on its own id first; then its ticket is compared.
    const ticket* owner = nullptr;
    for (const auto& other : c.model.tickets) {
        if (other.posts) {
            for (const auto& p : *other.posts)
                if (p.ticketpostid == postid) owner = &other;
        } else if (postid >= other.first_postid && postid < other.first_postid + other.post_count) {
            owner = &other;
        }
        if (owner != nullptr) break;
    }
    if (owner != nullptr) {
        if (owner->ticketid != t->ticketid)
            return status_text(400, "Post does not belong to the specified ticket");
        for (const auto& p : c.model.posts_of(*owner))
            if (p.ticketpostid == postid) return xml_ok(render_posts(c.model, c.options, *t, {p}));
    }
    return status_text(404, "Ticket Post not Found");
}

// ---- Tickets/TicketNote ---------------------------------------------------------------

http_response note_listall(call_context& c, const args_t& a) {
    require_args(a, 1, "Controller_TicketNote::ListAll", post_file, 90);
    const ticket* t = lookup_ticket(c.model, a[0]);
    if (t == nullptr) return status_text(404, "Ticket not Found");
    std::vector<const ticket_note*> notes;
    if (child_query_matches(a[0]))
        for (const auto& n : t->notes) notes.push_back(&n);
    shuffle_unordered(notes, c.nonce);
    return xml_ok(render_notes_list(c.model, c.options, notes));
}

http_response note_get(call_context& c, const args_t& a) {
    require_args(a, 2, "Controller_TicketNote::Get", post_file, 140);
    const ticket* t = lookup_ticket(c.model, a[0]);
    if (t == nullptr) return status_text(404, "Ticket not Found");
    const id_t id = php::to_int(a[1]);
    for (const auto& other : c.model.tickets)
        for (const auto& n : other.notes)
            if (n.ticketnoteid == id) {
                if (n.ticketid != t->ticketid)
                    return status_text(400, "Ticket note does not belong to the specified ticket");
                return xml_ok(render_notes_list(c.model, c.options, {&n}));
            }
    return status_text(404, "Ticket note not Found");
}

// ---- Tickets/TicketTimeTrack -----------------------------------------------------------

http_response timetrack_listall(call_context& c, const args_t& a) {
    require_args(a, 1, "Controller_TicketTimeTrack::ListAll", post_file, 90);
    const ticket* t = lookup_ticket(c.model, a[0]);
    if (t == nullptr) return status_text(404, "Ticket not Found");
    std::vector<const time_track*> list;
    if (child_query_matches(a[0]))
        for (const auto& x : t->timetracks) list.push_back(&x);
    return xml_ok(render_timetracks(c.options, list));
}

http_response timetrack_get(call_context& c, const args_t& a) {
    require_args(a, 2, "Controller_TicketTimeTrack::Get", post_file, 140);
    const ticket* t = lookup_ticket(c.model, a[0]);
    if (t == nullptr) return status_text(404, "Ticket not Found");
    const id_t id = php::to_int(a[1]);
    for (const auto& other : c.model.tickets)
        for (const auto& x : other.timetracks)
            if (x.tickettimetrackid == id) {
                if (x.ticketid != t->ticketid)
                    return status_text(
                        400, "Ticket time tracking note does not belong to the specified ticket");
                return xml_ok(render_timetracks(c.options, {&x}));
            }
    return status_text(404, "Ticket time tracking note not Found");
}

// ---- Tickets/TicketAttachment ----------------------------------------------------------

std::string render_attachments(const api_options& o, const std::vector<attachment>& list,
                               bool contents) {
    std::string out;
    xml_writer w(out, o.php);
    w.open("attachments");
    for (const auto& a : list) render_attachment(w, a, true, contents);
    w.close("attachments");
    w.finish();
    return out;
}

http_response attachment_listall(call_context& c, const args_t& a) {
    require_args(a, 1, "Controller_TicketAttachment::ListAll", post_file, 90);
    const ticket* t = lookup_ticket(c.model, a[0]);
    if (t == nullptr) return status_text(404, "Ticket not Found");
    std::vector<attachment> list;
    if (child_query_matches(a[0])) list = c.model.attachments_of(*t);
    shuffle_unordered(list, c.nonce);
    return xml_ok(render_attachments(c.options, list, false));
}

http_response attachment_get(call_context& c, const args_t& a) {
    require_args(a, 2, "Controller_TicketAttachment::Get", post_file, 140);
    const ticket* t = lookup_ticket(c.model, a[0]);
    if (t == nullptr) return status_text(404, "Ticket not Found");
    const id_t id = php::to_int(a[1]);
    for (const auto& other : c.model.tickets) {
        const bool seeded_range = !other.attachments && id >= other.first_attachmentid &&
                                  id < other.first_attachmentid + other.attachment_count;
        if (!other.attachments && !seeded_range) continue;
        for (const auto& at : c.model.attachments_of(other)) {
            if (at.attachmentid != id) continue;
            if (at.ticketid != t->ticketid)
                return status_text(400, "Attachment does not belong to the specified ticket");
            return xml_ok(render_attachments(c.options, {at}, true));
        }
    }
    return status_text(404, "Attachment not Found");
}

// ---- Tickets/TicketCustomField ---------------------------------------------------------

std::string escape_commas(const std::string& s) {
    std::string out;
    for (char ch : s) {
        if (ch == ',') out.push_back('\\');
        out.push_back(ch);
    }
    return out;
}

http_response customfield_get(call_context& c, const args_t& a) {
    require_args(a, 1, "Controller_TicketCustomField::Get", post_file, 90);
    const ticket* t = lookup_ticket(c.model, a[0]);
    if (t == nullptr) return status_text(404, "Ticket not Found");
    const auto values = c.model.custom_values_of(*t);
    const bool dept_linked = t->creationmode == 3 || t->creationmode == 4 || t->creationmode == 6 ||
                             t->creationmode == 7;
    auto option_text = [&](id_t id) -> std::string {
        for (const auto& o : c.model.custom_field_options)
            if (o.customfieldoptionid == id) return o.optionvalue;
        return {};
    };
    std::vector<const custom_field_group*> groups;
    for (const auto& g : c.model.custom_field_groups) {
        if (g.grouptype != 3 && g.grouptype != 4 && g.grouptype != 9) continue;
        bool linked = false;  // customfieldlinks: the ticket has values in the group
        for (const auto& v : values)
            if (const auto* f = c.model.find_custom_field(v.customfieldid);
                f && f->customfieldgroupid == g.customfieldgroupid)
                linked = true;
        const bool by_dept =
            dept_linked && std::find(g.departmentids.begin(), g.departmentids.end(),
                                     t->departmentid) != g.departmentids.end();
        if (linked || by_dept) groups.push_back(&g);
    }
    std::sort(groups.begin(), groups.end(), [](const auto* x, const auto* y) {
        return x->displayorder != y->displayorder ? x->displayorder < y->displayorder
                                                  : x->customfieldgroupid < y->customfieldgroupid;
    });
    std::string out;
    xml_writer w(out, c.options.php);
    w.open("customfields");
    for (const auto* g : groups) {
        w.open("group", {{"id", g->customfieldgroupid},
                         {"title", g->title},
                         {"displayorder", g->displayorder}});
        std::vector<const custom_field*> fields;
        for (const auto& f : c.model.custom_fields)
            if (f.customfieldgroupid == g->customfieldgroupid) fields.push_back(&f);
        std::sort(fields.begin(), fields.end(), [](const auto* x, const auto* y) {
            return x->displayorder != y->displayorder ? x->displayorder < y->displayorder
                                                      : x->customfieldid < y->customfieldid;
        });
        for (const auto* f : fields) {
            std::string text;
            for (const auto& v : values) {
                if (v.customfieldid != f->customfieldid) continue;
                switch (f->fieldtype) {
                    case 5:
                    case 6:
                        if (!v.optionids.empty()) text = option_text(v.optionids[0]);
                        break;
                    case 4:
                    case 7:
                        for (std::size_t i = 0; i < v.optionids.size(); ++i) {
                            if (i > 0) text += ", ";
                            text += escape_commas(option_text(v.optionids[i]));
                        }
                        break;
                    case 9:
                        if (!v.optionids.empty()) text = option_text(v.optionids[0]);
                        if (v.optionids.size() > 1) text += " &gt; " + option_text(v.optionids[1]);
                        break;
                    default:
                        text = v.fieldvalue;
                }
            }
            w.leaf("field", text,
                   {{"id", f->customfieldid},
                    {"title", f->title},
                    {"type", f->fieldtype},
                    {"name", f->fieldname}});
        }
        w.close("group");
    }
    w.close("customfields");
    w.finish();
    return xml_ok(std::move(out));
}

// ---- TicketStatus / TicketPriority / TicketType ----------------------------------------

template <class T, class Render>
http_response lookup_list(call_context& c, const std::vector<T>& all, id_t T::*key,
                          const char* container, Render render, const args_t& a) {
    const bool one = !a.empty() && php::to_int(a[0]) != 0;
    const id_t id = one ? php::to_int(a[0]) : 0;
    std::string out;
    xml_writer w(out, c.options.php);
    w.open(container);
    for (const auto& x : all)
        if (!one || x.*key == id) render(w, x);
    w.close(container);
    w.finish();
    return xml_ok(std::move(out));
}

void render_status(xml_writer& w, const ticket_status& s) {
    w.open("ticketstatus");
    w.leaf("id", s.ticketstatusid);
    w.leaf("title", s.title);
    w.leaf("displayorder", s.displayorder);
    w.leaf("departmentid", s.departmentid);
    w.leaf("displayicon", s.displayicon);
    w.leaf("type", s.statustype);
    w.leaf("displayinmainlist", s.displayinmainlist);
    w.leaf("markasresolved", s.markasresolved);
    w.leaf("displaycount", s.displaycount);
    w.leaf("statuscolor", s.statuscolor);
    w.leaf("statusbgcolor", s.statusbgcolor);
    w.leaf("resetduetime", s.resetduetime);
    w.leaf("triggersurvey", s.triggersurvey);
    w.leaf("staffvisibilitycustom", s.staffvisibilitycustom);
    for (auto g : s.staffgroupids) w.leaf("staffgroupid", g);
    w.close("ticketstatus");
}

void render_priority(xml_writer& w, const ticket_priority& p) {
    w.open("ticketpriority");
    w.leaf("id", p.priorityid);
    w.leaf("title", p.title);
    w.leaf("displayorder", p.displayorder);
    w.leaf("frcolorcode", p.frcolorcode);
    w.leaf("bgcolorcode", p.bgcolorcode);
    w.leaf("type", p.type);
    w.leaf("uservisibilitycustom", p.uservisibilitycustom);
    for (auto g : p.usergroupids) w.leaf("usergroupid", g);
    w.close("ticketpriority");
}

void render_type(xml_writer& w, const ticket_type& t) {
    w.open("tickettype");
    w.leaf("id", t.tickettypeid);
    w.leaf("title", t.title);
    w.leaf("displayorder", t.displayorder);
    w.leaf("departmentid", t.departmentid);
    w.leaf("displayicon", t.displayicon);
    w.leaf("type", t.type);
    w.leaf("uservisibilitycustom", t.uservisibilitycustom);
    for (auto g : t.usergroupids) w.leaf("usergroupid", g);
    w.close("tickettype");
}

// ---- TicketCount -----------------------------------------------------------------------

struct bucket {
    std::int64_t total = 0, unresolved = 0, lastactivity = 0;
    void add(const ticket& t) {
        ++total;
        if (t.isresolved == 0) ++unresolved;
        lastactivity = std::max(lastactivity, t.lastactivity);
    }
};

http_response ticketcount_getlist(call_context& c, const args_t&) {
    struct dept_buckets {
        bucket all;
        std::map<id_t, bucket> statuses, types, owners;
    };
    std::map<id_t, dept_buckets> depts;
    std::map<id_t, bucket> statuses, owners;
    for (const auto& t : c.model.tickets) {
        auto& d = depts[t.departmentid];
        d.all.add(t);
        d.statuses[t.ticketstatusid].add(t);
        d.types[t.tickettypeid].add(t);
        d.owners[t.ownerstaffid].add(t);
        statuses[t.ticketstatusid].add(t);
        owners[t.ownerstaffid].add(t);
    }
    std::string out;
    xml_writer w(out, c.options.php);
    w.open("ticketcount");
    w.open("departments");
    for (const auto& [id, d] : depts) {
        w.open("department", {{"id", id}});
        // The cache holds PHP integers, so a 0 collapses to an empty tag on PHP 7.
        w.leaf_int("totalitems", d.all.total);
        w.leaf_int("lastactivity", d.all.lastactivity);
        w.leaf_int("totalunresolveditems", d.all.unresolved);
        for (const auto& [sid, b] : d.statuses)
            w.empty("ticketstatus",
                    {{"id", sid}, {"lastactivity", b.lastactivity}, {"totalitems", b.total}});
        for (const auto& [tid, b] : d.types)
            w.empty("tickettype", {{"id", tid},
                                   {"lastactivity", b.lastactivity},
                                   {"totalitems", b.total},
                                   {"totalunresolveditems", b.unresolved}});
        for (const auto& [oid, b] : d.owners)
            w.empty("ownerstaff", {{"id", oid},
                                   {"lastactivity", b.lastactivity},
                                   {"totalitems", b.total},
                                   {"totalunresolveditems", b.unresolved}});
        w.close("department");
    }
    w.close("departments");
    w.comment("Ticket Count grouped by Status");
    w.open("statuses");
    for (const auto& [sid, b] : statuses)
        w.empty("ticketstatus",
                {{"id", sid}, {"lastactivity", b.lastactivity}, {"totalitems", b.total}});
    w.close("statuses");
    w.comment("Ticket Count grouped by Owner Staff");
    w.open("owners");
    for (const auto& [oid, b] : owners)
        w.empty("ownerstaff", {{"id", oid},
                               {"lastactivity", b.lastactivity},
                               {"totalitems", b.total},
                               {"totalunresolveditems", b.unresolved}});
    w.close("owners");
    w.comment("Unassigned Ticket Count grouped by Department");
    w.open("unassigned");
    for (const auto& [id, d] : depts) {
        auto it = d.owners.find(0);
        if (it == d.owners.end()) continue;
        w.empty("department", {{"id", id},
                               {"lastactivity", it->second.lastactivity},
                               {"totalitems", it->second.total},
                               {"totalunresolveditems", it->second.unresolved}});
    }
    w.close("unassigned");
    w.close("ticketcount");
    w.finish();
    return xml_ok(std::move(out));
}

}  // namespace

namespace detail {

std::string render_tickets(const helpdesk& m, const api_options& o,
                           const std::vector<const ticket*>& tickets, bool with_posts) {
    std::string out;
    out.reserve(512 + tickets.size() * (with_posts ? 6144 : 1600));
    xml_writer w(out, o.php);

    // User and organisation notes of the users on this page (one pass over the note table).
    std::unordered_map<id_t, std::vector<const user_note*>> user_notes, org_notes;
    if (!m.user_notes.empty()) {
        std::unordered_map<id_t, bool> wanted_users, wanted_orgs;
        for (const auto* t : tickets) {
            wanted_users[t->userid] = true;
            if (const user* u = m.find_user(t->userid)) wanted_orgs[u->userorganizationid] = true;
        }
        for (const auto& n : m.user_notes) {
            if (n.linktype == 1 && wanted_users.count(n.linktypeid))
                user_notes[n.linktypeid].push_back(&n);
            if (n.linktype == 2 && wanted_orgs.count(n.linktypeid))
                org_notes[n.linktypeid].push_back(&n);
        }
    }

    w.open("tickets");
    for (const ticket* tp : tickets) {
        const ticket& t = *tp;
        std::string_view orgname;
        id_t orgid = 0;
        if (const user* u = m.find_user(t.userid)) {
            orgid = u->userorganizationid;
            if (const organization* org = m.find_organization(orgid))
                orgname = org->organizationname;
        }
        w.open("ticket", {{"id", t.ticketid}, {"flagtype", t.flagtype}});
        if (o.mask_display_ids)
            w.leaf("displayid", t.ticketmaskid);
        else
            w.leaf("displayid", t.ticketid);
        w.leaf("departmentid", t.departmentid);
        w.leaf("statusid", t.ticketstatusid);
        w.leaf("priorityid", t.priorityid);
        w.leaf("typeid", t.tickettypeid);
        w.leaf("userid", t.userid);
        w.leaf("userorganization", orgname);
        w.leaf_int("userorganizationid", orgid);
        w.leaf("ownerstaffid", t.ownerstaffid);
        w.leaf("ownerstaffname", t.ownerstaffname);
        w.leaf("fullname", t.fullname);
        w.leaf("email", t.email);
        w.leaf("lastreplier", t.lastreplier);
        w.leaf("subject", t.subject);
        w.leaf("creationtime", t.dateline);
        w.leaf("lastactivity", t.lastactivity);
        w.leaf("laststaffreply", t.laststaffreplytime);
        w.leaf("lastuserreply", t.lastuserreplytime);
        w.leaf("slaplanid", t.slaplanid);
        w.leaf("nextreplydue", t.duetime);
        w.leaf("resolutiondue", t.resolutionduedateline);
        w.leaf("replies", t.totalreplies);
        w.leaf("ipaddress", t.ipaddress);
        w.leaf("creator", t.creator);
        w.leaf("creationmode", t.creationmode);
        w.leaf("creationtype", t.tickettype);
        w.leaf("isescalated", t.isescalated);
        w.leaf("escalationruleid", t.escalationruleid);
        w.leaf("templategroupid", t.tgroupid);
        w.leaf("tags", t.tags);
        if (t.tgroupid != 0)
            if (const template_group* g = m.find_template_group(t.tgroupid))
                w.leaf("templategroupname", g->title);
        for (id_t sid : t.watcher_staffids)
            if (const staff_member* s = m.find_staff(sid))
                w.empty("watcher", {{"staffid", sid}, {"name", s->fullname}});
        for (id_t wid : t.workflowids)
            if (const workflow* wf = m.find_workflow(wid))
                w.empty("workflow", {{"id", wid}, {"title", wf->title}});
        for (const auto& n : t.notes)
            w.leaf("note", n.note,
                   {{"type", "ticket"},
                    {"id", n.ticketnoteid},
                    {"ticketid", n.ticketid},
                    {"notecolor", n.notecolor},
                    {"creatorstaffid", n.staffid},
                    {"forstaffid", n.forstaffid},
                    {"creatorstaffname", n.staffname},
                    {"creationdate", n.dateline}});
        if (auto it = user_notes.find(t.userid); it != user_notes.end())
            for (const auto* n : it->second)
                w.leaf("note", n->contents,
                       {{"type", "user"},
                        {"id", n->usernoteid},
                        {"userid", n->linktypeid},
                        {"notecolor", n->notecolor},
                        {"creatorstaffid", n->staffid},
                        {"forstaffid", "0"},
                        {"creatorstaffname", n->staffname},
                        {"creationdate", n->dateline}});
        if (auto it = org_notes.find(orgid); orgid != 0 && it != org_notes.end())
            for (const auto* n : it->second)
                w.leaf("note", n->contents,
                       {{"type", "userorganization"},
                        {"id", n->usernoteid},
                        {"userorganizationid", n->linktypeid},
                        {"notecolor", n->notecolor},
                        {"creatorstaffid", n->staffid},
                        {"forstaffid", "0"},
                        {"creatorstaffname", n->staffname},
                        {"creationdate", n->dateline}});
        for (const auto& tt : t.timetracks)
            w.leaf("note", tt.notes,
                   {{"type", "timetrack"},
                    {"id", tt.tickettimetrackid},
                    {"ticketid", tt.ticketid},
                    {"timeworked", tt.timespent},
                    {"timebillable", tt.timebillable},
                    {"billdate", tt.dateline},
                    {"workdate", tt.workdateline},
                    {"workerstaffid", tt.workerstaffid},
                    {"workerstaffname", tt.workerstaffname},
                    {"creatorstaffid", tt.creatorstaffid},
                    {"creatorstaffname", tt.creatorstaffname},
                    {"notecolor", tt.notecolor}});
        if (with_posts) {
            auto posts = m.posts_of(t);
            if (o.posts_descending) std::reverse(posts.begin(), posts.end());
            w.open("posts");
            for (const auto& p : posts) {
                render_post(w, p, false);
                w.close("post");
            }
            w.close("posts");
        }
        w.close("ticket");
    }
    w.close("tickets");
    w.finish();
    return out;
}

void register_ticket_controllers(std::map<std::pair<std::string, std::string>, controller_def>& c) {
    auto fixed = [](std::string text) {
        return [text](call_context&, const args_t&) { return not_implemented(text); };
    };
    c[{"tickets", "Ticket"}].methods = {
        {"getlist", fixed("Not Implemented, Call /Tickets/Ticket/ListAll instead.")},
        {"listall", ticket_listall},
        {"getticketcount", ticket_count},
        {"processticketrelateddata",
         [](call_context&, const args_t&) {
             return http_response{200, "text/xml", ""};
         }},
        {"get", ticket_get},
    };
    c[{"tickets", "TicketPost"}].methods = {
        {"getlist", fixed("Not Implemented, Call /Tickets/TicketPost/ListAll instead.")},
        {"listall", post_listall},
        {"get", post_get},
    };
    c[{"tickets", "TicketNote"}].methods = {
        {"getlist", fixed("Not Implemented, Call /Tickets/TicketNote/ListAll instead.")},
        {"listall", note_listall},
        {"get", note_get},
    };
    c[{"tickets", "TicketCustomField"}].methods = {
        {"getlist",
         fixed("Not Implemented, Call GET /Tickets/TicketCustomField/$ticketid$ instead.")},
        {"get", customfield_get},
    };
    c[{"tickets", "TicketAttachment"}].methods = {
        {"getlist", fixed("Not Implemented, Call /Tickets/TicketAttachment/ListAll instead.")},
        {"listall", attachment_listall},
        {"get", attachment_get},
    };
    c[{"tickets", "TicketTimeTrack"}].methods = {
        {"getlist", fixed("Not Implemented, Call /Tickets/TicketTimeTrack/ListAll instead.")},
        {"listall", timetrack_listall},
        {"get", timetrack_get},
    };
    c[{"tickets", "TicketSearch"}].methods = {
        {"getlist", fixed("Not Implemented, Call POST /Tickets/TicketSearch instead.")},
        {"get", fixed("Not Implemented, Call POST /Tickets/TicketSearch instead.")},
        {"put", fixed("Not Implemented, Call POST /Tickets/TicketSearch instead.")},
        {"delete", fixed("Not Implemented, Call POST /Tickets/TicketSearch instead.")},
    };
    c[{"tickets", "TicketCount"}].methods = {{"getlist", ticketcount_getlist}};

    auto statuses = [](call_context& ctx, const args_t& a) {
        return lookup_list(ctx, ctx.model.statuses, &ticket_status::ticketstatusid,
                           "ticketstatuses", render_status, a);
    };
    auto priorities = [](call_context& ctx, const args_t& a) {
        return lookup_list(ctx, ctx.model.priorities, &ticket_priority::priorityid,
                           "ticketpriorities", render_priority, a);
    };
    auto types = [](call_context& ctx, const args_t& a) {
        return lookup_list(ctx, ctx.model.types, &ticket_type::tickettypeid, "tickettypes",
                           render_type, a);
    };
    c[{"tickets", "TicketStatus"}].methods = {{"getlist", statuses}, {"get", statuses}};
    c[{"tickets", "TicketPriority"}].methods = {{"getlist", priorities}, {"get", priorities}};
    c[{"tickets", "TicketType"}].methods = {{"getlist", types}, {"get", types}};
}

}  // namespace detail

}  // namespace ksync::emulator
