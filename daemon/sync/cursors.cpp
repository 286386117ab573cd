#include "daemon/sync/cursors.hpp"

// Boost.JSON compiled into this one translation unit (header-only mode).
#include <boost/json/src.hpp>

#include <stdexcept>

namespace ksync::sync {

namespace json = boost::json;

std::string to_json(const ticket_cursor& c) {
    json::object o;
    if (c.at == ticket_cursor::phase::backfill) {
        o["phase"] = "backfill";
        o["offset"] = c.offset;
        o["target"] = c.target;
    } else {
        o["phase"] = "incremental";
        o["watermark"] = c.watermark;
        if (c.settled) o["settled"] = c.settled;
    }
    if (c.seen_at) o["seen_at"] = c.seen_at;
    return json::serialize(o);
}

std::string to_json(const user_cursor& c) {
    json::object o;
    if (c.full_scan_marker)
        o["full_scan_marker"] = *c.full_scan_marker;
    else
        o["full_scan_marker"] = nullptr;
    o["last_full_scan"] = c.last_full_scan;
    return json::serialize(o);
}

std::string to_json(const reconcile_cursor& c) {
    json::object o;
    o["last_run"] = c.last_run;
    return json::serialize(o);
}

namespace {

json::object parse_object(const std::string& text, const char* what) {
    boost::system::error_code ec;
    auto v = json::parse(text, ec);
    if (ec || !v.is_object())
        throw std::runtime_error(std::string("unreadable ") + what + " cursor: " + text +
                                 " (reset it with kayako-sync reset-cursor)");
    return v.as_object();
}

std::int64_t int_field(const json::object& o, const char* name) {
    const auto* v = o.if_contains(name);
    if (!v || v->is_null()) return 0;
    if (v->is_int64()) return v->as_int64();
    if (v->is_uint64()) return static_cast<std::int64_t>(v->as_uint64());
    throw std::runtime_error(std::string("cursor field ") + name + " is not an integer");
}

}  // namespace

ticket_cursor parse_ticket_cursor(const std::string& text) {
    auto o = parse_object(text, "ticket");
    ticket_cursor c;
    const auto* ph = o.if_contains("phase");
    if (!ph || !ph->is_string()) throw std::runtime_error("ticket cursor without a phase: " + text);
    if (ph->as_string() == "backfill") {
        c.at = ticket_cursor::phase::backfill;
        c.offset = static_cast<int>(int_field(o, "offset"));
        c.target = int_field(o, "target");
    } else if (ph->as_string() == "incremental") {
        c.at = ticket_cursor::phase::incremental;
        c.watermark = int_field(o, "watermark");
        c.settled = int_field(o, "settled");
    } else {
        throw std::runtime_error("ticket cursor with an unknown phase: " + text);
    }
    c.seen_at = int_field(o, "seen_at");
    return c;
}

user_cursor parse_user_cursor(const std::string& text) {
    auto o = parse_object(text, "user");
    user_cursor c;
    if (const auto* m = o.if_contains("full_scan_marker"); m && !m->is_null())
        c.full_scan_marker = int_field(o, "full_scan_marker");
    c.last_full_scan = int_field(o, "last_full_scan");
    return c;
}

reconcile_cursor parse_reconcile_cursor(const std::string& text) {
    auto o = parse_object(text, "reconcile");
    reconcile_cursor c;
    c.last_run = int_field(o, "last_run");
    return c;
}

}  // namespace ksync::sync
