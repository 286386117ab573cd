#include "connectors/postgres/sync_reads.hpp"

#include <pqxx/pqxx>

namespace ksync::pg {

namespace {

std::string id_array(const std::vector<id_t>& ids) {
    std::string s = "{";
    for (std::size_t i = 0; i < ids.size(); ++i) {
        if (i) s += ',';
        s += std::to_string(ids[i]);
    }
    return s + "}";
}

std::string table_of(const schema_names& n, entity e) {
    return quote_ident(n.mirror) + "." + quote_ident(spec(e).table);
}

}  // namespace

boost::asio::awaitable<std::unordered_map<id_t, kayako::unix_time>> sync_reads::ticket_activity(
    std::vector<id_t> ids) {
    auto job = [table = table_of(names_, entity::tickets),
                arr = id_array(ids)](pqxx::connection& c) {
        pqxx::read_transaction tx{c};
        auto r = tx.exec_params(
            "SELECT id, COALESCE(extract(epoch FROM last_activity_at)::bigint, 0) FROM " + table +
                " WHERE id = ANY($1::bigint[]) AND deleted_at IS NULL",
            arr);
        std::unordered_map<id_t, kayako::unix_time> out;
        out.reserve(r.size());
        for (const auto& row : r) out.emplace(row[0].as<id_t>(), row[1].as<kayako::unix_time>());
        return out;
    };
    co_return co_await db_.run(std::move(job));
}

boost::asio::awaitable<id_t> sync_reads::max_id(entity e) {
    auto job = [table = table_of(names_, e)](pqxx::connection& c) {
        pqxx::read_transaction tx{c};
        return tx.exec1("SELECT COALESCE(max(id), 0) FROM " + table)[0].as<id_t>();
    };
    co_return co_await db_.run(std::move(job));
}

boost::asio::awaitable<std::int64_t> sync_reads::alive_count(entity e) {
    auto job = [table = table_of(names_, e)](pqxx::connection& c) {
        pqxx::read_transaction tx{c};
        return tx.exec1("SELECT count(*) FROM " + table + " WHERE deleted_at IS NULL")[0]
            .as<std::int64_t>();
    };
    co_return co_await db_.run(std::move(job));
}

boost::asio::awaitable<std::vector<id_t>> sync_reads::alive_ids(entity e, id_t after, id_t upto,
                                                                std::size_t limit) {
    auto job = [table = table_of(names_, e), after, upto, limit](pqxx::connection& c) {
        pqxx::read_transaction tx{c};
        // The primary key's index gives the range in order; LIMIT keeps the chunk small.
        auto r = tx.exec_params("SELECT id FROM " + table +
                                    " WHERE id > $1 AND id <= $2 AND deleted_at IS NULL"
                                    " ORDER BY id LIMIT $3",
                                after, upto, static_cast<long long>(limit));
        std::vector<id_t> out;
        out.reserve(r.size());
        for (const auto& row : r) out.push_back(row[0].as<id_t>());
        return out;
    };
    co_return co_await db_.run(std::move(job));
}

}  // namespace ksync::pg
