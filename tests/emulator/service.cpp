#include "tests/emulator/service.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <numeric>
#include <string_view>

namespace ksync::emulator {

namespace detail {

std::uint64_t mix64(std::uint64_t a, std::uint64_t b) {
    std::uint64_t z = a + 0x9E3779B97F4A7C15ULL * (b + 1);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

http_response xml_ok(std::string body) {
    return {200, "text/xml", std::move(body)};
}

http_response status_text(int status, std::string text) {
    return {status, "text/xml", std::move(text)};
}

std::string html_404(std::string_view message) {
    std::string html =
        "<!DOCTYPE html PUBLIC \"-//W3C//DTD HTML 4.01 Transitional//EN\">\n"
        "<html>\n<head>\n<meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\">\n"
        "<title>404 Not Found</title>\n</head>\n<body>\n"
        "<div style=\"font-family: Verdana, Arial; font-size: 13px; padding: 20px;\">\n"
        "<h1>Not Found</h1>\n<p>";
    for (char c : message) {
        switch (c) {
            case '&':
                html += "&amp;";
                break;
            case '<':
                html += "&lt;";
                break;
            case '>':
                html += "&gt;";
                break;
            default:
                html.push_back(c);
        }
    }
    html += "</p>\n</div>\n</body>\n</html>\n";
    return html;
}

}  // namespace detail

namespace {

constexpr std::string_view php_html = "text/html; charset=UTF-8";

http_response html_error(int status, std::string_view message) {
    return {status, std::string(php_html), detail::html_404(message)};
}

// The block PHP's uncaught-exception handler prints (kayako-api.md §3.3), with HTTP 200.
http_response uncaught(std::string_view router_url, const php_exception& e, bool after_auth) {
    std::string body = "Uncaught Exception\nRouter: ";
    body.append(router_url);
    body.push_back('\n');
    body.append(e.message);
    body.append(" in ");
    body.append(e.file);
    body.push_back(':');
    body.append(std::to_string(e.line));
    body.append("\n\n");
    body.append(std::string(77, '='));
    body.append("\n\n#0 ");
    body.append(e.file);
    body.push_back('(');
    body.append(std::to_string(e.line));
    body.append("): SWIFT_Controller::Load()\n#1 {main}");
    return {200, after_auth ? "text/xml" : std::string(php_html), std::move(body)};
}

constexpr const char* controller_api_file =
    "/var/www/kayako/__swift/library/Controllers/class.Controller_api.php";
constexpr const char* rest_server_file =
    "/var/www/kayako/__swift/library/REST/class.SWIFT_RESTServer.php";

std::string base64(const unsigned char* data, std::size_t len) {
    std::string out(4 * ((len + 2) / 3), '\0');
    const int n =
        EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(len));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

std::string expected_signature(const std::string& salt, const std::string& secret) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
         reinterpret_cast<const unsigned char*>(salt.data()), salt.size(), digest, &len);
    return base64(digest, len);
}

bool contains_ci(std::string_view hay, std::string_view needle) {
    return php::lower(hay).find(needle) != std::string::npos;
}

// Minimal multipart/form-data: field parts become $_POST entries (file parts are skipped; the
// read side never needs them).
void parse_multipart(std::string_view content_type, std::string_view body, php::vars& out) {
    auto bpos = php::lower(content_type).find("boundary=");
    if (bpos == std::string::npos) return;
    std::string boundary(content_type.substr(bpos + 9));
    if (auto semi = boundary.find(';'); semi != std::string::npos) boundary.resize(semi);
    if (boundary.size() >= 2 && boundary.front() == '"')
        boundary = boundary.substr(1, boundary.size() - 2);
    const std::string delim = "--" + boundary;
    std::size_t pos = body.find(delim);
    while (pos != std::string_view::npos) {
        pos += delim.size();
        if (body.substr(pos, 2) == "--") break;
        if (body.substr(pos, 2) == "\r\n") pos += 2;
        const auto header_end = body.find("\r\n\r\n", pos);
        if (header_end == std::string_view::npos) break;
        const std::string headers = php::lower(body.substr(pos, header_end - pos));
        const auto next = body.find("\r\n" + delim, header_end + 4);
        if (next == std::string_view::npos) break;
        const std::string_view content = body.substr(header_end + 4, next - header_end - 4);
        auto npos = headers.find("name=\"");
        if (npos != std::string::npos && headers.find("filename=") == std::string::npos) {
            // Names are case-sensitive: read them from the original bytes.
            const std::string_view raw_headers = body.substr(pos, header_end - pos);
            const auto start = npos + 6;
            const auto end = raw_headers.find('"', start);
            const std::string name(raw_headers.substr(start, end - start));
            std::string encoded = name;  // reuse parse_str's bracket handling
            std::string pair;
            for (char c : encoded) {
                if (c == '&' || c == '=' || c == '%' || c == '+') {
                    char buf[4];
                    std::snprintf(buf, sizeof buf, "%%%02X", static_cast<unsigned char>(c));
                    pair += buf;
                } else {
                    pair.push_back(c);
                }
            }
            pair.push_back('=');
            for (unsigned char c : content) {
                char buf[4];
                std::snprintf(buf, sizeof buf, "%%%02X", c);
                pair += buf;
            }
            php::parse_str(pair, out);
        }
        pos = next + 2;
    }
}

// Names of SWIFT_Controller's own methods, refused as actions (kayako-api.md §1.2).
constexpr std::array<std::string_view, 9> controller_base_methods = {
    "load",      "initialize",      "getisclassloaded", "setisclassloaded",
    "getrouter", "processlanguage", "__construct",      "__destruct",
    "__call"};

const std::array<std::string_view, 11> known_apps = {
    "base",     "tickets", "core",    "knowledgebase", "news", "troubleshooter",
    "livechat", "parser",  "reports", "backend",       "cc"};

// ---- injected faults ------------------------------------------------------------------

// Faults that replace the answer: the request is not executed.
std::optional<http_response> fault_response(const fault_rule& f, const std::string& router_url) {
    if (f.kind == "status") {
        const std::string code = std::to_string(f.status);
        return http_response{
            f.status, "text/html; charset=iso-8859-1",
            "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html><head>\n"
            "<title>" +
                code + " Error</title>\n</head><body>\n<h1>Error " + code +
                "</h1>\n<p>The server is temporarily unable to service your request.</p>\n"
                "</body></html>\n"};
    }
    if (f.kind == "rate_limit") {
        http_response r{429, "text/html; charset=iso-8859-1",
                        "<html><body><h1>429 Too Many Requests</h1></body></html>\n"};
        r.headers.emplace_back("Retry-After", f.retry_after.empty() ? "1" : f.retry_after);
        return r;
    }
    if (f.kind == "hang") {
        http_response r;
        r.transport = transport_fault::hang;
        return r;
    }
    if (f.kind == "reset") {
        http_response r;
        r.transport = transport_fault::reset;
        return r;
    }
    if (f.kind == "html_200")
        return http_response{200, std::string(php_html),
                             "<!DOCTYPE html>\n<html><head><title>Maintenance</title></head><body>"
                             "<h1>We'll be back soon</h1><p>The help desk is being upgraded.</p>"
                             "</body></html>\n"};
    if (f.kind == "uncaught_200")
        return uncaught(router_url,
                        {"Unable to connect to the database: Too many connections",
                         "/var/www/kayako/__swift/library/Database/class.SWIFT_Database.php", 183},
                        true);
    if (f.kind == "xxe")
        return http_response{
            200, "text/xml",
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<!DOCTYPE tickets [\n<!ENTITY xxe SYSTEM \"file:///etc/passwd\">\n]>\n"
            "<tickets>\n<ticket id=\"1\" flagtype=\"0\">\n"
            "<subject>&xxe;</subject>\n</ticket>\n</tickets>"};
    if (f.kind == "huge_body") {
        std::string body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<tickets>\n<!-- ";
        const std::string tail = " -->\n</tickets>";
        if (f.size > body.size() + tail.size())
            body.append(f.size - body.size() - tail.size(), 'x');
        body += tail;
        return http_response{200, "text/xml", std::move(body)};
    }
    return std::nullopt;
}

// Faults that change how the executed request's answer arrives.
void apply_late_fault(const fault_rule& f, http_response& r) {
    if (f.kind == "latency") {
        r.delay_ms = f.delay_ms;
    } else if (f.kind == "slow") {
        r.transport = transport_fault::slow;
        r.byte_interval_ms = f.interval_ms;
    } else if (f.kind == "truncate") {
        r.transport = transport_fault::truncate;
    } else if (f.kind == "lost_response") {
        r.transport = transport_fault::reset;  // applied, but the client never hears back
    } else if (f.kind == "malformed_xml") {
        r.body.resize(r.body.size() * 6 / 10);  // cut inside the document, Content-Length honest
    } else if (f.kind == "php_warning") {
        r.body =
            "\nWarning: Undefined array key \"isprivate\" in "
            "/var/www/kayako/__apps/tickets/api/class.Controller_TicketPost.php on line 301\n" +
            r.body;
    } else if (f.kind == "html_after_xml") {
        r.body +=
            "<div style=\"border: 1px solid #ff0000; padding: 8px;\">Your license is not valid "
            "for this domain.</div>";
    }
}

}  // namespace

// ---- ListAll ordering -------------------------------------------------------------------

namespace {

constexpr std::array<std::string_view, 25> sort_fields = {
    "ticketstatustitle",  "departmenttitle", "userid",         "ownerstaffid",
    "dateline",           "totalreplies",    "hasattachments", "hasnotes",
    "lastactivity",       "duetime",         "creator",        "isphonecall",
    "isescalated",        "hasfollowup",     "hasratings",     "islinked",
    "tickettype",         "tickettypetitle", "tickettypeid",   "creationmode",
    "resolutiondateline", "isresolved",      "iswatched",      "prioritytitle",
    "lastreplier"};
constexpr std::size_t ticketid_field = sort_fields.size();  // the fallback

}  // namespace

// Per sort field: ticket indexes sorted by (key, ticketid) and the key of every ticket. Built
// lazily and dropped when the model version changes.
struct service::order_cache {
    std::mutex mutex;
    std::uint64_t version = ~std::uint64_t{0};
    std::array<std::vector<std::uint32_t>, sort_fields.size() + 1> order;
    std::array<std::vector<std::int64_t>, sort_fields.size() + 1> keys;
};

namespace {

// MySQL's utf8_general_ci compares case-insensitively; ASCII folding is close enough here.
std::vector<std::int64_t> rank_strings(const std::vector<std::string>& values) {
    std::vector<std::string> folded(values.size());
    for (std::size_t i = 0; i < values.size(); ++i) folded[i] = php::lower(values[i]);
    std::vector<std::string> distinct = folded;
    std::sort(distinct.begin(), distinct.end());
    distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
    std::vector<std::int64_t> out(values.size());
    for (std::size_t i = 0; i < values.size(); ++i)
        out[i] = std::lower_bound(distinct.begin(), distinct.end(), folded[i]) - distinct.begin();
    return out;
}

std::vector<std::int64_t> compute_keys(const helpdesk& m, std::size_t field) {
    const auto& ts = m.tickets;
    std::vector<std::int64_t> k(ts.size());
    auto titles = [&](auto title_of) {
        std::vector<std::string> v(ts.size());
        for (std::size_t i = 0; i < ts.size(); ++i) v[i] = title_of(ts[i]);
        return rank_strings(v);
    };
    if (field == ticketid_field) {
        for (std::size_t i = 0; i < ts.size(); ++i) k[i] = ts[i].ticketid;
        return k;
    }
    const std::string_view name = sort_fields[field];
    if (name == "ticketstatustitle")
        return titles([&](const ticket& t) {
            const auto* s = m.find_status(t.ticketstatusid);
            return s ? s->title : std::string();
        });
    if (name == "departmenttitle")
        return titles([&](const ticket& t) {
            const auto* d = m.find_department(t.departmentid);
            return d ? d->title : std::string();
        });
    if (name == "tickettypetitle")
        return titles([&](const ticket& t) {
            const auto* s = m.find_type(t.tickettypeid);
            return s ? s->title : std::string();
        });
    if (name == "prioritytitle")
        return titles([&](const ticket& t) {
            const auto* s = m.find_priority(t.priorityid);
            return s ? s->title : std::string();
        });
    if (name == "lastreplier") return titles([](const ticket& t) { return t.lastreplier; });
    for (std::size_t i = 0; i < ts.size(); ++i) {
        const ticket& t = ts[i];
        std::int64_t v = 0;
        if (name == "userid")
            v = t.userid;
        else if (name == "ownerstaffid")
            v = t.ownerstaffid;
        else if (name == "dateline")
            v = t.dateline;
        else if (name == "totalreplies")
            v = t.totalreplies;
        else if (name == "hasattachments")
            v = t.hasattachments;
        else if (name == "hasnotes")
            v = t.hasnotes;
        else if (name == "lastactivity")
            v = t.lastactivity;
        else if (name == "duetime")
            v = t.duetime;
        else if (name == "creator")
            v = t.creator;
        else if (name == "isphonecall")
            v = t.tickettype == 2 ? 1 : 0;
        else if (name == "isescalated")
            v = t.isescalated;
        else if (name == "hasfollowup")
            v = t.hasfollowup;
        else if (name == "hasratings")
            v = t.hasratings;
        else if (name == "islinked")
            v = t.islinked;
        else if (name == "tickettype")
            v = t.tickettype;
        else if (name == "tickettypeid")
            v = t.tickettypeid;
        else if (name == "creationmode")
            v = t.creationmode;
        else if (name == "resolutiondateline")
            v = t.resolutiondateline;
        else if (name == "isresolved")
            v = t.isresolved;
        else if (name == "iswatched")
            v = t.iswatched;
        k[i] = v;
    }
    return k;
}

// RetrieveIDListFromCSV: a number gives itself; a list keeps its numeric parts; else [0].
std::vector<std::int64_t> csv_ids(std::string_view s) {
    std::vector<std::int64_t> out;
    if (php::is_numeric(s)) {
        out.push_back(php::to_int(s));
    } else if (s.find(',') != std::string_view::npos) {
        std::size_t pos = 0;
        while (pos <= s.size()) {
            auto comma = s.find(',', pos);
            if (comma == std::string_view::npos) comma = s.size();
            const auto part = s.substr(pos, comma - pos);
            if (php::is_numeric(part)) out.push_back(php::to_int(part));
            pos = comma + 1;
        }
    } else {
        out.push_back(0);
    }
    return out;
}

bool contains(const std::vector<std::int64_t>& v, std::int64_t x) {
    return std::find(v.begin(), v.end(), x) != v.end();
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(a[i])) !=
            std::tolower(static_cast<unsigned char>(b[i])))
            return false;
    return true;
}

}  // namespace

std::vector<const ticket*> service::listall(const helpdesk& m, const listall_query& q,
                                            std::uint64_t nonce, bool paged) {
    const auto& a = q.args;
    auto arg = [&](std::size_t i) -> std::string_view {
        return i < a.size() ? std::string_view(a[i]) : std::string_view();
    };

    // Departments: ids outside the department cache are dropped; nothing left means trash (0).
    std::vector<std::int64_t> departments;
    for (auto id : csv_ids(arg(0)))
        if (m.find_department(id) != nullptr) departments.push_back(id);
    if (departments.empty()) departments.push_back(0);

    // Statuses: kept when they exist and are global or belong to a kept department. With none
    // left, only unresolved ones are used; a department-specific status then only when its
    // *status id* is one of the department ids (the comparison Kayako's code gets wrong).
    std::vector<std::int64_t> statuses;
    if (a.size() > 1 && arg(1) != "-1") {
        for (auto id : csv_ids(arg(1))) {
            const ticket_status* s = m.find_status(id);
            if (s != nullptr && (s->departmentid == 0 || contains(departments, s->departmentid)))
                statuses.push_back(id);
        }
    }
    if (statuses.empty()) {
        for (const auto& s : m.statuses)
            if (s.markasresolved == 0 &&
                (s.departmentid == 0 || contains(departments, s.ticketstatusid)))
                statuses.push_back(s.ticketstatusid);
    }
    std::optional<std::vector<std::int64_t>> owners;
    if (a.size() > 2 && arg(2) != "-1") owners = csv_ids(arg(2));
    std::optional<std::vector<std::int64_t>> users;
    if (a.size() > 3 && arg(3) != "-1") users = csv_ids(arg(3));

    std::int64_t count = a.size() > 4 ? php::to_int(arg(4)) : 0;
    std::int64_t start = a.size() > 5 ? php::to_int(arg(5)) : 0;
    if (!paged || count <= 0) {
        count = 0;
        start = 0;  // start is ignored unless count > 0
    }
    if (start < 0) start = 0;

    std::size_t field = ticketid_field;
    if (a.size() > 6) {
        const std::string wanted = php::lower(php::clean(arg(6)));
        for (std::size_t i = 0; i < sort_fields.size(); ++i)
            if (sort_fields[i] == wanted) field = i;
    }
    const bool descending = a.size() > 7 && iequals(arg(7), "desc");

    const std::vector<std::uint32_t>* order = nullptr;
    const std::vector<std::int64_t>* keys = nullptr;
    {
        std::lock_guard lock(orders_->mutex);
        if (orders_->version != m.version) {
            for (auto& o : orders_->order) o.clear();
            for (auto& k : orders_->keys) k.clear();
            orders_->version = m.version;
        }
        auto& o = orders_->order[field];
        auto& k = orders_->keys[field];
        if (o.size() != m.tickets.size()) {
            k = compute_keys(m, field);
            o.resize(m.tickets.size());
            std::iota(o.begin(), o.end(), 0U);
            std::stable_sort(o.begin(), o.end(),
                             [&](std::uint32_t x, std::uint32_t y) { return k[x] < k[y]; });
        }
        // Vectors are only rebuilt under the exclusive model lock's version change, so the
        // references stay valid while this request holds the shared lock.
        order = &o;
        keys = &k;
    }

    const std::string& email = q.email;
    auto matches = [&](const ticket& t) {
        if (!contains(departments, t.departmentid)) return false;
        if (!contains(statuses, t.ticketstatusid)) return false;
        if (owners && !contains(*owners, t.ownerstaffid)) return false;
        if (users && !contains(*users, t.userid)) return false;
        if (!email.empty() && !iequals(t.email, email)) return false;
        return true;
    };

    const std::int64_t end = count > 0 ? start + count : INT64_MAX;
    std::vector<const ticket*> out;
    if (count > 0) out.reserve(static_cast<std::size_t>(std::min<std::int64_t>(count, 100000)));
    std::int64_t position = 0;  // index in the filtered, sorted list
    std::vector<const ticket*> group;
    const std::size_t n = order->size();
    std::size_t i = 0;
    while (i < n && position < end) {
        const std::size_t at = descending ? n - 1 - i : i;
        const std::int64_t key = (*keys)[(*order)[at]];
        group.clear();
        // One group of equal keys: MySQL returns it in no particular order; here in a new
        // random order on every request.
        while (i < n) {
            const std::size_t idx = (*order)[descending ? n - 1 - i : i];
            if ((*keys)[idx] != key) break;
            if (matches(m.tickets[idx])) group.push_back(&m.tickets[idx]);
            ++i;
        }
        const auto gsize = static_cast<std::int64_t>(group.size());
        if (position + gsize > start && gsize > 0) {
            if (gsize > 1 && field != ticketid_field) {
                std::uint64_t state = detail::mix64(nonce, static_cast<std::uint64_t>(key));
                for (std::size_t j = group.size() - 1; j > 0; --j) {
                    state = detail::mix64(state, j);
                    std::swap(group[j], group[state % (j + 1)]);
                }
            }
            const std::int64_t from = std::max<std::int64_t>(start - position, 0);
            const std::int64_t to = std::min<std::int64_t>(gsize, end - position);
            for (std::int64_t j = from; j < to; ++j)
                out.push_back(group[static_cast<std::size_t>(j)]);
        }
        position += gsize;
    }
    return out;
}

// ---- service ----------------------------------------------------------------------------

service::service(helpdesk model, api_options options)
    : model_(std::move(model)),
      options_(std::move(options)),
      api_enabled_(options_.api_enabled),
      orders_(std::make_unique<order_cache>()) {
    detail::register_ticket_controllers(controllers_);
    detail::register_base_controllers(controllers_);
    detail::register_write_methods(controllers_);
}

service::~service() = default;

http_response service::handle(const http_request& req) {
    const std::string_view target = req.target;
    const std::string_view path = target.substr(0, target.find('?'));
    if (path == "/_control" || path.rfind("/_control/", 0) == 0) return control(req);

    log_entry log;
    log.method = req.method;
    log.time = now();
    http_response r;
    try {
        r = dispatch(req, log);
    } catch (const php_exception& e) {
        r = uncaught("/api/index.php", e, true);
    }
    log.status = r.status;
    {
        std::lock_guard lock(log_mutex_);
        log.seq = ++log_seq_;
        // A bound on memory for long benchmark runs; tests read far fewer entries.
        if (log_.size() < 1000000) log_.push_back(std::move(log));
    }
    return r;
}

std::int64_t service::now() const {
    std::lock_guard lock(clock_mutex_);
    if (clock_frozen_) return model_.now;
    return model_.now + std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::steady_clock::now() - clock_set_at_)
                            .count();
}

std::vector<log_entry> service::request_log() const {
    std::lock_guard lock(log_mutex_);
    return log_;
}

int service::add_fault(fault_rule rule) {
    std::lock_guard lock(fault_mutex_);
    rule.id = next_fault_id_++;
    faults_.push_back(rule);
    return rule.id;
}

void service::clear_faults() {
    std::lock_guard lock(fault_mutex_);
    faults_.clear();
}

std::optional<fault_rule> service::take_fault(const std::string& endpoint,
                                              const std::string& verb) {
    std::lock_guard lock(fault_mutex_);
    const std::string key = php::lower(endpoint);
    for (auto& f : faults_) {
        const std::string want = php::lower(f.endpoint);
        const bool endpoint_matches =
            want.empty() || want == "*" || key == want || key.rfind(want + "/", 0) == 0;
        if (!endpoint_matches) continue;
        if (!f.verb.empty() && f.verb != verb) continue;
        if (f.remaining == 0) continue;
        if (f.probability < 1.0) {
            fault_rng_ = detail::mix64(fault_rng_, 1);
            const double u = static_cast<double>(fault_rng_ >> 11) * 0x1.0p-53;
            if (u >= f.probability) continue;
        }
        if (f.remaining > 0) --f.remaining;
        ++f.hits;
        return f;
    }
    return std::nullopt;
}

http_response service::dispatch(const http_request& req, log_entry& log) {
    // ---- script path and PATH_INFO
    const std::string_view target = req.target;
    const auto qmark = target.find('?');
    const std::string_view path = target.substr(0, qmark);
    const std::string_view query =
        qmark == std::string_view::npos ? std::string_view() : target.substr(qmark + 1);
    std::string path_info;
    std::string basename;
    if (const auto script = path.find("/index.php"); script != std::string_view::npos) {
        basename = std::string(path.substr(0, script + 10));
        // The web server hands PATH_INFO over percent-decoded ('+' stays a plus).
        std::string raw(path.substr(script + 10));
        std::string decoded;
        for (std::size_t i = 0; i < raw.size(); ++i) {
            if (raw[i] == '%' && i + 2 < raw.size() &&
                std::isxdigit(static_cast<unsigned char>(raw[i + 1])) &&
                std::isxdigit(static_cast<unsigned char>(raw[i + 2]))) {
                decoded.push_back(static_cast<char>(std::stoi(raw.substr(i + 1, 2), nullptr, 16)));
                i += 2;
            } else {
                decoded.push_back(raw[i]);
            }
        }
        path_info = std::move(decoded);
    } else if (!path.empty() && path.back() == '/') {
        basename = std::string(path) + "index.php";  // directory index
    } else {
        return {404, std::string(php_html), "<html><body><h1>Not Found</h1></body></html>\n"};
    }

    // ---- superglobals
    php::vars get, post;
    php::parse_str(query, get);
    const bool urlencoded = contains_ci(req.content_type, "application/x-www-form-urlencoded");
    if (req.method == "POST") {
        if (urlencoded)
            php::parse_str(req.body, post);
        else if (contains_ci(req.content_type, "multipart/form-data"))
            parse_multipart(req.content_type, req.body, post);
    }
    php::vars request = get;
    request.merge(post);
    // SWIFT_Router::GetURI parses a urlencoded PUT body itself.
    if (req.method == "PUT" && urlencoded) {
        php::vars put;
        php::parse_str(req.body, put);
        post.merge(put);
        request.merge(put);
    }

    // ---- route string
    std::string route;
    const std::string e = request.get("e");
    if (!e.empty() && e.front() == '/') {
        route = php::urldecode(e);  // the second decode
    } else if (php::trim(path_info).find_first_not_of('/') != std::string_view::npos &&
               path_info != "/index.php" && path_info.front() == '/' &&
               path_info.find("index.php") == std::string::npos) {
        route = path_info;
    } else if (std::string_view(query).find_first_not_of('/') != std::string_view::npos) {
        route = std::string(query);  // used raw, without url-decoding
    } else if (get.size() == 1 &&
               get.entries().front().first.find_first_not_of('/') != std::string::npos) {
        route = get.entries().front().first;
    }
    if (request.has("e")) {
        get.erase("e");
        post.erase("e");
        request.erase("e");
    }
    for (std::size_t p = route.find("%252"); p != std::string::npos; p = route.find("%252", p))
        route.replace(p, 4, "/");

    // ---- ExplodeSegments
    if (const auto amp = route.find('&'); amp != std::string::npos) {
        php::parse_str(std::string_view(route).substr(amp + 1), get, /*only_if_unset=*/true);
        route.resize(amp);
    }
    std::vector<std::string> segments;
    {
        std::size_t pos = 0;
        while (pos <= route.size()) {
            auto slash = route.find('/', pos);
            if (slash == std::string::npos) slash = route.size();
            const auto seg = php::trim(std::string_view(route).substr(pos, slash - pos));
            if (!seg.empty()) segments.emplace_back(seg);
            pos = slash + 1;
        }
    }
    std::string parsed_route;
    for (const auto& s : segments) parsed_route += "/" + s;
    const std::string router_url = basename + "?" + parsed_route;
    log.path = parsed_route;

    if (segments.empty())
        return html_error(404,
                          "\"Default\" Controller OR a DEFAULT Controller in SWIFT App \"core\" "
                          "for Interface \"api\" does not exist (DEFAULT)");

    // ---- app and controller
    const std::string app = php::lower(segments[0]);
    if (std::find(known_apps.begin(), known_apps.end(), app) == known_apps.end())
        return html_error(404, "\"" + php::clean(segments[0]) + "\" SWIFT App does not exist");
    const std::string controller = segments.size() > 1 ? segments[1] : std::string();
    const auto ctl = controllers_.find({app, controller});
    if (ctl == controllers_.end())
        return html_error(404, "\"Default\" Controller OR a DEFAULT Controller in SWIFT App \"" +
                                   php::clean(segments[0]) +
                                   "\" for Interface \"api\" does not exist (DEFAULT-MAIN)");

    // ---- argument filtering over every segment (ParseURIArguments)
    for (const auto& s : segments) {
        if (s.rfind("R:", 0) == 0 || s.front() == '&') continue;
        if (!php::uri_argument_allowed(php::trim(s)))
            return html_error(400, "The URI you submitted has disallowed characters.");
    }
    const std::string action = segments.size() > 2 ? segments[2] : std::string("Index");
    std::vector<std::string> args;
    for (std::size_t i = 3; i < segments.size(); ++i) {
        const std::string& s = segments[i];
        if (s.rfind("R:", 0) == 0) continue;
        if (s.front() == '&') {
            php::vars chunk;
            php::parse_str(std::string_view(s).substr(1), chunk);
            for (const auto& [k, v] : chunk.entries())
                if (!request.has(k) || !get.has(k)) {
                    request.set(k, v);
                    get.set(k, v);
                }
            continue;
        }
        // `key=value` (or a trailing '=') makes the arguments associative: it is no longer a
        // positional argument.
        if (s.find('=') != std::string::npos) continue;
        args.push_back(php::clean(php::trim(s)));
    }

    // ---- forbidden actions
    const std::string action_lc = php::lower(action);
    if (action.front() == '_' ||
        std::find(controller_base_methods.begin(), controller_base_methods.end(), action_lc) !=
            controller_base_methods.end())
        return html_error(404, "\"" + php::clean(action) + "\" Action does not exist");

    if (req.method != "GET" && req.method != "POST" && req.method != "PUT" &&
        req.method != "DELETE")
        return uncaught(router_url, {"Invalid REST Method: " + req.method, rest_server_file, 112},
                        false);

    return call_controller(ctl->second, app, controller, action, args, req, get, post, router_url,
                           log);
}

http_response service::call_controller(const controller_def& ctl, const std::string& app,
                                       const std::string& controller, const std::string& action,
                                       const std::vector<std::string>& args,
                                       const http_request& req, php::vars& get, php::vars& post,
                                       const std::string& router_url, log_entry& log) {
    // ---- which method runs (§1.2), decided before auth so faults can match on it
    std::string method;
    std::vector<std::string> call_args;
    const std::string action_lc = php::lower(action);
    const bool real_method = ctl.methods.count(action_lc) != 0;
    if (real_method) {
        method = action_lc;  // a real public method: the verb is ignored
        call_args = args;
    } else {
        static const std::map<std::string, std::string> verb_method = {
            {"GET", "get"}, {"POST", "post"}, {"PUT", "put"}, {"DELETE", "delete"}};
        const bool index = action == "Index";
        method = index && req.method == "GET" ? "getlist" : verb_method.at(req.method);
        call_args.push_back(index ? std::string() : action);
        if (!index) call_args.insert(call_args.end(), args.begin(), args.end());
    }
    log.endpoint = app + "/" + controller + "/" + method;

    // ---- the variable container (SWIFT_RESTServer::ParseInputStream, §1.3)
    php::vars container;
    if (contains_ci(req.content_type, "application/json")) {
        if (auto json = php::json_object(req.body)) container = std::move(*json);
    } else if (req.method == "GET" || req.method == "DELETE") {
        container = get;
    } else if (req.method == "POST") {
        container = post;
    } else {  // PUT
        if (!post.empty()) {
            container = post;
        } else if (!get.empty()) {
            container = get;
        } else {
            php::parse_str(req.body, container);
            post.merge(container);
        }
    }

    log.salt = container.get("salt");
    for (const auto& [k, v] : post.entries()) {
        if (k == "apikey" || k == "salt" || k == "signature") continue;
        if (!v.is_array) {
            log.fields.emplace_back(k, v.scalar);
            continue;
        }
        for (const auto& [path, value] : v.items) {
            std::string name = k;
            for (const auto& part : path) name += "[" + part + "]";
            log.fields.emplace_back(name, value);
        }
    }

    // Faults come after the log entry is filled (a replaced answer still logs what was sent)
    // and before authentication.
    std::optional<fault_rule> fault = take_fault(log.endpoint, req.method);
    if (fault) {
        log.fault = fault->kind;
        if (auto early = fault_response(*fault, router_url)) return std::move(*early);
    }

    // ---- authentication (§2)
    if (!api_enabled_.load()) return {403, std::string(php_html), ""};
    if (container.empty("salt")) return {401, std::string(php_html), "NO SALT PROVIDED!"};
    std::string signature = container.get("signature");
    std::replace(signature.begin(), signature.end(), ' ', '+');
    const std::string apikey(php::trim(container.get("apikey")));
    const std::string salt = container.get("salt");
    if (apikey.empty() || apikey != php::trim(options_.apikey) || signature.empty() ||
        signature != expected_signature(salt, options_.secret))
        return {401, std::string(php_html), "FAILED TO AUTHENTICATE"};

    if (ctl.methods.count(method) == 0) {
        static const std::map<std::string, std::string> pretty = {{"getlist", "GetList"},
                                                                  {"get", "Get"},
                                                                  {"post", "Post"},
                                                                  {"put", "Put"},
                                                                  {"delete", "Delete"}};
        return uncaught(router_url,
                        {"Undeclared Function Called in API Controller: " + pretty.at(method),
                         controller_api_file, 141},
                        true);
    }

    http_response r = run_method(ctl, method, call_args, req, get, post, router_url);
    if (fault) apply_late_fault(*fault, r);
    return r;
}

http_response service::run_method(const controller_def& ctl, const std::string& method,
                                  const std::vector<std::string>& call_args,
                                  const http_request& req, php::vars& get, php::vars& post,
                                  const std::string& router_url) {
    const bool writes = method == "post" || method == "put" || method == "delete";
    std::shared_lock<std::shared_mutex> shared(mutex_, std::defer_lock);
    std::unique_lock<std::shared_mutex> exclusive(mutex_, std::defer_lock);
    if (writes) {
        exclusive.lock();
        ++model_.version;  // drops cached ListAll orders
    } else {
        shared.lock();
    }
    call_context ctx{*this,
                     model_,
                     options_,
                     post,
                     get,
                     req.method,
                     detail::mix64(model_.seed, request_counter_.fetch_add(1) + 1)};
    ctx.writable = writes ? &model_ : nullptr;
    ctx.now = now();
    try {
        return ctl.methods.at(method)(ctx, call_args);
    } catch (php_exception& e) {
        return uncaught(router_url, e, true);
    }
}

}  // namespace ksync::emulator
