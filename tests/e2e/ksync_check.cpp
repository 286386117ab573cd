// ksync-check: the reliability checker (tests/e2e/reliability_checker.hpp) as a tool, for a mirror
// and an emulator running as separate processes (the soak run, a demo, a crash test).
#include "connectors/http/client.hpp"
#include "tests/e2e/reliability_checker.hpp"

#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <string_view>

namespace {

constexpr const char* usage = R"(usage: ksync-check --dsn CONNINFO --emulator URL [options]

Compares a kayako-sync mirror with a kayako-emulator and exits 0 when all checks pass:
  mirror   the mirror equals the emulator's model (GET URL/_control/model)
  posts    every outbox row is done; each creation has exactly one successful POST in the
           emulator's request log (GET URL/_control/log), and no successful POST lacks its row
  feed     per object, feed versions run 1, 2, 3, ... in feed order; the mirror's is the last
  secrets  with --secret-file: neither the secret nor any logged request's signature appears in
           a --scan file or in any row of the database

  --dsn CONNINFO        the mirror's database (libpq conninfo); or set KSYNC_CHECK_DSN
  --emulator URL        the emulator, e.g. http://127.0.0.1:8080 (any path after it is ignored)
  --ca-file PEM         CA for an https emulator
  --secret-file PATH    the API secret (a trailing newline is ignored)
  --scan PATH           a file or directory (every file under it) to scan; repeatable
  --mirror-schema S     default kayako
  --state-schema S      default kayako_sync
  --allow-unfinished    outbox rows not done are not a failure
  --pruned-feed         the feed was pruned: a first event may have a version above 1
  --skip-unlistable-trash  leave out of the mirror comparison the trashed tickets whose status
                        belongs to a department (Kayako's ListAll of the trash never shows them,
                        so a mirror that did not see them before they were trashed cannot either)
  --only LIST           comma-separated subset of mirror,posts,feed,secrets

Exit status: 0 every check passed; 1 a divergence (listed on stdout); 2 usage error or a check
could not run (the emulator or the database unreachable).
)";

[[noreturn]] void fail_usage(const std::string& message) {
    std::cerr << "ksync-check: " << message << "\n\n" << usage;
    std::exit(2);
}

std::string fetch(ksync::http::client& client, boost::asio::io_context& ioc,
                  const ksync::http::origin& where, const std::string& target) {
    ksync::http::request req;
    req.to = where;
    req.target = target;
    auto fut = boost::asio::co_spawn(ioc, client.send(std::move(req)), boost::asio::use_future);
    ioc.restart();
    ioc.run();
    auto r = fut.get();
    if (!r.ok()) throw std::runtime_error("GET " + target + ": " + r.message);
    if (r.res.status != 200)
        throw std::runtime_error("GET " + target + ": status " + std::to_string(r.res.status));
    return std::move(r.res.body);
}

}  // namespace

int main(int argc, char** argv) {
    using namespace ksync;
    test::check_options o;
    if (const char* d = std::getenv("KSYNC_CHECK_DSN")) o.dsn = d;
    std::string url, ca_file, only;
    bool skip_unlistable = false;
    for (int i = 1; i < argc; ++i) {
        const std::string_view flag = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) fail_usage("missing value for " + std::string(flag));
            return argv[++i];
        };
        if (flag == "--help" || flag == "-h") {
            std::cout << usage;
            return 0;
        } else if (flag == "--dsn") {
            o.dsn = value();
        } else if (flag == "--emulator") {
            url = value();
        } else if (flag == "--ca-file") {
            ca_file = value();
        } else if (flag == "--secret-file") {
            std::ifstream in(value(), std::ios::binary);
            if (!in) fail_usage("cannot read the secret file");
            o.secret.assign(std::istreambuf_iterator<char>(in), {});
            while (!o.secret.empty() && (o.secret.back() == '\n' || o.secret.back() == '\r'))
                o.secret.pop_back();
            if (o.secret.empty()) fail_usage("the secret file is empty");
        } else if (flag == "--scan") {
            o.scan_files.emplace_back(value());
        } else if (flag == "--mirror-schema") {
            o.mirror_schema = value();
        } else if (flag == "--state-schema") {
            o.state_schema = value();
        } else if (flag == "--allow-unfinished") {
            o.outbox_must_be_done = false;
        } else if (flag == "--pruned-feed") {
            o.feed_may_be_pruned = true;
        } else if (flag == "--skip-unlistable-trash") {
            skip_unlistable = true;
        } else if (flag == "--only") {
            only = value();
        } else {
            fail_usage("unknown option " + std::string(flag));
        }
    }
    if (o.dsn.empty()) fail_usage("--dsn (or KSYNC_CHECK_DSN) is required");
    if (url.empty()) fail_usage("--emulator is required");
    if (!only.empty()) {
        const std::string list = "," + only + ",";
        auto has = [&](const char* n) {
            return list.find("," + std::string(n) + ",") != std::string::npos;
        };
        o.check_mirror = has("mirror");
        o.check_posts = has("posts");
        o.check_feed = has("feed");
        o.check_secrets = has("secrets");
    }
    if (o.check_secrets && o.secret.empty() && only.find("secrets") != std::string::npos)
        fail_usage("the secrets check needs --secret-file");

    try {
        auto parsed = http::parse_url(url);
        if (!parsed) fail_usage("cannot parse --emulator " + url);
        boost::asio::io_context ioc;
        http::client_options ho;
        ho.allow_plain_http = true;
        ho.ca_file = ca_file;
        ho.read_timeout = std::chrono::minutes(5);  // a large model takes a while to render
        auto quiet = std::make_shared<spdlog::logger>(
            "ksync-check", std::make_shared<spdlog::sinks::null_sink_mt>());
        http::client client(ioc.get_executor(), ho, quiet);
        const auto log = test::log_from_json(fetch(client, ioc, parsed->where, "/_control/log"));
        test::snapshot expected;
        if (o.check_mirror) {
            const auto model = fetch(client, ioc, parsed->where, "/_control/model");
            expected = test::expected_from_model_json(model);
            if (skip_unlistable) o.skip_tickets = test::unlistable_trash_from_model_json(model);
        }
        const auto report = test::check_all(o, expected, log);
        std::cout << report.text();
        return report.ok() ? 0 : 1;
    } catch (const std::exception& e) {
        std::cerr << "ksync-check: " << e.what() << "\n";
        return 2;
    }
}
