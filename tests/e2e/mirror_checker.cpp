#include "tests/e2e/mirror_checker.hpp"

#include <pqxx/pqxx>

#include <fmt/format.h>

namespace ksync::test {

namespace {

// Kayako's XML writer drops these bytes from every value (kayako-api.md §3.1).
std::string cleaned(const std::string& s) {
    std::string out;
    out.reserve(s.size());
    for (unsigned char c : s) {
        if (c <= 0x08 || c == 0x0B || c == 0x0C || (c >= 0x0E && c <= 0x1F) || c == 0x7F) continue;
        out.push_back(static_cast<char>(c));
    }
    return out;
}

std::string join(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += cleaned(x) + ";";
    return s;
}

}  // namespace

snapshot expected_from_model(const emulator::helpdesk& m) {
    snapshot s;
    for (const auto& t : m.tickets) {
        s["tickets"][t.ticketid] = fmt::format(
            "dept={} status={} prio={} type={} user={} owner={} subject={} name={} email={} "
            "activity={} replies={}",
            t.departmentid, t.ticketstatusid, t.priorityid, t.tickettypeid, t.userid,
            t.ownerstaffid, cleaned(t.subject), cleaned(t.fullname), cleaned(t.email),
            t.lastactivity, t.totalreplies);
        for (const auto& p : m.posts_of(t))
            s["posts"][p.ticketpostid] =
                fmt::format("ticket={} at={} user={} staff={} contents={}", p.ticketid, p.dateline,
                            p.userid, p.staffid, cleaned(p.contents));
        for (const auto& n : t.notes)
            s["notes"][n.ticketnoteid] = fmt::format("ticket={} staff={} contents={}", n.ticketid,
                                                     n.staffid, cleaned(n.note));
    }
    for (const auto& u : m.users)
        s["users"][u.userid] =
            fmt::format("group={} org={} name={} emails={}", u.usergroupid, u.userorganizationid,
                        cleaned(u.fullname), join(u.emails));
    for (const auto& o : m.organizations)
        s["organizations"][o.userorganizationid] =
            fmt::format("name={} city={}", cleaned(o.organizationname), cleaned(o.city));
    for (const auto& d : m.departments) s["departments"][d.departmentid] = cleaned(d.title);
    for (const auto& x : m.statuses) s["ticket_statuses"][x.ticketstatusid] = cleaned(x.title);
    for (const auto& x : m.priorities) s["ticket_priorities"][x.priorityid] = cleaned(x.title);
    for (const auto& x : m.types) s["ticket_types"][x.tickettypeid] = cleaned(x.title);
    for (const auto& x : m.user_groups) s["user_groups"][x.usergroupid] = cleaned(x.title);
    for (const auto& x : m.staff) s["staff"][x.staffid] = cleaned(x.fullname);
    for (const auto& x : m.staff_groups) s["staff_groups"][x.staffgroupid] = cleaned(x.title);
    return s;
}

snapshot actual_from_mirror(const std::string& dsn, const std::string& schema) {
    pqxx::connection c{dsn};
    pqxx::read_transaction tx{c};
    const std::string k = tx.quote_name(schema) + ".";
    auto epoch = [](const char* col) {
        return fmt::format("COALESCE(extract(epoch FROM {})::bigint, 0)", col);
    };
    snapshot s;
    for (const auto& r : tx.exec("SELECT id, department_id, status_id, priority_id, type_id, "
                                 "user_id, owner_staff_id, subject, "
                                 "full_name, email, " +
                                 epoch("last_activity_at") + ", replies FROM " + k +
                                 "tickets WHERE deleted_at IS NULL"))
        s["tickets"][r[0].as<std::int64_t>()] = fmt::format(
            "dept={} status={} prio={} type={} user={} owner={} subject={} name={} email={} "
            "activity={} replies={}",
            r[1].c_str(), r[2].c_str(), r[3].c_str(), r[4].c_str(), r[5].c_str(), r[6].c_str(),
            r[7].c_str(), r[8].c_str(), r[9].c_str(), r[10].c_str(), r[11].c_str());
    for (const auto& r :
         tx.exec("SELECT id, ticket_id, " + epoch("created_at") +
                 ", user_id, staff_id, contents FROM " + k + "posts WHERE deleted_at IS NULL"))
        s["posts"][r[0].as<std::int64_t>()] =
            fmt::format("ticket={} at={} user={} staff={} contents={}", r[1].c_str(), r[2].c_str(),
                        r[3].c_str(), r[4].c_str(), r[5].c_str());
    for (const auto& r : tx.exec("SELECT id, ticket_id, creator_staff_id, contents FROM " + k +
                                 "notes WHERE deleted_at IS NULL"))
        s["notes"][r[0].as<std::int64_t>()] =
            fmt::format("ticket={} staff={} contents={}", r[1].c_str(), r[2].c_str(), r[3].c_str());
    for (const auto& r : tx.exec("SELECT id, user_group_id, user_organization_id, full_name, "
                                 "COALESCE((SELECT string_agg(e || ';', '' ORDER BY o) FROM "
                                 "unnest(emails) WITH ORDINALITY AS x(e, o)), '') "
                                 "FROM " +
                                 k + "users WHERE deleted_at IS NULL"))
        s["users"][r[0].as<std::int64_t>()] =
            fmt::format("group={} org={} name={} emails={}", r[1].c_str(), r[2].c_str(),
                        r[3].c_str(), r[4].c_str());
    for (const auto& r :
         tx.exec("SELECT id, name, city FROM " + k + "organizations WHERE deleted_at IS NULL"))
        s["organizations"][r[0].as<std::int64_t>()] =
            fmt::format("name={} city={}", r[1].c_str(), r[2].c_str());
    const std::pair<const char*, const char*> titled[] = {
        {"departments", "title"},  {"ticket_statuses", "title"}, {"ticket_priorities", "title"},
        {"ticket_types", "title"}, {"user_groups", "title"},     {"staff", "full_name"},
        {"staff_groups", "title"}};
    for (const auto& [table, col] : titled)
        for (const auto& r : tx.exec(
                 fmt::format("SELECT id, {} FROM {}{} WHERE deleted_at IS NULL", col, k, table)))
            s[table][r[0].as<std::int64_t>()] = r[1].c_str();
    return s;
}

std::vector<std::string> differences(const snapshot& expected, const snapshot& actual,
                                     std::size_t limit) {
    std::vector<std::string> out;
    auto note = [&](std::string line) {
        if (out.size() < limit) out.push_back(std::move(line));
    };
    for (const auto& [entity, rows] : expected) {
        auto it = actual.find(entity);
        static const std::map<std::int64_t, std::string> empty;
        const auto& have = it == actual.end() ? empty : it->second;
        for (const auto& [id, text] : rows) {
            auto h = have.find(id);
            if (h == have.end())
                note(fmt::format("{} {}: missing from the mirror (model: {})", entity, id,
                                 text.substr(0, 200)));
            else if (h->second != text)
                note(fmt::format("{} {}: mirror {} | model {}", entity, id,
                                 h->second.substr(0, 200), text.substr(0, 200)));
        }
        for (const auto& [id, text] : have)
            if (!rows.count(id))
                note(fmt::format("{} {}: in the mirror but not in the model", entity, id));
    }
    return out;
}

}  // namespace ksync::test
