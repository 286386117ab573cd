#include "connectors/kayako/errors.hpp"

namespace ksync::kayako {

namespace {

// boost::system::error_category deliberately has a non-virtual destructor (categories are
// never deleted through a base pointer; they are static singletons), which -Wnon-virtual-dtor
// flags for every derived class.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnon-virtual-dtor"
class category final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "kayako"; }
    std::string message(int ev) const override { return to_string(static_cast<kayako_errc>(ev)); }
};
#pragma GCC diagnostic pop

std::string kayako_what(kayako_errc code, int status, const std::string& server_message,
                        const std::string& detail) {
    std::string w = "Kayako ";
    if (status != 0) w += "HTTP " + std::to_string(status) + " ";
    w += to_string(code);
    if (!detail.empty()) w += ": " + detail;
    if (!server_message.empty()) w += " [server said: " + server_message + "]";
    return w;
}

std::string record_what(const std::string& type, std::size_t index,
                        const std::optional<std::int64_t>& id, const std::string& detail) {
    std::string w = type + " #" + std::to_string(index);
    if (id) w += " (id " + std::to_string(*id) + ")";
    return w + ": " + detail;
}

}  // namespace

const boost::system::error_category& kayako_category() noexcept {
    static const category instance;
    return instance;
}

const char* to_string(kayako_errc e) noexcept {
    switch (e) {
        case kayako_errc::bad_request:
            return "bad_request";
        case kayako_errc::unauthorized:
            return "unauthorized";
        case kayako_errc::forbidden:
            return "forbidden";
        case kayako_errc::not_found:
            return "not_found";
        case kayako_errc::method_not_allowed:
            return "method_not_allowed";
        case kayako_errc::server_error:
            return "server_error";
        case kayako_errc::unexpected_response:
            return "unexpected_response";
        case kayako_errc::malformed_document:
            return "malformed_document";
        case kayako_errc::bad_record:
            return "bad_record";
    }
    return "unknown";
}

kayako_error::kayako_error(kayako_errc code, int http_status, std::string server_message,
                           std::string detail)
    : std::runtime_error(kayako_what(code, http_status, server_message, detail)),
      errc_(code),
      status_(http_status),
      server_message_(std::move(server_message)) {}

record_error::record_error(std::string record_type, std::size_t index,
                           std::optional<std::int64_t> id, std::string detail)
    : std::runtime_error(record_what(record_type, index, id, detail)),
      record_type_(std::move(record_type)),
      index_(index),
      id_(id),
      detail_(std::move(detail)) {}

}  // namespace ksync::kayako
