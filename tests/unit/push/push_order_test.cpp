// Push-back's concurrency rules without I/O: which outbox rows share an order key, and which
// waiting rows may start while others run (worker.hpp).
#include "daemon/push/worker.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace {

using namespace ksync;
using namespace ksync::push;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

pg::outbox_row update_of(const std::string& entity, std::int64_t id) {
    pg::outbox_row r;
    r.entity = entity;
    r.operation = "update";
    r.object_id = id;
    return r;
}

pg::outbox_row creation(const std::string& entity, const std::string& intake_json) {
    pg::outbox_row r;
    r.entity = entity;
    r.operation = "create";
    r.new_values = intake_json;
    return r;
}

TEST(push_order, an_update_is_keyed_by_its_object) {
    EXPECT_THAT(order_keys(update_of("tickets", 12)), ElementsAre("tickets:12"));
    EXPECT_THAT(order_keys(update_of("users", 12)), ElementsAre("users:12"));
}

TEST(push_order, creations_share_one_key_and_a_post_or_note_also_takes_its_tickets) {
    EXPECT_THAT(order_keys(creation("tickets", R"({"subject":"s"})")), ElementsAre("create"));
    EXPECT_THAT(order_keys(creation("users", R"({"full_name":"u"})")), ElementsAre("create"));
    EXPECT_THAT(order_keys(creation("posts", R"({"ticket_id":12,"contents":"c"})")),
                ElementsAre("create", "tickets:12"));
    EXPECT_THAT(order_keys(creation("notes", R"({"ticket_id":7,"contents":"c"})")),
                ElementsAre("create", "tickets:7"));
    // On a ticket that is itself being created: waits_for orders it; the creation key is enough.
    EXPECT_THAT(order_keys(creation("posts", R"({"intake_ticket_id":3,"contents":"c"})")),
                ElementsAre("create"));
    EXPECT_THAT(order_keys(creation("posts", "not json")), ElementsAre("create"));
}

TEST(push_order, rows_of_different_objects_start_together_up_to_the_free_slots) {
    const std::vector<std::vector<std::string>> waiting = {
        {"tickets:1"}, {"tickets:2"}, {"users:1"}, {"tickets:3"}, {"tickets:4"}};
    EXPECT_THAT(startable(waiting, {}, 8), ElementsAre(0, 1, 2, 3, 4));
    EXPECT_THAT(startable(waiting, {}, 3), ElementsAre(0, 1, 2));
    EXPECT_THAT(startable(waiting, {}, 0), IsEmpty());
}

TEST(push_order, a_row_waits_while_its_key_runs_and_never_overtakes_an_earlier_row) {
    // A reply to ticket 1 queued after a change of ticket 1, then a user creation, then a
    // change of ticket 2.
    const std::vector<std::vector<std::string>> waiting = {
        {"tickets:1"}, {"create", "tickets:1"}, {"create"}, {"tickets:2"}};
    // Nothing runs: the change of ticket 1 and of ticket 2 go; the reply waits for the change of
    // its ticket, and the user creation waits behind the reply (creations go in queue order).
    EXPECT_THAT(startable(waiting, {}, 8), ElementsAre(0, 3));
    // Ticket 1 is already being changed: its next change waits too.
    EXPECT_THAT(startable(waiting, {"tickets:1"}, 8), ElementsAre(3));
    // A creation runs: no other creation starts.
    const std::vector<std::vector<std::string>> creations = {{"create"}, {"tickets:5"}};
    EXPECT_THAT(startable(creations, {"create"}, 8), ElementsAre(1));
}

}  // namespace
