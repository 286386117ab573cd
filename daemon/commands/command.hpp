#pragma once

// The command table: each subcommand is one entry (name, synopsis, summary, function). Adding a
// command is one entry in command_table() and one function in its own file.

#include <filesystem>
#include <ostream>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace ksync::app {

// A bad command line; the dispatcher prints it with the command's usage and exits 64.
class usage_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// What a command gets: the global options and its own arguments (after its name).
struct invocation {
    std::filesystem::path config_path;
    std::vector<std::string> args;
    std::ostream& out;
    std::ostream& err;
};

using command_fn = int (*)(const invocation&);

struct command {
    std::string_view name;
    std::string_view synopsis;  // the arguments, e.g. "[--stream NAME...]"
    std::string_view summary;
    command_fn run;
};

[[nodiscard]] std::span<const command> command_table();
[[nodiscard]] const command* find_command(std::string_view name);

// The commands (one file each under daemon/commands/).
int command_run(const invocation& inv);
int command_once(const invocation& inv);
int command_migrate(const invocation& inv);
int command_check_config(const invocation& inv);
int command_status(const invocation& inv);
int command_resync(const invocation& inv);
int command_reset_cursor(const invocation& inv);
int command_reconcile(const invocation& inv);
int command_outbox(const invocation& inv);
int command_feed(const invocation& inv);

}  // namespace ksync::app
