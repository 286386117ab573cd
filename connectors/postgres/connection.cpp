#include "connectors/postgres/connection.hpp"

#include <libpq-fe.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace ksync::pg {
namespace {

using keyword_list = std::vector<std::pair<std::string, std::string>>;

// PQconninfoParse accepts both keyword=value strings and URIs; working on its result means a URI
// with extra settings needs no string surgery.
keyword_list parse(const std::string& conninfo) {
    char* err = nullptr;
    PQconninfoOption* opts = PQconninfoParse(conninfo.c_str(), &err);
    if (opts == nullptr) {
        std::string msg = err != nullptr ? err : "out of memory";
        if (err != nullptr) PQfreemem(err);
        // libpq's message names the offending keyword, never a value.
        throw std::invalid_argument("invalid PostgreSQL conninfo: " + msg);
    }
    keyword_list out;
    for (PQconninfoOption* o = opts; o->keyword != nullptr; ++o)
        if (o->val != nullptr && *o->val != '\0') out.emplace_back(o->keyword, o->val);
    PQconninfoFree(opts);
    return out;
}

void set(keyword_list& kw, const std::string& key, std::string value) {
    for (auto& [k, v] : kw)
        if (k == key) {
            v = std::move(value);
            return;
        }
    kw.emplace_back(key, std::move(value));
}

std::string quote_value(const std::string& v) {
    std::string out = "'";
    for (char c : v) {
        if (c == '\'' || c == '\\') out += '\\';
        out += c;
    }
    out += '\'';
    return out;
}

std::string render(const keyword_list& kw) {
    std::string out;
    for (const auto& [k, v] : kw) {
        if (!out.empty()) out += ' ';
        out += k + "=" + quote_value(v);
    }
    return out;
}

keyword_list effective(const connection_options& o) {
    keyword_list kw = parse(o.conninfo);
    set(kw, "connect_timeout", std::to_string(o.connect_timeout.count()));
    set(kw, "keepalives", o.keepalives ? "1" : "0");
    if (o.keepalives) set(kw, "keepalives_idle", std::to_string(o.keepalives_idle.count()));
    if (o.tcp_user_timeout.count() > 0)
        set(kw, "tcp_user_timeout", std::to_string(o.tcp_user_timeout.count()));
    if (!o.application_name.empty()) set(kw, "application_name", o.application_name);
    // Session settings travel in the startup packet, so they hold from the first statement on.
    // TimeZone=UTC makes to_jsonb() render feed timestamps identically on every connection.
    std::string settings;
    for (const auto& [k, v] : kw)
        if (k == "options") settings = v + " ";
    settings += "-c TimeZone=UTC";
    if (o.statement_timeout.count() > 0)
        settings += " -c statement_timeout=" + std::to_string(o.statement_timeout.count());
    if (o.lock_timeout.count() > 0)
        settings += " -c lock_timeout=" + std::to_string(o.lock_timeout.count());
    if (o.idle_in_transaction_timeout.count() > 0)
        settings += " -c idle_in_transaction_session_timeout=" +
                    std::to_string(o.idle_in_transaction_timeout.count());
    set(kw, "options", settings);
    return kw;
}

}  // namespace

std::string describe(const connection_options& opts) {
    keyword_list kw = effective(opts);
    std::erase_if(kw, [](const auto& p) { return p.first == "password"; });
    return render(kw);
}

std::string full_conninfo(const connection_options& opts) {
    keyword_list kw = effective(opts);
    if (!opts.password.empty()) set(kw, "password", std::string(opts.password.reveal()));
    return render(kw);
}

}  // namespace ksync::pg
