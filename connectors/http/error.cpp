#include "connectors/http/error.hpp"

#include <string>

namespace ksync::http {
namespace {

// boost::system::error_category has a protected non-virtual destructor by design (categories are
// never deleted through a base pointer); the final class's implicit public one trips the warning.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnon-virtual-dtor"
class category final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "ksync.http"; }

    std::string message(int ev) const override {
        switch (static_cast<errc>(ev)) {
            case errc::plain_http_refused:
                return "plain http refused (not allowed by the configuration)";
            case errc::invalid_request: return "invalid request";
            case errc::resolve_failed: return "host name resolution failed";
            case errc::connect_failed: return "connect failed";
            case errc::proxy_refused: return "proxy refused the CONNECT request";
            case errc::certificate_rejected: return "server certificate rejected";
            case errc::tls_failed: return "TLS handshake failed";
            case errc::timeout: return "timed out";
            case errc::write_failed: return "writing the request failed";
            case errc::connection_closed: return "connection closed before the response";
            case errc::truncated: return "response truncated";
            case errc::bad_response: return "malformed response";
            case errc::body_limit_exceeded: return "response body over the limit";
            case errc::header_limit_exceeded: return "response header over the limit";
            case errc::redirect_refused: return "redirect refused (not followed)";
        }
        return "unknown ksync.http error " + std::to_string(ev);
    }
};
#pragma GCC diagnostic pop

}  // namespace

const boost::system::error_category& error_category() noexcept {
    static const category instance;
    return instance;
}

}  // namespace ksync::http
