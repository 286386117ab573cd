#pragma once

// The reliability checker (../shared/reliability.md §7), run after every fault scenario and by the
// soak run (the `ksync-check` tool wraps it):
//   mirror   the mirror equals the emulator's model (mirror_checker.hpp, field by field);
//   posts    every outbox creation is done and has exactly one successful POST in the emulator's
//            request log, and no successful POST lacks its outbox row;
//   feed     per object, the change feed's versions run 1, 2, 3, ... in feed order with no gap or
//            repeat, and the mirror row's version is the last one;
//   secrets  neither the API secret nor any request's signature appears in the given files
//            (stdout, stderr, logs) or anywhere in the database's rows.
// It reads the model and the log, never anything our own client decoded.

#include "tests/e2e/mirror_checker.hpp"
#include "tests/emulator/service.hpp"

#include <filesystem>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace ksync::test {

struct check_options {
    std::string dsn;  // libpq conninfo of the mirror's database
    std::string mirror_schema = "kayako";
    std::string state_schema = "kayako_sync";
    std::string secret;  // the API secret; empty: no secret or signature scan
    std::vector<std::filesystem::path> scan_files;  // outputs and logs (directories: every file)
    bool outbox_must_be_done = true;                // an outbox row in another state is a problem
    bool feed_may_be_pruned = false;  // an object's first feed event may have a version above 1
    bool check_mirror = true, check_posts = true, check_feed = true, check_secrets = true;
    // Tickets left out of the mirror comparison (with their posts and notes), e.g. the
    // unlistable trash below.
    std::set<std::int64_t> skip_tickets;
};

struct check_report {
    std::vector<std::string> mirror, posts, feed, secrets;  // one line per problem
    std::size_t outbox_rows = 0, creations = 0, successful_posts = 0;
    std::size_t feed_events = 0, feed_objects = 0;
    std::size_t signatures = 0, scanned_bytes = 0, skipped_tickets = 0;
    bool ran_mirror = false, ran_posts = false, ran_feed = false, ran_secrets = false;

    [[nodiscard]] bool ok() const {
        return mirror.empty() && posts.empty() && feed.empty() && secrets.empty();
    }
    // Figures and every problem, one per line.
    [[nodiscard]] std::string text() const;
};

// All four checks (those enabled in `o`). `expected` is the model's snapshot, `log` the
// emulator's request history.
check_report check_all(const check_options& o, const snapshot& expected,
                       const std::vector<emulator::log_entry>& log);

// The control interface's JSON (GET /_control/model, GET /_control/log), for a checker in
// another process than the emulator.
snapshot expected_from_model_json(std::string_view model_json);
std::vector<emulator::log_entry> log_from_json(std::string_view log_json);

// Tickets in the trash whose status belongs to a department: Kayako's ListAll of the trash drops
// department-specific statuses, so no listing shows them, and a mirror that never saw them
// before they were trashed cannot find them (a known limit, not a divergence a fault caused).
std::set<std::int64_t> unlistable_trash_from_model_json(std::string_view model_json);

// Kayako's request signature: base64(HMAC-SHA256(secret, salt)).
std::string signature_of(std::string_view salt, std::string_view secret);

}  // namespace ksync::test
