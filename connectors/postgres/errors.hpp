#pragma once

#include <stdexcept>
#include <string>

namespace ksync::pg {

// Errors of the PostgreSQL connector. Callers never see libpqxx types: the executor translates
// them at the boundary, so the scheduler's classifier can tell transient from permanent failures.
class db_error : public std::runtime_error {
public:
    explicit db_error(const std::string& what, std::string sqlstate = {})
        : std::runtime_error(what), sqlstate_(std::move(sqlstate)) {}
    // Five-character SQLSTATE when the server reported one ("23505", "40001", ...), else empty.
    [[nodiscard]] const std::string& sqlstate() const noexcept { return sqlstate_; }
    // serialization_failure / deadlock_detected: rerun the whole transaction.
    [[nodiscard]] bool retryable() const noexcept {
        return sqlstate_ == "40001" || sqlstate_ == "40P01";
    }

private:
    std::string sqlstate_;
};

// The connection broke (or could not be opened) and the transaction did not commit; the executor
// retries with backoff before it lets this escape. Transient.
class connection_lost : public db_error {
public:
    using db_error::db_error;
};

// The connection broke while COMMIT was in flight: the transaction may or may not have committed.
// Re-read the state before deciding anything (every apply is idempotent, so a replay is safe).
class commit_unknown : public db_error {
public:
    using db_error::db_error;
};

// A write transaction ran on a session that no longer holds the helpdesk's leader lock (the
// connection was replaced, so the session lock is gone). Stop writing and re-acquire.
class not_leader : public db_error {
public:
    using db_error::db_error;
};

// The database schema is older or newer than this build expects; the message says what to do.
class schema_mismatch : public db_error {
public:
    using db_error::db_error;
};

// A migration could not be applied, or an applied migration file was edited afterwards.
class migration_error : public db_error {
public:
    using db_error::db_error;
};

}  // namespace ksync::pg
