#pragma once

#include <iosfwd>

namespace ksync::app {

// Exit statuses. 78 (EX_CONFIG) tells systemd not to restart a daemon whose config is wrong
// (RestartPreventExitStatus=78 in the unit).
inline constexpr int exit_ok = 0;
inline constexpr int exit_failure = 1;
inline constexpr int exit_usage = 64;   // EX_USAGE: bad command line
inline constexpr int exit_config = 78;  // EX_CONFIG: bad configuration

// Parses the command line and runs the command. Output goes to `out`, diagnostics to `err`;
// returns the process exit status.
int run(int argc, char** argv, std::ostream& out, std::ostream& err);

}  // namespace ksync::app
