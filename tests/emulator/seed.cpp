// Seeded generation of the helpdesk. Everything derives from the seed through splitmix64 streams
// (never std:: distributions, whose output differs between standard libraries), so a seed gives
// the same helpdesk on every platform and run.
#include "tests/emulator/model.hpp"

#include <array>
#include <string_view>

namespace ksync::emulator {

namespace {

constexpr std::uint64_t mix(std::uint64_t a, std::uint64_t b) {
    std::uint64_t z = a + 0x9E3779B97F4A7C15ULL * (b + 1);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

struct rng {
    std::uint64_t state;
    explicit rng(std::uint64_t s) : state(s) {}
    std::uint64_t next() {
        std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        return z ^ (z >> 31);
    }
    std::int64_t below(std::int64_t n) {
        return n <= 0 ? 0 : static_cast<std::int64_t>(next() % static_cast<std::uint64_t>(n));
    }
    std::int64_t between(std::int64_t lo, std::int64_t hi) { return lo + below(hi - lo + 1); }
    bool percent(int p) { return below(100) < p; }
    template <class C>
    const auto& pick(const C& c) {
        return c[static_cast<std::size_t>(below(static_cast<std::int64_t>(std::size(c))))];
    }
};

// The helpdesk clock starts here (2025-11-24 16:00:00 GMT); history lies before it.
constexpr std::int64_t base_now = 1764000000;

constexpr std::array<std::string_view, 40> first_names = {
    "Anna",    "Ben",      "Chloé",    "David", "Eva",    "Frank",   "Grace",  "Hugo",
    "Ingrid",  "Jonas",    "Kateřina", "Liam",  "Mia",    "Noah",    "Olivia", "Pedro",
    "Quinn",   "Rosa",     "Søren",    "Tomás", "Uma",    "Viktor",  "Wen",    "Xavier",
    "Yara",    "Zoë",      "Łukasz",   "José",  "Ελένη",  "Дмитрий", "さくら", "민준",
    "Siobhán", "François", "Jürgen",   "Ayşe",  "Nguyễn", "Björk",   "Renée",  "Ola"};
constexpr std::array<std::string_view, 36> last_names = {
    "Smith",    "Müller",  "García",       "O'Brien", "Nowak",  "Rossi",    "Dubois",   "Jensen",
    "Kowalski", "Novák",   "Papadopoulos", "Иванов",  "田中",   "김",       "Ødegaard", "Fernández",
    "Schröder", "Lefèvre", "Brown",        "Wilson",  "Taylor", "Anderson", "Thomas",   "Moore",
    "Martin",   "Jackson", "White",        "Harris",  "Clark",  "Lewis",    "Walker",   "Young",
    "King",     "Wright",  "Hill",         "Green"};
constexpr std::array<std::string_view, 64> words = {
    "printer",    "invoice",     "login",    "password",   "reset",   "account",
    "billing",    "refund",      "shipment", "delayed",    "error",   "message",
    "server",     "timeout",     "upgrade",  "license",    "renewal", "export",
    "report",     "dashboard",   "mobile",   "app",        "crash",   "sync",
    "calendar",   "integration", "webhook",  "API",        "token",   "expired",
    "café",       "naïve",       "résumé",   "Straße",     "größe",   "crème brûlée",
    "日本語",     "测试",        "данные",   "παράδειγμα", "🎉",       "🚀",
    "😀",          "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",     "€",        "™",          "&",       "<b>",
    "tags",       "cannot",      "urgent",   "please",     "help",    "again",
    "since",      "yesterday",   "customer", "order",      "#4711",   "queue",
    "attachment", "missing",     "wrong",    "update"};
constexpr std::array<std::string_view, 12> cities = {
    "Berlin", "München", "Paris", "London", "New York", "São Paulo",
    "Kraków", "Zürich",  "Tokyo", "Seoul",  "Athens",   "Reykjavík"};
constexpr std::array<std::string_view, 10> countries = {
    "Germany", "France",      "United Kingdom", "United States", "Brazil",
    "Poland",  "Switzerland", "Japan",          "South Korea",   "Iceland"};
constexpr std::array<std::string_view, 12> domains = {
    "example.com",      "example.org",  "example.net",   "mail.test",
    "acme.test",        "globex.test",  "initech.test",  "umbrella.test",
    "müller-gmbh.test", "contoso.test", "fabrikam.test", "wayne.test"};
constexpr std::array<std::string_view, 10> tag_names = {
    "vip",       "billing", "bug",    "feature-request", "urgent",
    "escalated", "refund",  "mobile", "größe",           "follow-up"};
constexpr std::array<std::string_view, 5> salutations = {"", "Mr.", "Ms.", "Mrs.", "Dr."};
constexpr std::array<std::string_view, 4> timezones = {"", "Europe/Berlin", "America/New_York",
                                                       "Asia/Tokyo"};

std::string ascii_slug(std::string_view s) {
    std::string out;
    for (char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if ((u >= 'a' && u <= 'z') || (u >= '0' && u <= '9'))
            out.push_back(c);
        else if (u >= 'A' && u <= 'Z')
            out.push_back(static_cast<char>(u - 'A' + 'a'));
    }
    return out.empty() ? std::string("user") : out;
}

std::string sentence(rng& r, std::size_t min_len, std::size_t max_len) {
    std::string s;
    while (s.size() < min_len) {
        if (!s.empty()) s.push_back(' ');
        s.append(r.pick(words));
    }
    if (s.size() > max_len) {
        // Cut at a word boundary so a multi-byte character is never split.
        auto cut = s.rfind(' ', max_len);
        s.resize(cut == std::string::npos || cut < min_len / 2 ? s.size() : cut);
    }
    if (!s.empty() && s[0] >= 'a' && s[0] <= 'z') s[0] = static_cast<char>(s[0] - 'a' + 'A');
    return s;
}

// Post bodies of about 1 KB; a few carry the bytes Kayako's CDATA clean-up must handle.
std::string post_body(rng& r, bool html) {
    std::string s;
    const std::size_t target = static_cast<std::size_t>(r.between(600, 1500));
    if (html) s.append("<p>");
    s.append("Hello,\n\n");
    while (s.size() < target) {
        s.append(sentence(r, 40, 120));
        s.append(r.percent(20) ? ".\n\n" : ". ");
    }
    switch (r.below(40)) {
        case 0:
            s.append("\nThe log says: <![CDATA[ok]]> then ]]> twice ]]>.");
            break;
        case 1:
            s.append("\nPasted from a terminal:\x1b[0m\x01\x7f done.");
            break;
        case 2:
            s.append("\nTab\tseparated\r\nand CRLF lines.");
            break;
        default:
            break;
    }
    s.append("\n\nRegards");
    if (html) s.append("</p>");
    return s;
}

std::string ip_address(rng& r) {
    return std::to_string(r.between(1, 223)) + "." + std::to_string(r.below(256)) + "." +
           std::to_string(r.below(256)) + "." + std::to_string(r.between(1, 254));
}

std::string mask_for(rng& r, id_t ticketid) {
    std::string m;
    for (int i = 0; i < 3; ++i) m.push_back(static_cast<char>('A' + r.below(26)));
    char buf[32];
    std::snprintf(buf, sizeof buf, "-%03lld-%05lld",
                  static_cast<long long>((ticketid / 100000) % 1000),
                  static_cast<long long>(ticketid % 100000));
    m.append(buf);
    return m;
}

// The structure of a ticket's posts, drawn identically whether or not contents are wanted.
struct post_plan {
    std::int64_t dateline;
    int creator;
    id_t staffid;
    bool html;
    bool is_private;
    int attachments;
};

std::vector<post_plan> plan_posts(std::uint64_t seed, const ticket& t,
                                  const std::vector<staff_member>& staff) {
    rng r(mix(seed, static_cast<std::uint64_t>(t.ticketid) * 16 + 7));
    std::vector<post_plan> plan(static_cast<std::size_t>(t.post_count));
    const std::int64_t span = std::max<std::int64_t>(t.seeded_lastactivity - t.dateline, 0);
    for (int i = 0; i < t.post_count; ++i) {
        auto& p = plan[static_cast<std::size_t>(i)];
        p.dateline = i == 0 ? t.dateline
                            : t.dateline + span * i / std::max(t.post_count - 1, 1) - r.below(30);
        if (p.dateline < t.dateline) p.dateline = t.dateline;
        if (i == 0) {
            p.creator = t.creator;
        } else {
            const auto roll = r.below(100);
            p.creator = roll < 45 ? 1 : roll < 95 ? 2 : 5;
        }
        p.staffid = 0;
        if (p.creator == 1 && !staff.empty())
            p.staffid = t.ownerstaffid != 0 ? t.ownerstaffid
                                            : staff[static_cast<std::size_t>(r.below(
                                                        static_cast<std::int64_t>(staff.size())))]
                                                  .staffid;
        p.html = r.percent(10);
        p.is_private = p.creator == 1 && r.percent(5);
        p.attachments = 0;
    }
    for (int a = 0; a < t.attachment_count; ++a)
        plan[static_cast<std::size_t>(r.below(t.post_count))].attachments++;
    return plan;
}

}  // namespace

const ticket* helpdesk::find_ticket_by_mask(std::string_view mask) const {
    for (const auto& t : tickets)
        if (t.ticketmaskid == mask) return &t;
    return nullptr;
}

std::vector<post> helpdesk::posts_of(const ticket& t) const {
    if (t.posts) return *t.posts;
    std::vector<post> out;
    const auto plan = plan_posts(seed, t, staff);
    out.reserve(plan.size());
    const user* u = find_user(t.userid);
    for (std::size_t i = 0; i < plan.size(); ++i) {
        const auto& pp = plan[i];
        post p;
        p.ticketpostid = t.first_postid + static_cast<id_t>(i);
        p.ticketid = t.ticketid;
        p.dateline = pp.dateline;
        p.creator = pp.creator;
        p.staffid = pp.staffid;
        p.ishtml = pp.html ? 1 : 0;
        p.isprivate = pp.is_private ? 1 : 0;
        p.hasattachments = pp.attachments > 0 ? 1 : 0;
        rng r(mix(seed, static_cast<std::uint64_t>(p.ticketpostid) * 16 + 3));
        if (pp.creator == 1) {
            const staff_member* s = find_staff(pp.staffid);
            p.fullname = s ? s->fullname : "Staff";
            p.email = s ? s->email : "";
            p.emailto = t.email;
            p.isemailed = pp.is_private ? 0 : 1;
        } else if (pp.creator == 5) {
            p.isthirdparty = 1;
            p.fullname = std::string(r.pick(first_names)) + " " + std::string(r.pick(last_names));
            p.email = ascii_slug(p.fullname) + "@" + std::string(r.pick(domains));
            p.ipaddress = ip_address(r);
        } else {
            p.userid = t.userid;
            p.fullname = t.fullname;
            p.email = u && !u->emails.empty() ? u->emails[static_cast<std::size_t>(r.below(
                                                    static_cast<std::int64_t>(u->emails.size())))]
                                              : t.email;
            p.ipaddress = t.ipaddress;
        }
        p.contents = post_body(r, pp.html);
        out.push_back(std::move(p));
    }
    return out;
}

std::vector<attachment> helpdesk::attachments_of(const ticket& t) const {
    if (t.attachments) return *t.attachments;
    std::vector<attachment> out;
    if (t.attachment_count == 0) return out;
    const auto plan = plan_posts(seed, t, staff);
    id_t next = t.first_attachmentid;
    static constexpr std::array<std::pair<std::string_view, std::string_view>, 5> kinds = {{
        {"screenshot.png", "image/png"},
        {"invoice.pdf", "application/pdf"},
        {"log.txt", "text/plain"},
        {"Übersicht.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
        {"data.bin", "application/octet-stream"},
    }};
    for (std::size_t i = 0; i < plan.size(); ++i) {
        for (int k = 0; k < plan[i].attachments; ++k) {
            attachment a;
            a.attachmentid = next++;
            a.ticketid = t.ticketid;
            a.ticketpostid = t.first_postid + static_cast<id_t>(i);
            a.dateline = plan[i].dateline;
            rng r(mix(seed, static_cast<std::uint64_t>(a.attachmentid) * 16 + 5));
            const auto& kind = r.pick(kinds);
            a.filename = std::string(kind.first);
            a.filetype = std::string(kind.second);
            a.contents.resize(static_cast<std::size_t>(r.between(64, 4096)));
            for (auto& c : a.contents) c = static_cast<char>(r.next() & 0xFF);
            out.push_back(std::move(a));
        }
    }
    return out;
}

std::vector<custom_field_value> helpdesk::custom_values_of(const ticket& t) const {
    if (t.custom_values) return *t.custom_values;
    std::vector<custom_field_value> out;
    rng r(mix(seed, static_cast<std::uint64_t>(t.ticketid) * 16 + 9));
    if (!r.percent(50)) return out;
    for (const auto& f : custom_fields) {
        const custom_field_group* g = nullptr;
        for (const auto& cg : custom_field_groups)
            if (cg.customfieldgroupid == f.customfieldgroupid) g = &cg;
        if (g == nullptr || (g->grouptype != 3 && g->grouptype != 4 && g->grouptype != 9)) continue;
        if (!r.percent(70)) continue;
        custom_field_value v;
        v.customfieldid = f.customfieldid;
        v.ticketid = t.ticketid;
        std::vector<id_t> options;
        for (const auto& o : custom_field_options)
            if (o.customfieldid == f.customfieldid && o.parentcustomfieldoptionid == 0)
                options.push_back(o.customfieldoptionid);
        switch (f.fieldtype) {
            case 5:
            case 6:
                if (!options.empty()) v.optionids.push_back(r.pick(options));
                break;
            case 4:
            case 7:
                for (id_t o : options)
                    if (r.percent(50)) v.optionids.push_back(o);
                break;
            case 9:
                if (!options.empty()) {
                    const id_t parent = r.pick(options);
                    v.optionids.push_back(parent);
                    for (const auto& o : custom_field_options)
                        if (o.parentcustomfieldoptionid == parent) {
                            v.optionids.push_back(o.customfieldoptionid);
                            break;
                        }
                }
                break;
            case 10:
                v.fieldvalue = "11/" + std::to_string(r.between(10, 28)) + "/2025";
                break;
            default:
                v.fieldvalue = sentence(r, 10, 60);
        }
        out.push_back(std::move(v));
    }
    return out;
}

helpdesk helpdesk::generate(std::uint64_t seed, const sizes& sz) {
    helpdesk h;
    h.seed = seed;
    h.now = base_now;
    rng r(mix(seed, 1));

    h.template_groups = {{1, "Default"}};
    h.workflows = {{1, "Escalate to tier 2"}, {2, "Close & notify"}, {3, "Mark as \"spam\""}};

    // ---- user groups: the two master groups plus a custom registered one
    h.user_groups = {{1, "Guest", 0, 1}, {2, "Registered", 1, 1}, {3, "VIP Customers", 1, 0}};

    // ---- departments: ticket departments, one child, one livechat
    const int ndept = std::max(sz.departments, 1);
    for (int i = 1; i <= ndept; ++i) {
        department d;
        d.departmentid = i;
        static constexpr std::array<std::string_view, 8> titles = {
            "General",           "Billing",       "Technical Support", "Sales",
            "Returns & Refunds", "Développement", "Partners",          "Internal"};
        d.title = i <= static_cast<int>(titles.size())
                      ? std::string(titles[static_cast<std::size_t>(i - 1)])
                      : "Department " + std::to_string(i);
        d.departmenttype = i % 4 == 0 ? "private" : "public";
        d.departmentapp = "tickets";
        d.displayorder = i;
        if (i == 3 && ndept >= 3) d.parentdepartmentid = 1;
        if (i == 2) {
            d.uservisibilitycustom = 1;
            d.usergroupids = {2, 3};
        }
        h.departments.push_back(std::move(d));
    }
    {
        department d;
        d.departmentid = ndept + 1;
        d.title = "Live Chat";
        d.departmenttype = "public";
        d.departmentapp = "livechat";
        d.displayorder = ndept + 1;
        h.departments.push_back(std::move(d));
    }

    // ---- statuses: unresolved and resolved globals, one department-specific
    auto status = [&](id_t id, std::string title, id_t dept, int resolved, std::string color) {
        ticket_status s;
        s.ticketstatusid = id;
        s.title = std::move(title);
        s.displayorder = static_cast<int>(id);
        s.departmentid = dept;
        s.displayicon = "{$themepath}icon_ticketstatus" + std::to_string(id) + ".png";
        s.statustype = id == 4 ? "private" : "public";
        s.markasresolved = resolved;
        s.displaycount = resolved ? 0 : 1;
        s.statuscolor = color;
        s.statusbgcolor = color;
        s.triggersurvey = resolved;
        if (id == 3) {
            s.staffvisibilitycustom = 1;
            s.staffgroupids = {1, 2};
        }
        h.statuses.push_back(std::move(s));
    };
    status(1, "Open", 0, 0, "#4eafcb");
    status(2, "In Progress", 0, 0, "#e5ad1c");
    status(3, "Closed", 0, 1, "#5f5f5f");
    status(4, "On Hold", 0, 0, "#b84a4a");
    status(5, "Resolved", 0, 1, "#3a9a3a");
    status(6, "Awaiting Vendor", std::min<id_t>(2, ndept), 0, "#8a6fb0");

    static constexpr std::array<std::string_view, 5> prio = {"Low", "Normal", "High", "Urgent",
                                                             "Critical"};
    for (int i = 1; i <= 5; ++i) {
        ticket_priority p;
        p.priorityid = i;
        p.title = std::string(prio[static_cast<std::size_t>(i - 1)]);
        p.displayorder = i;
        p.frcolorcode = "#000000";
        p.bgcolorcode = i >= 4 ? "#ffcccc" : "";
        p.type = i == 5 ? "private" : "public";
        if (i == 4) {
            p.uservisibilitycustom = 1;
            p.usergroupids = {3};
        }
        h.priorities.push_back(std::move(p));
    }
    static constexpr std::array<std::string_view, 5> tt = {"Issue", "Task", "Bug", "Lead",
                                                           "Feedback"};
    for (int i = 1; i <= 5; ++i) {
        ticket_type t;
        t.tickettypeid = i;
        t.title = std::string(tt[static_cast<std::size_t>(i - 1)]);
        t.displayorder = i;
        t.departmentid = i == 4 ? std::min<id_t>(4, ndept) : 0;
        t.displayicon = "{$themepath}icon_tickettype" + std::to_string(i) + ".png";
        t.type = "public";
        h.types.push_back(std::move(t));
    }

    // ---- staff
    const int ngroups = std::max(sz.staff_groups, 1);
    for (int i = 1; i <= ngroups; ++i) {
        static constexpr std::array<std::string_view, 4> titles = {
            "Administrator", "Staff", "Tier 2 & Escalations", "Contractors"};
        h.staff_groups.push_back({i,
                                  i <= 4 ? std::string(titles[static_cast<std::size_t>(i - 1)])
                                         : "Group " + std::to_string(i),
                                  i == 1 ? 1 : 0});
    }
    for (int i = 1; i <= std::max(sz.staff, 1); ++i) {
        staff_member s;
        s.staffid = i;
        s.staffgroupid = 1 + (i - 1) % ngroups;
        s.firstname = std::string(r.pick(first_names));
        s.lastname = i == 2 ? "O'Brien" : std::string(r.pick(last_names));
        s.fullname = s.firstname + " " + s.lastname;
        s.username = ascii_slug(s.firstname) + std::to_string(i);
        s.email = s.username + "@support.example.com";
        s.designation = i == 1 ? "Head of Support" : (i % 3 == 0 ? "" : "Support Engineer");
        s.greeting = i % 2 == 0 ? "Hi there," : "";
        s.mobilenumber = i % 4 == 0 ? "+49 170 555 " + std::to_string(1000 + i) : "";
        s.isenabled = i % 7 == 0 ? 0 : 1;
        s.timezonephp = std::string(r.pick(timezones));
        s.enabledst = i % 2;
        s.signature = i % 3 == 0 ? "" : "-- \n" + s.fullname + "\nSupport Team";
        h.staff.push_back(std::move(s));
    }

    // ---- organisations
    for (int i = 1; i <= sz.organizations; ++i) {
        organization o;
        o.userorganizationid = i;
        o.organizationname = std::string(r.pick(last_names)) +
                             (r.percent(50) ? " GmbH" : " & Co.") + " " + std::to_string(i);
        o.organizationtype = r.percent(70) ? 1 : 2;
        o.address =
            std::to_string(r.between(1, 200)) + " " + std::string(r.pick(words)) + " Street";
        o.city = std::string(r.pick(cities));
        o.state = r.percent(50) ? "" : "State " + std::to_string(r.below(50));
        o.postalcode = std::to_string(r.between(10000, 99999));
        o.country = std::string(r.pick(countries));
        o.phone = "+1 555 " + std::to_string(r.between(1000000, 9999999));
        o.fax = r.percent(20) ? "+1 555 " + std::to_string(r.between(1000000, 9999999)) : "";
        o.website = r.percent(60) ? "https://www." + std::string(r.pick(domains)) : "";
        o.dateline = base_now - r.between(86400 * 400, 86400 * 1200);
        o.lastupdate = r.percent(50) ? o.dateline + r.below(86400 * 300) : o.dateline;
        o.slaplanid = r.percent(10) ? 1 : 0;
        h.organizations.push_back(std::move(o));
    }
    h.next_organizationid = sz.organizations + 1;

    // ---- users (1-3 emails, unique addresses)
    h.users.reserve(static_cast<std::size_t>(sz.users));
    for (int i = 1; i <= sz.users; ++i) {
        user u;
        u.userid = i;
        const auto g = r.below(100);
        u.usergroupid = g < 5 ? 1 : g < 85 ? 2 : 3;
        u.userrole = r.percent(10) ? 2 : 1;
        u.userorganizationid =
            sz.organizations > 0 && r.percent(70) ? r.between(1, sz.organizations) : 0;
        u.salutation = std::string(r.pick(salutations));
        u.userexpiry = r.percent(5) ? base_now + r.below(86400 * 365) : 0;
        u.fullname = std::string(r.pick(first_names)) + " " + std::string(r.pick(last_names));
        const auto nmail = r.between(1, 3);
        const std::string slug = ascii_slug(u.fullname);
        for (int k = 0; k < nmail; ++k)
            u.emails.push_back(slug + "." + std::to_string(i) +
                               (k == 0 ? "" : "+" + std::to_string(k)) + "@" +
                               std::string(r.pick(domains)));
        u.userdesignation = r.percent(30) ? "Purchasing Manager" : "";
        u.phone = r.percent(40) ? "+44 20 7946 " + std::to_string(r.between(1000, 9999)) : "";
        u.dateline = base_now - r.between(86400, 86400 * 1000);
        u.lastvisit = r.percent(60) ? u.dateline + r.below(base_now - u.dateline) : 0;
        u.isenabled = r.percent(97) ? 1 : 0;
        u.timezonephp = std::string(r.pick(timezones));
        u.enabledst = r.percent(30) ? 1 : 0;
        u.slaplanid = r.percent(5) ? 1 : 0;
        h.users.push_back(std::move(u));
        if (r.percent(5)) {
            user_note n;
            n.usernoteid = h.next_usernoteid++;
            n.linktype = 1;
            n.linktypeid = i;
            const auto& s = h.staff[static_cast<std::size_t>(
                r.below(static_cast<std::int64_t>(h.staff.size())))];
            n.staffid = s.staffid;
            n.staffname = s.fullname;
            n.notecolor = static_cast<int>(r.between(1, 5));
            n.dateline = h.users.back().dateline + r.below(86400 * 30);
            n.contents = "Customer note: " + sentence(r, 20, 120);
            h.user_notes.push_back(std::move(n));
        }
    }
    h.next_userid = sz.users + 1;
    for (const auto& o : h.organizations) {
        if (!r.percent(10)) continue;
        user_note n;
        n.usernoteid = h.next_usernoteid++;
        n.linktype = 2;
        n.linktypeid = o.userorganizationid;
        n.staffid = 1;
        n.staffname = h.staff[0].fullname;
        n.dateline = o.dateline + 3600;
        n.contents = "Organisation note: " + sentence(r, 20, 100);
        h.user_notes.push_back(std::move(n));
    }
    std::stable_sort(
        h.user_notes.begin(), h.user_notes.end(),
        [](const user_note& a, const user_note& b) { return a.dateline < b.dateline; });

    // ---- custom fields: two ticket groups and one user group
    h.custom_field_groups = {
        {1, "Ticket details", 3, 1, 1, {1, std::min<id_t>(2, ndept)}},
        {2, "Customer information", 9, 1, 2, {}},
        {3, "User profile", 1, 1, 3, {}},
    };
    for (const auto& d : h.departments)
        if (d.departmentapp == "tickets")
            h.custom_field_groups[1].departmentids.push_back(d.departmentid);
    auto field = [&](id_t id, id_t group, std::string title, int type, std::string name,
                     int required, int order) {
        custom_field f;
        f.customfieldid = id;
        f.customfieldgroupid = group;
        f.title = std::move(title);
        f.fieldtype = type;
        f.fieldname = std::move(name);
        f.isrequired = required;
        f.usereditable = group == 2 ? 1 : 0;
        f.displayorder = order;
        f.description = type == 10 ? "MM/DD/YYYY" : "";
        h.custom_fields.push_back(std::move(f));
    };
    field(1, 1, "Order number", 1, "ab12cd34ef", 0, 1);
    field(2, 1, "Product", 6, "gh56ij78kl", 1, 2);
    field(3, 1, "Affected areas", 4, "mn90op12qr", 0, 3);
    field(4, 2, "Contract date", 10, "st34uv56wx", 0, 1);
    field(5, 2, "Region / Country", 9, "yz78ab90cd", 0, 2);
    field(6, 2, "Details", 2, "ef12gh34ij", 0, 3);
    field(7, 3, "Customer since", 1, "kl56mn78op", 0, 1);
    id_t opt = 1;
    auto option = [&](id_t fieldid, std::string value, int order, id_t parent) {
        h.custom_field_options.push_back({opt++, fieldid, std::move(value), order, 0, parent});
        return opt - 1;
    };
    option(2, "Widget Pro", 1, 0);
    option(2, "Widget Lite", 2, 0);
    option(2, "Gadget, Deluxe", 3, 0);  // a comma inside a value: rendered as "\,"
    option(3, "Login", 1, 0);
    option(3, "Billing", 2, 0);
    option(3, "Reporting", 3, 0);
    const id_t europe = option(5, "Europe", 1, 0);
    const id_t asia = option(5, "Asia", 2, 0);
    option(5, "Germany", 1, europe);
    option(5, "Österreich", 2, europe);
    option(5, "日本", 1, asia);

    // ---- tickets
    const int ntickets = sz.tickets;
    h.tickets.reserve(static_cast<std::size_t>(ntickets));
    // Most tickets share their lastactivity second with several others (about 8 per second),
    // and a bulk action put 5% of them on one single second.
    const std::int64_t activity_window = std::max<std::int64_t>(ntickets / 8, 60);
    const std::int64_t bulk_second = base_now - activity_window / 3;
    std::vector<id_t> ticket_depts;
    for (const auto& d : h.departments)
        if (d.departmentapp == "tickets") ticket_depts.push_back(d.departmentid);
    id_t note_id = 1, track_id = 1, post_id = 1, attachment_id = 1;
    for (int i = 1; i <= ntickets; ++i) {
        ticket t;
        t.ticketid = i;
        t.ticketmaskid = mask_for(r, i);
        t.departmentid = r.pick(ticket_depts);
        // Status: the department-specific one only in its department.
        do {
            t.ticketstatusid = r.between(1, static_cast<std::int64_t>(h.statuses.size()));
        } while (h.statuses[static_cast<std::size_t>(t.ticketstatusid - 1)].departmentid != 0 &&
                 h.statuses[static_cast<std::size_t>(t.ticketstatusid - 1)].departmentid !=
                     t.departmentid);
        t.priorityid = r.between(1, 5);
        t.tickettypeid = r.between(1, 5);
        if (sz.users > 0) {
            const user& u = h.users[static_cast<std::size_t>(r.below(sz.users))];
            t.userid = u.userid;
            t.fullname = u.fullname;
            t.email = u.emails[static_cast<std::size_t>(
                r.below(static_cast<std::int64_t>(u.emails.size())))];
        } else {
            t.fullname = std::string(r.pick(first_names));
            t.email = "nobody@example.com";
        }
        if (r.percent(80)) {
            const auto& s = h.staff[static_cast<std::size_t>(
                r.below(static_cast<std::int64_t>(h.staff.size())))];
            t.ownerstaffid = s.staffid;
            t.ownerstaffname = s.fullname;
        }
        t.subject = sentence(r, 50, 70);
        t.lastactivity = r.percent(5) ? bulk_second : base_now - r.below(activity_window);
        t.seeded_lastactivity = t.lastactivity;
        t.dateline = t.lastactivity - r.below(86400 * 90);
        t.slaplanid = r.percent(30) ? 1 : 0;
        t.duetime = t.slaplanid ? t.lastactivity + 86400 : 0;
        t.resolutionduedateline = t.slaplanid && r.percent(50) ? t.lastactivity + 3 * 86400 : 0;
        t.ipaddress = ip_address(r);
        const auto mode = r.below(100);
        t.creationmode = mode < 50 ? 3 : mode < 70 ? 1 : mode < 85 ? 2 : mode < 95 ? 4 : 7;
        t.creator = (t.creationmode == 2 || t.creationmode == 7) ? 1 : 2;
        t.tickettype = r.percent(10) ? 2 : 1;
        t.isescalated = r.percent(3) ? 1 : 0;
        t.escalationruleid = t.isescalated ? 1 : 0;
        t.flagtype = r.percent(10) ? static_cast<int>(r.between(1, 6)) : 0;
        t.tgroupid = 1;
        const auto ntags = r.percent(30) ? r.between(1, 3) : 0;
        for (int k = 0; k < ntags; ++k) {
            if (!t.tags.empty()) t.tags.push_back(' ');
            t.tags.append(r.pick(tag_names));
        }
        if (h.statuses[static_cast<std::size_t>(t.ticketstatusid - 1)].markasresolved) {
            t.isresolved = 1;
            t.resolutiondateline = t.lastactivity;
        }
        if (r.percent(10)) {
            const auto n = r.between(1, 2);
            for (int k = 0; k < n; ++k)
                t.watcher_staffids.push_back(
                    r.between(1, static_cast<std::int64_t>(h.staff.size())));
            t.iswatched = 1;
        }
        if (r.percent(5)) t.workflowids.push_back(r.between(1, 3));
        if (r.percent(15)) {
            const auto n = r.between(1, 2);
            for (int k = 0; k < n; ++k) {
                ticket_note n2;
                n2.ticketnoteid = note_id++;
                n2.ticketid = i;
                const auto& s = h.staff[static_cast<std::size_t>(
                    r.below(static_cast<std::int64_t>(h.staff.size())))];
                n2.staffid = s.staffid;
                n2.staffname = s.fullname;
                n2.forstaffid = r.percent(30) ? t.ownerstaffid : 0;
                n2.notecolor = static_cast<int>(r.between(1, 5));
                n2.dateline =
                    t.dateline + r.below(std::max<std::int64_t>(t.lastactivity - t.dateline, 1));
                n2.note = "Internal: " + sentence(r, 30, 200);
                t.notes.push_back(std::move(n2));
            }
            std::stable_sort(
                t.notes.begin(), t.notes.end(),
                [](const ticket_note& a, const ticket_note& b) { return a.dateline < b.dateline; });
            t.hasnotes = 1;
        }
        if (r.percent(8)) {
            const auto n = r.between(1, 2);
            for (int k = 0; k < n; ++k) {
                time_track tr;
                tr.tickettimetrackid = track_id++;
                tr.ticketid = i;
                tr.timespent = r.between(1, 16) * 900;
                tr.timebillable = r.percent(70) ? tr.timespent : 0;
                tr.workdateline =
                    t.dateline + r.below(std::max<std::int64_t>(t.lastactivity - t.dateline, 1));
                tr.dateline = tr.workdateline + 3600;
                const auto& s = h.staff[static_cast<std::size_t>(
                    r.below(static_cast<std::int64_t>(h.staff.size())))];
                tr.workerstaffid = s.staffid;
                tr.workerstaffname = s.fullname;
                tr.creatorstaffid = s.staffid;
                tr.creatorstaffname = s.fullname;
                tr.notecolor = 1;
                tr.notes = r.percent(20) ? "" : "Worked on: " + sentence(r, 20, 80);
                t.timetracks.push_back(std::move(tr));
            }
            std::stable_sort(
                t.timetracks.begin(), t.timetracks.end(),
                [](const time_track& a, const time_track& b) { return a.dateline < b.dateline; });
        }
        if (r.below(100) < sz.trashed_percent) t.departmentid = 0;

        t.post_count = static_cast<int>(r.between(1, 5));
        t.first_postid = post_id;
        post_id += t.post_count;
        t.attachment_count = r.percent(15) ? static_cast<int>(r.between(1, 2)) : 0;
        t.first_attachmentid = attachment_id;
        attachment_id += t.attachment_count;
        t.totalreplies = t.post_count - 1;
        t.hasattachments = t.attachment_count > 0 ? 1 : 0;

        // Reply times and the last replier follow from the post plan.
        const auto plan = plan_posts(seed, t, h.staff);
        for (const auto& pp : plan) {
            if (pp.creator == 1) t.laststaffreplytime = pp.dateline;
            if (pp.creator == 2) t.lastuserreplytime = pp.dateline;
        }
        const auto& last = plan.back();
        if (last.creator == 1) {
            const staff_member* s = h.find_staff(last.staffid);
            t.lastreplier = s ? s->fullname : "";
        } else if (last.creator == 2) {
            t.lastreplier = t.fullname;
        } else {
            // The same first draws posts_of() makes for a third-party post.
            rng pr(
                mix(seed, static_cast<std::uint64_t>(t.first_postid + t.post_count - 1) * 16 + 3));
            t.lastreplier = std::string(pr.pick(first_names));
            t.lastreplier += " ";
            t.lastreplier += pr.pick(last_names);
        }
        h.tickets.push_back(std::move(t));
    }
    h.next_ticketid = ntickets + 1;
    h.next_postid = post_id;
    h.next_attachmentid = attachment_id;
    h.next_noteid = note_id;
    h.next_timetrackid = track_id;
    return h;
}

}  // namespace ksync::emulator
