#pragma once

#include "config/config.hpp"
#include "daemon/commands/command.hpp"

#include <filesystem>
#include <optional>

namespace ksync::app {

// Loads the config for a command. Prints its warnings to inv.err; on a config error prints it
// (naming the file and the key) and returns nothing: the caller exits with exit_config.
std::optional<config::config> load_config_for(const invocation& inv,
                                              const std::filesystem::path& file);

}  // namespace ksync::app
