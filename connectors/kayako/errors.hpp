#pragma once

// Error types of the Kayako protocol layer (style.md §2.5): one errc + category for everything this
// library reports, and three exception types that carry it:
//   kayako_error   an HTTP response that is not a usable success (status + Kayako's message)
//   xml_error      a document that is broken as a whole: the whole page fails, decode nothing
//   record_error   one record of an otherwise sound document is bad: quarantine that one object
// None of them ever carries a credential: server text is passed through redact_url() first.

#include <boost/system/error_code.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace ksync::kayako {

enum class kayako_errc {
    bad_request = 1,      // HTTP 400: validation message, or the bad-URI HTML page
    unauthorized,         // HTTP 401: "NO SALT PROVIDED!" / "FAILED TO AUTHENTICATE"
    forbidden,            // HTTP 403: empty body = REST API disabled in the Admin CP
    not_found,            // HTTP 404: "Ticket not Found", or an HTML page for an unknown controller
    method_not_allowed,   // HTTP 405 (declared by Kayako, unused in practice)
    server_error,         // HTTP 5xx, or a 200 carrying an "Uncaught Exception" block
    unexpected_response,  // anything else: HTML/empty/wrong content type/trailing junk/odd status
    malformed_document,   // XML that cannot be trusted as a whole (xml_error)
    bad_record,           // one record that cannot be decoded (record_error)
};

const boost::system::error_category& kayako_category() noexcept;

inline boost::system::error_code make_error_code(kayako_errc e) noexcept {
    return {static_cast<int>(e), kayako_category()};
}

[[nodiscard]] const char* to_string(kayako_errc e) noexcept;  // "not_found", ...

class kayako_error : public std::runtime_error {
public:
    // server_message: Kayako's text (trimmed, redacted, bounded); detail: our explanation.
    kayako_error(kayako_errc code, int http_status, std::string server_message, std::string detail);

    [[nodiscard]] kayako_errc errc() const noexcept { return errc_; }
    [[nodiscard]] boost::system::error_code code() const noexcept { return make_error_code(errc_); }
    [[nodiscard]] int http_status() const noexcept { return status_; }
    [[nodiscard]] const std::string& server_message() const noexcept { return server_message_; }

private:
    kayako_errc errc_;
    int status_;
    std::string server_message_;
};

class xml_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
    [[nodiscard]] boost::system::error_code code() const noexcept {
        return make_error_code(kayako_errc::malformed_document);
    }
};

class record_error : public std::runtime_error {
public:
    record_error(std::string record_type, std::size_t index, std::optional<std::int64_t> id,
                 std::string detail);

    [[nodiscard]] boost::system::error_code code() const noexcept {
        return make_error_code(kayako_errc::bad_record);
    }
    [[nodiscard]] const std::string& record_type() const noexcept { return record_type_; }
    [[nodiscard]] std::size_t index() const noexcept { return index_; }  // 0-based, in the page
    [[nodiscard]] const std::optional<std::int64_t>& id() const noexcept { return id_; }
    [[nodiscard]] const std::string& detail() const noexcept { return detail_; }

private:
    std::string record_type_;
    std::size_t index_;
    std::optional<std::int64_t> id_;
    std::string detail_;
};

}  // namespace ksync::kayako

template <>
struct boost::system::is_error_code_enum<ksync::kayako::kayako_errc> : std::true_type {};
