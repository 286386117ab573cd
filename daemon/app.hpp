#pragma once

#include <iosfwd>

namespace ksync::app {

// Exit statuses (sysexits.h values, so scripts and systemd can tell them apart). 78 (EX_CONFIG)
// tells systemd not to restart a daemon whose config is wrong (RestartPreventExitStatus=78).
inline constexpr int exit_ok = 0;
inline constexpr int exit_failure = 1;    // the command ran and failed (e.g. a sync pass failed)
inline constexpr int exit_usage = 64;     // EX_USAGE: bad command line
inline constexpr int exit_software = 70;  // EX_SOFTWARE: not implemented in this build / internal
inline constexpr int exit_config = 78;    // EX_CONFIG: bad configuration

// Where the daemon looks for its config when --config is not given.
inline constexpr const char* default_config_path = "/etc/kayako-sync/kayako-sync.yaml";

// Parses the command line and runs the command. Output goes to `out`, diagnostics to `err`;
// returns the process exit status. Secrets are never taken from the command line.
int run(int argc, char** argv, std::ostream& out, std::ostream& err);

}  // namespace ksync::app
