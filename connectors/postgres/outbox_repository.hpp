#pragma once
// The push-back outbox (migrations/0002, 0004): every SQL statement of the push worker and of the
// `outbox` command lives here.
//
// A row's life: pending -> (claim, committed) sending -> Kayako call -> done | failed | in_doubt |
// held, or back to pending with a later next_attempt_at. The result of a call is recorded in ONE
// transaction with the mirror rows Kayako returned, the intake row and the conflicts, and only
// if the claim is still ours (attempt_id): a row taken over by another worker is never recorded
// twice.
#include "connectors/postgres/db_executor.hpp"
#include "connectors/postgres/mirror_repository.hpp"
#include "connectors/postgres/schema_names.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ksync::pg {

struct outbox_row {
    std::int64_t id = 0;
    std::string entity;     // tickets, posts, notes, users, organizations
    std::string operation;  // update | create
    std::optional<std::int64_t> object_id;
    std::optional<std::int64_t> intake_id;
    std::optional<std::int64_t> waits_for;
    std::string old_values;  // JSON text ("" when NULL)
    std::string new_values;  // JSON text
    std::vector<std::string> changed_columns;
    std::string state;
    int attempts = 0;
    bool maybe_sent = false;  // claim: the value BEFORE this claim (a POST may have gone out)
    std::string attempt_id;
    std::int64_t claimed_at = 0;  // unix seconds
    std::int64_t created_at = 0;
    std::string last_error;
    std::optional<std::int64_t> remote_id;
    std::int64_t search_floor = 0;  // creations: an object this row created has a larger id
    // claim: whether conflicts were recorded for this row before (only then are its decisions
    // read); true when unknown.
    bool has_conflicts = true;
};

struct conflict_record {
    std::string column;
    std::string base, local, remote;  // JSON texts
    std::string resolution;           // kayako | local | pending
};

// What one finished call writes, all in one transaction.
struct push_result {
    std::string final_state = "done";  // done | failed | in_doubt | held
    std::string error;                 // last_error (and the intake row's error)
    std::optional<std::int64_t> remote_id;
    std::string result_json = "{}";
    // The edit's own base values, restored in the mirror row before Kayako's answer is applied,
    // so that the feed event of the push (source local) shows the edit itself.
    bool revert_edit = false;
    std::vector<std::pair<entity, std::vector<mapped_row>>> mirror_rows;  // Kayako's answer
    change_source source = change_source::local;
    std::vector<conflict_record> conflicts;
    std::string policy;  // kayako_wins | local_wins | manual (for the conflicts)
};

class outbox_repository {
public:
    outbox_repository(db_executor& db, mirror_repository& mirror,
                      std::shared_ptr<spdlog::logger> log);

    // Claims up to `n` rows that may go now, oldest first: pending and due, or `sending` under a
    // claim whose session is gone or that is older than `lease`. Changes to one object go in
    // queue order (an earlier unfinished row of the same object blocks the later ones); a row
    // that waits for another goes once that one is done.
    boost::asio::awaitable<std::vector<outbox_row>> claim(std::size_t n,
                                                          std::chrono::seconds lease);

    // Housekeeping: held rows whose conflicts have all been decided go back to pending; rows
    // waiting for a failed creation fail too. Returns the number of rows changed.
    boost::asio::awaitable<std::size_t> sweep();

    // Records the outcome of a call; false when the claim is no longer ours (nothing written).
    boost::asio::awaitable<bool> complete(outbox_row row, push_result result);
    // Records several outcomes in ONE transaction (the push worker's group commit: one
    // transaction and a few statements for a group instead of for every row). The rows must be
    // of different objects. For each, whether the claim was still ours; a row that is not ours
    // writes nothing, the others are recorded all the same.
    using completion = std::pair<outbox_row, push_result>;
    boost::asio::awaitable<std::vector<bool>> complete_all(std::vector<completion> items);

    // Gives back claimed rows that were never started (no attempt counted, maybe_sent as it was
    // before the claim), in one transaction; rows no longer under that claim are left alone.
    boost::asio::awaitable<void> release(std::vector<outbox_row> rows);

    // Back to pending after `delay`. `count_attempt = false` gives the attempt back (the call was
    // never made: breaker open). `maybe_sent` says whether a POST may have gone out.
    boost::asio::awaitable<void> reschedule(outbox_row row, std::chrono::milliseconds delay,
                                            std::string error, bool maybe_sent, bool count_attempt);

    // Decisions already recorded for this row: column -> kayako | local | pending.
    boost::asio::awaitable<std::map<std::string, std::string>> decisions(std::int64_t outbox_id);

    // The intake row's password (users only), read at the last moment and never logged.
    boost::asio::awaitable<std::string> intake_user_password(std::int64_t intake_id);
    // The Kayako id of a ticket created from an intake row, once it has one.
    boost::asio::awaitable<std::optional<std::int64_t>> intake_ticket_kayako_id(
        std::int64_t intake_ticket_id);
    // Kayako ids already claimed by finished creations of this entity (so an unknown-outcome
    // search never adopts an object that belongs to another intake row).
    boost::asio::awaitable<std::vector<std::int64_t>> adopted_ids(std::string entity_name);
    // Alive ids of a mirror table.
    boost::asio::awaitable<std::vector<std::int64_t>> mirror_ids(std::string entity_name);

    // ---- for the outbox command ---------------------------------------------------------------
    // Rows not done (or every row with include_done), oldest first, at most `limit`.
    boost::asio::awaitable<std::vector<outbox_row>> list(bool include_done, std::size_t limit);
    // failed / in_doubt / held -> pending now. Returns false when the row is not in such a state.
    boost::asio::awaitable<bool> retry(std::int64_t id);
    // Gives up on a row that is not done: failed with "discarded by an operator".
    boost::asio::awaitable<bool> discard(std::int64_t id);

private:
    // Runs an UPDATE of one row by id ($1); true when exactly one row changed.
    boost::asio::awaitable<bool> update_one_row(std::string sql, std::int64_t id);

    db_executor& db_;
    mirror_repository& mirror_;
    schema_names names_;
    std::shared_ptr<spdlog::logger> log_;
    std::string st_;  // quoted state schema
    std::string mi_;  // quoted mirror schema
};

}  // namespace ksync::pg
