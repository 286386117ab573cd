// libFuzzer target: every other Kayako XML decoder (users, organizations, posts, notes, time
// tracks, attachments, lookups, custom fields, ticket counts) and the response classification in
// front of them, on arbitrary bytes. Each decoder checks its own root element, so every input is
// offered to all of them. Only xml_error, record_error and (check_response) kayako_error may come
// out; anything else is a finding.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>

#include "connectors/kayako/decode.hpp"
#include "connectors/kayako/errors.hpp"
#include "connectors/kayako/response.hpp"
#include "connectors/kayako/xml.hpp"

namespace k = ksync::kayako;

namespace {

std::size_t sink_count = 0;

template <class T>
void streamed(void (*decode)(std::string_view, const k::record_sink<T>&, const k::error_sink&),
              std::string_view xml) {
    try {
        decode(
            xml, [](T&&) { ++sink_count; }, [](k::record_error&&) { ++sink_count; });
    } catch (const k::xml_error&) {
    }
}

template <class F>
void whole(F&& parse) {
    try {
        (void)std::forward<F>(parse)();
    } catch (const k::xml_error&) {
    } catch (const k::record_error&) {
    }
}

void all_decoders(std::string_view xml) {
    streamed<k::post>(k::decode_posts, xml);
    streamed<k::note>(k::decode_notes, xml);
    streamed<k::time_track>(k::decode_time_tracks, xml);
    streamed<k::attachment>(k::decode_attachments, xml);
    streamed<k::user>(k::decode_users, xml);
    streamed<k::organization>(k::decode_organizations, xml);
    streamed<k::user_group>(k::decode_user_groups, xml);
    streamed<k::staff>(k::decode_staff, xml);
    streamed<k::staff_group>(k::decode_staff_groups, xml);
    streamed<k::department>(k::decode_departments, xml);
    streamed<k::ticket_status>(k::decode_ticket_statuses, xml);
    streamed<k::ticket_priority>(k::decode_ticket_priorities, xml);
    streamed<k::ticket_type>(k::decode_ticket_types, xml);
    streamed<k::custom_field_definition>(k::decode_custom_field_definitions, xml);
    streamed<k::custom_field_option>(k::decode_custom_field_options, xml);
    whole([&] { return k::parse_users(xml); });
    whole([&] { return k::parse_organizations(xml); });
    whole([&] { return k::parse_posts(xml); });
    whole([&] { return k::parse_ticket_custom_fields(xml, 42); });
    whole([&] { return k::parse_ticket_count(xml); });
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    k::xml_init();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view body(reinterpret_cast<const char*>(data), size);
    all_decoders(body);
    // As the client sees it: classified first (a PHP warning before the XML is cut off, HTML and
    // error texts are refused), then decoded.
    try {
        const auto checked = k::check_response(k::http_method::get, 200, "text/xml", body);
        if (checked.xml.data() != nullptr && checked.xml.size() != body.size()) {
            all_decoders(checked.xml);
        }
    } catch (const k::kayako_error&) {
    }
    (void)k::sanitize_server_text(body, 200);
    return 0;
}
