#pragma once

// The emulator's request handling, without sockets: one HTTP request in, one response out. The
// Beast server (server.hpp) feeds it; tests may also call handle() directly.
//
// Order of processing, as in Kayako's front controller (kayako-api.md §1-§2):
//   superglobals ($_GET/$_POST/$_REQUEST) -> route string (?e= / PATH_INFO / ?/) -> segments ->
//   app + controller (404 HTML) -> argument check (400 HTML) -> forbidden action (404 HTML) ->
//   verb check -> variable container (§1.3) -> auth (403 / 401) -> method dispatch.
//
// Extension points for part 2 (writes, control interface, request log, faults): handle() is the
// single entry; controllers are a table of (app, controller) -> method handlers that receive a
// call_context with write access through `model_for_write()`; unauthenticated control paths are
// recognised before routing.

#include "tests/emulator/model.hpp"
#include "tests/emulator/php.hpp"
#include "tests/emulator/xml_writer.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <utility>
#include <vector>

namespace ksync::emulator {

struct http_request {
    std::string method;  // as sent: GET, POST, PUT, DELETE, HEAD, ...
    std::string target;  // origin-form: /api/index.php?/Tickets/Ticket/1&apikey=...
    std::string content_type;
    std::string host;
    std::string body;
    bool from_loopback = true;  // the control interface answers loopback peers only
};

// How the server must deliver a response; anything but `normal` comes from an injected fault.
enum class transport_fault {
    normal,
    hang,      // accept the request and never answer (until the client goes away)
    slow,      // send the response one byte per `byte_interval_ms`
    truncate,  // announce the full Content-Length, send half the body, close
    reset,     // close with a TCP reset instead of answering
};

struct http_response {
    http_response() = default;
    http_response(int s, std::string type, std::string b)
        : status(s), content_type(std::move(type)), body(std::move(b)) {}

    int status = 200;
    std::string content_type;  // empty: no Content-Type header
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;  // extra headers (Retry-After)
    transport_fault transport = transport_fault::normal;
    int delay_ms = 0;  // wait this long before answering
    int byte_interval_ms = 1000;
};

// A fault injected per endpoint through the control interface (see control.cpp for the kinds).
// Kinds: status (500/502/503/504), rate_limit (429 + Retry-After), hang, reset, html_200,
// uncaught_200, xxe, huge_body (answer replaced, request not executed); latency, slow, truncate,
// lost_response, malformed_xml, php_warning, html_after_xml (request executed, answer damaged).
struct fault_rule {
    int id = 0;
    std::string endpoint;  // "Tickets/Ticket/ListAll", "Tickets/Ticket", "" = every API call
    std::string verb;      // "" = any
    std::string kind;
    int remaining = -1;  // -1: no limit
    double probability = 1.0;
    int status = 503;
    std::string retry_after;  // seconds or an HTTP date
    int delay_ms = 0;
    int interval_ms = 1000;
    std::size_t size = 64 * 1024 * 1024;  // huge_body
    int hits = 0;
};

// One entry of the request log (credentials removed).
struct log_entry {
    std::uint64_t seq = 0;
    std::int64_t time = 0;  // helpdesk clock
    std::string method;
    std::string path;      // the route, e.g. /Tickets/Ticket/ListAll/1
    std::string endpoint;  // app/controller/method, e.g. tickets/Ticket/listall
    std::string salt;
    std::vector<std::pair<std::string, std::string>>
        fields;  // form fields minus apikey/salt/signature
    int status = 0;
    std::string fault;
};

struct api_options {
    std::string apikey = "4e2b1c9a-7d3f-4a61-9b8e-2f5c0d6e1a73";
    // 96 characters with + / = like a real generated secret (used verbatim as the HMAC key).
    std::string secret =
        "ZTk3ZWUxNmQtN2ZmMC00ZjM2LWE5ZDItOTQ0ZWI2ODZhMjU1MDdiZjQ5Y2EtZDQ+ZS00ZmQ5LWI2/"
        "2UtNDcwODk0YmYzNmU=";
    php_version php = php_version::php7;
    bool api_enabled = true;
    // Setting t_eticketid: "seq" (displayid = ticketid, the default) or "random" (mask ids).
    bool mask_display_ids = false;
    // Setting t_postorder: posts ascending (default) or descending.
    bool posts_descending = false;
};

class service;

// What a controller method sees of the request.
struct call_context {
    service& svc;
    const helpdesk& model;
    const api_options& options;
    const php::vars& post;  // $_POST (fields of POST/PUT bodies)
    const php::vars& get;   // $_GET
    std::string verb;
    std::uint64_t nonce;  // per request: drives the reshuffling of sort ties and unordered lists
    helpdesk* writable = nullptr;  // set for Post/Put/Delete, which run under the exclusive lock
    std::int64_t now = 0;          // the helpdesk clock for this request
};

// Thrown by a method when PHP would raise an error that ends in the "Uncaught Exception" block
// (e.g. too few arguments).
struct php_exception {
    std::string message;
    std::string file;
    int line = 0;
};

using method_fn = std::function<http_response(call_context&, const std::vector<std::string>&)>;

struct controller_def {
    // Lower-case method name -> implementation. REST methods are "getlist", "get", "post", "put",
    // "delete"; extra public methods ("listall", "filter", ...) are reachable as actions.
    std::map<std::string, method_fn> methods;
};

class service {
public:
    service(helpdesk model, api_options options);
    ~service();
    service(const service&) = delete;
    service& operator=(const service&) = delete;

    http_response handle(const http_request& req);

    // Direct model access for tests and the control interface. read() takes a shared lock,
    // write() an exclusive one and bumps the model version (cached sort orders are dropped).
    template <class F>
    auto read(F&& f) const {
        std::shared_lock lock(mutex_);
        return f(std::as_const(model_));
    }
    template <class F>
    auto write(F&& f) {
        std::unique_lock lock(mutex_);
        ++model_.version;
        return f(model_);
    }

    void set_api_enabled(bool on) { api_enabled_.store(on); }
    // The helpdesk clock: model.now plus the wall time since it was last set, unless frozen.
    std::int64_t now() const;
    std::vector<log_entry> request_log() const;
    int add_fault(fault_rule rule);
    void clear_faults();
    [[nodiscard]] const api_options& options() const { return options_; }

    // ---- used by the controllers
    // Ticket ids of a ListAll in output order (also GetTicketCount's count).
    struct listall_query {
        std::vector<std::string> args;
        std::string email;  // $_POST['email']
    };
    std::vector<const ticket*> listall(const helpdesk& m, const listall_query& q,
                                       std::uint64_t nonce, bool paged);

private:
    http_response dispatch(const http_request& req, log_entry& log);
    http_response control(const http_request& req);
    http_response run_method(const controller_def& ctl, const std::string& method,
                             const std::vector<std::string>& call_args, const http_request& req,
                             php::vars& get, php::vars& post, const std::string& router_url);
    // Picks the fault for this call, if any (counts it down).
    std::optional<fault_rule> take_fault(const std::string& endpoint, const std::string& verb);
    http_response call_controller(const controller_def& ctl, const std::string& app,
                                  const std::string& controller, const std::string& action,
                                  const std::vector<std::string>& args, const http_request& req,
                                  php::vars& get, php::vars& post, const std::string& route,
                                  log_entry& log);

    struct order_cache;
    helpdesk model_;
    api_options options_;
    std::atomic<bool> api_enabled_;
    mutable std::shared_mutex mutex_;
    std::unique_ptr<order_cache> orders_;
    std::map<std::pair<std::string, std::string>, controller_def> controllers_;
    std::atomic<std::uint64_t> request_counter_{0};

    mutable std::mutex clock_mutex_;
    std::chrono::steady_clock::time_point clock_set_at_ = std::chrono::steady_clock::now();
    bool clock_frozen_ = false;

    mutable std::mutex log_mutex_;
    std::vector<log_entry> log_;
    std::uint64_t log_seq_ = 0;

    std::mutex fault_mutex_;
    std::vector<fault_rule> faults_;
    int next_fault_id_ = 1;
    std::uint64_t fault_rng_ = 0x5eed;
};

// Helpers shared by the controller files.
namespace detail {
http_response xml_ok(std::string body);
http_response status_text(int status, std::string text);  // DispatchStatus: text/xml, plain text
std::string html_404(std::string_view message);
std::uint64_t mix64(std::uint64_t a, std::uint64_t b);
void register_ticket_controllers(std::map<std::pair<std::string, std::string>, controller_def>& c);
void register_base_controllers(std::map<std::pair<std::string, std::string>, controller_def>& c);
void register_write_methods(std::map<std::pair<std::string, std::string>, controller_def>& c);
void render_user(xml_writer& w, const user& u);
void render_organization(xml_writer& w, const organization& o);
// RenderTickets of SWIFT_TicketAPIManager.
std::string render_tickets(const helpdesk& m, const api_options& o,
                           const std::vector<const ticket*>& tickets, bool with_posts);
}  // namespace detail

}  // namespace ksync::emulator
