#pragma once

// The reads the sync engine makes of the mirror to decide what to fetch (all SQL stays in
// connectors/postgres). Reads run on any executor slot; they never block the event loop.

#include "connectors/postgres/db_executor.hpp"
#include "connectors/postgres/row_mapping.hpp"
#include "connectors/postgres/schema_names.hpp"

#include <boost/asio/awaitable.hpp>

#include <unordered_map>
#include <vector>

namespace ksync::pg {

class sync_reads {
public:
    sync_reads(db_executor& db, schema_names names) : db_(db), names_(std::move(names)) {}

    // last_activity_at (unix seconds, 0 for NULL) of the given tickets that the mirror holds
    // alive; ids it does not hold (or holds as deleted) are absent from the map.
    boost::asio::awaitable<std::unordered_map<id_t, kayako::unix_time>> ticket_activity(
        std::vector<id_t> ids);

    // The highest id the mirror has ever held for the entity, deleted rows included (0 if none).
    boost::asio::awaitable<id_t> max_id(entity e);

    // Number of alive rows (the base of the mass-delete guard's fraction).
    boost::asio::awaitable<std::int64_t> alive_count(entity e);

    // One keyset chunk of the ids the mirror holds alive: after < id <= upto, ascending, at most
    // `limit` of them. Scans compare their listing with these, range by range, so that no
    // whole-table id list is ever held in memory. For entities keyed by id alone.
    boost::asio::awaitable<std::vector<id_t>> alive_ids(entity e, id_t after, id_t upto,
                                                        std::size_t limit);

private:
    db_executor& db_;
    schema_names names_;
};

}  // namespace ksync::pg
