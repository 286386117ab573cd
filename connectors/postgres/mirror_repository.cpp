#include "connectors/postgres/mirror_repository.hpp"

#include <pqxx/pqxx>

#include <algorithm>
#include <chrono>
#include <unordered_map>

namespace ksync::pg {
struct raw_copy_line {
    const std::string* text;
};
}  // namespace ksync::pg

// pqxx::stream_to (6.4) converts and escapes every field of a tuple on its own. Our rows are
// already one line of COPY text (escaped by row_builder, which also hashes the same values), so
// this specialisation hands such a line through unchanged: one string per row instead of one
// conversion, one allocation and one concatenation per column.
namespace pqxx::internal {
template <>
inline std::string TypedCopyEscaper::operator()<ksync::pg::raw_copy_line>(
    const ksync::pg::raw_copy_line* t) const {
    return *t->text;
}
}  // namespace pqxx::internal

namespace ksync::pg {
namespace {

constexpr const char* bookkeeping =
    "'{content_hash,version,first_seen_at,last_changed_at}'::text[]";

std::string hex(const std::array<unsigned char, 32>& h) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(64);
    for (unsigned char c : h) {
        out += digits[c >> 4];
        out += digits[c & 0xf];
    }
    return out;
}

struct key_hash {
    std::size_t operator()(const object_key& k) const noexcept {
        return std::hash<std::int64_t>{}(k.id) * 31u +
               std::hash<std::int64_t>{}(k.sub_id.value_or(-1));
    }
};
struct key_eq {
    bool operator()(const object_key& a, const object_key& b) const noexcept { return a == b; }
};

std::string join(const std::vector<std::string>& v, const std::string& sep) {
    std::string out;
    for (std::size_t i = 0; i < v.size(); ++i) {
        if (i) out += sep;
        out += v[i];
    }
    return out;
}

std::string bigint_array(const std::vector<std::optional<std::int64_t>>& v) {
    std::string out = "{";
    for (std::size_t i = 0; i < v.size(); ++i) {
        if (i) out += ',';
        out += v[i] ? std::to_string(*v[i]) : "NULL";
    }
    return out + "}";
}

std::vector<std::string> split_csv(const std::string& s) {
    std::vector<std::string> out;
    std::size_t start = 0;
    if (s.empty()) return out;
    for (;;) {
        const auto pos = s.find(',', start);
        out.push_back(s.substr(start, pos - start));
        if (pos == std::string::npos) break;
        start = pos + 1;
    }
    return out;
}

}  // namespace

mirror_repository::mirror_repository(db_executor& db, schema_names names,
                                     std::shared_ptr<spdlog::logger> log, std::size_t write_slot)
    : db_(db), names_(std::move(names)), log_(std::move(log)), write_slot_(write_slot) {
    validate(names_);
    const std::string m = quote_ident(names_.mirror);
    const std::string st = quote_ident(names_.state);
    for (std::size_t i = 0; i < entity_count; ++i) {
        const entity_spec& s = spec(static_cast<entity>(i));
        entity_sql q;
        const std::string table = m + "." + quote_ident(s.table);
        const std::string k1 = quote_ident(s.columns[0]);
        const std::string k2 = s.key_columns == 2 ? quote_ident(s.columns[1]) : std::string{};
        std::vector<std::string> cols;
        for (auto c : s.columns) cols.push_back(quote_ident(c));
        const std::string col_list = join(cols, ", ");
        q.stage_table = "ksync_stage_" + std::string(s.table);
        q.table = table;
        q.stage_columns.assign(s.columns.begin(), s.columns.end());
        q.stage_columns.emplace_back("content_hash");
        q.create_stage = "CREATE TEMP TABLE IF NOT EXISTS " + quote_ident(q.stage_table) +
                         " ON COMMIT DELETE ROWS AS SELECT " + col_list + ", content_hash FROM " +
                         table + " WITH NO DATA";

        auto match = [&](const std::string& a, const std::string& b) {
            std::string out = a + "." + k1 + " = " + b + "." + k1;
            if (!k2.empty()) out += " AND " + a + "." + k2 + " = " + b + "." + k2;
            return out;
        };
        // The mirror rows of a batch are looked up by primary key, one index probe per staged key:
        // LIMIT 1 (the key is unique) keeps the planner from flattening the lookup into a hash
        // or merge join that reads the whole table, which it picks while the table's statistics
        // lag behind a first load (every batch then scanned all rows loaded so far).
        const std::string lookup_by_key = " LIMIT 1";
        // Step 1: which keys are new, changed or coming back from a soft delete.
        // `fresh`: no mirror row has the key (content_hash is NOT NULL in every mirror row).
        // The batch's keys and hashes arrive as array literals between head and tail (in the
        // statement text: no COPY into a temp table, no round trips of its own).
        q.diff_head = "SELECT h.id, h.sub_id, m.content_hash IS NULL AS fresh FROM unnest(";
        q.diff_tail =
            ") AS h(id, sub_id, hash) LEFT JOIN LATERAL (SELECT m.content_hash, m.deleted_at "
            "FROM " +
            table + " m WHERE m." + k1 + " = h.id" +
            (k2.empty() ? "" : " AND m." + k2 + " = h.sub_id") + lookup_by_key +
            ") m ON true WHERE m.content_hash IS DISTINCT FROM decode(h.hash, 'hex')"
            " OR m.deleted_at IS NOT NULL";

        // Step 3 (keys the mirror holds): upsert the staged rows and write their feed rows, in
        // one statement. All parts see the same snapshot, so `old` holds the rows as they were
        // before the upsert.
        std::string set_list;
        for (std::size_t c = s.key_columns; c < cols.size(); ++c)
            set_list += cols[c] + " = EXCLUDED." + cols[c] + ", ";
        std::string all_columns = "'{";
        for (std::size_t c = 0; c < s.columns.size(); ++c) {
            if (c) all_columns += ',';
            all_columns += s.columns[c];
        }
        all_columns += "}'::text[]";
        const std::string sub_expr = k2.empty() ? "NULL::bigint" : "up." + k2;
        std::string t_row, x_row;
        for (std::size_t c = s.key_columns; c < cols.size(); ++c) {
            t_row += (t_row.empty() ? "" : ", ") + std::string("t.") + cols[c];
            x_row += (x_row.empty() ? "" : ", ") + std::string("EXCLUDED.") + cols[c];
        }
        const std::string data_changed =
            "(t.deleted_at IS NOT NULL OR ROW(" + t_row + ") IS DISTINCT FROM ROW(" + x_row + "))";
        q.upsert =
            "WITH old AS (SELECT o.* FROM pg_temp." + quote_ident(q.stage_table) +
            " s CROSS JOIN LATERAL (SELECT m." + k1 + (k2.empty() ? "" : ", m." + k2) +
            ", to_jsonb(m) - " + bookkeeping + " AS j FROM " + table + " m WHERE " +
            match("m", "s") + lookup_by_key + ") o), up AS (INSERT INTO " + table + " AS t (" +
            col_list +
            ", content_hash, version, first_seen_at, last_changed_at, deleted_at) SELECT " +
            col_list + ", content_hash, 1, now(), now(), NULL FROM pg_temp." +
            quote_ident(q.stage_table) + " ON CONFLICT (" + k1 + (k2.empty() ? "" : ", " + k2) +
            ") DO UPDATE SET " + set_list +
            // A row whose data already equals Kayako's (a local edit undone, a pushed value
            // confirmed) only gets its hash back: no new version, no feed event.
            "content_hash = EXCLUDED.content_hash, version = t.version + CASE WHEN " +
            data_changed + " THEN 1 ELSE 0 END, last_changed_at = CASE WHEN " + data_changed +
            " THEN now() ELSE t.last_changed_at END, deleted_at = NULL"
            " WHERE t.content_hash IS DISTINCT FROM EXCLUDED.content_hash OR t.deleted_at IS NOT "
            "NULL"
            " RETURNING t." +
            k1 + (k2.empty() ? "" : ", t." + k2) + ", t.version, to_jsonb(t) - " + bookkeeping +
            " AS j), ins AS (INSERT INTO " + st +
            ".changes (entity, object_id, object_sub_id, version, op, changed_columns, old_values, "
            "new_values, source)"
            " SELECT " +
            quote_literal(s.table) + ", up." + k1 + ", " + sub_expr +
            ", up.version, CASE WHEN old.j IS NULL THEN 'insert' ELSE 'update' END,"
            " CASE WHEN old.j IS NULL THEN " +
            all_columns +
            " ELSE d.cols END,"
            " CASE WHEN old.j IS NULL THEN NULL ELSE d.o END,"
            " CASE WHEN old.j IS NULL THEN up.j - 'deleted_at' ELSE d.n END, 'kayako'"
            " FROM up LEFT JOIN old ON " +
            match("old", "up") +
            // The diff runs for updates only (a pseudo-constant filter skips it for inserts).
            " LEFT JOIN LATERAL (SELECT array_agg(k ORDER BY k) AS cols, jsonb_object_agg(k, old.j "
            "-> k) AS o,"
            " jsonb_object_agg(k, up.j -> k) AS n FROM jsonb_object_keys(up.j) AS k"
            " WHERE old.j IS NOT NULL AND (old.j -> k) IS DISTINCT FROM (up.j -> k)) d ON true"
            " WHERE old.j IS NULL OR d.cols IS NOT NULL"
            " ORDER BY up." +
            k1 + (k2.empty() ? "" : ", up." + k2) +
            " RETURNING op) SELECT count(*) FILTER (WHERE op = 'insert'), count(*) FILTER (WHERE "
            "op = 'update') FROM ins";

        // The source is part of the text, not a parameter: libpqxx 6.4 leaks the PGresult of a
        // parameterised statement whose connection dies mid-way (seen under LeakSanitizer).
        q.upsert_local = q.upsert;
        const auto src = q.upsert_local.find("END, 'kayako' FROM up");
        if (src == std::string::npos) throw std::logic_error("upsert text has no source");
        q.upsert_local.replace(src, std::string("END, 'kayako'").size(), "END, 'local'");
        // Keys no mirror row had: their rows were COPYed straight into the mirror (version 1);
        // one feed row each, built from the rows as stored, in key order. The keys follow as
        // array literals, then the tail.
        q.fresh_columns.assign(s.columns.begin(), s.columns.end());
        for (const char* c : {"content_hash", "version", "first_seen_at", "last_changed_at"})
            q.fresh_columns.emplace_back(c);
        // The row's data columns as JSON (as to_jsonb(row) minus the bookkeeping columns and
        // deleted_at, which is what an insert event carries; ~25% cheaper than subtracting keys).
        std::string m_data;
        for (const auto& c : cols) m_data += (m_data.empty() ? "m." : ", m.") + c;
        q.fresh_feed_head =
            "INSERT INTO " + st +
            ".changes (entity, object_id, object_sub_id, version, op, changed_columns, old_values, "
            "new_values, source) SELECT " +
            quote_literal(s.table) + ", r.id, r.sub_id, r.version, 'insert', " + all_columns +
            ", NULL, r.j, ";
        q.fresh_feed_tail = ") AS k(id, sub_id) CROSS JOIN LATERAL (SELECT m." + k1 + " AS id, " +
                            (k2.empty() ? std::string("NULL::bigint") : "m." + k2) +
                            " AS sub_id, m.version, (SELECT to_jsonb(x) FROM (SELECT " + m_data +
                            ") x) AS j FROM " + table + " m WHERE m." + k1 + " = k.id" +
                            (k2.empty() ? "" : " AND m." + k2 + " = k.sub_id") + lookup_by_key +
                            ") r ORDER BY k.id, k.sub_id";
        const std::string del_sub = k2.empty() ? "NULL::bigint" : "t." + k2;
        q.mark_deleted =
            "WITH k AS (SELECT * FROM unnest($1::bigint[], $2::bigint[]) AS k(id, sub_id)),"
            " up AS (UPDATE " +
            table +
            " AS t SET deleted_at = now(), version = t.version + 1, last_changed_at = now() FROM k "
            "WHERE t." +
            k1 + " = k.id" + (k2.empty() ? "" : " AND t." + k2 + " = k.sub_id") +
            " AND t.deleted_at IS NULL RETURNING t." + k1 + " AS id, " + del_sub +
            " AS sub_id, t.version, t.deleted_at),"
            " ins AS (INSERT INTO " +
            st +
            ".changes (entity, object_id, object_sub_id, version, op, changed_columns, old_values, "
            "new_values, source)"
            " SELECT " +
            quote_literal(s.table) +
            ", id, sub_id, version, 'delete', '{deleted_at}', jsonb_build_object('deleted_at', "
            "NULL),"
            " jsonb_build_object('deleted_at', deleted_at), $3::text FROM up ORDER BY id, sub_id "
            "RETURNING 1)"
            " SELECT count(*) FROM ins";

        const std::string key_sel = "SELECT " + k1 + ", " + (k2.empty() ? "NULL::bigint" : k2) +
                                    " FROM " + table + " WHERE deleted_at IS NULL";
        const std::string order = " ORDER BY " + k1 + (k2.empty() ? "" : ", " + k2);
        q.known_ids = key_sel + order;
        if (s.has_ticket_id) q.known_ids_of_ticket = key_sel + " AND ticket_id = $1" + order;
        sql_.push_back(std::move(q));
    }
    // The stream, the cursor and the row count go between head and tail as literals, so that
    // apply_on can send this statement together with the NOTIFY, in one round trip.
    cursor_head_ =
        "INSERT INTO " + st +
        ".stream_cursors AS c (stream, cursor, rows_written, updated_at, last_success_at)"
        " VALUES (";
    cursor_tail_ =
        ", now(), now()) ON CONFLICT (stream) DO UPDATE SET"
        " cursor = EXCLUDED.cursor, rows_written = c.rows_written + EXCLUDED.rows_written,"
        " updated_at = now(), last_success_at = now(), last_error = NULL, last_error_at = NULL"
        // A page that moved nothing and changed nothing writes nothing.
        " WHERE c.cursor IS DISTINCT FROM EXCLUDED.cursor OR EXCLUDED.rows_written > 0"
        " OR c.last_error IS NOT NULL";
}

// ---- write path --------------------------------------------------------------------------------

void mirror_repository::ensure_temp_tables(pqxx::connection& c, entity e) {
    const auto token =
        std::make_tuple(static_cast<const void*>(&c), c.backendpid(), static_cast<int>(e));
    {
        std::lock_guard lock{mu_};
        if (temp_ready_.count(token)) return;
    }
    // Created once per session, outside the apply transaction: a rollback of the apply must not
    // take the tables with it. ON COMMIT DELETE ROWS empties them after every transaction.
    pqxx::nontransaction tx{c};
    tx.exec(sql_[static_cast<std::size_t>(e)].create_stage);
    std::lock_guard lock{mu_};
    temp_ready_.insert(token);
}

void mirror_repository::check_fence(pqxx::transaction_base& tx) {
    std::optional<int> expected;
    {
        std::lock_guard lock{mu_};
        expected = fence_pid_;
    }
    if (!expected) return;
    const auto key = leader_lock_key(names_);
    auto r = tx.exec_params(
        "SELECT pg_backend_pid(), EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND "
        "granted"
        " AND pid = pg_backend_pid() AND objsubid = 1 AND ((classid::bigint << 32) | "
        "objid::bigint) = $1)",
        key);
    const int pid = r[0][0].as<int>();
    const bool held = r[0][1].as<bool>();
    if (pid != *expected || !held)
        throw not_leader("write refused: this session (backend " + std::to_string(pid) +
                         ") does not hold the leader lock of " + names_.state +
                         " taken by backend " + std::to_string(*expected));
}

void mirror_repository::call_hook(std::string_view point, pqxx::connection& c) {
    test_hook hook;
    {
        std::lock_guard lock{mu_};
        hook = hook_;
    }
    if (hook) hook(point, c.backendpid());
}

void mirror_repository::write_cursor(pqxx::transaction_base& tx,
                                     const std::optional<cursor_update>& cursor,
                                     std::size_t written) {
    if (cursor) tx.exec(cursor_statement(tx, *cursor, written));
}

std::string mirror_repository::cursor_statement(pqxx::transaction_base& tx,
                                                const cursor_update& cursor,
                                                std::size_t written) const {
    return cursor_head_ + tx.quote(cursor.stream) + ", " + tx.quote(cursor.cursor_json) +
           "::jsonb, " + std::to_string(written) + cursor_tail_;
}

void mirror_repository::prepare(pqxx::connection& c, entity e) {
    ensure_temp_tables(c, e);
}

void mirror_repository::begin_write(pqxx::transaction_base& tx) {
    // Echo suppression: the push-back triggers (migrations/0004) queue nothing for the daemon's
    // own writes. Transaction-local, so nothing outlives this transaction on the session.
    tx.exec("SELECT set_config('kayako_sync.writer', 'daemon', true)");
    check_fence(tx);
}

void mirror_repository::notify_feed(pqxx::transaction_base& tx, entity e) {
    tx.exec_params("SELECT pg_notify($1, $2)", feed_channel(names_), std::string(entity_name(e)));
}

void mirror_repository::stage_rows(pqxx::transaction_base& tx, const entity_sql& q,
                                   const std::vector<mapped_row>& rows,
                                   const std::vector<std::size_t>& which) {
    if (which.empty()) return;
    pqxx::stream_to stage{tx, q.stage_table, q.stage_columns};
    std::string line;
    for (std::size_t i : which) {
        line = rows[i].copy_line;
        line += "\t\\\\x";
        line += hex(rows[i].hash);
        stage << std::make_tuple(raw_copy_line{&line});
    }
    stage.complete();
}

void mirror_repository::clear_stage(pqxx::transaction_base& tx, const entity_sql& q) {
    tx.exec("DELETE FROM pg_temp." + quote_ident(q.stage_table));
}

apply_stats mirror_repository::apply_on(pqxx::connection& c, entity e, std::vector<mapped_row> rows,
                                        const std::optional<cursor_update>& cursor) {
    ensure_temp_tables(c, e);
    using clock = std::chrono::steady_clock;
    const auto t0 = clock::now();
    pqxx::work tx{c};
    // begin_write's echo suppression travels with apply_in's diff (the first statement that
    // matters); round trips are what a page pays most for on a busy machine.
    check_fence(tx);
    const apply_stats stats = apply_in(tx, c, e, std::move(rows), change_source::kayako);
    const auto t1 = clock::now();
    // The NOTIFY (when something was written) and the cursor, in one round trip.
    std::string tail;
    if (stats.written() > 0)
        tail = "SELECT pg_notify(" + tx.quote(feed_channel(names_)) + ", " +
               tx.quote(std::string(entity_name(e))) + "); ";
    if (cursor) tail += cursor_statement(tx, *cursor, stats.written());
    if (!tail.empty()) tx.exec(tail);
    call_hook("before_commit", c);
    tx.commit();
    if (log_ && log_->should_log(spdlog::level::debug)) {
        const auto ms = [](auto d) { return std::chrono::duration<double, std::milli>(d).count(); };
        log_->debug(
            "apply {}: {} new, {} changed, {} unchanged; {:.1f} ms, cursor+commit {:.1f} ms",
            entity_name(e), stats.inserted, stats.updated, stats.unchanged, ms(t1 - t0),
            ms(clock::now() - t1));
    }
    return stats;
}

apply_stats mirror_repository::apply_in(pqxx::transaction_base& tx, pqxx::connection& c, entity e,
                                        std::vector<mapped_row> rows, change_source source,
                                        bool more_in_transaction) {
    const entity_sql& q = sql_[static_cast<std::size_t>(e)];
    // Duplicates in one batch: the last occurrence wins (one upsert may not touch a row twice).
    std::unordered_map<object_key, std::size_t, key_hash, key_eq> index;
    index.reserve(rows.size());
    {
        std::vector<mapped_row> unique;
        unique.reserve(rows.size());
        for (auto& r : rows) {
            auto [it, fresh] = index.try_emplace(r.key, unique.size());
            if (fresh)
                unique.push_back(std::move(r));
            else
                unique[it->second] = std::move(r);
        }
        rows = std::move(unique);
    }
    apply_stats stats;
    if (rows.empty()) return stats;
    // Keys whose hash differs: `existing` ones (a mirror row has the key, maybe soft-deleted)
    // go through the staged upsert; `fresh` ones (the common case of a first load) are COPYed
    // straight into the mirror with version 1, and their feed rows are built from them in one
    // statement: each row is written once instead of into the stage and then again.
    // One statement, one round trip: echo suppression for the writes below (the push-back
    // triggers skip the daemon's own writes; transaction-local), a savepoint for the fresh rows'
    // COPY (see below; released at commit), and the diff.
    auto* dbtx = dynamic_cast<pqxx::dbtransaction*>(&tx);  // savepoints need a transaction block
    std::string diff = "SELECT set_config('kayako_sync.writer', 'daemon', true); ";
    if (dbtx != nullptr) diff += "SAVEPOINT ksync_fresh; ";
    {
        std::vector<std::optional<std::int64_t>> ids, subs;
        ids.reserve(rows.size());
        subs.reserve(rows.size());
        std::string hashes = "{";
        hashes.reserve(rows.size() * 65 + 2);
        for (const auto& r : rows) {
            ids.emplace_back(r.key.id);
            subs.push_back(r.key.sub_id);
            if (hashes.size() > 1) hashes += ',';
            hashes += hex(r.hash);
        }
        hashes += '}';
        diff += q.diff_head + quote_literal(bigint_array(ids)) + "::bigint[], " +
                quote_literal(bigint_array(subs)) + "::bigint[], " + quote_literal(hashes) +
                "::text[]" + q.diff_tail;
    }
    std::vector<std::size_t> existing, fresh;
    for (const auto& row : tx.exec(diff)) {
        object_key k{row[0].as<std::int64_t>(), std::nullopt};
        if (!row[1].is_null()) k.sub_id = row[1].as<std::int64_t>();
        (row[2].as<bool>() ? fresh : existing).push_back(index.at(k));
    }
    if (existing.empty() && fresh.empty()) {
        stats.unchanged = rows.size();
        return stats;
    }
    std::sort(existing.begin(), existing.end());
    std::sort(fresh.begin(), fresh.end());
    stage_rows(tx, q, rows, existing);
    call_hook("staged", c);
    if (dbtx == nullptr) {  // no savepoint: everything through the staged upsert
        stage_rows(tx, q, rows, fresh);
        existing.insert(existing.end(), fresh.begin(), fresh.end());
        fresh.clear();
    }
    // The fresh rows go in after the savepoint taken with the diff: should another writer have
    // inserted one of these keys since (the push worker recording a created object while a sync
    // page brings the same one), the COPY fails with a unique violation and everything since
    // the savepoint (this COPY and the staged rows) is rolled back; the batch's changed rows then
    // all go through the staged upsert, which handles keys that exist.
    if (!fresh.empty()) {
        bool copied = false;
        try {
            pqxx::stream_to into{tx, q.table, q.fresh_columns};
            std::string line;
            for (std::size_t i : fresh) {
                line = rows[i].copy_line;
                line += "\t\\\\x";
                line += hex(rows[i].hash);
                line += "\t1\tnow\tnow";  // version 1; 'now': the transaction's start, as now()
                into << std::make_tuple(raw_copy_line{&line});
            }
            into.complete();
            copied = true;
        } catch (const pqxx::unique_violation&) {
            tx.exec("ROLLBACK TO SAVEPOINT ksync_fresh");
            stage_rows(tx, q, rows, existing);  // rolled back with it
        }
        if (copied) {
            std::vector<std::optional<std::int64_t>> ids, subs;
            ids.reserve(fresh.size());
            subs.reserve(fresh.size());
            for (std::size_t i : fresh) {
                ids.emplace_back(rows[i].key.id);
                subs.push_back(rows[i].key.sub_id);
            }
            const auto r =
                tx.exec(q.fresh_feed_head + quote_literal(source_name(source)) + " FROM unnest(" +
                        quote_literal(bigint_array(ids)) + "::bigint[], " +
                        quote_literal(bigint_array(subs)) + "::bigint[]" + q.fresh_feed_tail);
            if (r.affected_rows() != fresh.size())
                throw std::logic_error("mirror: " + std::to_string(fresh.size()) +
                                       " rows copied but " + std::to_string(r.affected_rows()) +
                                       " feed rows written");
            stats.inserted = fresh.size();
            fresh.clear();
        }
    }
    if (!fresh.empty()) {  // not copied: upserted with the existing ones
        stage_rows(tx, q, rows, fresh);
        existing.insert(existing.end(), fresh.begin(), fresh.end());
    }
    if (!existing.empty()) {
        const auto counts = tx.exec(source == change_source::kayako ? q.upsert : q.upsert_local);
        stats.inserted += counts[0][0].as<std::size_t>();
        stats.updated = counts[0][1].as<std::size_t>();
    }
    // The stage is emptied at commit (ON COMMIT DELETE ROWS); a caller applying another
    // batch in the same transaction needs them empty now. DELETE, not TRUNCATE: the batches that
    // share a transaction are small (a push result), and TRUNCATE's fixed cost dominated there.
    if (more_in_transaction && !existing.empty()) clear_stage(tx, q);
    stats.unchanged = rows.size() - stats.inserted - stats.updated;
    return stats;
}

apply_stats mirror_repository::mark_deleted_on(pqxx::connection& c, entity e,
                                               const std::vector<object_key>& keys,
                                               const std::optional<cursor_update>& cursor) {
    pqxx::work tx{c};
    begin_write(tx);
    const apply_stats stats = mark_deleted_in(tx, e, keys, change_source::kayako);
    if (stats.deleted > 0) notify_feed(tx, e);
    write_cursor(tx, cursor, stats.deleted);
    call_hook("before_commit", c);
    tx.commit();
    return stats;
}

apply_stats mirror_repository::mark_deleted_in(pqxx::transaction_base& tx, entity e,
                                               const std::vector<object_key>& keys,
                                               change_source source) {
    const entity_sql& q = sql_[static_cast<std::size_t>(e)];
    std::vector<std::optional<std::int64_t>> ids, subs;
    for (const auto& k : keys) {
        ids.emplace_back(k.id);
        subs.push_back(k.sub_id);
    }
    apply_stats stats;
    if (keys.empty()) return stats;
    const auto r = tx.exec_params(q.mark_deleted, bigint_array(ids), bigint_array(subs),
                                  std::string(source_name(source)));
    stats.deleted = r[0][0].as<std::size_t>();
    return stats;
}

boost::asio::awaitable<apply_stats> mirror_repository::apply_rows(
    entity e, std::vector<mapped_row> rows, std::optional<cursor_update> cursor) {
    auto job = [this, e, rows = std::move(rows), cursor = std::move(cursor)](pqxx::connection& c) {
        return apply_on(c, e, rows,
                        cursor);  // a copy: a retry after a lost connection needs them again
    };
    co_return co_await db_.run_on(write_slot_, std::move(job));
}

boost::asio::awaitable<apply_stats> mirror_repository::mark_deleted(
    entity e, std::vector<object_key> keys, std::optional<cursor_update> cursor) {
    auto job = [this, e, keys = std::move(keys), cursor = std::move(cursor)](pqxx::connection& c) {
        return mark_deleted_on(c, e, keys, cursor);
    };
    co_return co_await db_.run_on(write_slot_, std::move(job));
}

// ---- reads -------------------------------------------------------------------------------------

boost::asio::awaitable<std::vector<object_key>> mirror_repository::known_ids(
    entity e, std::optional<id_t> ticket_id) {
    const entity_sql& q = sql_[static_cast<std::size_t>(e)];
    if (ticket_id && q.known_ids_of_ticket.empty())
        throw std::invalid_argument(std::string(entity_name(e)) + " has no ticket_id column");
    auto job = [&q, ticket_id](pqxx::connection& c) {
        pqxx::read_transaction tx{c};
        const auto r =
            ticket_id ? tx.exec_params(q.known_ids_of_ticket, *ticket_id) : tx.exec(q.known_ids);
        std::vector<object_key> out;
        out.reserve(r.size());
        for (const auto& row : r) {
            object_key k{row[0].as<std::int64_t>(), std::nullopt};
            if (!row[1].is_null()) k.sub_id = row[1].as<std::int64_t>();
            out.push_back(k);
        }
        return out;
    };
    co_return co_await db_.run(std::move(job));
}

boost::asio::awaitable<std::optional<stream_cursor>> mirror_repository::read_cursor(
    std::string stream) {
    auto job = [this,
                stream = std::move(stream)](pqxx::connection& c) -> std::optional<stream_cursor> {
        pqxx::read_transaction tx{c};
        const auto r =
            tx.exec_params("SELECT cursor::text, rows_written, last_error FROM " +
                               quote_ident(names_.state) + ".stream_cursors WHERE stream = $1",
                           stream);
        if (r.empty()) return std::nullopt;
        stream_cursor out{stream, r[0][0].as<std::string>(), r[0][1].as<std::int64_t>(),
                          std::nullopt};
        if (!r[0][2].is_null()) out.last_error = r[0][2].as<std::string>();
        return out;
    };
    co_return co_await db_.run(std::move(job));
}

boost::asio::awaitable<void> mirror_repository::record_stream_error(std::string stream,
                                                                    std::string error) {
    auto job = [this, stream = std::move(stream), error = std::move(error)](pqxx::connection& c) {
        pqxx::work tx{c};
        check_fence(tx);
        tx.exec_params(
            "INSERT INTO " + quote_ident(names_.state) +
                ".stream_cursors AS c (stream, cursor, last_error, last_error_at)"
                " VALUES ($1, 'null'::jsonb, $2, now()) ON CONFLICT (stream) DO UPDATE SET"
                " last_error = EXCLUDED.last_error, last_error_at = now()",
            stream, error);
        tx.commit();
    };
    co_await db_.run_on(write_slot_, std::move(job));
}

boost::asio::awaitable<std::vector<change_event>> mirror_repository::read_changes(
    std::int64_t after_position, std::size_t limit) {
    auto job = [this, after_position, limit](pqxx::connection& c) {
        pqxx::read_transaction tx{c};
        const auto r = tx.exec_params(
            "SELECT position, entity, object_id, object_sub_id, version, op, "
            "array_to_string(changed_columns, ','),"
            " old_values::text, new_values::text, source FROM " +
                quote_ident(names_.state) +
                ".changes WHERE position > $1 ORDER BY position LIMIT $2",
            after_position, static_cast<long long>(limit));
        std::vector<change_event> out;
        out.reserve(r.size());
        for (const auto& row : r) {
            change_event ev;
            ev.position = row[0].as<std::int64_t>();
            ev.entity = row[1].as<std::string>();
            ev.key.id = row[2].as<std::int64_t>();
            if (!row[3].is_null()) ev.key.sub_id = row[3].as<std::int64_t>();
            ev.version = row[4].as<std::int64_t>();
            ev.op = row[5].as<std::string>();
            ev.changed_columns = split_csv(row[6].as<std::string>());
            if (!row[7].is_null()) ev.old_values = row[7].as<std::string>();
            ev.new_values = row[8].as<std::string>();
            ev.source = row[9].as<std::string>();
            out.push_back(std::move(ev));
        }
        return out;
    };
    co_return co_await db_.run(std::move(job));
}

boost::asio::awaitable<void> mirror_repository::set_bookmark(std::string consumer,
                                                             std::int64_t position) {
    auto job = [this, consumer = std::move(consumer), position](pqxx::connection& c) {
        pqxx::work tx{c};
        tx.exec_params("INSERT INTO " + quote_ident(names_.state) +
                           ".consumer_bookmarks AS b (consumer, position) VALUES ($1, $2)"
                           " ON CONFLICT (consumer) DO UPDATE SET position = EXCLUDED.position, "
                           "updated_at = now()"
                           " WHERE b.position IS DISTINCT FROM EXCLUDED.position",
                       consumer, position);
        tx.commit();
    };
    co_await db_.run_on(write_slot_, std::move(job));
}

boost::asio::awaitable<std::optional<std::int64_t>> mirror_repository::bookmark(
    std::string consumer) {
    auto job = [this, consumer =
                          std::move(consumer)](pqxx::connection& c) -> std::optional<std::int64_t> {
        pqxx::read_transaction tx{c};
        const auto r = tx.exec_params("SELECT position FROM " + quote_ident(names_.state) +
                                          ".consumer_bookmarks WHERE consumer = $1",
                                      consumer);
        if (r.empty()) return std::nullopt;
        return r[0][0].as<std::int64_t>();
    };
    co_return co_await db_.run(std::move(job));
}

boost::asio::awaitable<std::size_t> mirror_repository::prune_feed(std::chrono::seconds min_age) {
    auto job = [this, min_age](pqxx::connection& c) {
        pqxx::work tx{c};
        check_fence(tx);
        const std::string st = quote_ident(names_.state);
        const auto r =
            tx.exec_params("DELETE FROM " + st +
                               ".changes WHERE committed_at < now() - make_interval(secs => $1)"
                               " AND position <= coalesce((SELECT min(position) FROM " +
                               st + ".consumer_bookmarks), 9223372036854775807)",
                           static_cast<double>(min_age.count()));
        tx.commit();
        return static_cast<std::size_t>(r.affected_rows());
    };
    co_return co_await db_.run_on(write_slot_, std::move(job));
}

boost::asio::awaitable<void> mirror_repository::quarantine(std::string entity_name_,
                                                           std::string object_key_,
                                                           std::string stream, std::string reason,
                                                           std::string payload_excerpt) {
    if (payload_excerpt.size() > 2000) {
        payload_excerpt.resize(2000);
        // Do not leave half a UTF-8 sequence at the cut.
        while (!payload_excerpt.empty() &&
               (static_cast<unsigned char>(payload_excerpt.back()) & 0xC0) == 0x80)
            payload_excerpt.pop_back();
        if (!payload_excerpt.empty() &&
            (static_cast<unsigned char>(payload_excerpt.back()) & 0x80) != 0)
            payload_excerpt.pop_back();
    }
    auto job = [this, e = std::move(entity_name_), k = std::move(object_key_),
                s = std::move(stream), r = std::move(reason),
                p = std::move(payload_excerpt)](pqxx::connection& c) {
        pqxx::work tx{c};
        check_fence(tx);
        tx.exec_params(
            "INSERT INTO " + quote_ident(names_.state) +
                ".quarantine AS q (entity, object_key, stream, reason, payload_excerpt)"
                " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (entity, object_key) DO UPDATE SET"
                " attempts = q.attempts + 1, last_failed_at = now(), reason = EXCLUDED.reason,"
                " stream = EXCLUDED.stream, payload_excerpt = EXCLUDED.payload_excerpt",
            e, k, s, r, p);
        tx.commit();
    };
    co_await db_.run_on(write_slot_, std::move(job));
}

boost::asio::awaitable<bool> mirror_repository::release_quarantine(std::string entity_name_,
                                                                   std::string object_key_) {
    auto job = [this, e = std::move(entity_name_),
                k = std::move(object_key_)](pqxx::connection& c) {
        pqxx::work tx{c};
        const auto r = tx.exec_params("DELETE FROM " + quote_ident(names_.state) +
                                          ".quarantine WHERE entity = $1 AND object_key = $2",
                                      e, k);
        tx.commit();
        return r.affected_rows() > 0;
    };
    co_return co_await db_.run_on(write_slot_, std::move(job));
}

// ---- leadership
// ----------------------------------------------------------------------------------

boost::asio::awaitable<bool> mirror_repository::try_acquire_leadership() {
    auto job = [this](pqxx::connection& c) -> std::optional<int> {
        pqxx::nontransaction tx{c};
        const auto r = tx.exec_params("SELECT pg_try_advisory_lock($1), pg_backend_pid()",
                                      leader_lock_key(names_));
        if (!r[0][0].as<bool>()) return std::nullopt;
        return r[0][1].as<int>();
    };
    const std::optional<int> pid = co_await db_.run_on(write_slot_, std::move(job));
    if (pid) set_fence(pid);
    co_return pid.has_value();
}

boost::asio::awaitable<bool> mirror_repository::leadership_held() {
    const auto expected = fence();
    if (!expected) co_return false;
    auto job = [this, pid = *expected](pqxx::connection& c) {
        pqxx::nontransaction tx{c};
        const auto r = tx.exec_params(
            "SELECT pg_backend_pid() = $2 AND EXISTS (SELECT 1 FROM pg_locks WHERE locktype = "
            "'advisory' AND granted AND pid = pg_backend_pid() AND objsubid = 1"
            " AND ((classid::bigint << 32) | objid::bigint) = $1)",
            leader_lock_key(names_), pid);
        return r[0][0].as<bool>();
    };
    const bool held = co_await db_.run_on(write_slot_, std::move(job));
    if (!held) set_fence(std::nullopt);
    co_return held;
}

void mirror_repository::set_fence(std::optional<int> backend_pid) {
    std::lock_guard lock{mu_};
    fence_pid_ = backend_pid;
}

std::optional<int> mirror_repository::fence() const {
    std::lock_guard lock{mu_};
    return fence_pid_;
}

void mirror_repository::set_test_hook(test_hook hook) {
    std::lock_guard lock{mu_};
    hook_ = std::move(hook);
}

}  // namespace ksync::pg
