#pragma once

#include <spdlog/logger.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ksync::logging {

enum class format { text, json };

struct options {
    format fmt = format::text;
    spdlog::level::level_enum level = spdlog::level::info;
    // journald stamps every line itself; a second timestamp only adds noise there.
    bool timestamps = true;
};

// Makes the per-component loggers ("kayako", "mirror", "scheduler", ...). One factory per
// process, created by the composition root and passed down; components receive their
// logger in their constructor and never look one up by name (style.md §2.6).
class factory {
public:
    explicit factory(options opts);
    // For tests: every logger made writes to these sinks instead of stderr.
    factory(options opts, std::vector<spdlog::sink_ptr> sinks);

    [[nodiscard]] std::shared_ptr<spdlog::logger> make(const std::string& component) const;
    // Applies a new level and format to every logger made so far (SIGHUP reload).
    void reconfigure(const options& opts);
    [[nodiscard]] const options& current() const noexcept { return opts_; }

private:
    void apply_format() const;
    options opts_;
    std::vector<spdlog::sink_ptr> sinks_;
    mutable std::vector<std::weak_ptr<spdlog::logger>> made_;
};

// A logger that drops everything, for code paths and tests that do not care.
std::shared_ptr<spdlog::logger> null_logger();

// True when `fd` (stderr by default, where the factory writes) is the stream systemd connected
// to the journal: $JOURNAL_STREAM holds "<st_dev>:<st_ino>" of it (systemd.exec(5)); comparing
// with fstat(fd) tells a redirected stderr apart. journald stamps every line itself, so
// `log.timestamps: auto` means `timestamps = !journald_attached()`.
bool journald_attached(int fd = 2);
// The same, with $JOURNAL_STREAM's value passed in (tests).
bool journald_attached(std::string_view journal_stream, int fd);

// Parses "trace|debug|info|warn|error|critical|off"; returns false on anything else.
bool parse_level(const std::string& text, spdlog::level::level_enum& out);

}  // namespace ksync::logging
