#pragma once

// Typed arguments of each command, parsed and validated before anything else happens (a bad
// command line exits 64 without touching the config or the database). Each parser throws
// usage_error with the reason.

#include "daemon/commands/command.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace ksync::app {

using arg_list = std::span<const std::string>;

// Commands without arguments: run, migrate.
void parse_no_arguments(arg_list args);

struct once_args {
    bool full = false;                 // --full: the full user scan and the reconciler, due or not
    std::vector<std::string> streams;  // empty: every enabled stream; no duplicates
};
once_args parse_once(arg_list args);

struct check_config_args {
    std::optional<std::filesystem::path> file;  // absent: the --config file
};
check_config_args parse_check_config(arg_list args);

struct status_args {
    bool json = false;
};
status_args parse_status(arg_list args);

// resync STREAM, reset-cursor STREAM
struct stream_args {
    std::string stream;
};
stream_args parse_stream(arg_list args);

struct reconcile_args {
    bool allow_mass_delete = false;
};
reconcile_args parse_reconcile(arg_list args);

struct outbox_args {
    enum class action { list, retry, discard, dry_run };
    action act = action::list;
    std::int64_t id = 0;  // retry, discard: the outbox row id (> 0)
};
outbox_args parse_outbox(arg_list args);

struct feed_args {
    std::string bookmark;                 // consumer name
    std::optional<std::int64_t> position;  // absent: show it; present: set it (>= 0)
};
feed_args parse_feed(arg_list args);

}  // namespace ksync::app
