#pragma once

// The typed Kayako API that the sync engine and the push worker call (kayako-api.md §4-§6,
// reliability.md §4). Every call goes through one pipeline:
//
//   circuit breaker -> pacer (in-flight + rate, writes first) -> sign (fresh salt per attempt)
//   -> transport -> classify -> retry decision (method x outcome) -> decode
//
// Errors a caller sees (all exceptions):
//   kayako_error        a definite failure with Kayako's status and message (400/404 ..., or a
//                       page that is not usable XML); the request was not applied
//   outcome_unknown     a POST that may have been applied: reconcile before anything is resent
//   circuit_open_error  the breaker refuses calls until retry_at(); nothing was sent
//   xml_error           the page was broken as a whole: commit nothing from it
// Single bad records do not throw from the page calls: they come back in page<T>::bad so the
// caller can quarantine them and go on.

#include "connectors/http/transport.hpp"
#include "connectors/kayako/circuit_breaker.hpp"
#include "connectors/kayako/decode.hpp"
#include "connectors/kayako/errors.hpp"
#include "connectors/kayako/pacer.hpp"
#include "connectors/kayako/records.hpp"
#include "connectors/kayako/retry_policy.hpp"
#include "connectors/kayako/url.hpp"

#include <spdlog/logger.h>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <functional>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace ksync::kayako {

// A POST whose fate is unknown (timeout after sending, a 5xx, a lost response).
class outcome_unknown : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class circuit_open_error : public std::runtime_error {
public:
    circuit_open_error(std::string what, circuit_breaker::clock::time_point retry_at)
        : std::runtime_error(std::move(what)), retry_at_(retry_at) {}
    [[nodiscard]] circuit_breaker::clock::time_point retry_at() const noexcept { return retry_at_; }

private:
    circuit_breaker::clock::time_point retry_at_;
};

// One decoded page: the good records, the ones to quarantine, and any PHP warning text that
// preceded the XML (to log).
template <class T>
struct page {
    std::vector<T> records;
    std::vector<record_error> bad;
    std::string warning;
};

struct client_options {
    retry_options retry;
    circuit_breaker::options breaker;
    pacer_options pacing;
    double retry_budget_ratio = 0.2;
    int retry_budget_min_per_10s = 10;
    std::uint64_t seed = 0;  // jitter seed; 0 = from std::random_device
};

// Ticket ListAll (§4.1). Departments are required; an empty status list would make Kayako list
// only unresolved tickets, so the sync always passes every status id.
struct ticket_list_query {
    std::vector<id_t> departments;
    std::vector<id_t> statuses;  // empty = -1 (Kayako's unresolved-only default!)
    std::vector<id_t> owners;    // empty = -1
    std::vector<id_t> users;     // empty = -1
    int count = 1000;            // > 0: rows per page (0 would mean "everything at once")
    int start = 0;               // zero-based offset
    std::string sortfield = "lastactivity";
    bool descending = true;
};

// ---- writes -----------------------------------------------------------------------------
struct new_ticket {
    std::string subject, fullname, email, contents;
    id_t departmentid = 0, ticketstatusid = 0, ticketpriorityid = 0, tickettypeid = 0;
    std::optional<id_t> userid;  // the email must be one of this user's emails
    std::optional<id_t> staffid;
    bool autouserid = false;  // get or create the user from fullname + email
    std::optional<id_t> ownerstaffid;
    std::optional<std::string> templategroup;
    bool phone = false;  // type=phone
    bool ignoreautoresponder = false;
    std::optional<id_t> emailqueueid;
};

// Ticket PUT is partial: only present fields are sent. Kayako ignores invalid values silently,
// so callers compare the returned ticket with what they asked for.
struct ticket_update {
    std::optional<id_t> departmentid, ticketstatusid, ticketpriorityid, tickettypeid, ownerstaffid,
        userid;
    std::optional<std::string> subject, fullname, email, templategroup;
};

struct new_post {
    id_t ticketid = 0;
    std::string contents;
    std::optional<id_t> userid;  // wins over staffid when both are given
    std::optional<id_t> staffid;
    bool isprivate = false;  // always sent: PHP 8 prints a warning before the XML when it is absent
};

struct new_note {
    id_t ticketid = 0;
    std::string contents;
    std::optional<id_t> staffid;
    std::optional<std::string> fullname;  // required when there is no staffid
    std::optional<id_t> forstaffid;
    std::optional<int> notecolor;
};

struct new_user {
    std::string fullname;
    ksync::secret password;
    std::vector<std::string> emails;
    id_t usergroupid = 0;
    std::optional<id_t> userorganizationid;
    std::optional<std::string> salutation, designation, phone, timezone, userrole;
    std::optional<bool> isenabled, enabledst, sendwelcomeemail;
    std::optional<id_t> slaplanid;
    std::optional<unix_time> slaplanexpiry, userexpiry;
};

// User PUT needs fullname every time (§4.10); every other field keeps its value when absent.
struct user_update {
    std::string fullname;
    std::optional<id_t> usergroupid, userorganizationid;
    std::optional<std::string> salutation, designation, phone, timezone, userrole;
    std::optional<bool> isenabled, enabledst;
    std::optional<std::vector<std::string>> emails;
    std::optional<id_t> slaplanid;
    std::optional<unix_time> slaplanexpiry, userexpiry;
};

// Organization PUT replaces every field (§4.11): the whole record is always sent.
struct organization_fields {
    std::string name;
    std::string organizationtype = "restricted";
    std::string address, city, state, postalcode, country, phone, fax, website;
    id_t slaplanid = 0;
    unix_time slaplanexpiry = 0;
};

// TicketCustomField POST: values keyed by fieldname; several values for multi-value fields.
using custom_field_values = std::map<std::string, std::vector<std::string>>;

// Form fields exactly as they go on the wire; exposed for the push worker's dry run and tests.
param_list ticket_create_fields(const new_ticket& t);
param_list ticket_update_fields(const ticket_update& u);
param_list post_create_fields(const new_post& p);
param_list note_create_fields(const new_note& n);
param_list user_create_fields(const new_user& u);
param_list user_update_fields(const user_update& u);
param_list organization_fields_params(const organization_fields& o);
param_list custom_field_params(const custom_field_values& v);
std::vector<std::string> ticket_list_segments(const ticket_list_query& q);

struct client_stats {
    std::uint64_t calls = 0;
    std::uint64_t attempts = 0;
    std::uint64_t retries = 0;
    std::uint64_t failures = 0;
    std::uint64_t outcome_unknown = 0;
    std::uint64_t breaker_rejections = 0;
};

class client {
public:
    client(boost::asio::any_io_executor ex, http::transport& transport, request_builder builder,
           client_options opts, std::shared_ptr<spdlog::logger> log);

    // ---- reads: tickets and their children
    boost::asio::awaitable<page<ticket>> list_tickets(
        ticket_list_query q, request_priority prio = request_priority::incremental);
    // nullopt when Kayako answers 404 "Ticket not Found".
    boost::asio::awaitable<std::optional<ticket>> get_ticket(
        id_t id, request_priority prio = request_priority::incremental);
    boost::asio::awaitable<page<post>> list_posts(
        id_t ticketid, request_priority prio = request_priority::incremental);
    boost::asio::awaitable<page<note>> list_notes(
        id_t ticketid, request_priority prio = request_priority::incremental);
    boost::asio::awaitable<page<time_track>> list_time_tracks(
        id_t ticketid, request_priority prio = request_priority::incremental);
    boost::asio::awaitable<page<attachment>> list_attachments(
        id_t ticketid, request_priority prio = request_priority::incremental);
    boost::asio::awaitable<ticket_custom_fields> get_ticket_custom_fields(
        id_t ticketid, request_priority prio = request_priority::incremental);
    boost::asio::awaitable<ticket_count> get_ticket_count();
    // TicketSearch is a POST that changes nothing, so it is retried like a GET.
    boost::asio::awaitable<page<ticket>> search_tickets(std::string query,
                                                        std::vector<std::string> areas);

    // ---- reads: users and organizations
    // Filter: users with id >= marker (inclusive), at most max_items (<= 1000), by id ascending.
    boost::asio::awaitable<page<user>> filter_users(
        id_t marker, int max_items = 1000, request_priority prio = request_priority::incremental);
    boost::asio::awaitable<std::optional<user>> get_user(id_t id);
    boost::asio::awaitable<page<organization>> list_organizations();
    boost::asio::awaitable<std::optional<organization>> get_organization(id_t id);

    // ---- reads: lookups
    boost::asio::awaitable<page<department>> list_departments();
    boost::asio::awaitable<page<ticket_status>> list_ticket_statuses();
    boost::asio::awaitable<page<ticket_priority>> list_ticket_priorities();
    boost::asio::awaitable<page<ticket_type>> list_ticket_types();
    boost::asio::awaitable<page<user_group>> list_user_groups();
    boost::asio::awaitable<page<staff>> list_staff();
    boost::asio::awaitable<page<staff_group>> list_staff_groups();
    boost::asio::awaitable<page<custom_field_definition>> list_custom_fields();
    boost::asio::awaitable<page<custom_field_option>> list_custom_field_options(id_t customfieldid);

    // ---- writes (priority: write). POSTs throw outcome_unknown when they may have been applied.
    boost::asio::awaitable<ticket> create_ticket(new_ticket t);
    boost::asio::awaitable<ticket> update_ticket(id_t id, ticket_update u);
    boost::asio::awaitable<post> create_post(new_post p);
    boost::asio::awaitable<note> create_note(new_note n);
    boost::asio::awaitable<user> create_user(new_user u);
    boost::asio::awaitable<user> update_user(id_t id, user_update u);
    boost::asio::awaitable<organization> create_organization(organization_fields o);
    boost::asio::awaitable<organization> update_organization(id_t id, organization_fields o);
    boost::asio::awaitable<ticket_custom_fields> set_ticket_custom_fields(id_t ticketid,
                                                                          custom_field_values v);
    boost::asio::awaitable<void> delete_ticket(id_t id);
    boost::asio::awaitable<void> delete_post(id_t ticketid, id_t postid);
    boost::asio::awaitable<void> delete_note(id_t ticketid, id_t noteid);
    boost::asio::awaitable<void> delete_user(id_t id);
    boost::asio::awaitable<void> delete_organization(id_t id);

    // The raw pipeline: returns the checked XML body (owned). `retry_as` is the method whose
    // retry rules apply (GET for a read-only POST such as TicketSearch).
    struct raw_result {
        std::string body;
        std::string warning;
    };
    boost::asio::awaitable<raw_result> call(http_method method, std::vector<std::string> segments,
                                            param_list params, request_priority prio,
                                            http_method retry_as);

    [[nodiscard]] const client_stats& stats() const noexcept { return stats_; }

    // Called after every attempt that reached the transport (metrics): the method, the endpoint
    // (the route without ids, e.g. "Tickets/Ticket/ListAll"), the HTTP status (0: no response)
    // and the attempt's duration in seconds.
    using observer_fn = std::function<void(std::string_view method, const std::string& endpoint,
                                           int status, double seconds)>;
    void set_observer(observer_fn f) { observer_ = std::move(f); }
    [[nodiscard]] circuit_breaker::state breaker_state() const {
        return breaker_.current(circuit_breaker::clock::now());
    }
    [[nodiscard]] const circuit_breaker& breaker() const noexcept { return breaker_; }
    [[nodiscard]] pacer& request_pacer() noexcept { return pacer_; }

private:
    template <class T, class Decode>
    boost::asio::awaitable<page<T>> fetch_page(std::vector<std::string> segments,
                                               request_priority prio, Decode decode);

    boost::asio::any_io_executor ex_;
    observer_fn observer_;
    http::transport& transport_;
    request_builder builder_;
    http::origin origin_;
    client_options opts_;
    std::shared_ptr<spdlog::logger> log_;
    circuit_breaker breaker_;
    pacer pacer_;
    retry_budget budget_;
    std::mt19937_64 rng_;
    client_stats stats_;
};

}  // namespace ksync::kayako
