#include "connectors/kayako/client.hpp"

#include <cctype>

#include "connectors/kayako/response.hpp"
#include "connectors/kayako/retry_after.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fmt/format.h>

#include <stdexcept>

namespace ksync::kayako {

namespace asio = boost::asio;
using action = retry_decision::action;

namespace {

// Route segments as a vector. A function, not a braced list: g++ 12 rejects an initializer_list
// temporary inside a coroutine's co_await expression ("array used as initializer").
template <class... Parts>
std::vector<std::string> path(Parts&&... parts) {
    std::vector<std::string> v;
    v.reserve(sizeof...(parts));
    (v.emplace_back(std::forward<Parts>(parts)), ...);
    return v;
}

std::string csv(const std::vector<id_t>& ids) {
    std::string out;
    for (auto id : ids) {
        if (!out.empty()) out += ',';
        out += std::to_string(id);
    }
    return out;
}

std::string csv_or_any(const std::vector<id_t>& ids) {
    return ids.empty() ? "-1" : csv(ids);
}

const char* flag(bool b) {
    return b ? "1" : "0";
}

template <class T>
void add_opt(param_list& p, const char* name, const std::optional<T>& v) {
    if (!v) return;
    if constexpr (std::is_same_v<T, bool>)
        p.add(name, flag(*v));
    else if constexpr (std::is_same_v<T, std::string>)
        p.add(name, *v);
    else
        p.add(name, std::to_string(*v));
}

http::verb to_verb(http_method m) {
    switch (m) {
        case http_method::get:
            return http::verb::get;
        case http_method::post:
            return http::verb::post;
        case http_method::put:
            return http::verb::put;
        case http_method::delete_:
            return http::verb::delete_;
    }
    return http::verb::get;
}

std::string route(const std::vector<std::string>& segments) {
    std::string r;
    for (const auto& s : segments) r += "/" + s;
    return r;
}

http::origin origin_of(const base_url& b) {
    http::origin o;
    o.tls = b.scheme == "https";
    o.host = b.host;
    // http::origin keeps IPv6 literals bare; base_url keeps the brackets.
    if (o.host.size() > 2 && o.host.front() == '[' && o.host.back() == ']')
        o.host = o.host.substr(1, o.host.size() - 2);
    o.port = b.port;
    return o;
}

template <class T>
T first_or_throw(std::vector<T> v, const char* what) {
    if (v.empty())
        throw kayako_error(kayako_errc::unexpected_response, 200, "",
                           std::string("Kayako returned an empty container for ") + what);
    return std::move(v.front());
}

}  // namespace

// ---- form fields ------------------------------------------------------------------------------

param_list ticket_create_fields(const new_ticket& t) {
    param_list p;
    p.add("subject", t.subject).add("fullname", t.fullname).add("email", t.email);
    p.add("contents", t.contents);
    p.add("departmentid", std::to_string(t.departmentid));
    p.add("ticketstatusid", std::to_string(t.ticketstatusid));
    p.add("ticketpriorityid", std::to_string(t.ticketpriorityid));
    p.add("tickettypeid", std::to_string(t.tickettypeid));
    add_opt(p, "userid", t.userid);
    add_opt(p, "staffid", t.staffid);
    if (t.autouserid) p.add("autouserid", "1");
    add_opt(p, "ownerstaffid", t.ownerstaffid);
    add_opt(p, "templategroup", t.templategroup);
    p.add("type", t.phone ? "phone" : "default");
    if (t.ignoreautoresponder) p.add("ignoreautoresponder", "1");
    add_opt(p, "emailqueueid", t.emailqueueid);
    return p;
}

param_list ticket_update_fields(const ticket_update& u) {
    param_list p;
    add_opt(p, "departmentid", u.departmentid);
    add_opt(p, "ticketstatusid", u.ticketstatusid);
    add_opt(p, "ticketpriorityid", u.ticketpriorityid);
    add_opt(p, "tickettypeid", u.tickettypeid);
    add_opt(p, "ownerstaffid", u.ownerstaffid);
    add_opt(p, "subject", u.subject);
    add_opt(p, "fullname", u.fullname);
    add_opt(p, "email", u.email);
    add_opt(p, "userid", u.userid);
    add_opt(p, "templategroup", u.templategroup);
    return p;
}

param_list post_create_fields(const new_post& np) {
    param_list p;
    p.add("ticketid", std::to_string(np.ticketid)).add("contents", np.contents);
    add_opt(p, "userid", np.userid);
    add_opt(p, "staffid", np.staffid);
    p.add("isprivate", flag(np.isprivate));
    return p;
}

param_list note_create_fields(const new_note& n) {
    param_list p;
    p.add("ticketid", std::to_string(n.ticketid)).add("contents", n.contents);
    add_opt(p, "staffid", n.staffid);
    add_opt(p, "fullname", n.fullname);
    add_opt(p, "forstaffid", n.forstaffid);
    add_opt(p, "notecolor", n.notecolor);
    return p;
}

param_list user_create_fields(const new_user& u) {
    param_list p;
    p.add("fullname", u.fullname);
    p.add("usergroupid", std::to_string(u.usergroupid));
    p.add("password", std::string(u.password.reveal()));
    p.add_array("email", u.emails);
    add_opt(p, "userorganizationid", u.userorganizationid);
    add_opt(p, "salutation", u.salutation);
    add_opt(p, "designation", u.designation);
    add_opt(p, "phone", u.phone);
    add_opt(p, "timezone", u.timezone);
    add_opt(p, "userrole", u.userrole);
    add_opt(p, "isenabled", u.isenabled);
    add_opt(p, "enabledst", u.enabledst);
    add_opt(p, "sendwelcomeemail", u.sendwelcomeemail);
    add_opt(p, "slaplanid", u.slaplanid);
    add_opt(p, "slaplanexpiry", u.slaplanexpiry);
    add_opt(p, "userexpiry", u.userexpiry);
    return p;
}

param_list user_update_fields(const user_update& u) {
    if (u.fullname.empty())
        throw std::invalid_argument(
            "user PUT needs fullname every time (Kayako rejects it otherwise)");
    param_list p;
    p.add("fullname", u.fullname);
    add_opt(p, "usergroupid", u.usergroupid);
    add_opt(p, "userorganizationid", u.userorganizationid);
    add_opt(p, "salutation", u.salutation);
    add_opt(p, "designation", u.designation);
    add_opt(p, "phone", u.phone);
    add_opt(p, "timezone", u.timezone);
    add_opt(p, "userrole", u.userrole);
    add_opt(p, "isenabled", u.isenabled);
    add_opt(p, "enabledst", u.enabledst);
    if (u.emails) p.add_array("email", *u.emails);
    add_opt(p, "slaplanid", u.slaplanid);
    add_opt(p, "slaplanexpiry", u.slaplanexpiry);
    add_opt(p, "userexpiry", u.userexpiry);
    return p;
}

param_list organization_fields_params(const organization_fields& o) {
    if (o.name.empty()) throw std::invalid_argument("organization name is required");
    // PUT is a full replacement: every field goes out, empty ones included, so nothing is
    // reset by omission behind the caller's back.
    param_list p;
    p.add("name", o.name).add("organizationtype", o.organizationtype);
    p.add("address", o.address).add("city", o.city).add("state", o.state);
    p.add("postalcode", o.postalcode).add("country", o.country).add("phone", o.phone);
    p.add("fax", o.fax).add("website", o.website);
    p.add("slaplanid", std::to_string(o.slaplanid));
    p.add("slaplanexpiry", std::to_string(o.slaplanexpiry));
    return p;
}

param_list custom_field_params(const custom_field_values& v) {
    param_list p;
    for (const auto& [name, values] : v) {
        if (values.size() == 1)
            p.add(name, values.front());
        else
            p.add_array(name, values);
    }
    return p;
}

std::vector<std::string> ticket_list_segments(const ticket_list_query& q) {
    if (q.departments.empty())
        throw std::invalid_argument("ListAll needs department ids (none would list the trash)");
    if (q.count <= 0)
        throw std::invalid_argument("ListAll count must be > 0 (0 means no limit at all)");
    if (q.start < 0) throw std::invalid_argument("ListAll start must be >= 0");
    return path("Tickets", "Ticket", "ListAll", csv(q.departments), csv_or_any(q.statuses),
                csv_or_any(q.owners), csv_or_any(q.users), std::to_string(q.count),
                std::to_string(q.start), q.sortfield, q.descending ? "DESC" : "ASC");
}

// ---- the pipeline ----------------------------------------------------------------------------

client::client(asio::any_io_executor ex, http::transport& transport, request_builder builder,
               client_options opts, std::shared_ptr<spdlog::logger> log)
    : ex_(ex),
      transport_(transport),
      builder_(std::move(builder)),
      origin_(origin_of(builder_.base())),
      opts_(opts),
      log_(std::move(log)),
      breaker_(opts.breaker),
      pacer_(ex, opts.pacing),
      budget_(opts.retry_budget_ratio, opts.retry_budget_min_per_10s),
      rng_(opts.seed != 0 ? opts.seed : std::random_device{}()) {}

namespace {

// "Tickets/Ticket/ListAll/1,2/..." -> "Tickets/Ticket/ListAll"; "Tickets/Ticket/123" ->
// "Tickets/Ticket": the route without ids and arguments, a bounded label set for metrics.
std::string endpoint_label(const std::vector<std::string>& segments) {
    std::string out;
    for (std::size_t i = 0; i < segments.size() && i < 3; ++i) {
        const auto& s = segments[i];
        if (s.empty() || !std::isalpha(static_cast<unsigned char>(s[0]))) break;
        if (i == 2 && s != "ListAll" && s != "Filter") break;
        if (!out.empty()) out += '/';
        out += s;
    }
    return out;
}

}  // namespace

asio::awaitable<client::raw_result> client::call(http_method method,
                                                 std::vector<std::string> segments,
                                                 param_list params, request_priority prio,
                                                 http_method retry_as) {
    ++stats_.calls;
    const std::string what = fmt::format("{} {}", to_string(method), route(segments));
    budget_.record_request(retry_budget::clock::now());

    for (int attempt = 1;; ++attempt) {
        ++stats_.attempts;
        const auto now = circuit_breaker::clock::now();
        if (!breaker_.allow(now)) {
            ++stats_.breaker_rejections;
            throw circuit_open_error(what + ": circuit breaker open, nothing sent",
                                     breaker_.retry_at());
        }

        // If this coroutine is cancelled while it holds the half-open probe, count it as a
        // failure so the breaker does not wait forever for a verdict.
        struct probe_guard {
            circuit_breaker& b;
            bool settled = false;
            ~probe_guard() {
                if (!settled &&
                    b.current(circuit_breaker::clock::now()) == circuit_breaker::state::half_open)
                    b.record_failure(circuit_breaker::clock::now());
            }
        } guard{breaker_};

        http::result res;
        {
            auto permit = co_await pacer_.acquire(prio);
            // A fresh salt and signature for every attempt (build() signs).
            auto spec = builder_.build(method, segments, params);
            http::request req;
            req.to = origin_;
            req.method = to_verb(method);
            req.target = std::move(spec.target);
            req.content_type = std::move(spec.content_type);
            req.body = std::move(spec.body);
            const auto sent_at = std::chrono::steady_clock::now();
            res = co_await transport_.send(std::move(req));
            if (observer_) {
                const bool answered = res.kind == http::result_kind::response ||
                                      res.kind == http::result_kind::redirect_refused ||
                                      res.kind == http::result_kind::response_too_large;
                observer_(to_string(method), endpoint_label(segments),
                          answered ? static_cast<int>(res.res.status) : 0,
                          std::chrono::duration<double>(std::chrono::steady_clock::now() - sent_at)
                              .count());
            }
        }

        attempt_outcome outcome;
        switch (res.kind) {
            case http::result_kind::not_connected:
                outcome.what = attempt_outcome::kind::not_connected;
                break;
            case http::result_kind::maybe_sent:
                outcome.what = attempt_outcome::kind::maybe_sent;
                break;
            case http::result_kind::response:
            case http::result_kind::redirect_refused:
                outcome.what = attempt_outcome::kind::response;
                outcome.status = static_cast<int>(res.res.status);
                if (auto ra = res.res.retry_after())
                    outcome.retry_after = parse_retry_after(*ra, std::chrono::system_clock::now(),
                                                            opts_.retry.retry_after_clamp);
                break;
            case http::result_kind::response_too_large:
                guard.settled = true;
                breaker_.record_success();  // the server is alive; the answer is just too big
                ++stats_.failures;
                if (retry_as == http_method::post) {
                    ++stats_.outcome_unknown;
                    throw outcome_unknown(what +
                                          ": applied, but the response was over the body limit");
                }
                throw kayako_error(kayako_errc::unexpected_response,
                                   static_cast<int>(res.res.status), "",
                                   what + ": response over the body limit (" + res.message + ")");
        }

        const auto decision = decide_retry(retry_as, outcome, attempt, opts_.retry, rng_);

        // The breaker hears about the server's health, not about our request's merit.
        guard.settled = true;
        if (decision.what == action::auth_failure)
            breaker_.record_auth_failure(now);
        else if (outcome.what != attempt_outcome::kind::response || outcome.status >= 500)
            breaker_.record_failure(now);
        else
            breaker_.record_success();

        switch (decision.what) {
            case action::done: {
                std::string body = std::move(res.res.body);
                std::string content_type(res.res.content_type());
                checked_response checked;
                try {
                    checked = check_response(method, outcome.status, content_type, body);
                } catch (const kayako_error& e) {
                    ++stats_.failures;
                    // A 200 "Uncaught Exception" after a POST: it may have got half-way.
                    if (retry_as == http_method::post && e.errc() == kayako_errc::server_error) {
                        ++stats_.outcome_unknown;
                        throw outcome_unknown(what + ": " + e.what());
                    }
                    throw;
                }
                raw_result out;
                out.warning = std::move(checked.warning);
                const auto offset = static_cast<std::size_t>(checked.xml.data() - body.data());
                const auto length = checked.xml.size();
                if (length == 0) {
                    body.clear();
                } else {
                    body.erase(0, offset);
                    body.resize(length);
                }
                out.body = std::move(body);
                if (!out.warning.empty())
                    log_->warn("{}: text before the XML: {}", what, out.warning);
                co_return out;
            }
            case action::retry: {
                if (!budget_.try_spend(retry_budget::clock::now())) {
                    ++stats_.failures;
                    throw kayako_error(kayako_errc::unexpected_response, outcome.status, "",
                                       what + ": retry budget exhausted after: " + decision.reason);
                }
                ++stats_.retries;
                log_->warn("{}: attempt {} failed ({}{}); retrying in {} ms", what, attempt,
                           decision.reason, res.message.empty() ? "" : ": " + res.message,
                           decision.delay.count());
                asio::steady_timer timer(ex_, decision.delay);
                co_await timer.async_wait(asio::use_awaitable);
                continue;
            }
            case action::outcome_unknown:
                ++stats_.failures;
                ++stats_.outcome_unknown;
                throw outcome_unknown(what + ": " + decision.reason +
                                      (res.message.empty() ? "" : " (" + res.message + ")"));
            case action::auth_failure:
            case action::fail:
                ++stats_.failures;
                if (outcome.what == attempt_outcome::kind::response) {
                    // check_response turns Kayako's plain-text error bodies into typed errors.
                    (void)check_response(method, outcome.status, res.res.content_type(),
                                         res.res.body);
                    throw kayako_error(kayako_errc::unexpected_response, outcome.status, "",
                                       what + ": " + decision.reason);
                }
                throw kayako_error(kayako_errc::unexpected_response, 0, "",
                                   what + ": " + decision.reason + ": " + res.message);
        }
    }
}

template <class T, class Decode>
asio::awaitable<page<T>> client::fetch_page(std::vector<std::string> segments,
                                            request_priority prio, Decode decode) {
    auto raw = co_await call(http_method::get, std::move(segments), {}, prio, http_method::get);
    page<T> p;
    p.warning = std::move(raw.warning);
    decode(
        raw.body, [&](T&& r) { p.records.push_back(std::move(r)); },
        [&](record_error&& e) { p.bad.push_back(std::move(e)); });
    co_return p;
}

// ---- reads ----------------------------------------------------------------------------------

asio::awaitable<page<ticket>> client::list_tickets(ticket_list_query q, request_priority prio) {
    auto segments = ticket_list_segments(q);
    auto p = co_await fetch_page<ticket>(std::move(segments), prio, &decode_tickets);
    const auto n = p.records.size() + p.bad.size();
    if (n > static_cast<std::size_t>(q.count))
        throw kayako_error(
            kayako_errc::unexpected_response, 200, "",
            fmt::format("ListAll returned {} tickets for a page of {}: this Kayako "
                        "ignores count/start (a server older than SWIFT-3324); paging "
                        "it would never end. Upgrade the helpdesk.",
                        n, q.count));
    co_return p;
}

asio::awaitable<std::optional<ticket>> client::get_ticket(id_t id, request_priority prio) {
    // (No co_return inside the handler: g++ 12 miscompiles that in a coroutine.)
    page<ticket> p;
    bool missing = false;
    try {
        p = co_await fetch_page<ticket>(path("Tickets", "Ticket", std::to_string(id)), prio,
                                        &decode_tickets);
    } catch (const kayako_error& e) {
        if (e.errc() != kayako_errc::not_found) throw;
        missing = true;
    }
    if (missing || p.records.empty()) {
        if (!p.bad.empty()) throw p.bad.front();
        co_return std::nullopt;
    }
    if (!p.bad.empty()) throw p.bad.front();
    co_return std::move(p.records.front());
}

asio::awaitable<page<post>> client::list_posts(id_t ticketid, request_priority prio) {
    return fetch_page<post>(path("Tickets", "TicketPost", "ListAll", std::to_string(ticketid)),
                            prio, &decode_posts);
}
asio::awaitable<page<note>> client::list_notes(id_t ticketid, request_priority prio) {
    return fetch_page<note>(path("Tickets", "TicketNote", "ListAll", std::to_string(ticketid)),
                            prio, &decode_notes);
}
asio::awaitable<page<time_track>> client::list_time_tracks(id_t ticketid, request_priority prio) {
    return fetch_page<time_track>(
        path("Tickets", "TicketTimeTrack", "ListAll", std::to_string(ticketid)), prio,
        &decode_time_tracks);
}
asio::awaitable<page<attachment>> client::list_attachments(id_t ticketid, request_priority prio) {
    return fetch_page<attachment>(
        path("Tickets", "TicketAttachment", "ListAll", std::to_string(ticketid)), prio,
        &decode_attachments);
}

asio::awaitable<ticket_custom_fields> client::get_ticket_custom_fields(id_t ticketid,
                                                                       request_priority prio) {
    auto raw = co_await call(http_method::get,
                             path("Tickets", "TicketCustomField", std::to_string(ticketid)), {},
                             prio, http_method::get);
    co_return parse_ticket_custom_fields(raw.body, ticketid);
}

asio::awaitable<ticket_count> client::get_ticket_count() {
    auto raw = co_await call(http_method::get, path("Tickets", "TicketCount"), {},
                             request_priority::incremental, http_method::get);
    co_return parse_ticket_count(raw.body);
}

asio::awaitable<page<ticket>> client::search_tickets(std::string query,
                                                     std::vector<std::string> areas) {
    param_list params;
    params.add("query", std::move(query));
    for (auto& a : areas) params.add(std::move(a), "1");
    auto raw = co_await call(http_method::post, path("Tickets", "TicketSearch"), std::move(params),
                             request_priority::write, http_method::get);
    page<ticket> p;
    p.warning = std::move(raw.warning);
    decode_tickets(
        raw.body, [&](ticket&& t) { p.records.push_back(std::move(t)); },
        [&](record_error&& e) { p.bad.push_back(std::move(e)); });
    co_return p;
}

asio::awaitable<page<user>> client::filter_users(id_t marker, int max_items,
                                                 request_priority prio) {
    if (max_items < 1 || max_items > 1000)
        throw std::invalid_argument("Filter returns at most 1000 users per call");
    auto p = co_await fetch_page<user>(
        path("Base", "User", "Filter", std::to_string(marker), std::to_string(max_items)), prio,
        &decode_users);
    const auto n = p.records.size() + p.bad.size();
    if (n > static_cast<std::size_t>(max_items))
        throw kayako_error(
            kayako_errc::unexpected_response, 200, "",
            fmt::format("User Filter returned {} users for at most {}", n, max_items));
    co_return p;
}

asio::awaitable<std::optional<user>> client::get_user(id_t id) {
    // Id 0 means "no id" to Kayako and would list users instead.
    if (id <= 0) throw std::invalid_argument("user id must be > 0");
    auto p = co_await fetch_page<user>(path("Base", "User", std::to_string(id)),
                                       request_priority::incremental, &decode_users);
    if (!p.bad.empty()) throw p.bad.front();
    if (p.records.empty()) co_return std::nullopt;  // unknown ids give an empty container
    co_return std::move(p.records.front());
}

asio::awaitable<page<organization>> client::list_organizations() {
    return fetch_page<organization>(path("Base", "UserOrganization"), request_priority::incremental,
                                    &decode_organizations);
}

asio::awaitable<std::optional<organization>> client::get_organization(id_t id) {
    if (id <= 0) throw std::invalid_argument("organization id must be > 0");
    auto p =
        co_await fetch_page<organization>(path("Base", "UserOrganization", std::to_string(id)),
                                          request_priority::incremental, &decode_organizations);
    if (!p.bad.empty()) throw p.bad.front();
    if (p.records.empty()) co_return std::nullopt;
    co_return std::move(p.records.front());
}

asio::awaitable<page<department>> client::list_departments() {
    return fetch_page<department>(path("Base", "Department"), request_priority::incremental,
                                  &decode_departments);
}
asio::awaitable<page<ticket_status>> client::list_ticket_statuses() {
    return fetch_page<ticket_status>(path("Tickets", "TicketStatus"), request_priority::incremental,
                                     &decode_ticket_statuses);
}
asio::awaitable<page<ticket_priority>> client::list_ticket_priorities() {
    return fetch_page<ticket_priority>(path("Tickets", "TicketPriority"),
                                       request_priority::incremental, &decode_ticket_priorities);
}
asio::awaitable<page<ticket_type>> client::list_ticket_types() {
    return fetch_page<ticket_type>(path("Tickets", "TicketType"), request_priority::incremental,
                                   &decode_ticket_types);
}
asio::awaitable<page<user_group>> client::list_user_groups() {
    return fetch_page<user_group>(path("Base", "UserGroup"), request_priority::incremental,
                                  &decode_user_groups);
}
asio::awaitable<page<staff>> client::list_staff() {
    return fetch_page<staff>(path("Base", "Staff"), request_priority::incremental, &decode_staff);
}
asio::awaitable<page<staff_group>> client::list_staff_groups() {
    return fetch_page<staff_group>(path("Base", "StaffGroup"), request_priority::incremental,
                                   &decode_staff_groups);
}
asio::awaitable<page<custom_field_definition>> client::list_custom_fields() {
    return fetch_page<custom_field_definition>(path("Base", "CustomField"),
                                               request_priority::incremental,
                                               &decode_custom_field_definitions);
}
asio::awaitable<page<custom_field_option>> client::list_custom_field_options(id_t customfieldid) {
    return fetch_page<custom_field_option>(
        path("Base", "CustomField", "ListOptions", std::to_string(customfieldid)),
        request_priority::incremental, &decode_custom_field_options);
}

// ---- writes ---------------------------------------------------------------------------------

namespace {

// A POST that was applied but whose answer we cannot read: the object exists, we just do not
// know its id. That is "outcome unknown" for the caller (reconcile), not a plain failure.
template <class T, class Parse>
T decode_created(const std::string& body, Parse parse, const std::string& what) {
    try {
        return first_or_throw(parse(body), what.c_str());
    } catch (const std::exception& e) {
        throw outcome_unknown(what +
                              ": applied, but the response could not be decoded: " + e.what());
    }
}

}  // namespace

asio::awaitable<ticket> client::create_ticket(new_ticket t) {
    auto raw = co_await call(http_method::post, path("Tickets", "Ticket"), ticket_create_fields(t),
                             request_priority::write, http_method::post);
    co_return decode_created<ticket>(raw.body, &parse_tickets, "POST /Tickets/Ticket");
}

asio::awaitable<ticket> client::update_ticket(id_t id, ticket_update u) {
    auto raw = co_await call(http_method::put, path("Tickets", "Ticket", std::to_string(id)),
                             ticket_update_fields(u), request_priority::write, http_method::put);
    co_return first_or_throw(parse_tickets(raw.body), "PUT /Tickets/Ticket");
}

asio::awaitable<post> client::create_post(new_post p) {
    if (!p.userid && !p.staffid) throw std::invalid_argument("a post needs a userid or a staffid");
    auto raw = co_await call(http_method::post, path("Tickets", "TicketPost"),
                             post_create_fields(p), request_priority::write, http_method::post);
    co_return decode_created<post>(raw.body, &parse_posts, "POST /Tickets/TicketPost");
}

asio::awaitable<note> client::create_note(new_note n) {
    if (!n.staffid && (!n.fullname || n.fullname->empty()))
        throw std::invalid_argument("a note needs a staffid or a fullname");
    auto raw = co_await call(http_method::post, path("Tickets", "TicketNote"),
                             note_create_fields(n), request_priority::write, http_method::post);
    co_return decode_created<note>(raw.body, &parse_notes, "POST /Tickets/TicketNote");
}

asio::awaitable<user> client::create_user(new_user u) {
    auto raw = co_await call(http_method::post, path("Base", "User"), user_create_fields(u),
                             request_priority::write, http_method::post);
    co_return decode_created<user>(raw.body, &parse_users, "POST /Base/User");
}

asio::awaitable<user> client::update_user(id_t id, user_update u) {
    auto fields = user_update_fields(u);
    auto raw = co_await call(http_method::put, path("Base", "User", std::to_string(id)),
                             std::move(fields), request_priority::write, http_method::put);
    co_return first_or_throw(parse_users(raw.body), "PUT /Base/User");
}

asio::awaitable<organization> client::create_organization(organization_fields o) {
    auto fields = organization_fields_params(o);
    auto raw = co_await call(http_method::post, path("Base", "UserOrganization"), std::move(fields),
                             request_priority::write, http_method::post);
    co_return decode_created<organization>(raw.body, &parse_organizations,
                                           "POST /Base/UserOrganization");
}

asio::awaitable<organization> client::update_organization(id_t id, organization_fields o) {
    auto fields = organization_fields_params(o);
    auto raw = co_await call(http_method::put, path("Base", "UserOrganization", std::to_string(id)),
                             std::move(fields), request_priority::write, http_method::put);
    co_return first_or_throw(parse_organizations(raw.body), "PUT /Base/UserOrganization");
}

asio::awaitable<ticket_custom_fields> client::set_ticket_custom_fields(id_t ticketid,
                                                                       custom_field_values v) {
    // A POST, but an upsert of the given values: resending it is harmless, so it retries like PUT.
    auto raw = co_await call(http_method::post,
                             path("Tickets", "TicketCustomField", std::to_string(ticketid)),
                             custom_field_params(v), request_priority::write, http_method::put);
    co_return parse_ticket_custom_fields(raw.body, ticketid);
}

asio::awaitable<void> client::delete_ticket(id_t id) {
    co_await call(http_method::delete_, path("Tickets", "Ticket", std::to_string(id)), {},
                  request_priority::write, http_method::delete_);
}
asio::awaitable<void> client::delete_post(id_t ticketid, id_t postid) {
    co_await call(http_method::delete_,
                  path("Tickets", "TicketPost", std::to_string(ticketid), std::to_string(postid)),
                  {}, request_priority::write, http_method::delete_);
}
asio::awaitable<void> client::delete_note(id_t ticketid, id_t noteid) {
    co_await call(http_method::delete_,
                  path("Tickets", "TicketNote", std::to_string(ticketid), std::to_string(noteid)),
                  {}, request_priority::write, http_method::delete_);
}
asio::awaitable<void> client::delete_user(id_t id) {
    co_await call(http_method::delete_, path("Base", "User", std::to_string(id)), {},
                  request_priority::write, http_method::delete_);
}
asio::awaitable<void> client::delete_organization(id_t id) {
    co_await call(http_method::delete_, path("Base", "UserOrganization", std::to_string(id)), {},
                  request_priority::write, http_method::delete_);
}

}  // namespace ksync::kayako
