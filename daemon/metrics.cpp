#include "daemon/metrics.hpp"

#include "connectors/kayako/client.hpp"
#include "daemon/push/worker.hpp"

#include <algorithm>
#include <chrono>

#include <fmt/format.h>

#include <pqxx/pqxx>

namespace ksync::app {

namespace {

std::string label(std::string_view v) {  // a Prometheus label value, escaped
    std::string out;
    for (char c : v) {
        if (c == '\\' || c == '"') out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    return out;
}

void head(std::string& out, const char* name, const char* type, const char* help) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

struct db_view {
    std::int64_t feed_position = 0;
    std::map<std::string, std::int64_t> outbox, conflicts, quarantine;
    std::vector<std::tuple<std::string, double, bool>> streams;  // name, last success (unix), error
};

}  // namespace

void metrics::observe_request(std::string_view method, const std::string& endpoint, int status,
                              double seconds) {
    ++requests_[{std::string(method), endpoint, status}];
    auto& h = latency_[endpoint];
    for (std::size_t i = 0; i < buckets.size(); ++i)
        if (seconds <= buckets[i]) ++h.counts[i];
    ++h.count;
    h.sum += seconds;
}

void metrics::observe_stream(const sync::stream_report& r) {
    ++stream_runs_[r.stream];
    rows_[{r.stream, "insert"}] += r.applied.inserted;
    rows_[{r.stream, "update"}] += r.applied.updated;
    rows_[{r.stream, "delete"}] += r.applied.deleted;
    quarantined_[r.stream] += r.quarantined;
    const std::string cursor = r.stream.substr(0, r.stream.find(" ("));  // "users (full scan)"
    last_completed_[cursor] =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

boost::asio::awaitable<std::string> metrics::render(pg::db_executor& db,
                                                    const pg::schema_names& names,
                                                    const kayako::client& kayako,
                                                    const push::worker_stats* push,
                                                    bool leader) const {
    const std::string st = pg::quote_ident(names.state);
    auto job = [st](pqxx::connection& c) {
        pqxx::read_transaction tx{c};
        db_view v;
        v.feed_position = tx.exec("SELECT COALESCE(max(position), 0) FROM " + st + ".changes")[0][0]
                              .as<std::int64_t>();
        for (const auto& r :
             tx.exec("SELECT state, count(*) FROM " + st + ".outbox GROUP BY state"))
            v.outbox[r[0].c_str()] = r[1].as<std::int64_t>();
        for (const auto& r : tx.exec("SELECT COALESCE(resolution, 'pending'), count(*) FROM " + st +
                                     ".conflicts GROUP BY 1"))
            v.conflicts[r[0].c_str()] = r[1].as<std::int64_t>();
        for (const auto& r :
             tx.exec("SELECT entity, count(*) FROM " + st + ".quarantine GROUP BY entity"))
            v.quarantine[r[0].c_str()] = r[1].as<std::int64_t>();
        for (const auto& r :
             tx.exec("SELECT stream, COALESCE(extract(epoch FROM last_success_at), 0),"
                     " last_error IS NOT NULL FROM " +
                     st + ".stream_cursors ORDER BY stream"))
            v.streams.emplace_back(r[0].c_str(), r[1].as<double>(), r[2].as<bool>());
        return v;
    };
    const db_view v = co_await db.run(job);
    const double now =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();

    std::string out;
    head(out, "kayako_sync_kayako_requests_total", "counter",
         "Kayako API attempts by method, endpoint and HTTP status (0: no response).");
    for (const auto& [k, n] : requests_)
        out += fmt::format(
            "kayako_sync_kayako_requests_total{{method=\"{}\",endpoint=\"{}\",status=\"{}\"}} {}\n",
            label(std::get<0>(k)), label(std::get<1>(k)), std::get<2>(k), n);
    head(out, "kayako_sync_kayako_request_duration_seconds", "histogram",
         "Kayako API attempt latency by endpoint.");
    for (const auto& [endpoint, h] : latency_) {
        for (std::size_t i = 0; i < buckets.size(); ++i)  // counts[i] is already cumulative
            out += fmt::format(
                "kayako_sync_kayako_request_duration_seconds_bucket{{endpoint=\"{}\",le=\"{}\"}} "
                "{}\n",
                label(endpoint), buckets[i], h.counts[i]);
        out += fmt::format(
            "kayako_sync_kayako_request_duration_seconds_bucket{{endpoint=\"{}\",le=\"+Inf\"}} "
            "{}\n",
            label(endpoint), h.count);
        out +=
            fmt::format("kayako_sync_kayako_request_duration_seconds_sum{{endpoint=\"{}\"}} {}\n",
                        label(endpoint), h.sum);
        out +=
            fmt::format("kayako_sync_kayako_request_duration_seconds_count{{endpoint=\"{}\"}} {}\n",
                        label(endpoint), h.count);
    }
    const auto& ks = kayako.stats();
    head(out, "kayako_sync_kayako_calls_total", "counter",
         "Kayako API calls (each may take several attempts).");
    out += fmt::format("kayako_sync_kayako_calls_total {}\n", ks.calls);
    head(out, "kayako_sync_kayako_retries_total", "counter",
         "Kayako API attempts that were retried.");
    out += fmt::format("kayako_sync_kayako_retries_total {}\n", ks.retries);
    head(out, "kayako_sync_kayako_outcome_unknown_total", "counter",
         "POSTs whose outcome was unknown.");
    out += fmt::format("kayako_sync_kayako_outcome_unknown_total {}\n", ks.outcome_unknown);
    head(out, "kayako_sync_breaker_state", "gauge",
         "Kayako circuit breaker: 0 closed, 1 half-open, 2 open.");
    const auto bs = kayako.breaker_state();
    out += fmt::format("kayako_sync_breaker_state {}\n",
                       bs == kayako::circuit_breaker::state::closed      ? 0
                       : bs == kayako::circuit_breaker::state::half_open ? 1
                                                                         : 2);
    head(out, "kayako_sync_rows_written_total", "counter",
         "Mirror rows written by stream and operation.");
    std::uint64_t written = 0;
    for (const auto& [k, n] : rows_) {
        out += fmt::format("kayako_sync_rows_written_total{{stream=\"{}\",op=\"{}\"}} {}\n",
                           label(k.first), k.second, n);
        written += n;
    }
    head(out, "kayako_sync_api_calls_per_changed_object", "gauge",
         "Kayako API calls divided by mirror rows written, since start.");
    out +=
        fmt::format("kayako_sync_api_calls_per_changed_object {}\n",
                    written ? static_cast<double>(ks.calls) / static_cast<double>(written) : 0.0);
    head(out, "kayako_sync_stream_runs_total", "counter", "Completed stream runs.");
    for (const auto& [s, n] : stream_runs_)
        out += fmt::format("kayako_sync_stream_runs_total{{stream=\"{}\"}} {}\n", label(s), n);
    head(out, "kayako_sync_stream_last_success_timestamp_seconds", "gauge",
         "Last time a stream completed a run in this process, or moved its cursor or changed "
         "data (recorded in the database), whichever is later.");
    head(out, "kayako_sync_stream_lag_seconds", "gauge",
         "Seconds since the stream's last success.");
    head(out, "kayako_sync_stream_error", "gauge", "1 while the stream's last run failed.");
    std::map<std::string, std::pair<double, bool>> streams;  // last success, failing
    for (const auto& [s, t, error] : v.streams) streams[s] = {t, error};
    for (const auto& [s, t] : last_completed_) {
        auto& [last, error] = streams[s];
        last = std::max(last, t);
    }
    for (const auto& [s, state] : streams) {
        const auto& [t, error] = state;
        out += fmt::format(
            "kayako_sync_stream_last_success_timestamp_seconds{{stream=\"{}\"}} {}\n", label(s), t);
        out += fmt::format("kayako_sync_stream_lag_seconds{{stream=\"{}\"}} {}\n", label(s),
                           t > 0 ? now - t : 0.0);
        out +=
            fmt::format("kayako_sync_stream_error{{stream=\"{}\"}} {}\n", label(s), error ? 1 : 0);
    }
    head(out, "kayako_sync_feed_position", "gauge", "Highest change-feed position.");
    out += fmt::format("kayako_sync_feed_position {}\n", v.feed_position);
    head(out, "kayako_sync_outbox_rows", "gauge", "Outbox rows by state.");
    for (const char* s : {"pending", "sending", "done", "failed", "in_doubt", "held"}) {
        const auto it = v.outbox.find(s);
        out += fmt::format("kayako_sync_outbox_rows{{state=\"{}\"}} {}\n", s,
                           it == v.outbox.end() ? 0 : it->second);
    }
    head(out, "kayako_sync_conflicts", "gauge", "Recorded conflicts by resolution.");
    for (const char* s : {"kayako", "local", "pending"}) {
        const auto it = v.conflicts.find(s);
        out += fmt::format("kayako_sync_conflicts{{resolution=\"{}\"}} {}\n", s,
                           it == v.conflicts.end() ? 0 : it->second);
    }
    head(out, "kayako_sync_quarantined_objects", "gauge", "Objects in quarantine by entity.");
    for (const auto& [e, n] : v.quarantine)
        out += fmt::format("kayako_sync_quarantined_objects{{entity=\"{}\"}} {}\n", label(e), n);
    if (push) {
        head(out, "kayako_sync_push_rows_total", "counter",
             "Outbox rows this daemon finished, by result.");
        out += fmt::format("kayako_sync_push_rows_total{{result=\"done\"}} {}\n", push->done);
        out += fmt::format("kayako_sync_push_rows_total{{result=\"failed\"}} {}\n", push->failed);
        out +=
            fmt::format("kayako_sync_push_rows_total{{result=\"in_doubt\"}} {}\n", push->in_doubt);
        out += fmt::format("kayako_sync_push_rows_total{{result=\"held\"}} {}\n", push->held);
        out += fmt::format("kayako_sync_push_rows_total{{result=\"adopted\"}} {}\n", push->adopted);
        head(out, "kayako_sync_push_retries_total", "counter",
             "Outbox rows put back for a later attempt.");
        out += fmt::format("kayako_sync_push_retries_total {}\n", push->retried);
    }
    head(out, "kayako_sync_leader", "gauge", "1 on the daemon that polls Kayako, 0 on a standby.");
    out += fmt::format("kayako_sync_leader {}\n", leader ? 1 : 0);
    co_return out;
}

}  // namespace ksync::app
