#pragma once

#include "common/logging.hpp"

#include <spdlog/sinks/ringbuffer_sink.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

namespace ksync::test {

// Captures what components log so a test can assert on it (and on what must never appear,
// such as a secret). Loggers come from factory(), exactly as the app makes them.
class log_capture {
public:
    explicit log_capture(std::size_t capacity = 4096)
        : sink_(std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(capacity)),
          factory_(logging::options{logging::format::text, spdlog::level::trace, false}, {sink_}) {}

    [[nodiscard]] logging::factory& factory() { return factory_; }
    [[nodiscard]] std::shared_ptr<spdlog::logger> logger(const std::string& name) {
        return factory_.make(name);
    }
    [[nodiscard]] std::vector<std::string> lines() const { return sink_->last_formatted(); }
    [[nodiscard]] std::string text() const {
        std::string all;
        for (auto& l : lines()) all += l;
        return all;
    }
    [[nodiscard]] bool contains(const std::string& needle) const {
        return text().find(needle) != std::string::npos;
    }

private:
    std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_;
    logging::factory factory_;
};

}  // namespace ksync::test
