// check-config [FILE]: validate a config and show what the daemon would run with.

#include "daemon/app.hpp"
#include "daemon/commands/arguments.hpp"
#include "daemon/commands/config_loading.hpp"

namespace ksync::app {

int command_check_config(const invocation& inv) {
    const check_config_args args = parse_check_config(inv.args);
    const std::filesystem::path file = args.file.value_or(inv.config_path);
    const auto cfg = load_config_for(inv, file);
    if (!cfg) return exit_config;
    inv.out << "# " << cfg->source << ": the configuration is valid.\n"
            << "# Effective configuration (defaults included; secrets shown as ***):\n"
            << config::to_yaml(*cfg);
    return exit_ok;
}

}  // namespace ksync::app
