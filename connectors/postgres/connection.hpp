#pragma once

#include "common/secret.hpp"

#include <chrono>
#include <memory>
#include <string>

namespace ksync::pg {

// How to reach PostgreSQL. A plain struct: the config loader fills it, tests build it by hand.
struct connection_options {
    // libpq conninfo (keyword=value or a postgresql:// URI) WITHOUT the password, e.g.
    // "host=db.internal port=5432 dbname=helpdesk user=kayako_sync sslmode=verify-full".
    std::string conninfo;
    // Given separately (from a credential file), passed to libpq as its own keyword at connect
    // time and never part of any string that is logged or thrown.
    secret password;
    std::chrono::seconds connect_timeout{5};
    bool keepalives = true;
    std::chrono::seconds keepalives_idle{30};
    std::chrono::milliseconds tcp_user_timeout{30000};
    // Session settings (reliability.md §6); 0 leaves the server default.
    std::chrono::milliseconds statement_timeout{30000};
    std::chrono::milliseconds lock_timeout{5000};
    std::chrono::milliseconds idle_in_transaction_timeout{60000};
    std::string application_name = "kayako-sync";
};

// The conninfo as it may be logged: every keyword libpq parsed except the password.
// Throws std::invalid_argument when libpq cannot parse the conninfo.
std::string describe(const connection_options& opts);

// The full conninfo handed to libpq (with the password). Internal to this library; never log it.
std::string full_conninfo(const connection_options& opts);

}  // namespace ksync::pg
