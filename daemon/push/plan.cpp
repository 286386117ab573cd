#include "daemon/push/plan.hpp"

#include <algorithm>
#include <stdexcept>

namespace ksync::push {

using pg::entity;

const char* to_string(resolution r) {
    switch (r) {
        case resolution::kayako:
            return "kayako";
        case resolution::local:
            return "local";
        case resolution::pending:
            return "pending";
    }
    return "pending";
}

std::optional<resolution> resolution_from(std::string_view s) {
    if (s == "kayako") return resolution::kayako;
    if (s == "local") return resolution::local;
    if (s == "pending") return resolution::pending;
    return std::nullopt;
}

namespace {

const boost::json::value& at(const field_values& v, const std::string& column, const char* what) {
    const auto it = v.find(column);
    if (it == v.end())
        throw std::invalid_argument(std::string(what) + " has no value for " + column);
    return it->second;
}

resolution by_policy(config::conflict_policy p) {
    switch (p) {
        case config::conflict_policy::kayako_wins:
            return resolution::kayako;
        case config::conflict_policy::local_wins:
            return resolution::local;
        case config::conflict_policy::manual:
            return resolution::pending;
    }
    return resolution::pending;
}

}  // namespace

update_plan plan_update(entity e, const std::vector<std::string>& changed_columns,
                        const field_values& base, const field_values& local,
                        const field_values& remote,
                        const std::map<std::string, resolution>& decided,
                        config::conflict_policy policy) {
    update_plan plan;
    for (const auto& column : changed_columns) {
        if (!find_field(e, column))
            throw std::invalid_argument(std::string(pg::entity_name(e)) + "." + column +
                                        " is not writable");
        const auto& b = at(base, column, "the base");
        const auto& l = at(local, column, "the local edit");
        const auto& r = at(remote, column, "Kayako's object");
        if (r == l) continue;  // already there
        if (r == b) {
            plan.send.emplace(column, l);
            continue;
        }
        resolution res;
        if (auto it = decided.find(column);
            it != decided.end() && it->second != resolution::pending) {
            res = it->second;
        } else {
            res = by_policy(policy);
            plan.conflicts.push_back(conflict{column, b, l, r, res});
        }
        if (res == resolution::local) plan.send.emplace(column, l);
        if (res == resolution::pending) plan.hold = true;
    }
    if (plan.send.empty() || plan.hold) return plan;

    if (e == entity::users && !plan.send.count("full_name"))
        plan.send.emplace("full_name", at(remote, "full_name", "Kayako's object"));
    if (e == entity::organizations)
        for (const auto& f : writable_fields(e))
            if (!plan.send.count(std::string(f.column)))
                plan.send.emplace(std::string(f.column),
                                  at(remote, std::string(f.column), "Kayako's object"));
    return plan;
}

std::vector<std::string> ignored_columns(const field_values& sent, const field_values& returned,
                                         const std::vector<std::string>& changed_columns) {
    std::vector<std::string> out;
    for (const auto& [column, value] : sent) {
        if (std::find(changed_columns.begin(), changed_columns.end(), column) ==
            changed_columns.end())
            continue;
        const auto it = returned.find(column);
        if (it == returned.end() || it->second != value) out.push_back(column);
    }
    return out;
}

}  // namespace ksync::push
