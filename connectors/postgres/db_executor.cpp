#include "connectors/postgres/db_executor.hpp"

#include <pqxx/pqxx>

#include <algorithm>

namespace ksync::pg {

db_executor::db_executor(connection_options conn, executor_options opts,
                         std::shared_ptr<spdlog::logger> log)
    : conn_opts_(std::move(conn)),
      opts_(opts),
      log_(std::move(log)),
      pool_(std::max<std::size_t>(opts.connections, 1)) {
    if (opts_.connections == 0) opts_.connections = 1;
    if (opts_.max_attempts < 1) opts_.max_attempts = 1;
    // Fail on a conninfo typo at construction, not on the first job.
    (void)describe(conn_opts_);
    for (std::size_t i = 0; i < opts_.connections; ++i)
        slots_.push_back(std::make_unique<slot>(pool_, conn_opts_));
}

db_executor::~db_executor() {
    pool_.join();
    slots_.clear();
}

pqxx::connection& db_executor::slot::connection() {
    if (conn && conn->is_open()) return *conn;
    conn.reset();
    std::string info = full_conninfo(opts);
    try {
        conn = std::make_unique<pqxx::connection>(info);
    } catch (...) {
        std::fill(info.begin(), info.end(), '\0');
        throw;
    }
    std::fill(info.begin(), info.end(), '\0');
    // libpqxx 6 would otherwise reopen a broken connection behind our back as a new session,
    // silently dropping its session advisory lock (reliability.md §6). We reconnect ourselves.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    conn->inhibit_reactivation(true);
#pragma GCC diagnostic pop
    return *conn;
}

void db_executor::slot::reset() noexcept {
    conn.reset();
}

void db_executor::log_retry(int attempt, const char* what) {
    if (log_) log_->warn("{} (attempt {} of {}); reconnecting", what, attempt, opts_.max_attempts);
}

}  // namespace ksync::pg
