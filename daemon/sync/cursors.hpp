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
    friend bool operator==(const ticket_cursor&, const ticket_cursor&) = default;
};

struct user_cursor {
    std::optional<kayako::id_t> full_scan_marker;  // a full scan in progress resumes here
    kayako::unix_time last_full_scan = 0;
    friend bool operator==(const user_cursor&, const user_cursor&) = default;
};

std::string to_json(const ticket_cursor& c);
std::string to_json(const user_cursor& c);
// Throws std::runtime_error on a cursor this version cannot read (the operator can reset it).
ticket_cursor parse_ticket_cursor(const std::string& json);
user_cursor parse_user_cursor(const std::string& json);

}  // namespace ksync::sync
