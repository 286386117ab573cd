#include "connectors/postgres/outbox_repository.hpp"

#include <pqxx/pqxx>

#include <algorithm>
#include <functional>
#include <iterator>
#include <set>
#include <stdexcept>

namespace ksync::pg {

namespace {

const char* const row_columns =
    "o.id, o.entity, o.operation, o.object_id, o.intake_id, o.waits_for,"
    " COALESCE(o.old_values::text, ''), o.new_values::text,"
    " array_to_string(o.changed_columns, ','), o.state, o.attempts, o.maybe_sent,"
    " COALESCE(o.attempt_id::text, ''), COALESCE(extract(epoch FROM o.claimed_at)::bigint, 0),"
    " extract(epoch FROM o.created_at)::bigint, COALESCE(o.last_error, ''), o.remote_id,"
    " COALESCE(o.search_floor, 0)";

std::optional<std::int64_t> opt_id(const pqxx::field& f) {
    if (f.is_null()) return std::nullopt;
    return f.as<std::int64_t>();
}

std::vector<std::string> split_commas(const std::string& s) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start < s.size()) {
        const auto end = s.find(',', start);
        out.push_back(s.substr(start, end == std::string::npos ? std::string::npos : end - start));
        if (end == std::string::npos) break;
        start = end + 1;
    }
    return out;
}

outbox_row read_row(const pqxx::row& r) {
    outbox_row o;
    o.id = r[0].as<std::int64_t>();
    o.entity = r[1].c_str();
    o.operation = r[2].c_str();
    o.object_id = opt_id(r[3]);
    o.intake_id = opt_id(r[4]);
    o.waits_for = opt_id(r[5]);
    o.old_values = r[6].c_str();
    o.new_values = r[7].c_str();
    o.changed_columns = split_commas(r[8].c_str());
    o.state = r[9].c_str();
    o.attempts = r[10].as<int>();
    o.maybe_sent = r[11].as<bool>();
    o.attempt_id = r[12].c_str();
    o.claimed_at = r[13].as<std::int64_t>();
    o.created_at = r[14].as<std::int64_t>();
    o.last_error = r[15].c_str();
    o.remote_id = opt_id(r[16]);
    o.search_floor = r[17].as<std::int64_t>();
    return o;
}

// Entity names come from our own rows, but they end up in SQL text: only known tables pass.
const entity_spec& checked_spec(const std::string& name) {
    const auto e = entity_from_name(name);
    if (!e) throw std::invalid_argument("not a mirror table: " + name);
    return spec(*e);
}

bool is_intake_entity(const std::string& e) {
    return e == "tickets" || e == "posts" || e == "notes" || e == "users" || e == "organizations";
}

}  // namespace

outbox_repository::outbox_repository(db_executor& db, mirror_repository& mirror,
                                     std::shared_ptr<spdlog::logger> log)
    : db_(db),
      mirror_(mirror),
      names_(mirror.names()),
      log_(std::move(log)),
      st_(quote_ident(names_.state)),
      mi_(quote_ident(names_.mirror)) {}

boost::asio::awaitable<std::vector<outbox_row>> outbox_repository::claim(
    std::size_t n, std::chrono::seconds lease) {
    // The limit and the lease are literals, not parameters: with a parameter for the limit, the
    // cached generic plan joined a claim of 20 rows to the whole outbox by a sequential scan.
    // The open-rows index (migrations/0005) keeps the claim's cost independent of the done rows.
    const std::string sql =
        "WITH c AS (SELECT o.id, o.maybe_sent AS was_maybe_sent FROM " + st_ +
        ".outbox o"
        " WHERE o.state IN ('pending', 'sending') AND ((o.state = 'pending' AND"
        " o.next_attempt_at <= now())"
        "     OR (o.state = 'sending' AND (o.claimed_at < now() - make_interval(secs => " +
        std::to_string(lease.count()) +
        ")"
        "         OR NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = "
        "o.claimed_by_pid))))"
        "   AND NOT EXISTS (SELECT 1 FROM " +
        st_ +
        ".outbox p WHERE o.object_id IS NOT NULL AND p.entity = o.entity"
        "       AND p.object_id = o.object_id AND p.id < o.id AND p.state IN ('pending', "
        "'sending', 'held'))"
        "   AND (o.waits_for IS NULL OR (SELECT w.state FROM " +
        st_ +
        ".outbox w WHERE w.id = o.waits_for) = 'done')"
        " ORDER BY o.id LIMIT " +
        std::to_string(n) +
        " FOR UPDATE OF o SKIP LOCKED)"
        " UPDATE " +
        st_ +
        ".outbox o SET state = 'sending', attempts = o.attempts + 1, attempt_id = "
        "gen_random_uuid(),"
        " claimed_at = now(), claimed_by_pid = pg_backend_pid(), maybe_sent = (o.operation = "
        "'create'),"
        " search_floor = CASE WHEN o.operation <> 'create' THEN NULL WHEN o.search_floor IS NOT "
        "NULL"
        " THEN o.search_floor ELSE COALESCE(CASE o.entity"
        "   WHEN 'tickets' THEN (SELECT max(id) FROM " +
        mi_ +
        ".tickets)"
        "   WHEN 'posts' THEN (SELECT max(id) FROM " +
        mi_ +
        ".posts)"
        "   WHEN 'notes' THEN (SELECT max(id) FROM " +
        mi_ +
        ".notes)"
        "   WHEN 'users' THEN (SELECT max(id) FROM " +
        mi_ +
        ".users)"
        "   WHEN 'organizations' THEN (SELECT max(id) FROM " +
        mi_ +
        ".organizations) END, 0) END"
        " FROM c WHERE o.id = c.id RETURNING " +
        std::string(row_columns) + ", c.was_maybe_sent, EXISTS (SELECT 1 FROM " + st_ +
        ".conflicts k WHERE k.entity = o.entity AND k.object_id = o.object_id"
        " AND k.outbox_id = o.id)";
    // Prepared (once per connection): planning this statement cost more than running it.
    const std::string name = "ksync_claim_" + std::to_string(std::hash<std::string>()(sql));
    auto job = [sql, name](pqxx::connection& c) {
        c.prepare(name, sql);  // a no-op when this connection has it already
        pqxx::work tx{c};
        const auto r = tx.exec_prepared(name);
        tx.commit();
        std::vector<outbox_row> out;
        for (const auto& row : r) {
            auto o = read_row(row);
            o.maybe_sent = row[18].as<bool>();
            o.has_conflicts = row[19].as<bool>();
            out.push_back(std::move(o));
        }
        std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
        return out;
    };
    co_return co_await db_.run(std::move(job));
}

boost::asio::awaitable<std::size_t> outbox_repository::sweep() {
    const std::string st = st_;
    auto job = [st](pqxx::connection& c) {
        pqxx::work tx{c};
        std::size_t changed = 0;
        changed +=
            tx.exec("UPDATE " + st +
                    ".outbox o SET state = 'pending', next_attempt_at = now()"
                    " WHERE state = 'held' AND NOT EXISTS (SELECT 1 FROM " +
                    st + ".conflicts c WHERE c.outbox_id = o.id AND c.resolution = 'pending')")
                .affected_rows();
        // A failure travels down a chain (a post waiting for a note waiting for a ticket...).
        for (;;) {
            const auto n =
                tx.exec("UPDATE " + st +
                        ".outbox o SET state = 'failed', claimed_by_pid = NULL,"
                        " last_error = 'waits for outbox row ' || o.waits_for || ', which failed'"
                        " WHERE o.waits_for IS NOT NULL AND o.state IN ('pending', 'held')"
                        " AND (SELECT w.state FROM " +
                        st + ".outbox w WHERE w.id = o.waits_for) = 'failed'")
                    .affected_rows();
            changed += n;
            if (n == 0) break;
        }
        // Intake rows show their creation's state.
        for (const char* e : {"tickets", "posts", "notes", "users", "organizations"}) {
            tx.exec("UPDATE " + st + ".intake_" + e +
                    " i SET state = o.state, error = o.last_error FROM " + st +
                    ".outbox o WHERE o.entity = '" + e +
                    "' AND o.operation = 'create' AND o.intake_id = i.id"
                    " AND o.state <> 'done' AND (i.state IS DISTINCT FROM o.state"
                    " OR i.error IS DISTINCT FROM o.last_error)");
        }
        tx.commit();
        return changed;
    };
    co_return co_await db_.run(std::move(job));
}

boost::asio::awaitable<bool> outbox_repository::complete(outbox_row row, push_result result) {
    std::vector<completion> items;
    items.emplace_back(std::move(row), std::move(result));
    const auto mine = co_await complete_all(std::move(items));
    co_return mine.at(0);
}

boost::asio::awaitable<std::vector<bool>> outbox_repository::complete_all(
    std::vector<completion> items) {
    for (const auto& [row, result] : items)
        if (!is_intake_entity(row.entity))
            throw std::invalid_argument("not a pushed entity: " + row.entity);
    if (items.empty()) co_return std::vector<bool>();
    const std::string st = st_, mi = mi_;
    auto job = [this, st, mi, items = std::move(items)](pqxx::connection& c) {
        for (const auto& [row, result] : items)
            for (const auto& [e, rows] : result.mirror_rows) mirror_.prepare(c, e);
        pqxx::work tx{c};
        mirror_.begin_write(tx);

        // The outbox rows, in one statement; only those still under our claim change.
        std::string values;
        for (const auto& [row, result] : items) {
            if (!values.empty()) values += ", ";
            values += "(" + std::to_string(row.id) + ", " + tx.quote(row.attempt_id) + "::uuid, " +
                      tx.quote(result.final_state) + ", " + tx.quote(result.error) + ", " +
                      (result.remote_id ? std::to_string(*result.remote_id) : "NULL") +
                      "::bigint, " + tx.quote(result.result_json) + "::jsonb)";
        }
        std::set<std::int64_t> mine_ids;
        for (const auto& r :
             tx.exec("UPDATE " + st +
                     ".outbox o SET state = u.state, last_error = NULLIF(u.error, ''),"
                     " remote_id = COALESCE(u.remote_id, o.remote_id), result = u.result,"
                     " claimed_by_pid = NULL, maybe_sent = (u.state = 'in_doubt' AND o.maybe_sent),"
                     " done_at = CASE WHEN u.state = 'done' THEN now() END"
                     " FROM (VALUES " +
                     values +
                     ") AS u(id, attempt_id, state, error, remote_id, result)"
                     " WHERE o.id = u.id AND o.attempt_id = u.attempt_id AND o.state = 'sending'"
                     " RETURNING o.id"))
            mine_ids.insert(r[0].as<std::int64_t>());  // others: taken over or discarded

        // The edits' own base values back in the mirror rows first (so the feed events of the
        // pushes show the edits): one statement per table and set of edited columns. The hash is
        // emptied with them: the row no longer holds what Kayako sent, so the answer below is
        // written even when the sync stored that same answer meanwhile (otherwise the hashes
        // match, the apply skips the row, and the base values stay).
        std::map<std::pair<std::string, std::string>, std::string> reverts;  // -> VALUES
        for (const auto& [row, result] : items) {
            if (!mine_ids.count(row.id) || !result.revert_edit || !row.object_id ||
                row.changed_columns.empty())
                continue;
            const auto& s = checked_spec(row.entity);
            std::string cols;
            for (const auto& col : row.changed_columns) {
                bool known = false;
                for (auto sc : s.columns) known = known || sc == col;
                if (!known) throw std::invalid_argument("unknown column " + col);
                cols += (cols.empty() ? "" : ", ") + quote_ident(col);
            }
            auto& v = reverts[std::make_pair(mi + "." + quote_ident(s.table), cols)];
            v += (v.empty() ? "(" : ", (") + std::to_string(*row.object_id) + ", " +
                 tx.quote(row.old_values) + "::jsonb)";
        }
        std::string revert_sql;
        for (const auto& [target, olds] : reverts) {
            const auto& [table, cols] = target;
            revert_sql += "UPDATE " + table + " t SET (" + cols + ") = (SELECT " + cols +
                          " FROM jsonb_populate_record(NULL::" + table +
                          ", v.old)), content_hash = '\\x'::bytea FROM (VALUES " + olds +
                          ") AS v(id, old) WHERE t.id = v.id; ";
        }
        if (!revert_sql.empty()) tx.exec(revert_sql);

        // Kayako's answers, one apply per entity and source (in first-seen order).
        std::vector<std::pair<std::pair<entity, change_source>, std::vector<mapped_row>>> groups;
        for (const auto& [row, result] : items) {
            if (!mine_ids.count(row.id)) continue;
            for (const auto& [e, rows] : result.mirror_rows) {
                const auto key = std::make_pair(e, result.source);
                auto it = std::find_if(groups.begin(), groups.end(),
                                       [&key](const auto& g) { return g.first == key; });
                if (it == groups.end()) {
                    groups.emplace_back(key, std::vector<mapped_row>());
                    it = std::prev(groups.end());
                }
                it->second.insert(it->second.end(), rows.begin(), rows.end());
            }
        }
        std::set<entity> written;
        for (std::size_t i = 0; i < groups.size(); ++i) {
            const auto& [key, rows] = groups[i];
            const bool more = i + 1 < groups.size();
            const auto stats = mirror_.apply_in(tx, c, key.first, rows, key.second, more);
            if (stats.written() > 0) written.insert(key.first);
        }
        for (auto e : written) mirror_.notify_feed(tx, e);

        for (const auto& [row, result] : items) {
            if (!mine_ids.count(row.id)) continue;
            const std::string remote_id = result.remote_id ? std::to_string(*result.remote_id) : "";
            if (row.operation == "create" && row.intake_id) {
                tx.exec_params("UPDATE " + st + ".intake_" + row.entity +
                                   " SET state = $2, kayako_id = COALESCE(NULLIF($3, '')::bigint, "
                                   "kayako_id), error = NULLIF($4, ''),"
                                   " done_at = CASE WHEN $2 = 'done' THEN now() END WHERE id = $1",
                               *row.intake_id, result.final_state, remote_id, result.error);
                if (row.entity == "users" && result.final_state == "done")
                    tx.exec_params("UPDATE " + st + ".intake_users SET password = '' WHERE id = $1",
                                   *row.intake_id);
            }
            for (const auto& k : result.conflicts) {
                tx.exec_params(
                    "INSERT INTO " + st +
                        ".conflicts (entity, object_id, column_name, base_value, local_value,"
                        " remote_value, policy, resolution, outbox_id, resolved_at, resolved_by)"
                        " VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, $6::jsonb, $7, $8, $9,"
                        " CASE WHEN $8 = 'pending' THEN NULL ELSE now() END,"
                        " CASE WHEN $8 = 'pending' THEN NULL ELSE 'policy ' || $7 END)",
                    row.entity, row.object_id.value_or(0), k.column, k.base, k.local, k.remote,
                    result.policy, k.resolution, row.id);
            }
        }
        tx.commit();
        std::vector<bool> out;
        out.reserve(items.size());
        for (const auto& [row, result] : items) out.push_back(mine_ids.count(row.id) > 0);
        return out;
    };
    co_return co_await db_.run_on(0, std::move(job));
}

boost::asio::awaitable<void> outbox_repository::release(std::vector<outbox_row> rows) {
    if (rows.empty()) co_return;
    const std::string sql =
        "UPDATE " + st_ +
        ".outbox SET state = 'pending', maybe_sent = $3, claimed_by_pid = NULL,"
        " attempts = attempts - 1 WHERE id = $1 AND attempt_id = $2::uuid AND state = 'sending'";
    auto job = [sql, rows = std::move(rows)](pqxx::connection& c) {
        pqxx::work tx{c};
        for (const auto& r : rows) tx.exec_params(sql, r.id, r.attempt_id, r.maybe_sent);
        tx.commit();
    };
    co_await db_.run(std::move(job));
}

boost::asio::awaitable<void> outbox_repository::reschedule(outbox_row row,
                                                           std::chrono::milliseconds delay,
                                                           std::string error, bool maybe_sent,
                                                           bool count_attempt) {
    const std::string sql =
        "UPDATE " + st_ +
        ".outbox SET state = 'pending', next_attempt_at = now() + make_interval(secs => $3),"
        " last_error = NULLIF($4, ''), maybe_sent = $5, claimed_by_pid = NULL,"
        " attempts = attempts - CASE WHEN $6 THEN 0 ELSE 1 END"
        " WHERE id = $1 AND attempt_id = $2::uuid AND state = 'sending'";
    auto job = [sql, row, delay, error, maybe_sent, count_attempt](pqxx::connection& c) {
        pqxx::work tx{c};
        tx.exec_params(sql, row.id, row.attempt_id, static_cast<double>(delay.count()) / 1000.0,
                       error, maybe_sent, count_attempt);
        tx.commit();
    };
    co_await db_.run(std::move(job));
}

boost::asio::awaitable<std::map<std::string, std::string>> outbox_repository::decisions(
    std::int64_t outbox_id) {
    const std::string sql = "SELECT column_name, COALESCE(resolution, 'pending') FROM " + st_ +
                            ".conflicts WHERE outbox_id = $1 ORDER BY id";
    auto job = [sql, outbox_id](pqxx::connection& c) {
        pqxx::read_transaction tx{c};
        std::map<std::string, std::string> out;
        for (const auto& r : tx.exec_params(sql, outbox_id)) out[r[0].c_str()] = r[1].c_str();
        return out;
    };
    co_return co_await db_.run(std::move(job));
}

boost::asio::awaitable<std::string> outbox_repository::intake_user_password(
    std::int64_t intake_id) {
    const std::string sql = "SELECT password FROM " + st_ + ".intake_users WHERE id = $1";
    auto job = [sql, intake_id](pqxx::connection& c) {
        pqxx::read_transaction tx{c};
        const auto r = tx.exec_params(sql, intake_id);
        if (r.empty())
            throw std::runtime_error("intake user row " + std::to_string(intake_id) + " is gone");
        return std::string(r[0][0].c_str());
    };
    co_return co_await db_.run(std::move(job));
}

boost::asio::awaitable<std::optional<std::int64_t>> outbox_repository::intake_ticket_kayako_id(
    std::int64_t intake_ticket_id) {
    const std::string sql = "SELECT kayako_id FROM " + st_ + ".intake_tickets WHERE id = $1";
    auto job = [sql, intake_ticket_id](pqxx::connection& c) -> std::optional<std::int64_t> {
        pqxx::read_transaction tx{c};
        const auto r = tx.exec_params(sql, intake_ticket_id);
        if (r.empty()) return std::nullopt;
        return opt_id(r[0][0]);
    };
    co_return co_await db_.run(std::move(job));
}

boost::asio::awaitable<std::vector<std::int64_t>> outbox_repository::adopted_ids(
    std::string entity_name) {
    const std::string sql =
        "SELECT remote_id FROM " + st_ +
        ".outbox WHERE entity = $1 AND operation = 'create' AND remote_id IS NOT NULL";
    auto job = [sql, entity_name](pqxx::connection& c) {
        pqxx::read_transaction tx{c};
        std::vector<std::int64_t> out;
        for (const auto& r : tx.exec_params(sql, entity_name))
            out.push_back(r[0].as<std::int64_t>());
        return out;
    };
    co_return co_await db_.run(std::move(job));
}

boost::asio::awaitable<std::vector<std::int64_t>> outbox_repository::mirror_ids(
    std::string entity_name) {
    const std::string sql = "SELECT id FROM " + mi_ + "." +
                            quote_ident(checked_spec(entity_name).table) +
                            " WHERE deleted_at IS NULL ORDER BY id";
    auto job = [sql](pqxx::connection& c) {
        pqxx::read_transaction tx{c};
        std::vector<std::int64_t> out;
        for (const auto& r : tx.exec(sql)) out.push_back(r[0].as<std::int64_t>());
        return out;
    };
    co_return co_await db_.run(std::move(job));
}

boost::asio::awaitable<std::vector<outbox_row>> outbox_repository::list(bool include_done,
                                                                        std::size_t limit) {
    const std::string sql = "SELECT " + std::string(row_columns) + " FROM " + st_ +
                            ".outbox o WHERE $1 OR o.state <> 'done' ORDER BY o.id LIMIT $2";
    auto job = [sql, include_done, limit](pqxx::connection& c) {
        pqxx::read_transaction tx{c};
        std::vector<outbox_row> out;
        for (const auto& r : tx.exec_params(sql, include_done, static_cast<long long>(limit)))
            out.push_back(read_row(r));
        return out;
    };
    co_return co_await db_.run(std::move(job));
}

boost::asio::awaitable<bool> outbox_repository::update_one_row(std::string sql, std::int64_t id) {
    auto job = [sql = std::move(sql), id](pqxx::connection& c) {
        pqxx::work tx{c};
        const bool ok = tx.exec_params(sql, id).affected_rows() == 1;
        tx.commit();
        return ok;
    };
    co_return co_await db_.run(std::move(job));
}

boost::asio::awaitable<bool> outbox_repository::retry(std::int64_t id) {
    std::string sql = "UPDATE " + st_ +
                      ".outbox SET state = 'pending', next_attempt_at = now(), attempts = 0"
                      " WHERE id = $1 AND state IN ('failed', 'in_doubt', 'held')";
    co_return co_await update_one_row(std::move(sql), id);
}

boost::asio::awaitable<bool> outbox_repository::discard(std::int64_t id) {
    std::string sql = "UPDATE " + st_ +
                      ".outbox SET state = 'failed', claimed_by_pid = NULL,"
                      " last_error = 'discarded by an operator'"
                      " WHERE id = $1 AND state NOT IN ('done', 'failed')";
    co_return co_await update_one_row(std::move(sql), id);
}

}  // namespace ksync::pg
