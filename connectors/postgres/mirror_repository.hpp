#pragma once

// The mirror repository: every SQL statement of the sync path lives here. A batch of records of
// one entity is applied in ONE transaction together with the stream cursor it advances and the
// change-feed rows it produces:
//   1. (key, content hash) of every record is compared with the mirror in one statement (the
//      keys and hashes travel in its text): unchanged rows are dropped here and write nothing;
//   2. rows whose key the mirror does not hold yet (a first load) are COPYed straight into the
//      mirror (version 1) and get one insert event each, built from the stored rows in one
//      statement; should another writer insert one of those keys meanwhile, that COPY is rolled
//      back to a savepoint and the rows join step 3;
//   3. the other changed rows are COPYed into a staging table and upserted (version + 1), and
//      the feed gets one row per inserted/updated object with the changed columns' old and new
//      values;
//   4. the cursor row is written (only when it moved or data changed), NOTIFY names the entity,
//      and everything commits together.

#include "connectors/postgres/db_executor.hpp"
#include "connectors/postgres/row_mapping.hpp"
#include "connectors/postgres/schema_names.hpp"

#include <spdlog/logger.h>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace ksync::pg {

// A stream's new position, committed with the page it describes. `cursor_json` is any JSON value
// (the stream's own watermark/offset/marker structure).
struct cursor_update {
    std::string stream;
    std::string cursor_json;
};

struct stream_cursor {
    std::string stream;
    std::string cursor_json;  // as stored (jsonb rendering)
    std::int64_t rows_written = 0;
    std::optional<std::string> last_error;
};

struct apply_stats {
    std::size_t inserted = 0;
    std::size_t updated = 0;  // includes objects that reappeared after a soft delete
    std::size_t unchanged = 0;
    std::size_t deleted = 0;
    [[nodiscard]] std::size_t written() const noexcept { return inserted + updated + deleted; }
    friend bool operator==(const apply_stats&, const apply_stats&) = default;
};

// One row of <state>.changes, for consumers and tests. JSON columns are returned as text
// (empty when NULL).
struct change_event {
    std::int64_t position = 0;
    std::string entity;
    object_key key;
    std::int64_t version = 0;
    std::string op;  // insert | update | delete
    std::vector<std::string> changed_columns;
    std::string old_values;
    std::string new_values;
    std::string source;  // kayako | local
};

// Who caused a change: Kayako (read by a sync stream) or this database (a push-back result).
enum class change_source { kayako, local };
constexpr std::string_view source_name(change_source s) {
    return s == change_source::kayako ? "kayako" : "local";
}

class mirror_repository {
public:
    // Writes run on slot `write_slot` of `db` (the slot that holds the leader lock).
    mirror_repository(db_executor& db, schema_names names, std::shared_ptr<spdlog::logger> log,
                      std::size_t write_slot = 0);

    [[nodiscard]] const schema_names& names() const noexcept { return names_; }

    // Applies one batch of records of one type; duplicates within the batch: the last one wins.
    // Mapping and hashing run on the database thread, not on the caller's event loop.
    template <class R>
    boost::asio::awaitable<apply_stats> apply(std::vector<R> records,
                                              std::optional<cursor_update> cursor = {}) {
        auto job = [this, records = std::move(records),
                    cursor = std::move(cursor)](pqxx::connection& c) {
            return apply_on(c, record_entity<R>::value, map_records(records), cursor);
        };
        co_return co_await db_.run_on(write_slot_, std::move(job));
    }
    boost::asio::awaitable<apply_stats> apply_rows(entity e, std::vector<mapped_row> rows,
                                                   std::optional<cursor_update> cursor = {});

    // Soft delete for the reconciler: sets deleted_at, version + 1 and writes a delete event for
    // each key that exists and is not deleted yet; in one transaction with the optional cursor.
    boost::asio::awaitable<apply_stats> mark_deleted(entity e, std::vector<object_key> keys,
                                                     std::optional<cursor_update> cursor = {});

    // Keys of the objects the mirror holds and considers alive (deleted_at IS NULL), ascending;
    // with `ticket_id`, only children of that ticket (entities with a ticket_id column).
    boost::asio::awaitable<std::vector<object_key>> known_ids(entity e,
                                                              std::optional<id_t> ticket_id = {});

    boost::asio::awaitable<std::optional<stream_cursor>> read_cursor(std::string stream);
    // Records a stream failure (kept until the next successful write of that stream).
    boost::asio::awaitable<void> record_stream_error(std::string stream, std::string error);

    // ---- the feed -----------------------------------------------------------------------------
    boost::asio::awaitable<std::vector<change_event>> read_changes(std::int64_t after_position,
                                                                   std::size_t limit);
    boost::asio::awaitable<void> set_bookmark(std::string consumer, std::int64_t position);
    boost::asio::awaitable<std::optional<std::int64_t>> bookmark(std::string consumer);
    // Deletes feed rows older than `min_age` that every registered bookmark has passed (all rows
    // older than min_age when no consumer is registered). Returns the number of rows removed.
    boost::asio::awaitable<std::size_t> prune_feed(std::chrono::seconds min_age);

    // ---- quarantine ---------------------------------------------------------------------------
    // Records (or counts again) an object that failed to decode or apply; the excerpt is cut to
    // 2000 bytes.
    boost::asio::awaitable<void> quarantine(std::string entity_name, std::string object_key,
                                            std::string stream, std::string reason,
                                            std::string payload_excerpt);
    boost::asio::awaitable<bool> release_quarantine(std::string entity_name,
                                                    std::string object_key);

    // ---- leadership fencing --------------------------------------------------------------------
    // Takes the helpdesk's session advisory lock (leader_lock_key) on the write connection; on
    // success every later write transaction checks that it still runs on that session holding
    // that lock, and throws not_leader otherwise (the connection broke and was replaced).
    boost::asio::awaitable<bool> try_acquire_leadership();
    // True while the write session is still the one that took the lock and still holds it; when
    // it is not (the connection broke and was replaced), the fence is cleared and false returned.
    boost::asio::awaitable<bool> leadership_held();
    // Sets the fence by hand (nullopt: no check). The backend pid of the write session.
    void set_fence(std::optional<int> backend_pid);
    [[nodiscard]] std::optional<int> fence() const;

    // Test seam: called on the database thread inside each write transaction at "staged" (rows
    // staged, nothing written to the mirror yet) and "before_commit", with the session's backend
    // pid.
    using test_hook = std::function<void(std::string_view point, int backend_pid)>;
    void set_test_hook(test_hook hook);

    // The synchronous cores, on a connection of the executor (public for the benchmark).
    apply_stats apply_on(pqxx::connection& c, entity e, std::vector<mapped_row> rows,
                         const std::optional<cursor_update>& cursor);
    apply_stats mark_deleted_on(pqxx::connection& c, entity e, const std::vector<object_key>& keys,
                                const std::optional<cursor_update>& cursor);

    // Building blocks for a caller that writes several things in ONE transaction of its own (the
    // push worker records Kayako's answer, the outbox row and the intake row together):
    //   prepare(c, e) before the transaction starts (creates the session's temp tables),
    //   begin_write(tx) first in the transaction (echo suppression + leadership fence),
    //   apply_in / mark_deleted_in any number of times, notify_feed(tx, e) for what was written.
    void prepare(pqxx::connection& c, entity e);
    void begin_write(pqxx::transaction_base& tx);
    // `more_in_transaction`: another apply_in follows in this transaction (clears the stage).
    // `tx` should be a dbtransaction (pqxx::work): the new-key COPY needs a savepoint; with any
    // other transaction every changed row goes through the staged upsert.
    apply_stats apply_in(pqxx::transaction_base& tx, pqxx::connection& c, entity e,
                         std::vector<mapped_row> rows, change_source source,
                         bool more_in_transaction = false);
    apply_stats mark_deleted_in(pqxx::transaction_base& tx, entity e,
                                const std::vector<object_key>& keys, change_source source);
    void notify_feed(pqxx::transaction_base& tx, entity e);

private:
    struct entity_sql {
        std::string table;  // quoted, schema-qualified mirror table
        std::string stage_table;
        std::string create_stage;
        std::string diff_head;  // + key and hash arrays
        std::string diff_tail;
        std::string upsert;        // feed source 'kayako'
        std::string upsert_local;  // feed source 'local' (push-back results)
        std::string mark_deleted;
        std::string known_ids;
        std::string known_ids_of_ticket;
        std::vector<std::string> stage_columns;
        // New keys: COPY into the mirror table itself, then one feed statement.
        std::vector<std::string> fresh_columns;
        std::string fresh_feed_head;  // + source literal + " FROM unnest(" + key arrays
        std::string fresh_feed_tail;
    };
    void ensure_temp_tables(pqxx::connection& c, entity e);
    static void stage_rows(pqxx::transaction_base& tx, const entity_sql& q,
                           const std::vector<mapped_row>& rows,
                           const std::vector<std::size_t>& which);
    static void clear_stage(pqxx::transaction_base& tx, const entity_sql& q);
    void check_fence(pqxx::transaction_base& tx);
    void write_cursor(pqxx::transaction_base& tx, const std::optional<cursor_update>& cursor,
                      std::size_t written);
    std::string cursor_statement(pqxx::transaction_base& tx, const cursor_update& cursor,
                                 std::size_t written) const;
    void call_hook(std::string_view point, pqxx::connection& c);

    db_executor& db_;
    schema_names names_;
    std::shared_ptr<spdlog::logger> log_;
    std::size_t write_slot_;
    std::vector<entity_sql> sql_;
    std::string cursor_head_, cursor_tail_;

    mutable std::mutex mu_;  // guards everything below (jobs run on several DB threads)
    std::optional<int> fence_pid_;
    test_hook hook_;
    std::set<std::tuple<const void*, int, int>> temp_ready_;  // (connection, backend pid, entity)
};

}  // namespace ksync::pg
