#include "daemon/runtime/status.hpp"

#include <fmt/format.h>

namespace ksync::runtime {

std::string format_duration(clock::duration d) {
    using namespace std::chrono;
    if (d < clock::duration::zero()) d = clock::duration::zero();
    const auto ms = duration_cast<milliseconds>(d).count();
    if (ms < 1000) return fmt::format("{}ms", ms);
    const auto s = ms / 1000;
    if (s < 60) return fmt::format("{}s", s);
    if (s < 3600)
        return s % 60 ? fmt::format("{}m{}s", s / 60, s % 60) : fmt::format("{}m", s / 60);
    if (s < 86400) {
        const auto m = (s % 3600) / 60;
        return m ? fmt::format("{}h{}m", s / 3600, m) : fmt::format("{}h", s / 3600);
    }
    const auto h = (s % 86400) / 3600;
    return h ? fmt::format("{}d{}h", s / 86400, h) : fmt::format("{}d", s / 86400);
}

std::string describe_job(const job_status& job, clock::time_point now, std::size_t max_error) {
    if (job.running) return job.name + " running";
    switch (job.last_outcome) {
        case run_outcome::success:
            return fmt::format("{} ok {} ago", job.name,
                               format_duration(now - job.last_success.value_or(now)));
        case run_outcome::failure: {
            std::string err;
            for (char c : job.last_error) err.push_back(c == '\n' || c == '\r' ? ' ' : c);
            if (err.size() > max_error) err = err.substr(0, max_error) + "...";
            return fmt::format("{} failing x{} (retry in {}){}{}", job.name,
                               job.consecutive_failures, format_duration(job.next_run - now),
                               err.empty() ? "" : ": ", err);
        }
        case run_outcome::none:
            break;
    }
    if (job.runs > 0) return job.name + " cancelled";  // only a shutdown ends a run this way
    return fmt::format("{} waiting (next in {})", job.name, format_duration(job.next_run - now));
}

std::string summarize(const std::vector<job_status>& jobs, clock::time_point now) {
    std::string out;
    for (const auto& j : jobs) {
        if (!out.empty()) out += "; ";
        out += describe_job(j, now);
    }
    return out;
}

}  // namespace ksync::runtime
