#pragma once

#include "connectors/kayako/records.hpp"

#include <string>
#include <vector>

namespace ksync::test {

// A ticket with every kind of field set (text with tabs, quotes and backslashes, timestamps,
// zeros that become NULL, tags, watchers, workflows), deterministic in `id`.
inline kayako::ticket make_ticket(kayako::id_t id) {
    kayako::ticket t;
    t.id = id;
    t.flagtype = static_cast<int>(id % 3);
    t.displayid = "ABC-" + std::to_string(id);
    t.departmentid = 1 + id % 4;
    t.statusid = 1 + id % 5;
    t.priorityid = 1 + id % 3;
    t.tickettypeid = 1;
    t.userid = 1000 + id;
    t.userorganization = "Org \"" + std::to_string(id % 50) + "\"";
    t.userorganizationid = id % 50;
    t.ownerstaffid = id % 7;
    t.ownerstaffname = "Staff\t" + std::to_string(id % 7);
    t.fullname = "Customer " + std::to_string(id);
    t.email = "customer" + std::to_string(id) + "@example.com";
    t.lastreplier = "Customer " + std::to_string(id);
    t.subject = "Printer on floor " + std::to_string(id % 9) + " \\ does not print\nagain";
    t.creationtime = 1700000000 + id;
    t.lastactivity = 1700100000 + id * 7;
    t.laststaffreply = id % 2 ? 1700050000 + id : 0;
    t.lastuserreply = 1700060000 + id;
    t.slaplanid = 0;
    t.nextreplydue = 0;
    t.resolutiondue = 1700200000;
    t.replies = id % 11;
    t.ipaddress = "10.0.0." + std::to_string(id % 250);
    t.creator = 2;
    t.creationmode = 3;
    t.creationtype = 1;
    t.isescalated = id % 13 == 0;
    t.templategroupid = 1;
    t.tags = id % 2 ? "printer  urgent" : "";
    t.watchers = {{3, "Jane \"JJ\" Doe"}};
    t.workflows = {{1, "Close"}, {2, "Escalate"}};
    return t;
}

inline std::vector<kayako::ticket> make_tickets(kayako::id_t first, std::size_t n) {
    std::vector<kayako::ticket> out;
    out.reserve(n);
    for (std::size_t i = 0; i < n; ++i)
        out.push_back(make_ticket(first + static_cast<kayako::id_t>(i)));
    return out;
}

}  // namespace ksync::test
