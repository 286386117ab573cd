#include "daemon/commands/arguments.hpp"

#include "config/config.hpp"

#include <algorithm>
#include <charconv>

namespace ksync::app {
namespace {

std::string stream_list() {
    std::string s;
    for (auto n : config::stream_names()) s += (s.empty() ? "" : ", ") + std::string(n);
    return s;
}

std::string checked_stream(const std::string& name) {
    if (!config::is_stream_name(name)) {
        throw usage_error("unknown stream '" + name + "' (streams: " + stream_list() + ")");
    }
    return name;
}

void reject_option(const std::string& arg) {
    if (arg.size() > 1 && arg.front() == '-') throw usage_error("unknown option '" + arg + "'");
}

std::int64_t integer(const std::string& text, const char* what, std::int64_t min) {
    std::int64_t v = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || ec != std::errc{} || ptr != text.data() + text.size() || v < min) {
        throw usage_error(std::string(what) + " must be an integer >= " + std::to_string(min) +
                          ", got '" + text + "'");
    }
    return v;
}

}  // namespace

void parse_no_arguments(arg_list args) {
    if (!args.empty()) {
        reject_option(args[0]);
        throw usage_error("unexpected argument '" + args[0] + "'");
    }
}

once_args parse_once(arg_list args) {
    once_args a;
    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string name;
        if (args[i] == "--full") {
            a.full = true;
            continue;
        }
        if (args[i] == "--stream") {
            if (i + 1 >= args.size()) throw usage_error("--stream needs a stream name");
            name = args[++i];
        } else if (args[i].starts_with("--stream=")) {
            name = args[i].substr(9);
        } else {
            reject_option(args[i]);
            throw usage_error("unexpected argument '" + args[i] +
                              "' (use --stream NAME or --full)");
        }
        if (name != "push") checked_stream(name);  // push: drain the outbox (when push is on)
        if (std::find(a.streams.begin(), a.streams.end(), name) != a.streams.end()) {
            throw usage_error("stream '" + name + "' given twice");
        }
        a.streams.push_back(name);
    }
    return a;
}

check_config_args parse_check_config(arg_list args) {
    check_config_args a;
    if (args.size() > 1) throw usage_error("expected at most one FILE");
    if (args.size() == 1) {
        reject_option(args[0]);
        a.file = args[0];
    }
    return a;
}

status_args parse_status(arg_list args) {
    status_args a;
    for (const auto& arg : args) {
        if (arg == "--json") {
            a.json = true;
        } else {
            reject_option(arg);
            throw usage_error("unexpected argument '" + arg + "'");
        }
    }
    return a;
}

stream_args parse_stream(arg_list args) {
    if (args.empty()) throw usage_error("missing STREAM (streams: " + stream_list() + ")");
    if (args.size() > 1)
        throw usage_error("expected one STREAM, got " + std::to_string(args.size()));
    reject_option(args[0]);
    return {checked_stream(args[0])};
}

reconcile_args parse_reconcile(arg_list args) {
    reconcile_args a;
    for (const auto& arg : args) {
        if (arg == "--allow-mass-delete") {
            a.allow_mass_delete = true;
        } else {
            reject_option(arg);
            throw usage_error("unexpected argument '" + arg + "'");
        }
    }
    return a;
}

outbox_args parse_outbox(arg_list args) {
    if (args.empty()) throw usage_error("missing action: list, retry ID, discard ID or dry-run");
    outbox_args a;
    const std::string& action = args[0];
    if (action == "list" || action == "dry-run") {
        a.act = action == "list" ? outbox_args::action::list : outbox_args::action::dry_run;
        if (args.size() > 1) throw usage_error("'" + action + "' takes no argument");
        return a;
    }
    if (action == "retry" || action == "discard") {
        a.act = action == "retry" ? outbox_args::action::retry : outbox_args::action::discard;
        if (args.size() != 2) throw usage_error("'" + action + "' needs exactly one ID");
        a.id = integer(args[1], "ID", 1);
        return a;
    }
    reject_option(action);
    throw usage_error("unknown outbox action '" + action + "' (list, retry, discard, dry-run)");
}

feed_args parse_feed(arg_list args) {
    if (args.empty() || args[0] != "bookmark") {
        if (!args.empty()) reject_option(args[0]);
        throw usage_error(args.empty() ? "missing 'bookmark'"
                                       : "unknown feed action '" + args[0] + "' (bookmark)");
    }
    if (args.size() < 2) throw usage_error("missing bookmark NAME");
    if (args.size() > 3) throw usage_error("expected NAME [POSITION]");
    feed_args a;
    a.bookmark = args[1];
    const bool valid_name = !a.bookmark.empty() && a.bookmark.size() <= 63 &&
                            std::all_of(a.bookmark.begin(), a.bookmark.end(), [](char c) {
                                return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                                       (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
                            });
    if (!valid_name) {
        throw usage_error("bookmark NAME is 1 to 63 characters of A-Z a-z 0-9 _ - ., got '" +
                          a.bookmark + "'");
    }
    if (args.size() == 3) a.position = integer(args[2], "POSITION", 0);
    return a;
}

}  // namespace ksync::app
