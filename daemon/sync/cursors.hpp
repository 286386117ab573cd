#pragma once

// Stream cursors as stored in <state>.stream_cursors.cursor (JSON), read and written only here.

#include "connectors/kayako/records.hpp"

#include <optional>
#include <string>

namespace ksync::sync {

struct ticket_cursor {
    enum class phase { backfill, incremental };
    phase at = phase::backfill;
    int offset = 0;                   // backfill: next ticketid-ASC offset
    kayako::unix_time target = 0;     // backfill: the watermark to start incremental from
    kayako::unix_time watermark = 0;  // incremental: every change up to here is applied
    // When the watermark (or the backfill's target) was seen, by the daemon's clock: Kayako's
    // clock was at least the watermark then (0: unknown, e.g. a cursor of an older version).
    kayako::unix_time seen_at = 0;
    // Incremental: changes with a lastactivity below this are all applied and final, so a pass
    // need not re-read them (planning.hpp, incremental_stop). 0: only the overlap applies.
    kayako::unix_time settled = 0;
    friend bool operator==(const ticket_cursor&, const ticket_cursor&) = default;
};

struct user_cursor {
    std::optional<kayako::id_t> full_scan_marker;  // a full scan in progress resumes here
    kayako::unix_time last_full_scan = 0;          // when the last full scan completed (0: never)
    friend bool operator==(const user_cursor&, const user_cursor&) = default;
};

// The reconciler's row: when its last complete run ended (daemon clock, unix seconds), so that
// `once` and `run`, and a restarted daemon, agree on when it is due again.
struct reconcile_cursor {
    kayako::unix_time last_run = 0;
    friend bool operator==(const reconcile_cursor&, const reconcile_cursor&) = default;
};

std::string to_json(const ticket_cursor& c);
std::string to_json(const user_cursor& c);
std::string to_json(const reconcile_cursor& c);
// Throws std::runtime_error on a cursor this version cannot read (the operator can reset it).
ticket_cursor parse_ticket_cursor(const std::string& json);
user_cursor parse_user_cursor(const std::string& json);
reconcile_cursor parse_reconcile_cursor(const std::string& json);

}  // namespace ksync::sync
