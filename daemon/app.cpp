// The composition root of the command line: global options, then one command from the table
// (daemon/commands/). Commands build what they need from the config; nothing here is global.

#include "daemon/app.hpp"

#include "common/version.hpp"
#include "config/config.hpp"
#include "daemon/commands/command.hpp"

#include <exception>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace ksync::app {
namespace {

void print_help(std::ostream& out) {
    out << "kayako-sync " << ksync::version << "\n"
        << "Keeps a PostgreSQL mirror of a Kayako Classic helpdesk and pushes local changes "
           "back.\n\n"
        << "Usage: kayako-sync [--config FILE] COMMAND [ARGS]\n"
        << "       kayako-sync COMMAND --help\n\n"
        << "Options:\n"
        << "  --config FILE  the configuration (default " << default_config_path << ")\n"
        << "  --help         show this help and exit\n"
        << "  --version      show the version and exit\n\n"
        << "Commands:\n";
    for (const auto& c : command_table()) {
        std::string head = "  " + std::string(c.name);
        if (!c.synopsis.empty()) head += " " + std::string(c.synopsis);
        out << head << "\n      " << c.summary << "\n";
    }
    out << "\nStreams: ";
    bool first = true;
    for (auto s : config::stream_names()) {
        out << (first ? "" : ", ") << s;
        first = false;
    }
    out << "\n\nExit status: 0 success, 1 the command failed, 64 bad command line,\n"
        << "70 not available in this build, 78 configuration error (systemd does not restart).\n"
        << "Secrets are never taken from the command line: see secret_file and\n"
        << "secret_credential in the configuration.\n";
}

void print_command_usage(std::ostream& out, const command& c) {
    out << "Usage: kayako-sync [--config FILE] " << c.name;
    if (!c.synopsis.empty()) out << " " << c.synopsis;
    out << "\n  " << c.summary << "\n";
}

}  // namespace

int run(int argc, char** argv, std::ostream& out, std::ostream& err) {
    const std::vector<std::string> args(argv + (argc > 0 ? 1 : 0), argv + argc);
    std::filesystem::path config_path = default_config_path;
    std::size_t i = 0;
    for (; i < args.size() && args[i].starts_with("-"); ++i) {
        const std::string& a = args[i];
        if (a == "--help" || a == "-h") {
            print_help(out);
            return exit_ok;
        }
        if (a == "--version") {
            out << "kayako-sync " << ksync::version << "\n";
            return exit_ok;
        }
        if (a == "--config" || a == "-c") {
            if (i + 1 >= args.size()) {
                err << "kayako-sync: " << a << " needs a FILE (see --help)\n";
                return exit_usage;
            }
            config_path = args[++i];
        } else if (a.starts_with("--config=")) {
            config_path = a.substr(9);
        } else {
            err << "kayako-sync: unknown command or option '" << a << "' (see --help)\n";
            return exit_usage;
        }
        if (config_path.empty()) {
            err << "kayako-sync: --config needs a FILE (see --help)\n";
            return exit_usage;
        }
    }
    if (i == args.size()) {
        print_help(err);
        return exit_usage;
    }
    const std::string& name = args[i];
    if (name == "help") {
        if (i + 1 < args.size()) {
            if (const command* c = find_command(args[i + 1])) {
                print_command_usage(out, *c);
                return exit_ok;
            }
            err << "kayako-sync: unknown command '" << args[i + 1] << "' (see --help)\n";
            return exit_usage;
        }
        print_help(out);
        return exit_ok;
    }
    const command* cmd = find_command(name);
    if (cmd == nullptr) {
        err << "kayako-sync: unknown command or option '" << name << "' (see --help)\n";
        return exit_usage;
    }
    invocation inv{
        config_path, {args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end()}, out, err};
    for (const auto& a : inv.args) {
        if (a == "--help" || a == "-h") {
            print_command_usage(out, *cmd);
            return exit_ok;
        }
    }
    try {
        return cmd->run(inv);
    } catch (const usage_error& e) {
        err << "kayako-sync " << cmd->name << ": " << e.what() << "\n";
        print_command_usage(err, *cmd);
        return exit_usage;
    } catch (const config::config_error& e) {
        err << "kayako-sync: configuration error in " << config_path.string() << ": " << e.what()
            << "\n";
        return exit_config;
    } catch (const std::exception& e) {
        // Components never put secrets into exceptions (style.md §2.5), so the text is printable.
        err << "kayako-sync " << cmd->name << ": " << e.what() << "\n";
        return exit_failure;
    }
}

}  // namespace ksync::app
