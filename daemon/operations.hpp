#pragma once

// What the engine-backed commands do, given a loaded config: migrate, once, run, status,
// reconcile, resync and reset-cursor. The CLI (daemon/commands) parses arguments and calls these;
// they return the process exit status and write for people to `out` and `err`.

#include "config/config.hpp"

#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

namespace ksync::app {

int do_migrate(const config::config& cfg, std::ostream& out, std::ostream& err);

struct once_options {
    // Empty: every stream. The full user scan and the reconciler run when due (their interval
    // has passed since their last complete run), a named `reconcile` always, both with `full`.
    std::vector<std::string> streams;
    bool full = false;
    bool allow_mass_delete = false;
    bool progress = false;  // a line per stream as it finishes (for a terminal)
};
int do_once(const config::config& cfg, const once_options& opts, std::ostream& out,
            std::ostream& err);

// The daemon: schedules every enabled stream, talks to systemd, reloads on SIGHUP (the file at
// `config_path`), stops on SIGTERM. Returns when stopped.
int do_run(const config::config& cfg, const std::filesystem::path& config_path, std::ostream& err);

// outbox list | retry ID | discard ID | dry-run
int do_outbox(const config::config& cfg, const std::string& action, std::int64_t id,
              std::ostream& out, std::ostream& err);

int do_status(const config::config& cfg, bool json, std::ostream& out, std::ostream& err);

// Forget a stream's cursor: `resync` makes the next run start the stream from scratch (the
// ticket backfill re-walks every ticket, writing only what differs); `reset-cursor` is the same
// operation under the name operators look for when a cursor is unreadable.
int do_reset_cursor(const config::config& cfg, const std::string& stream, std::ostream& out,
                    std::ostream& err);

int do_feed_bookmark(const config::config& cfg, const std::string& name,
                     const std::string* position, std::ostream& out, std::ostream& err);

}  // namespace ksync::app
