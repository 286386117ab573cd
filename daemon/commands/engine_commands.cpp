// The commands that need the mirror and the sync engine: argument parsing lives in arguments.cpp,
// the work in daemon/operations.cpp; this file connects the two.

#include "daemon/app.hpp"
#include "daemon/commands/arguments.hpp"
#include "daemon/commands/config_loading.hpp"
#include "daemon/operations.hpp"

#include <unistd.h>

namespace ksync::app {

int command_run(const invocation& inv) {
    parse_no_arguments(inv.args);
    auto cfg = load_config_for(inv, inv.config_path);
    if (!cfg) return exit_config;
    return do_run(*cfg, inv.config_path, inv.err);
}

int command_once(const invocation& inv) {
    auto args = parse_once(inv.args);
    auto cfg = load_config_for(inv, inv.config_path);
    if (!cfg) return exit_config;
    once_options o;
    o.streams = args.streams;
    o.full = args.full;
    o.progress = ::isatty(STDOUT_FILENO) != 0;
    return do_once(*cfg, o, inv.out, inv.err);
}

int command_migrate(const invocation& inv) {
    parse_no_arguments(inv.args);
    auto cfg = load_config_for(inv, inv.config_path);
    if (!cfg) return exit_config;
    return do_migrate(*cfg, inv.out, inv.err);
}

int command_status(const invocation& inv) {
    auto args = parse_status(inv.args);
    auto cfg = load_config_for(inv, inv.config_path);
    if (!cfg) return exit_config;
    return do_status(*cfg, args.json, inv.out, inv.err);
}

int command_resync(const invocation& inv) {
    auto args = parse_stream(inv.args);
    auto cfg = load_config_for(inv, inv.config_path);
    if (!cfg) return exit_config;
    return do_reset_cursor(*cfg, args.stream, inv.out, inv.err);
}

int command_reset_cursor(const invocation& inv) {
    auto args = parse_stream(inv.args);
    auto cfg = load_config_for(inv, inv.config_path);
    if (!cfg) return exit_config;
    return do_reset_cursor(*cfg, args.stream, inv.out, inv.err);
}

int command_reconcile(const invocation& inv) {
    auto args = parse_reconcile(inv.args);
    auto cfg = load_config_for(inv, inv.config_path);
    if (!cfg) return exit_config;
    once_options o;
    o.streams = {"reconcile"};
    o.allow_mass_delete = args.allow_mass_delete;
    o.progress = ::isatty(STDOUT_FILENO) != 0;
    return do_once(*cfg, o, inv.out, inv.err);
}

int command_outbox(const invocation& inv) {
    const auto args = parse_outbox(inv.args);
    auto cfg = load_config_for(inv, inv.config_path);
    if (!cfg) return exit_config;
    const char* action = "list";
    switch (args.act) {
        case outbox_args::action::list:
            action = "list";
            break;
        case outbox_args::action::retry:
            action = "retry";
            break;
        case outbox_args::action::discard:
            action = "discard";
            break;
        case outbox_args::action::dry_run:
            action = "dry-run";
            break;
    }
    return do_outbox(*cfg, action, args.id, inv.out, inv.err);
}

int command_feed(const invocation& inv) {
    auto args = parse_feed(inv.args);
    auto cfg = load_config_for(inv, inv.config_path);
    if (!cfg) return exit_config;
    std::string pos;
    if (args.position) pos = std::to_string(*args.position);
    return do_feed_bookmark(*cfg, args.bookmark, args.position ? &pos : nullptr, inv.out, inv.err);
}

}  // namespace ksync::app
