#pragma once

#include "connectors/http/transport.hpp"

#include <deque>
#include <functional>
#include <string>
#include <vector>

namespace ksync::test {

// A scripted transport: each send() records the request and returns the next scripted result
// (or asks a handler). Running out of script is a test failure, reported as not_connected.
class fake_transport final : public http::transport {
public:
    using handler = std::function<http::result(const http::request&)>;

    void push(http::result r) { script_.push_back(std::move(r)); }
    void push_response(unsigned status, std::string body, std::string content_type = "text/xml",
                       std::vector<http::field> extra = {}) {
        http::result r;
        r.kind = http::result_kind::response;
        r.res.status = status;
        r.res.headers = std::move(extra);
        if (!content_type.empty()) r.res.headers.push_back({"Content-Type", content_type});
        r.res.body = std::move(body);
        push(std::move(r));
    }
    void push_failure(http::result_kind kind) {
        http::result r;
        r.kind = kind;
        r.message = "scripted failure";
        push(std::move(r));
    }
    void set_handler(handler h) { handler_ = std::move(h); }

    boost::asio::awaitable<http::result> send(http::request req) override {
        requests.push_back(req);
        if (handler_) co_return handler_(req);
        if (script_.empty()) {
            http::result r;
            r.kind = http::result_kind::not_connected;
            r.message = "fake_transport: script exhausted";
            co_return r;
        }
        auto r = std::move(script_.front());
        script_.pop_front();
        co_return r;
    }

    std::vector<http::request> requests;

private:
    std::deque<http::result> script_;
    handler handler_;
};

}  // namespace ksync::test
