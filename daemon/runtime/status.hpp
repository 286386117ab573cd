#pragma once

// The one-line STATUS= summary (systemctl status shows it), as pure functions of the job
// states and `now`, e.g. "tickets ok 12s ago; users running; posts failing x3 (retry in 40s):
// timeout".

#include "daemon/runtime/scheduler.hpp"

#include <string>
#include <vector>

namespace ksync::runtime {

// Compact human durations: "850ms", "12s", "4m10s", "2h5m", "3d4h". Negative counts as zero.
std::string format_duration(clock::duration d);

// One job: "<name> running" | "<name> ok <t> ago" | "<name> failing x<n> (retry in <t>): <err>"
// | "<name> waiting (next in <t>)" | "<name> cancelled". The error is cut to `max_error` chars.
std::string describe_job(const job_status& job, clock::time_point now, std::size_t max_error = 60);

// All jobs, joined by "; ".
std::string summarize(const std::vector<job_status>& jobs, clock::time_point now);

}  // namespace ksync::runtime
