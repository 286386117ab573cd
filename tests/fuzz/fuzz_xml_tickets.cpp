// libFuzzer target: the ticket decoders (the largest record type, with nested posts, notes,
// watchers and workflows) on arbitrary bytes. Only xml_error and record_error may come out;
// anything else (another exception, a sanitizer report, a hang) is a finding.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "connectors/kayako/decode.hpp"
#include "connectors/kayako/errors.hpp"
#include "connectors/kayako/xml.hpp"

namespace k = ksync::kayako;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    k::xml_init();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view xml(reinterpret_cast<const char*>(data), size);
    // Streaming, with an error sink: bad records are skipped, the page may still fail.
    std::size_t records = 0;
    std::size_t errors = 0;
    try {
        k::decode_tickets(
            xml, [&](k::ticket&& t) { records += 1 + (t.posts ? t.posts->size() : 0); },
            [&](k::record_error&&) { ++errors; });
    } catch (const k::xml_error&) {
    }
    // The convenience form: the first error is thrown.
    try {
        auto tickets = k::parse_tickets(xml);
        records += tickets.size();
    } catch (const k::xml_error&) {
    } catch (const k::record_error&) {
    }
    return records + errors == static_cast<std::size_t>(-1) ? 1 : 0;
}
