#include "daemon/commands/command.hpp"

#include <array>

namespace ksync::app {
namespace {

// In the order --help lists them: daily operation first, repairs after.
constexpr std::array<command, 10> table{{
    {"run", "", "run the daemon (under systemd: Type=notify)", command_run},
    {"once", "[--full] [--stream NAME...]",
     "one pass (every stream, or the named ones; the full user scan and the reconciler only "
     "when due, or with --full, or reconcile when named; 'push' drains the outbox when push is "
     "on) and exit; the status says if it succeeded",
     command_once},
    {"migrate", "", "create or upgrade the mirror and state schemas", command_migrate},
    {"check-config", "[FILE]",
     "validate FILE (default: the --config file) and print the effective configuration",
     command_check_config},
    {"status", "[--json]",
     "per stream: last success, lag, cursor, rows, last error; quarantine, outbox, conflicts",
     command_status},
    {"resync", "STREAM", "fetch every object of STREAM again on the next pass", command_resync},
    {"reset-cursor", "STREAM", "forget STREAM's incremental cursor (it restarts from scratch)",
     command_reset_cursor},
    {"reconcile", "[--allow-mass-delete]",
     "compare full id listings now; --allow-mass-delete lifts the delete guard for this run",
     command_reconcile},
    {"outbox", "list | retry ID | discard ID | dry-run",
     "inspect the push-back outbox, retry or discard a row, or show the calls it would make",
     command_outbox},
    {"feed", "bookmark NAME [POSITION]",
     "show a change-feed consumer bookmark, or set it to POSITION", command_feed},
}};

}  // namespace

std::span<const command> command_table() {
    return table;
}

const command* find_command(std::string_view name) {
    for (const auto& c : table) {
        if (c.name == name) return &c;
    }
    return nullptr;
}

}  // namespace ksync::app
