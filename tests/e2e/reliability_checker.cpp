#include "tests/e2e/reliability_checker.hpp"

// Boost.JSON's implementation is compiled once, in daemon/sync/cursors.cpp (ksync_sync, which
// this library links); only the headers are included here.
#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <pqxx/pqxx>

#include <fstream>
#include <map>
#include <set>
#include <tuple>
#include <unordered_set>

namespace ksync::test {

namespace json = boost::json;

namespace {

constexpr std::size_t kLimit = 20;  // problems listed per check

void note(std::vector<std::string>& out, std::string line) {
    if (out.size() < kLimit)
        out.push_back(std::move(line));
    else if (out.size() == kLimit)
        out.push_back("... (more not listed)");
}

std::int64_t num(const json::object& o, std::string_view k) {
    const auto* v = o.if_contains(k);
    if (!v) return 0;
    if (v->is_int64()) return v->as_int64();
    if (v->is_uint64()) return static_cast<std::int64_t>(v->as_uint64());
    if (v->is_bool()) return v->as_bool() ? 1 : 0;
    if (v->is_double()) return static_cast<std::int64_t>(v->as_double());
    return 0;
}

std::string str(const json::object& o, std::string_view k) {
    const auto* v = o.if_contains(k);
    if (!v || !v->is_string()) return {};
    return std::string(v->as_string());
}

const json::array& arr(const json::object& o, std::string_view k) {
    static const json::array empty;
    const auto* v = o.if_contains(k);
    return v && v->is_array() ? v->as_array() : empty;
}

std::string base64(const unsigned char* data, std::size_t len) {
    std::string out(4 * ((len + 2) / 3), '\0');
    out.resize(static_cast<std::size_t>(EVP_EncodeBlock(
        reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(len))));
    return out;
}

// %2B %2F %3D (either case) decoded: a signature may sit URL-encoded in a logged URL.
std::string url_decoded_b64(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size()) {
            const char a = s[i + 1], b = static_cast<char>(std::toupper(s[i + 2]));
            if (a == '2' && b == 'B')
                out += '+', i += 2;
            else if (a == '2' && b == 'F')
                out += '/', i += 2;
            else if (a == '3' && b == 'D')
                out += '=', i += 2;
            else
                out += s[i];
        } else {
            out += s[i];
        }
    }
    return out;
}

std::string url_encoded(std::string_view s) {
    std::string out;
    for (char c : s) {
        if (c == '+')
            out += "%2B";
        else if (c == '/')
            out += "%2F";
        else if (c == '=')
            out += "%3D";
        else
            out += c;
    }
    return out;
}

// What the secret scan looks for. A signature is 44 base64 characters ending in one '='
// (32 bytes), so every '=' is a candidate end: one hash lookup per '='.
struct needles {
    std::vector<std::string> plain;  // the secret, raw and URL-encoded
    std::unordered_set<std::string> signatures;

    // "" when clean, else what was found (never the value itself).
    std::string find_in(std::string_view text) const {
        for (std::size_t i = 0; i < plain.size(); ++i)
            if (!plain[i].empty() && text.find(plain[i]) != std::string_view::npos)
                return i == 0 ? "the API secret" : "the API secret (URL-encoded)";
        if (signatures.empty()) return {};
        auto scan = [this](std::string_view t) {
            for (auto p = t.find('='); p != std::string_view::npos; p = t.find('=', p + 1))
                if (p >= 43 && signatures.count(std::string(t.substr(p - 43, 44)))) return true;
            return false;
        };
        if (scan(text)) return "a request signature";
        if (text.find('%') != std::string_view::npos && scan(url_decoded_b64(text)))
            return "a request signature (URL-encoded)";
        return {};
    }
};

// ---- posts ------------------------------------------------------------------------------------

using post_key = std::tuple<std::string, std::string, std::string>;  // path, field, value

void check_posts(const check_options& o, const std::vector<emulator::log_entry>& log,
                 check_report& r) {
    // Which POST creates which entity, and the form field that carries the intake row's value.
    static const std::map<std::string, std::tuple<std::string, std::string, std::string>> how = {
        {"tickets", {"/Tickets/Ticket", "subject", "subject"}},
        {"posts", {"/Tickets/TicketPost", "contents", "contents"}},
        {"notes", {"/Tickets/TicketNote", "contents", "contents"}},
        {"users", {"/Base/User", "fullname", "full_name"}},
        {"organizations", {"/Base/UserOrganization", "name", "name"}},
    };
    std::set<std::string> paths;
    for (const auto& [e, h] : how) paths.insert(std::get<0>(h));

    // Faults that replace the answer without executing the request (README "kayako-emulator
    // control interface"): logged, some with status 200, but nothing was created.
    static const std::set<std::string> not_executed = {
        "status", "rate_limit", "hang", "reset", "html_200", "uncaught_200", "xxe", "huge_body"};
    std::map<post_key, int> sent;
    for (const auto& e : log) {
        if (e.method != "POST" || e.status != 200 || !paths.count(e.path)) continue;
        if (not_executed.count(e.fault)) continue;
        ++r.successful_posts;
        for (const auto& [e2, h] : how) {
            if (std::get<0>(h) != e.path) continue;
            for (const auto& [k, v] : e.fields)
                if (k == std::get<1>(h)) ++sent[post_key{e.path, k, v}];
        }
    }

    pqxx::connection c{o.dsn};
    pqxx::read_transaction tx{c};
    std::map<post_key, std::vector<std::int64_t>> rows;
    for (const auto& row :
         tx.exec("SELECT id, entity, operation, state, COALESCE(last_error, ''), new_values::text"
                 " FROM " +
                 tx.quote_name(o.state_schema) + ".outbox ORDER BY id")) {
        ++r.outbox_rows;
        const auto id = row[0].as<std::int64_t>();
        const std::string entity = row[1].c_str(), op = row[2].c_str(), state = row[3].c_str();
        if (o.outbox_must_be_done && state != "done")
            note(r.posts, fmt::format("outbox row {} ({} {}) is {}: {}", id, op, entity, state,
                                      row[4].c_str()));
        if (op != "create") continue;
        ++r.creations;
        auto h = how.find(entity);
        if (h == how.end()) continue;
        const auto values = json::parse(row[5].c_str()).as_object();
        post_key k{std::get<0>(h->second), std::get<1>(h->second),
                   str(values, std::get<2>(h->second))};
        if (state == "done") rows[k].push_back(id);
    }
    for (const auto& [k, ids] : rows) {
        const int n = sent.count(k) ? sent.at(k) : 0;
        if (n != static_cast<int>(ids.size()))
            note(r.posts, fmt::format("POST {} {}='{}': {} successful POST(s) for {} done outbox "
                                      "row(s) (first row {})",
                                      std::get<0>(k), std::get<1>(k), std::get<2>(k).substr(0, 80),
                                      n, ids.size(), ids.front()));
    }
    for (const auto& [k, n] : sent)
        if (!rows.count(k))
            note(r.posts,
                 fmt::format("POST {} {}='{}': {} successful POST(s) and no done outbox "
                             "creation",
                             std::get<0>(k), std::get<1>(k), std::get<2>(k).substr(0, 80), n));
}

// ---- feed -------------------------------------------------------------------------------------

void check_feed(const check_options& o, check_report& r) {
    pqxx::connection c{o.dsn};
    pqxx::read_transaction tx{c};  // one snapshot for the feed and the mirror
    const std::string st = tx.quote_name(o.state_schema);
    const auto totals =
        tx.exec1("SELECT count(*), count(DISTINCT (entity, object_id, object_sub_id)) FROM " + st +
                 ".changes");
    r.feed_events = totals[0].as<std::size_t>();
    r.feed_objects = totals[1].as<std::size_t>();
    const std::string first_ok = o.feed_may_be_pruned ? "true" : "version = 1";
    for (const auto& row : tx.exec(
             "SELECT entity, object_id, COALESCE(object_sub_id::text, ''), position, version, prev"
             " FROM (SELECT entity, object_id, object_sub_id, position, version,"
             " lag(version) OVER (PARTITION BY entity, object_id, object_sub_id ORDER BY position)"
             " AS prev FROM " +
             st + ".changes) x WHERE (prev IS NULL AND NOT (" + first_ok +
             ")) OR (prev IS NOT NULL AND version <> prev + 1) ORDER BY position LIMIT 21"))
        note(r.feed,
             fmt::format("feed {} {}{}{}: version {} at position {} follows {}", row[0].c_str(),
                         row[1].c_str(), *row[2].c_str() ? "/" : "", row[2].c_str(), row[4].c_str(),
                         row[3].c_str(), row[5].is_null() ? "nothing" : row[5].c_str()));

    // Every mirror table with a version column: the row's version is its last feed event's.
    const auto tables = tx.exec_params(
        "SELECT table_name FROM information_schema.columns WHERE table_schema = $1 AND "
        "column_name = 'version' ORDER BY 1",
        o.mirror_schema);
    for (const auto& t : tables) {
        const std::string name = t[0].c_str();
        const bool two_keys = name == "ticket_custom_field_values";
        const std::string id = two_keys ? "m.ticket_id" : "m.id";
        const std::string sub = two_keys ? "m.field_id" : "NULL::bigint";
        const std::string missing = o.feed_may_be_pruned ? " AND c.v IS NOT NULL" : "";
        for (const auto& row : tx.exec_params(
                 "SELECT COALESCE(" + id + ", c.object_id), COALESCE(" + sub +
                     "::text, c.object_sub_id::text, ''), m.version, c.v FROM " +
                     tx.quote_name(o.mirror_schema) + "." + tx.quote_name(name) +
                     " m FULL JOIN (SELECT object_id, object_sub_id, max(version) v FROM " + st +
                     ".changes WHERE entity = $1 GROUP BY 1, 2) c ON c.object_id = " + id +
                     " AND c.object_sub_id IS NOT DISTINCT FROM " + sub +
                     " WHERE m.version IS DISTINCT FROM c.v" + missing + " LIMIT 21",
                 name))
            note(r.feed, fmt::format("{} {}{}{}: mirror version {}, last feed version {}", name,
                                     row[0].c_str(), *row[1].c_str() ? "/" : "", row[1].c_str(),
                                     row[2].is_null() ? "none" : row[2].c_str(),
                                     row[3].is_null() ? "none" : row[3].c_str()));
    }
}

// ---- secrets ----------------------------------------------------------------------------------

void scan_file(const std::filesystem::path& p, const needles& n, check_report& r) {
    std::ifstream in(p, std::ios::binary);
    if (!in) {
        note(r.secrets, "cannot read " + p.string() + " (not scanned)");
        return;
    }
    const std::string text(std::istreambuf_iterator<char>(in), {});
    r.scanned_bytes += text.size();
    if (auto what = n.find_in(text); !what.empty())
        note(r.secrets, what + " appears in " + p.string());
}

void check_secrets(const check_options& o, const std::vector<emulator::log_entry>& log,
                   check_report& r) {
    needles n;
    n.plain = {o.secret, url_encoded(o.secret)};
    for (const auto& e : log)
        if (!e.salt.empty()) n.signatures.insert(signature_of(e.salt, o.secret));
    r.signatures = n.signatures.size();

    for (const auto& p : o.scan_files) {
        std::error_code ec;
        if (std::filesystem::is_directory(p, ec)) {
            for (const auto& f : std::filesystem::recursive_directory_iterator(p, ec))
                if (f.is_regular_file()) scan_file(f.path(), n, r);
        } else {
            scan_file(p, n, r);
        }
    }

    // Every row of every table outside the system schemas, as its text rendering.
    pqxx::connection c{o.dsn};
    pqxx::work tx{c};  // cursors need a transaction; nothing is written
    std::vector<std::string> tables;
    for (const auto& row :
         tx.exec("SELECT format('%I.%I', table_schema, table_name) FROM information_schema.tables "
                 "WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', "
                 "'information_schema') AND table_schema NOT LIKE 'pg_toast%' AND table_schema NOT "
                 "LIKE 'pg_temp%' ORDER BY 1"))
        tables.emplace_back(row[0].c_str());
    for (const auto& t : tables) {
        pqxx::icursorstream rows(tx, "SELECT t::text FROM " + t + " t", "ksync_check_scan", 2000);
        pqxx::result chunk;
        bool found = false;
        while (!found && (rows >> chunk)) {
            for (const auto& row : chunk) {
                const std::string_view text(row[0].c_str(), row[0].size());
                r.scanned_bytes += text.size();
                if (auto what = n.find_in(text); !what.empty()) {
                    note(r.secrets, what + " appears in a row of table " + t);
                    found = true;
                    break;
                }
            }
        }
    }
}

// Removes tickets and their posts and notes (whose text starts with "ticket=<id> ").
void drop_tickets(snapshot& s, const std::set<std::int64_t>& ids) {
    for (auto id : ids) s["tickets"].erase(id);
    for (const char* child : {"posts", "notes"}) {
        auto& rows = s[child];
        for (auto it = rows.begin(); it != rows.end();) {
            const auto& text = it->second;
            const auto space = text.find(' ');
            std::int64_t ticket = -1;
            if (text.rfind("ticket=", 0) == 0 && space != std::string::npos)
                ticket = std::strtoll(text.c_str() + 7, nullptr, 10);
            it = ids.count(ticket) ? rows.erase(it) : std::next(it);
        }
    }
}

}  // namespace

std::set<std::int64_t> unlistable_trash_from_model_json(std::string_view model_json) {
    const auto doc = json::parse(model_json).as_object();
    std::set<std::int64_t> department_statuses, out;
    for (const auto& v : arr(doc, "statuses"))
        if (num(v.as_object(), "departmentid") != 0)
            department_statuses.insert(num(v.as_object(), "ticketstatusid"));
    for (const auto& v : arr(doc, "tickets")) {
        const auto& t = v.as_object();
        if (num(t, "departmentid") == 0 && department_statuses.count(num(t, "ticketstatusid")))
            out.insert(num(t, "ticketid"));
    }
    return out;
}

std::string check_report::text() const {
    std::string s = fmt::format(
        "outbox rows {} (creations {}), successful POSTs {}; feed events {} over {} objects; "
        "signatures {}, bytes scanned {}{}\n",
        outbox_rows, creations, successful_posts, feed_events, feed_objects, signatures,
        scanned_bytes,
        skipped_tickets ? fmt::format("; {} tickets left out of the comparison", skipped_tickets)
                        : "");
    auto section = [&s](const char* name, bool ran, const std::vector<std::string>& lines) {
        s += fmt::format("{}: {}\n", name, !ran ? "skipped" : lines.empty() ? "ok" : "FAILED");
        for (const auto& l : lines) s += "  " + l + "\n";
    };
    section("mirror equals the model", ran_mirror, mirror);
    section("one successful POST per outbox creation", ran_posts, posts);
    section("feed versions without gaps", ran_feed, feed);
    section("no secret or signature in outputs or the database", ran_secrets, secrets);
    return s;
}

check_report check_all(const check_options& o, const snapshot& expected,
                       const std::vector<emulator::log_entry>& log) {
    check_report r;
    r.ran_mirror = o.check_mirror;
    r.skipped_tickets = o.skip_tickets.size();
    r.ran_posts = o.check_posts;
    r.ran_feed = o.check_feed;
    r.ran_secrets = o.check_secrets && !o.secret.empty();
    if (r.ran_mirror) {
        auto actual = actual_from_mirror(o.dsn, o.mirror_schema);
        if (o.skip_tickets.empty()) {
            r.mirror = differences(expected, actual, kLimit);
        } else {
            auto e = expected;
            drop_tickets(e, o.skip_tickets);
            drop_tickets(actual, o.skip_tickets);
            r.mirror = differences(e, actual, kLimit);
        }
    }
    if (r.ran_posts) check_posts(o, log, r);
    if (r.ran_feed) check_feed(o, r);
    if (r.ran_secrets) check_secrets(o, log, r);
    return r;
}

std::string signature_of(std::string_view salt, std::string_view secret) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
         reinterpret_cast<const unsigned char*>(salt.data()), salt.size(), digest, &len);
    return base64(digest, len);
}

snapshot expected_from_model_json(std::string_view model_json) {
    const auto doc = json::parse(model_json).as_object();
    emulator::helpdesk m;
    for (const auto& v : arr(doc, "departments")) {
        const auto& x = v.as_object();
        emulator::department d;
        d.departmentid = num(x, "departmentid");
        d.title = str(x, "title");
        m.departments.push_back(std::move(d));
    }
    for (const auto& v : arr(doc, "statuses")) {
        const auto& x = v.as_object();
        emulator::ticket_status s;
        s.ticketstatusid = num(x, "ticketstatusid");
        s.title = str(x, "title");
        m.statuses.push_back(std::move(s));
    }
    for (const auto& v : arr(doc, "priorities")) {
        const auto& x = v.as_object();
        emulator::ticket_priority p;
        p.priorityid = num(x, "priorityid");
        p.title = str(x, "title");
        m.priorities.push_back(std::move(p));
    }
    for (const auto& v : arr(doc, "types")) {
        const auto& x = v.as_object();
        emulator::ticket_type t;
        t.tickettypeid = num(x, "tickettypeid");
        t.title = str(x, "title");
        m.types.push_back(std::move(t));
    }
    for (const auto& v : arr(doc, "staff_groups")) {
        const auto& x = v.as_object();
        emulator::staff_group g;
        g.staffgroupid = num(x, "staffgroupid");
        g.title = str(x, "title");
        m.staff_groups.push_back(std::move(g));
    }
    for (const auto& v : arr(doc, "staff")) {
        const auto& x = v.as_object();
        emulator::staff_member s;
        s.staffid = num(x, "staffid");
        s.fullname = str(x, "fullname");
        m.staff.push_back(std::move(s));
    }
    for (const auto& v : arr(doc, "user_groups")) {
        const auto& x = v.as_object();
        emulator::user_group g;
        g.usergroupid = num(x, "usergroupid");
        g.title = str(x, "title");
        m.user_groups.push_back(std::move(g));
    }
    for (const auto& v : arr(doc, "organizations")) {
        const auto& x = v.as_object();
        emulator::organization o;
        o.userorganizationid = num(x, "userorganizationid");
        o.organizationname = str(x, "name");
        o.city = str(x, "city");
        m.organizations.push_back(std::move(o));
    }
    for (const auto& v : arr(doc, "users")) {
        const auto& x = v.as_object();
        emulator::user u;
        u.userid = num(x, "userid");
        u.usergroupid = num(x, "usergroupid");
        u.userorganizationid = num(x, "userorganizationid");
        u.fullname = str(x, "fullname");
        for (const auto& e : arr(x, "emails")) u.emails.emplace_back(e.as_string());
        m.users.push_back(std::move(u));
    }
    for (const auto& v : arr(doc, "tickets")) {
        const auto& x = v.as_object();
        emulator::ticket t;
        t.ticketid = num(x, "ticketid");
        t.departmentid = num(x, "departmentid");
        t.ticketstatusid = num(x, "ticketstatusid");
        t.priorityid = num(x, "priorityid");
        t.tickettypeid = num(x, "tickettypeid");
        t.userid = num(x, "userid");
        t.ownerstaffid = num(x, "ownerstaffid");
        t.subject = str(x, "subject");
        t.fullname = str(x, "fullname");
        t.email = str(x, "email");
        t.lastactivity = num(x, "lastactivity");
        t.totalreplies = static_cast<decltype(t.totalreplies)>(num(x, "totalreplies"));
        std::vector<emulator::post> posts;
        for (const auto& pv : arr(x, "posts")) {
            const auto& y = pv.as_object();
            emulator::post p;
            p.ticketpostid = num(y, "ticketpostid");
            p.ticketid = t.ticketid;
            p.dateline = num(y, "dateline");
            p.userid = num(y, "userid");
            p.staffid = num(y, "staffid");
            p.contents = str(y, "contents");
            posts.push_back(std::move(p));
        }
        t.posts = std::move(posts);
        for (const auto& nv : arr(x, "notes")) {
            const auto& y = nv.as_object();
            emulator::ticket_note n;
            n.ticketnoteid = num(y, "ticketnoteid");
            n.ticketid = t.ticketid;
            n.staffid = num(y, "staffid");
            n.note = str(y, "contents");
            t.notes.push_back(std::move(n));
        }
        m.tickets.push_back(std::move(t));
    }
    return expected_from_model(m);
}

std::vector<emulator::log_entry> log_from_json(std::string_view log_json) {
    std::vector<emulator::log_entry> out;
    const auto doc = json::parse(log_json);
    for (const auto& v : doc.as_array()) {
        const auto& x = v.as_object();
        emulator::log_entry e;
        e.seq = static_cast<std::uint64_t>(num(x, "seq"));
        e.time = num(x, "time");
        e.method = str(x, "method");
        e.path = str(x, "path");
        e.endpoint = str(x, "endpoint");
        e.salt = str(x, "salt");
        if (const auto* f = x.if_contains("fields"); f && f->is_object())
            for (const auto& [k, fv] : f->as_object())
                e.fields.emplace_back(std::string(k),
                                      fv.is_string() ? std::string(fv.as_string()) : "");
        e.status = static_cast<int>(num(x, "status"));
        e.fault = str(x, "fault");
        out.push_back(std::move(e));
    }
    return out;
}

}  // namespace ksync::test
