#include "common/logging.hpp"

#include <spdlog/formatter.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <sys/stat.h>

#include <charconv>
#include <chrono>
#include <cstdlib>

namespace ksync::logging {
namespace {

void append_json_escaped(spdlog::memory_buf_t& out, std::string_view s) {
    static constexpr char hex[] = "0123456789abcdef";
    for (unsigned char c : s) {
        switch (c) {
            case '"': out.append(std::string_view("\\\"")); break;
            case '\\': out.append(std::string_view("\\\\")); break;
            case '\n': out.append(std::string_view("\\n")); break;
            case '\r': out.append(std::string_view("\\r")); break;
            case '\t': out.append(std::string_view("\\t")); break;
            default:
                if (c < 0x20) {
                    const char esc[] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xF]};
                    out.append(esc, esc + sizeof esc);
                } else {
                    out.push_back(static_cast<char>(c));
                }
        }
    }
}

// One JSON object per line: {"ts":"...","level":"info","logger":"kayako","msg":"..."}.
// Written by hand because spdlog patterns cannot escape the message.
class json_formatter final : public spdlog::formatter {
public:
    explicit json_formatter(bool timestamps) : timestamps_(timestamps) {}

    void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
        dest.push_back('{');
        if (timestamps_) {
            const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                                msg.time.time_since_epoch())
                                .count();
            const std::time_t secs = static_cast<std::time_t>(us / 1000000);
            std::tm tm{};
            gmtime_r(&secs, &tm);
            char buf[64];
            const auto n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
            fmt::format_to(std::back_inserter(dest), "\"ts\":\"{}.{:06d}Z\",",
                           std::string_view(buf, n), static_cast<int>(us % 1000000));
        }
        const auto lvl = spdlog::level::to_string_view(msg.level);
        fmt::format_to(std::back_inserter(dest), "\"level\":\"{}\",\"logger\":\"",
                       std::string_view(lvl.data(), lvl.size()));
        append_json_escaped(dest, std::string_view(msg.logger_name.data(), msg.logger_name.size()));
        dest.append(std::string_view("\",\"msg\":\""));
        append_json_escaped(dest, std::string_view(msg.payload.data(), msg.payload.size()));
        dest.append(std::string_view("\"}\n"));
    }

    std::unique_ptr<spdlog::formatter> clone() const override {
        return std::make_unique<json_formatter>(timestamps_);
    }

private:
    bool timestamps_;
};

std::unique_ptr<spdlog::formatter> make_formatter(const options& o) {
    if (o.fmt == format::json) return std::make_unique<json_formatter>(o.timestamps);
    return std::make_unique<spdlog::pattern_formatter>(o.timestamps ? "%Y-%m-%dT%H:%M:%S.%fZ %l [%n] %v"
                                                                    : "%l [%n] %v",
                                                       spdlog::pattern_time_type::utc);
}

}  // namespace

factory::factory(options opts)
    : factory(opts, {std::make_shared<spdlog::sinks::stderr_sink_mt>()}) {}

factory::factory(options opts, std::vector<spdlog::sink_ptr> sinks)
    : opts_(opts), sinks_(std::move(sinks)) {
    apply_format();
}

std::shared_ptr<spdlog::logger> factory::make(const std::string& component) const {
    auto logger = std::make_shared<spdlog::logger>(component, sinks_.begin(), sinks_.end());
    logger->set_level(opts_.level);
    logger->flush_on(spdlog::level::warn);
    made_.push_back(logger);
    return logger;
}

void factory::reconfigure(const options& opts) {
    opts_ = opts;
    apply_format();
    for (auto& w : made_)
        if (auto l = w.lock()) l->set_level(opts_.level);
}

void factory::apply_format() const {
    for (auto& s : sinks_) s->set_formatter(make_formatter(opts_));
}

std::shared_ptr<spdlog::logger> null_logger() {
    static auto sink = std::make_shared<spdlog::sinks::null_sink_mt>();
    return std::make_shared<spdlog::logger>("null", sink);
}

bool journald_attached(std::string_view journal_stream, int fd) {
    const auto colon = journal_stream.find(':');
    if (colon == std::string_view::npos) return false;
    unsigned long long dev = 0;
    unsigned long long ino = 0;
    const auto parse = [](std::string_view text, unsigned long long& out) {
        const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
        return ec == std::errc{} && ptr == text.data() + text.size() && !text.empty();
    };
    if (!parse(journal_stream.substr(0, colon), dev) ||
        !parse(journal_stream.substr(colon + 1), ino))
        return false;
    struct stat st {};
    if (::fstat(fd, &st) != 0) return false;
    return static_cast<unsigned long long>(st.st_dev) == dev &&
           static_cast<unsigned long long>(st.st_ino) == ino;
}

bool journald_attached(int fd) {
    const char* stream = std::getenv("JOURNAL_STREAM");
    return stream != nullptr && journald_attached(std::string_view(stream), fd);
}

bool parse_level(const std::string& text, spdlog::level::level_enum& out) {
    static constexpr std::pair<std::string_view, spdlog::level::level_enum> table[] = {
        {"trace", spdlog::level::trace}, {"debug", spdlog::level::debug},
        {"info", spdlog::level::info},   {"warn", spdlog::level::warn},
        {"error", spdlog::level::err},   {"critical", spdlog::level::critical},
        {"off", spdlog::level::off}};
    for (const auto& [name, lvl] : table)
        if (text == name) {
            out = lvl;
            return true;
        }
    return false;
}

}  // namespace ksync::logging
