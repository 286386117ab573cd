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
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
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
};

struct http_response {
    int status = 200;
    std::string content_type;  // empty: no Content-Type header
    std::string body;
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
    http_response dispatch(const http_request& req);
    http_response call_controller(const controller_def& ctl, const std::string& app,
                                  const std::string& controller, const std::string& action,
                                  const std::vector<std::string>& args, const http_request& req,
                                  php::vars& get, php::vars& post, const std::string& route);

    struct order_cache;
    helpdesk model_;
    api_options options_;
    std::atomic<bool> api_enabled_;
    mutable std::shared_mutex mutex_;
    std::unique_ptr<order_cache> orders_;
    std::map<std::pair<std::string, std::string>, controller_def> controllers_;
    std::atomic<std::uint64_t> request_counter_{0};
};

// Helpers shared by the controller files.
namespace detail {
http_response xml_ok(std::string body);
http_response status_text(int status, std::string text);  // DispatchStatus: text/xml, plain text
std::string html_404(std::string_view message);
std::uint64_t mix64(std::uint64_t a, std::uint64_t b);
void register_ticket_controllers(std::map<std::pair<std::string, std::string>, controller_def>& c);
void register_base_controllers(std::map<std::pair<std::string, std::string>, controller_def>& c);
// RenderTickets of SWIFT_TicketAPIManager.
std::string render_tickets(const helpdesk& m, const api_options& o,
                           const std::vector<const ticket*>& tickets, bool with_posts);
}  // namespace detail

}  // namespace ksync::emulator
