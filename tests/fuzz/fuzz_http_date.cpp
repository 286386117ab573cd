// libFuzzer target: HTTP-date and Retry-After parsing (RFC 9110 §5.6.7, §10.2.3), the one header
// value a misbehaving server or proxy controls that changes how long the daemon waits. Neither
// function may throw, and a Retry-After result must lie in [0, clamp].
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "connectors/kayako/retry_after.hpp"

namespace k = ksync::kayako;
using namespace std::chrono_literals;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    (void)k::parse_http_date(text);
    // A fixed "now" (2026-12-02T00:00:00Z) keeps every run reproducible.
    const std::chrono::system_clock::time_point now{std::chrono::seconds{1'796'169'600}};
    for (const auto clamp : {std::chrono::milliseconds{300s}, std::chrono::milliseconds{0}}) {
        const auto wait = k::parse_retry_after(text, now, clamp);
        if (wait && (*wait < 0ms || *wait > clamp)) std::abort();
    }
    return 0;
}
