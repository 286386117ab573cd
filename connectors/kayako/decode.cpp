#include "connectors/kayako/decode.hpp"

#include <array>
#include <charconv>
#include <optional>
#include <string>
#include <type_traits>

#include "connectors/kayako/xml.hpp"

namespace ksync::kayako {

namespace {

// ---- failures inside one record -------------------------------------------------------------

// Thrown while mapping one record; each enclosing level prefixes its element, giving a path
// such as "<posts>/<post>[1]/<dateline>: 'x' is not an integer". Becomes a record_error.
class decode_failure : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

[[noreturn]] void rethrow_under(std::string_view element, const decode_failure& e) {
    const std::string_view inner = e.what();
    std::string msg(element);
    if (!inner.empty() && inner.front() != ':' && inner.front() != '[') msg.push_back('/');
    msg += inner;
    throw decode_failure(msg);
}

bool is_ws(char c) noexcept {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && is_ws(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_ws(s.back())) s.remove_suffix(1);
    return s;
}

bool all_ws(std::string_view s) noexcept {
    for (const char c : s) {
        if (!is_ws(c)) return false;
    }
    return true;
}

// A bad value as it may appear in an error: short and printable.
std::string shown(std::string_view v) {
    std::string out;
    for (const char c : v.substr(0, 40)) {
        const auto u = static_cast<unsigned char>(c);
        out.push_back(u < 0x20 || u == 0x7f ? '?' : c);
    }
    if (v.size() > 40) out += "...";
    return out;
}

template <class I>
I parse_integer(std::string_view text) {
    text = trim(text);
    if (text.empty()) return 0;  // <x /> is Kayako's rendering of 0 on PHP 7
    I value{};
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec == std::errc::result_out_of_range) {
        throw decode_failure(": '" + shown(text) + "' is out of range");
    }
    if (ec != std::errc{} || end != text.data() + text.size()) {
        throw decode_failure(": '" + shown(text) + "' is not an integer");
    }
    return value;
}

// Lenient: only for naming a record in an error message.
std::optional<id_t> try_parse_id(std::string_view text) {
    text = trim(text);
    id_t value{};
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
    return value;
}

// ---- text of a node -------------------------------------------------------------------------

// The character data under `first` and its siblings: TEXT and CDATA nodes joined (Kayako splits
// "]]>" into adjacent CDATA sections). Whitespace-only text next to CDATA is indentation from a
// pretty-printer, not data. The view points into the node or into `scratch`.
std::string_view node_text(const xmlNode* first, std::string& scratch) {
    if (first == nullptr) return {};
    if (first->next == nullptr) {
        return first->type == XML_TEXT_NODE || first->type == XML_CDATA_SECTION_NODE
                   ? view(first->content)
                   : std::string_view{};
    }
    bool has_cdata = false;
    for (const xmlNode* c = first; c != nullptr; c = c->next) {
        if (c->type == XML_CDATA_SECTION_NODE) has_cdata = true;
    }
    scratch.clear();
    for (const xmlNode* c = first; c != nullptr; c = c->next) {
        if (c->type == XML_CDATA_SECTION_NODE) {
            scratch += view(c->content);
        } else if (c->type == XML_TEXT_NODE) {
            const std::string_view t = view(c->content);
            if (!has_cdata || !all_ws(t)) scratch += t;
        }
    }
    return scratch;
}

std::string text_of(const xmlNode* node) {
    std::string scratch;
    return std::string(node_text(node->children, scratch));
}

// ---- field tables ----------------------------------------------------------------------------

template <class T>
struct field {
    std::string_view name;
    void (*on_value)(T&, std::string_view);  // scalar: gets the text
    void (*on_node)(T&, const xmlNode*);     // structured: gets the element
};

template <class M>
struct member_traits;
template <class C, class V>
struct member_traits<V C::*> {
    using owner = C;
    using value = V;
};

template <class V>
void assign(V& dst, std::string_view text) {
    if constexpr (std::is_same_v<V, std::string>) {
        dst.assign(text);
    } else if constexpr (std::is_same_v<V, std::optional<std::string>>) {
        dst.emplace(text);
    } else if constexpr (std::is_same_v<V, bool>) {
        dst = parse_integer<std::int64_t>(text) != 0;
    } else {
        static_assert(std::is_integral_v<V>, "unsupported field type");
        dst = parse_integer<V>(text);
    }
}

template <auto M>
void set_member(typename member_traits<decltype(M)>::owner& rec, std::string_view text) {
    assign(rec.*M, text);
}

// A scalar field stored in member M.
template <auto M>
constexpr field<typename member_traits<decltype(M)>::owner> F(std::string_view name) {
    return {name, &set_member<M>, nullptr};
}

// A repeated scalar element appended to the vector member M (e.g. <staffgroupid>, <email>).
template <auto M>
void push_member(typename member_traits<decltype(M)>::owner& rec, std::string_view text) {
    using vec = typename member_traits<decltype(M)>::value;
    typename vec::value_type v{};
    assign(v, text);
    (rec.*M).push_back(std::move(v));
}
template <auto M>
constexpr field<typename member_traits<decltype(M)>::owner> P(std::string_view name) {
    return {name, &push_member<M>, nullptr};
}

template <class T>
constexpr field<T> N(std::string_view name, void (*fn)(T&, const xmlNode*)) {
    return {name, nullptr, fn};
}

// Kayako writes elements in a fixed order, so the next expected entry is tried first; the
// previous one covers repeated elements; a full scan handles anything else.
template <class T, std::size_t Count>
const field<T>* find_field(const std::array<field<T>, Count>& table, std::string_view name,
                           std::size_t& cursor) noexcept {
    if (cursor < Count && table[cursor].name == name) return &table[cursor++];
    if (cursor > 0 && table[cursor - 1].name == name) return &table[cursor - 1];
    for (std::size_t i = 0; i < Count; ++i) {
        if (table[i].name == name) {
            cursor = i + 1;
            return &table[i];
        }
    }
    return nullptr;
}

std::string element_label(std::string_view name) {
    return "<" + std::string(name) + ">";
}
std::string attribute_label(std::string_view name) {
    return "@" + std::string(name);
}

template <class T, std::size_t Count>
void map_elements(const xmlNode* parent, T& rec, const std::array<field<T>, Count>& table) {
    std::string scratch;
    std::size_t cursor = 0;
    for (const xmlNode* c = parent->children; c != nullptr; c = c->next) {
        if (c->type != XML_ELEMENT_NODE) continue;  // text between elements, comments
        const std::string_view name = view(c->name);
        const field<T>* f = find_field(table, name, cursor);
        if (f == nullptr) continue;  // unknown element: a newer server, ignore
        try {
            if (f->on_node != nullptr) {
                f->on_node(rec, c);
            } else {
                f->on_value(rec, node_text(c->children, scratch));
            }
        } catch (const decode_failure& e) {
            rethrow_under(element_label(name), e);
        }
    }
}

template <class T, std::size_t Count>
void map_attributes(const xmlNode* node, T& rec, const std::array<field<T>, Count>& table) {
    std::string scratch;
    std::size_t cursor = 0;
    for (const xmlAttr* a = node->properties; a != nullptr; a = a->next) {
        const std::string_view name = view(a->name);
        const field<T>* f = find_field(table, name, cursor);
        if (f == nullptr || f->on_value == nullptr) continue;
        try {
            f->on_value(rec, node_text(a->children, scratch));
        } catch (const decode_failure& e) {
            rethrow_under(attribute_label(name), e);
        }
    }
}

void require_id(id_t id, std::string_view label) {
    if (id <= 0) throw decode_failure(std::string(label) + ": missing or empty required id");
}

// Maps every <item> child of `parent` with `map`, appending to `out`; a failure names the index.
template <class T>
void map_children(const xmlNode* parent, std::string_view item, std::vector<T>& out,
                  void (*map)(const xmlNode*, T&)) {
    std::size_t index = 0;
    for (const xmlNode* c = parent->children; c != nullptr; c = c->next) {
        if (c->type != XML_ELEMENT_NODE || view(c->name) != item) continue;
        T rec{};
        try {
            map(c, rec);
        } catch (const decode_failure& e) {
            rethrow_under(element_label(item) + "[" + std::to_string(index) + "]", e);
        }
        out.push_back(std::move(rec));
        ++index;
    }
}

// ---- per-record mappings ---------------------------------------------------------------------

void map_attachment(const xmlNode* n, attachment& a) {
    static const std::array table{
        F<&attachment::id>("id"),
        F<&attachment::ticketid>("ticketid"),
        F<&attachment::ticketpostid>("ticketpostid"),
        F<&attachment::filename>("filename"),
        F<&attachment::filesize>("filesize"),
        F<&attachment::filetype>("filetype"),
        F<&attachment::dateline>("dateline"),
        F<&attachment::contents>("contents"),
    };
    map_elements(n, a, table);
    require_id(a.id, "<id>");
}

void map_post(const xmlNode* n, post& p) {
    static const std::array table{
        F<&post::id>("id"),
        F<&post::ticketpostid>("ticketpostid"),
        F<&post::ticketid>("ticketid"),
        F<&post::dateline>("dateline"),
        F<&post::userid>("userid"),
        F<&post::fullname>("fullname"),
        F<&post::email>("email"),
        F<&post::emailto>("emailto"),
        F<&post::ipaddress>("ipaddress"),
        F<&post::hasattachments>("hasattachments"),
        F<&post::creator>("creator"),
        F<&post::isthirdparty>("isthirdparty"),
        F<&post::ishtml>("ishtml"),
        F<&post::isemailed>("isemailed"),
        F<&post::staffid>("staffid"),
        F<&post::issurveycomment>("issurveycomment"),
        F<&post::contents>("contents"),
        F<&post::isprivate>("isprivate"),
        N<post>("attachments",
                [](post& p2, const xmlNode* e) {
                    map_children(e, "attachment", p2.attachments, &map_attachment);
                }),
    };
    map_elements(n, p, table);
    require_id(p.id, "<id>");
    // Inline attachments (TicketPost ListAll) carry no ticket/post ids of their own.
    for (auto& a : p.attachments) {
        if (a.ticketid == 0) a.ticketid = p.ticketid;
        if (a.ticketpostid == 0) a.ticketpostid = p.id;
    }
}

// <note type=… id=… …>text</note>: ticket, user, userorganization and timetrack notes share one
// struct; each type carries a subset of these attributes.
void map_note(const xmlNode* n, note& o) {
    static const std::array table{
        F<&note::type>("type"),
        F<&note::id>("id"),
        F<&note::ticketid>("ticketid"),
        F<&note::userid>("userid"),
        F<&note::userorganizationid>("userorganizationid"),
        F<&note::timeworked>("timeworked"),
        F<&note::timebillable>("timebillable"),
        F<&note::billdate>("billdate"),
        F<&note::workdate>("workdate"),
        F<&note::workerstaffid>("workerstaffid"),
        F<&note::workerstaffname>("workerstaffname"),
        F<&note::notecolor>("notecolor"),
        F<&note::creatorstaffid>("creatorstaffid"),
        F<&note::forstaffid>("forstaffid"),
        F<&note::creatorstaffname>("creatorstaffname"),
        F<&note::creationdate>("creationdate"),
    };
    map_attributes(n, o, table);
    require_id(o.id, "@id");
    o.contents = text_of(n);
}

void map_watcher(const xmlNode* n, watcher& w) {
    static const std::array table{F<&watcher::staffid>("staffid"), F<&watcher::name>("name")};
    map_attributes(n, w, table);
}

void map_workflow(const xmlNode* n, workflow& w) {
    static const std::array table{F<&workflow::id>("id"), F<&workflow::title>("title")};
    map_attributes(n, w, table);
}

template <class T>
void push_mapped(std::vector<T>& out, const xmlNode* n, void (*map)(const xmlNode*, T&)) {
    T rec{};
    map(n, rec);
    out.push_back(std::move(rec));
}

void map_ticket(const xmlNode* n, ticket& t) {
    static const std::array attrs{F<&ticket::id>("id"), F<&ticket::flagtype>("flagtype")};
    static const std::array table{
        F<&ticket::displayid>("displayid"),
        F<&ticket::departmentid>("departmentid"),
        F<&ticket::statusid>("statusid"),
        F<&ticket::priorityid>("priorityid"),
        F<&ticket::tickettypeid>("typeid"),
        F<&ticket::userid>("userid"),
        F<&ticket::userorganization>("userorganization"),
        F<&ticket::userorganizationid>("userorganizationid"),
        F<&ticket::ownerstaffid>("ownerstaffid"),
        F<&ticket::ownerstaffname>("ownerstaffname"),
        F<&ticket::fullname>("fullname"),
        F<&ticket::email>("email"),
        F<&ticket::lastreplier>("lastreplier"),
        F<&ticket::subject>("subject"),
        F<&ticket::creationtime>("creationtime"),
        F<&ticket::lastactivity>("lastactivity"),
        F<&ticket::laststaffreply>("laststaffreply"),
        F<&ticket::lastuserreply>("lastuserreply"),
        F<&ticket::slaplanid>("slaplanid"),
        F<&ticket::nextreplydue>("nextreplydue"),
        F<&ticket::resolutiondue>("resolutiondue"),
        F<&ticket::replies>("replies"),
        F<&ticket::ipaddress>("ipaddress"),
        F<&ticket::creator>("creator"),
        F<&ticket::creationmode>("creationmode"),
        F<&ticket::creationtype>("creationtype"),
        F<&ticket::isescalated>("isescalated"),
        F<&ticket::escalationruleid>("escalationruleid"),
        F<&ticket::templategroupid>("templategroupid"),
        F<&ticket::tags>("tags"),
        F<&ticket::templategroupname>("templategroupname"),
        N<ticket>("watcher",
                  [](ticket& t2, const xmlNode* e) { push_mapped(t2.watchers, e, &map_watcher); }),
        N<ticket>(
            "workflow",
            [](ticket& t2, const xmlNode* e) { push_mapped(t2.workflows, e, &map_workflow); }),
        N<ticket>("note",
                  [](ticket& t2, const xmlNode* e) { push_mapped(t2.notes, e, &map_note); }),
        N<ticket>("posts",
                  [](ticket& t2, const xmlNode* e) {
                      t2.posts.emplace();
                      map_children(e, "post", *t2.posts, &map_post);
                  }),
    };
    map_attributes(n, t, attrs);
    require_id(t.id, "@id");
    map_elements(n, t, table);
}

void map_time_track(const xmlNode* n, time_track& t) {
    static const std::array table{
        F<&time_track::id>("id"),
        F<&time_track::ticketid>("ticketid"),
        F<&time_track::timeworked>("timeworked"),
        F<&time_track::timebillable>("timebillable"),
        F<&time_track::billdate>("billdate"),
        F<&time_track::workdate>("workdate"),
        F<&time_track::workerstaffid>("workerstaffid"),
        F<&time_track::workerstaffname>("workerstaffname"),
        F<&time_track::creatorstaffid>("creatorstaffid"),
        F<&time_track::creatorstaffname>("creatorstaffname"),
        F<&time_track::notecolor>("notecolor"),
    };
    map_attributes(n, t, table);
    require_id(t.id, "@id");
    t.contents = text_of(n);
}

void map_user(const xmlNode* n, user& u) {
    static const std::array table{
        F<&user::id>("id"),
        F<&user::usergroupid>("usergroupid"),
        F<&user::userrole>("userrole"),
        F<&user::userorganizationid>("userorganizationid"),
        F<&user::salutation>("salutation"),
        F<&user::userexpiry>("userexpiry"),
        F<&user::fullname>("fullname"),
        field<user>{"email",
                    [](user& u2, std::string_view text) {
                        // An empty <email /> is no address; keep the real ones in order.
                        if (!trim(text).empty()) u2.emails.emplace_back(text);
                    },
                    nullptr},
        F<&user::designation>("designation"),
        F<&user::phone>("phone"),
        F<&user::dateline>("dateline"),
        F<&user::lastvisit>("lastvisit"),
        F<&user::isenabled>("isenabled"),
        F<&user::timezone>("timezone"),
        F<&user::enabledst>("enabledst"),
        F<&user::slaplanid>("slaplanid"),
        F<&user::slaplanexpiry>("slaplanexpiry"),
    };
    map_elements(n, u, table);
    require_id(u.id, "<id>");
}

void map_organization(const xmlNode* n, organization& o) {
    static const std::array table{
        F<&organization::id>("id"),
        F<&organization::name>("name"),
        F<&organization::organizationtype>("organizationtype"),
        F<&organization::address>("address"),
        F<&organization::city>("city"),
        F<&organization::state>("state"),
        F<&organization::postalcode>("postalcode"),
        F<&organization::country>("country"),
        F<&organization::phone>("phone"),
        F<&organization::fax>("fax"),
        F<&organization::website>("website"),
        F<&organization::dateline>("dateline"),
        F<&organization::lastupdate>("lastupdate"),
        F<&organization::slaplanid>("slaplanid"),
        F<&organization::slaplanexpiry>("slaplanexpiry"),
    };
    map_elements(n, o, table);
    require_id(o.id, "<id>");
}

void map_user_group(const xmlNode* n, user_group& g) {
    static const std::array table{
        F<&user_group::id>("id"),
        F<&user_group::title>("title"),
        F<&user_group::grouptype>("grouptype"),
        F<&user_group::ismaster>("ismaster"),
    };
    map_elements(n, g, table);
    require_id(g.id, "<id>");
}

void map_staff(const xmlNode* n, staff& s) {
    static const std::array table{
        F<&staff::id>("id"),
        F<&staff::staffgroupid>("staffgroupid"),
        F<&staff::firstname>("firstname"),
        F<&staff::lastname>("lastname"),
        F<&staff::fullname>("fullname"),
        F<&staff::username>("username"),
        F<&staff::email>("email"),
        F<&staff::designation>("designation"),
        F<&staff::greeting>("greeting"),
        F<&staff::mobilenumber>("mobilenumber"),
        F<&staff::isenabled>("isenabled"),
        F<&staff::timezone>("timezone"),
        F<&staff::enabledst>("enabledst"),
        F<&staff::signature>("signature"),
    };
    map_elements(n, s, table);
    require_id(s.id, "<id>");
}

void map_staff_group(const xmlNode* n, staff_group& g) {
    static const std::array table{
        F<&staff_group::id>("id"),
        F<&staff_group::title>("title"),
        F<&staff_group::isadmin>("isadmin"),
    };
    map_elements(n, g, table);
    require_id(g.id, "<id>");
}

void map_department(const xmlNode* n, department& d) {
    static const std::array table{
        F<&department::id>("id"),
        F<&department::title>("title"),
        F<&department::type>("type"),
        F<&department::module>("module"),
        F<&department::app>("app"),
        F<&department::displayorder>("displayorder"),
        F<&department::parentdepartmentid>("parentdepartmentid"),
        F<&department::uservisibilitycustom>("uservisibilitycustom"),
        N<department>("usergroups",
                      [](department& d2, const xmlNode* e) {
                          static const std::array ids{P<&department::usergroups>("id")};
                          map_elements(e, d2, ids);
                      }),
    };
    map_elements(n, d, table);
    require_id(d.id, "<id>");
}

void map_ticket_status(const xmlNode* n, ticket_status& s) {
    static const std::array table{
        F<&ticket_status::id>("id"),
        F<&ticket_status::title>("title"),
        F<&ticket_status::displayorder>("displayorder"),
        F<&ticket_status::departmentid>("departmentid"),
        F<&ticket_status::displayicon>("displayicon"),
        F<&ticket_status::type>("type"),
        F<&ticket_status::displayinmainlist>("displayinmainlist"),
        F<&ticket_status::markasresolved>("markasresolved"),
        F<&ticket_status::displaycount>("displaycount"),
        F<&ticket_status::statuscolor>("statuscolor"),
        F<&ticket_status::statusbgcolor>("statusbgcolor"),
        F<&ticket_status::resetduetime>("resetduetime"),
        F<&ticket_status::triggersurvey>("triggersurvey"),
        F<&ticket_status::staffvisibilitycustom>("staffvisibilitycustom"),
        P<&ticket_status::staffgroupids>("staffgroupid"),
    };
    map_elements(n, s, table);
    require_id(s.id, "<id>");
}

void map_ticket_priority(const xmlNode* n, ticket_priority& p) {
    static const std::array table{
        F<&ticket_priority::id>("id"),
        F<&ticket_priority::title>("title"),
        F<&ticket_priority::displayorder>("displayorder"),
        F<&ticket_priority::frcolorcode>("frcolorcode"),
        F<&ticket_priority::bgcolorcode>("bgcolorcode"),
        F<&ticket_priority::type>("type"),
        F<&ticket_priority::uservisibilitycustom>("uservisibilitycustom"),
        P<&ticket_priority::usergroupids>("usergroupid"),
    };
    map_elements(n, p, table);
    require_id(p.id, "<id>");
}

void map_ticket_type(const xmlNode* n, ticket_type& t) {
    static const std::array table{
        F<&ticket_type::id>("id"),
        F<&ticket_type::title>("title"),
        F<&ticket_type::displayorder>("displayorder"),
        F<&ticket_type::departmentid>("departmentid"),
        F<&ticket_type::displayicon>("displayicon"),
        F<&ticket_type::type>("type"),
        F<&ticket_type::uservisibilitycustom>("uservisibilitycustom"),
        P<&ticket_type::usergroupids>("usergroupid"),
    };
    map_elements(n, t, table);
    require_id(t.id, "<id>");
}

void map_custom_field_definition(const xmlNode* n, custom_field_definition& d) {
    static const std::array table{
        F<&custom_field_definition::customfieldid>("customfieldid"),
        F<&custom_field_definition::customfieldgroupid>("customfieldgroupid"),
        F<&custom_field_definition::title>("title"),
        F<&custom_field_definition::fieldtype>("fieldtype"),
        F<&custom_field_definition::fieldname>("fieldname"),
        F<&custom_field_definition::defaultvalue>("defaultvalue"),
        F<&custom_field_definition::isrequired>("isrequired"),
        F<&custom_field_definition::usereditable>("usereditable"),
        F<&custom_field_definition::staffeditable>("staffeditable"),
        F<&custom_field_definition::regexpvalidate>("regexpvalidate"),
        F<&custom_field_definition::displayorder>("displayorder"),
        F<&custom_field_definition::encryptindb>("encryptindb"),
        F<&custom_field_definition::description>("description"),
        F<&custom_field_definition::grouptype>("grouptype"),
    };
    map_attributes(n, d, table);
    require_id(d.customfieldid, "@customfieldid");
}

void map_custom_field_option(const xmlNode* n, custom_field_option& o) {
    static const std::array table{
        F<&custom_field_option::customfieldoptionid>("customfieldoptionid"),
        F<&custom_field_option::customfieldid>("customfieldid"),
        F<&custom_field_option::optionvalue>("optionvalue"),
        F<&custom_field_option::displayorder>("displayorder"),
        F<&custom_field_option::isselected>("isselected"),
        F<&custom_field_option::parentcustomfieldoptionid>("parentcustomfieldoptionid"),
    };
    map_attributes(n, o, table);
    require_id(o.customfieldoptionid, "@customfieldoptionid");
}

void map_custom_field_value(const xmlNode* n, custom_field_value& f) {
    static const std::array table{
        F<&custom_field_value::id>("id"),
        F<&custom_field_value::title>("title"),
        F<&custom_field_value::type>("type"),
        F<&custom_field_value::name>("name"),
        F<&custom_field_value::filename>("filename"),
    };
    map_attributes(n, f, table);
    require_id(f.id, "@id");
    f.value = text_of(n);
}

void map_custom_field_group(const xmlNode* n, custom_field_group& g) {
    static const std::array table{
        F<&custom_field_group::id>("id"),
        F<&custom_field_group::title>("title"),
        F<&custom_field_group::displayorder>("displayorder"),
    };
    map_attributes(n, g, table);
    require_id(g.id, "@id");
    map_children(n, "field", g.fields, &map_custom_field_value);
}

// <ticketstatus/>, <tickettype/>, <ownerstaff/>, <department/>: all attributes; id 0 is real
// here (owner staff 0 = unassigned), so no id check.
void map_count_bucket(const xmlNode* n, ticket_count_bucket& b) {
    static const std::array table{
        F<&ticket_count_bucket::id>("id"),
        F<&ticket_count_bucket::lastactivity>("lastactivity"),
        F<&ticket_count_bucket::totalitems>("totalitems"),
        F<&ticket_count_bucket::totalunresolveditems>("totalunresolveditems"),
    };
    map_attributes(n, b, table);
}

void map_count_department(const xmlNode* n, ticket_count_department& d) {
    static const std::array attrs{F<&ticket_count_department::id>("id")};
    static const std::array table{
        F<&ticket_count_department::totalitems>("totalitems"),
        F<&ticket_count_department::lastactivity>("lastactivity"),
        F<&ticket_count_department::totalunresolveditems>("totalunresolveditems"),
        N<ticket_count_department>("ticketstatus",
                                   [](ticket_count_department& d2, const xmlNode* e) {
                                       push_mapped(d2.statuses, e, &map_count_bucket);
                                   }),
        N<ticket_count_department>("tickettype",
                                   [](ticket_count_department& d2, const xmlNode* e) {
                                       push_mapped(d2.types, e, &map_count_bucket);
                                   }),
        N<ticket_count_department>("ownerstaff",
                                   [](ticket_count_department& d2, const xmlNode* e) {
                                       push_mapped(d2.owners, e, &map_count_bucket);
                                   }),
    };
    map_attributes(n, d, attrs);
    map_elements(n, d, table);
}

// ---- the streaming list driver ---------------------------------------------------------------

template <class T>
struct list_spec {
    std::string_view root;
    std::string_view item;
    void (*map)(const xmlNode*, T&);
    std::string_view id_name;  // for naming a failed record
    bool id_is_attribute;
    std::string_view foreign;  // a root child that means "this is the other document kind"
};

std::optional<id_t> id_hint(const xmlNode* n, std::string_view name, bool is_attribute) {
    std::string scratch;
    if (is_attribute) {
        for (const xmlAttr* a = n->properties; a != nullptr; a = a->next) {
            if (view(a->name) == name) return try_parse_id(node_text(a->children, scratch));
        }
        return std::nullopt;
    }
    for (const xmlNode* c = n->children; c != nullptr; c = c->next) {
        if (c->type == XML_ELEMENT_NODE && view(c->name) == name) {
            return try_parse_id(node_text(c->children, scratch));
        }
    }
    return std::nullopt;
}

template <class T>
void decode_list(std::string_view xml, const list_spec<T>& spec, const record_sink<T>& on_record,
                 const error_sink& on_error) {
    xml_child_stream stream(xml);
    stream.open_root(spec.root);
    std::size_t index = 0;
    while (const xmlNode* n = stream.next_child()) {
        const std::string_view name = view(n->name);
        if (name != spec.item) {
            if (!spec.foreign.empty() && name == spec.foreign) {
                throw xml_error("<" + std::string(spec.root) + "> holds <" + std::string(name) +
                                "> elements, not <" + std::string(spec.item) +
                                ">: wrong endpoint for this decoder");
            }
            continue;  // unknown element between records: a newer server, ignore
        }
        T rec{};
        try {
            spec.map(n, rec);
        } catch (const decode_failure& e) {
            record_error err(std::string(spec.item), index,
                             id_hint(n, spec.id_name, spec.id_is_attribute), e.what());
            ++index;
            if (!on_error) throw err;
            on_error(std::move(err));
            continue;
        }
        ++index;
        on_record(std::move(rec));
    }
}

template <class T>
std::vector<T> collect(std::string_view xml, const list_spec<T>& spec) {
    std::vector<T> out;
    decode_list<T>(xml, spec, [&out](T&& rec) { out.push_back(std::move(rec)); }, {});
    return out;
}

const list_spec<ticket> tickets_spec{"tickets", "ticket", &map_ticket, "id", true, {}};
const list_spec<post> posts_spec{"posts", "post", &map_post, "id", false, {}};
const list_spec<note> notes_spec{"notes", "note", &map_note, "id", true, {}};
const list_spec<time_track> time_tracks_spec{"timetracks", "timetrack", &map_time_track,
                                             "id",         true,        {}};
const list_spec<attachment> attachments_spec{"attachments", "attachment", &map_attachment,
                                             "id",          false,        {}};
const list_spec<user> users_spec{"users", "user", &map_user, "id", false, {}};
const list_spec<organization> organizations_spec{
    "userorganizations", "userorganization", &map_organization, "id", false, {}};
const list_spec<user_group> user_groups_spec{"usergroups", "usergroup", &map_user_group,
                                             "id",         false,       {}};
const list_spec<staff> staff_spec{"staffusers", "staff", &map_staff, "id", false, {}};
const list_spec<staff_group> staff_groups_spec{"staffgroups", "staffgroup", &map_staff_group,
                                               "id",          false,        {}};
const list_spec<department> departments_spec{"departments", "department", &map_department,
                                             "id",          false,        {}};
const list_spec<ticket_status> statuses_spec{
    "ticketstatuses", "ticketstatus", &map_ticket_status, "id", false, {}};
const list_spec<ticket_priority> priorities_spec{
    "ticketpriorities", "ticketpriority", &map_ticket_priority, "id", false, {}};
const list_spec<ticket_type> types_spec{"tickettypes", "tickettype", &map_ticket_type,
                                        "id",          false,        {}};
const list_spec<custom_field_definition> definitions_spec{
    "customfields", "customfield", &map_custom_field_definition, "customfieldid", true, "group"};
const list_spec<custom_field_option> options_spec{
    "customfieldoptions", "option", &map_custom_field_option, "customfieldoptionid", true, {}};

}  // namespace

// ---- public entry points
// -------------------------------------------------------------------------

void decode_tickets(std::string_view xml, const record_sink<ticket>& r, const error_sink& e) {
    decode_list(xml, tickets_spec, r, e);
}
void decode_posts(std::string_view xml, const record_sink<post>& r, const error_sink& e) {
    decode_list(xml, posts_spec, r, e);
}
void decode_notes(std::string_view xml, const record_sink<note>& r, const error_sink& e) {
    decode_list(xml, notes_spec, r, e);
}
void decode_time_tracks(std::string_view xml, const record_sink<time_track>& r,
                        const error_sink& e) {
    decode_list(xml, time_tracks_spec, r, e);
}
void decode_attachments(std::string_view xml, const record_sink<attachment>& r,
                        const error_sink& e) {
    decode_list(xml, attachments_spec, r, e);
}
void decode_users(std::string_view xml, const record_sink<user>& r, const error_sink& e) {
    decode_list(xml, users_spec, r, e);
}
void decode_organizations(std::string_view xml, const record_sink<organization>& r,
                          const error_sink& e) {
    decode_list(xml, organizations_spec, r, e);
}
void decode_user_groups(std::string_view xml, const record_sink<user_group>& r,
                        const error_sink& e) {
    decode_list(xml, user_groups_spec, r, e);
}
void decode_staff(std::string_view xml, const record_sink<staff>& r, const error_sink& e) {
    decode_list(xml, staff_spec, r, e);
}
void decode_staff_groups(std::string_view xml, const record_sink<staff_group>& r,
                         const error_sink& e) {
    decode_list(xml, staff_groups_spec, r, e);
}
void decode_departments(std::string_view xml, const record_sink<department>& r,
                        const error_sink& e) {
    decode_list(xml, departments_spec, r, e);
}
void decode_ticket_statuses(std::string_view xml, const record_sink<ticket_status>& r,
                            const error_sink& e) {
    decode_list(xml, statuses_spec, r, e);
}
void decode_ticket_priorities(std::string_view xml, const record_sink<ticket_priority>& r,
                              const error_sink& e) {
    decode_list(xml, priorities_spec, r, e);
}
void decode_ticket_types(std::string_view xml, const record_sink<ticket_type>& r,
                         const error_sink& e) {
    decode_list(xml, types_spec, r, e);
}
void decode_custom_field_definitions(std::string_view xml,
                                     const record_sink<custom_field_definition>& r,
                                     const error_sink& e) {
    decode_list(xml, definitions_spec, r, e);
}
void decode_custom_field_options(std::string_view xml, const record_sink<custom_field_option>& r,
                                 const error_sink& e) {
    decode_list(xml, options_spec, r, e);
}

std::vector<ticket> parse_tickets(std::string_view xml) {
    return collect(xml, tickets_spec);
}
std::vector<post> parse_posts(std::string_view xml) {
    return collect(xml, posts_spec);
}
std::vector<note> parse_notes(std::string_view xml) {
    return collect(xml, notes_spec);
}
std::vector<time_track> parse_time_tracks(std::string_view xml) {
    return collect(xml, time_tracks_spec);
}
std::vector<attachment> parse_attachments(std::string_view xml) {
    return collect(xml, attachments_spec);
}
std::vector<user> parse_users(std::string_view xml) {
    return collect(xml, users_spec);
}
std::vector<organization> parse_organizations(std::string_view xml) {
    return collect(xml, organizations_spec);
}
std::vector<user_group> parse_user_groups(std::string_view xml) {
    return collect(xml, user_groups_spec);
}
std::vector<staff> parse_staff(std::string_view xml) {
    return collect(xml, staff_spec);
}
std::vector<staff_group> parse_staff_groups(std::string_view xml) {
    return collect(xml, staff_groups_spec);
}
std::vector<department> parse_departments(std::string_view xml) {
    return collect(xml, departments_spec);
}
std::vector<ticket_status> parse_ticket_statuses(std::string_view xml) {
    return collect(xml, statuses_spec);
}
std::vector<ticket_priority> parse_ticket_priorities(std::string_view xml) {
    return collect(xml, priorities_spec);
}
std::vector<ticket_type> parse_ticket_types(std::string_view xml) {
    return collect(xml, types_spec);
}
std::vector<custom_field_definition> parse_custom_field_definitions(std::string_view xml) {
    return collect(xml, definitions_spec);
}
std::vector<custom_field_option> parse_custom_field_options(std::string_view xml) {
    return collect(xml, options_spec);
}

ticket_custom_fields parse_ticket_custom_fields(std::string_view xml, id_t ticketid) {
    ticket_custom_fields out;
    out.ticketid = ticketid;
    xml_child_stream stream(xml);
    stream.open_root("customfields");
    std::size_t index = 0;
    while (const xmlNode* n = stream.next_child()) {
        const std::string_view name = view(n->name);
        if (name == "customfield") {
            throw xml_error(
                "<customfields> holds <customfield> definitions, not ticket values: "
                "wrong endpoint for this decoder");
        }
        if (name != "group") continue;
        custom_field_group g;
        try {
            map_custom_field_group(n, g);
        } catch (const decode_failure& e) {
            throw record_error("customfields", 0, ticketid,
                               "<group>[" + std::to_string(index) + "]" + e.what());
        }
        out.groups.push_back(std::move(g));
        ++index;
    }
    return out;
}

ticket_count parse_ticket_count(std::string_view xml) {
    ticket_count out;
    xml_child_stream stream(xml);
    stream.open_root("ticketcount");
    while (const xmlNode* n = stream.next_child()) {
        const std::string_view name = view(n->name);
        try {
            if (name == "departments") {
                map_children(n, "department", out.departments, &map_count_department);
            } else if (name == "statuses") {
                map_children(n, "ticketstatus", out.statuses, &map_count_bucket);
            } else if (name == "owners") {
                map_children(n, "ownerstaff", out.owners, &map_count_bucket);
            } else if (name == "unassigned") {
                map_children(n, "department", out.unassigned, &map_count_bucket);
            }
        } catch (const decode_failure& e) {
            throw record_error("ticketcount", 0, std::nullopt,
                               "<" + std::string(name) + ">/" + e.what());
        }
    }
    return out;
}

}  // namespace ksync::kayako
