#pragma once
// Prometheus metrics of one daemon. Counters and histograms are fed on the event loop (the Kayako
// client's observer, the stream jobs); what the database knows (feed position, outbox depth,
// conflicts, quarantine, stream last success) is read at scrape time, so it is right even for
// work another daemon did.
#include "connectors/postgres/db_executor.hpp"
#include "connectors/postgres/schema_names.hpp"
#include "daemon/sync/engine.hpp"

#include <boost/asio/awaitable.hpp>

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <tuple>

namespace ksync::kayako {
class client;
}
namespace ksync::push {
struct worker_stats;
}

namespace ksync::app {

class metrics {
public:
    // Kayako request latency buckets, seconds.
    static constexpr std::array<double, 10> buckets{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};

    void observe_request(std::string_view method, const std::string& endpoint, int status,
                         double seconds);
    void observe_stream(const sync::stream_report& r);

    // Everything in the Prometheus text format; reads the database (throws if it cannot).
    boost::asio::awaitable<std::string> render(pg::db_executor& db, const pg::schema_names& names,
                                               const kayako::client& kayako,
                                               const push::worker_stats* push, bool leader) const;

private:
    struct histogram {
        std::array<std::uint64_t, buckets.size()> counts{};
        std::uint64_t count = 0;
        double sum = 0;
    };
    std::map<std::tuple<std::string, std::string, int>, std::uint64_t>
        requests_;                                                       // method, endpoint, status
    std::map<std::string, histogram> latency_;                           // endpoint
    std::map<std::pair<std::string, std::string>, std::uint64_t> rows_;  // stream, op
    std::map<std::string, std::uint64_t> stream_runs_, quarantined_;
    // When this process last completed each stream (by its cursor's name, a full user scan under
    // "users"), Unix seconds. The database's last_success_at only moves when a run writes, and a
    // quiet helpdesk's runs write nothing (that is the point), so the lag is taken from the later
    // of the two: a stale alert must mean "not synced", never "nothing changed".
    std::map<std::string, double> last_completed_;
};

}  // namespace ksync::app
