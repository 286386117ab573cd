#pragma once

// The composition root: turns one validated config into the running component stack
// (database executor, mirror, HTTP transport, Kayako client, sync engine). Commands build what
// they need from here; nothing else knows how the pieces are wired.

#include "config/config.hpp"
#include "connectors/http/client.hpp"
#include "connectors/kayako/client.hpp"
#include "connectors/postgres/connection.hpp"
#include "connectors/postgres/db_executor.hpp"
#include "connectors/postgres/mirror_repository.hpp"
#include "connectors/postgres/outbox_repository.hpp"
#include "connectors/postgres/sync_reads.hpp"
#include "daemon/sync/engine.hpp"

#include <boost/asio/io_context.hpp>

#include <filesystem>
#include <memory>

namespace ksync::app {

pg::connection_options pg_connection_options(const config::postgres_options& pg);
pg::schema_names schema_names_of(const config::postgres_options& pg);
http::client_options http_options(const config::kayako_options& k);
// The pacer's burst: one second's worth of requests, at most max_pacing_burst. After an idle
// spell the pacer lets the burst go back to back (max_in_flight at a time), so a high rate must
// not make it large; 100 still spans 10 ms at 10,000 requests/s, which is longer than a late
// refill timer on a loaded machine, so the average rate holds.
inline constexpr double max_pacing_burst = 100;
double pacing_burst(double requests_per_second);
kayako::client_options kayako_client_options(const config::kayako_options& k);
kayako::request_builder kayako_request_builder(const config::kayako_options& k);
sync::engine_options engine_options_of(const config::config& cfg);

// Where the SQL migrations are: $KSYNC_MIGRATIONS_DIR, else the installed copy, else the source
// tree this binary was built from. Throws std::runtime_error naming the places it looked.
std::filesystem::path find_migrations_dir();

// The whole stack for one helpdesk, on `ioc` (network) and its own database threads.
struct stack {
    stack(const config::config& cfg, boost::asio::io_context& ioc, logging::factory& logs);

    pg::db_executor db;
    pg::mirror_repository mirror;
    pg::outbox_repository outbox;
    pg::sync_reads reads;
    http::client transport;
    kayako::client kayako;
    sync::engine engine;
};

}  // namespace ksync::app
