#pragma once
// What one queued edit sends, decided without I/O (so every policy is unit-testable).
//
// For each column the local edit changed, with base = the value before the edit (stored by the
// trigger), local = the edited value, remote = what Kayako has now:
//   remote == base   Kayako did not touch it: send local;
//   remote == local  already there: nothing to send for it;
//   otherwise        changed on both sides: a conflict, decided by an earlier decision recorded
//                    for this outbox row (a person's, for `manual`) or else by the policy:
//                    kayako_wins drops the column, local_wins sends it, manual holds the row.
// Ticket and user PUTs are partial (a user PUT always carries fullname, Kayako's current one
// unless the edit changes it); an organization PUT replaces every field, so the columns the edit
// did not change are sent with Kayako's current values and nothing else is overwritten.
#include "config/config.hpp"
#include "daemon/push/fields.hpp"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace ksync::push {

enum class resolution { kayako, local, pending };
const char* to_string(resolution r);
std::optional<resolution> resolution_from(std::string_view s);

struct conflict {
    std::string column;
    boost::json::value base, local, remote;
    resolution decided = resolution::pending;
};

struct update_plan {
    field_values send;                // column -> value for the PUT; empty: nothing to send
    std::vector<conflict> conflicts;  // found now (not those decided before)
    bool hold = false;                // a manual conflict waits for a person
    bool needs_put() const { return !send.empty() && !hold; }
};

update_plan plan_update(pg::entity e, const std::vector<std::string>& changed_columns,
                        const field_values& base, const field_values& local,
                        const field_values& remote,
                        const std::map<std::string, resolution>& decided,
                        config::conflict_policy policy);

// Columns whose value in Kayako's answer differs from what was sent (Kayako ignores invalid
// ticket values silently). For organizations and users only the columns the edit changed count.
std::vector<std::string> ignored_columns(const field_values& sent, const field_values& returned,
                                         const std::vector<std::string>& changed_columns);

}  // namespace ksync::push
