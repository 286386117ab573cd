#include "daemon/app.hpp"

#include "common/version.hpp"

#include <ostream>
#include <string_view>

namespace ksync::app {
namespace {

void print_help(std::ostream& out) {
    out << "kayako-sync " << ksync::version << "\n"
        << "Keeps a PostgreSQL mirror of a Kayako Classic helpdesk and pushes local changes back.\n\n"
        << "Usage: kayako-sync [--config FILE] COMMAND [ARGS]\n\n"
        << "Options:\n"
        << "  --help        show this help and exit\n"
        << "  --version     show the version and exit\n";
}

}  // namespace

int run(int argc, char** argv, std::ostream& out, std::ostream& err) {
    if (argc < 2) {
        print_help(err);
        return exit_usage;
    }
    const std::string_view arg = argv[1];
    if (arg == "--help" || arg == "-h") {
        print_help(out);
        return exit_ok;
    }
    if (arg == "--version") {
        out << "kayako-sync " << ksync::version << "\n";
        return exit_ok;
    }
    err << "kayako-sync: unknown command or option '" << arg << "' (see --help)\n";
    return exit_usage;
}

}  // namespace ksync::app
