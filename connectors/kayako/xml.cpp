#include "connectors/kayako/xml.hpp"

#include <libxml/parser.h>
#include <libxml/xmlversion.h>

#include <cstdint>
#include <mutex>

namespace ksync::kayako {

namespace {

// Refuses every external resource (DTDs, external entities, XIncludes): a Kayako response is
// self-contained, so anything that asks for a file or URL is an attack or a bug. With this
// loader even XML_PARSE_NOENT could not read a file (reliability.md §2.1 [verified]).
xmlParserInputPtr deny_all_loader(const char* /*url*/, const char* /*id*/,
                                  xmlParserCtxtPtr /*ctxt*/) {
    return nullptr;
}

}  // namespace

void xml_init() {
    static std::once_flag once;
    std::call_once(once, [] {
        LIBXML_TEST_VERSION
        xmlInitParser();
        xmlSetExternalEntityLoader(deny_all_loader);
    });
}

std::string xml_runtime_version() {
    return xmlParserVersion;
}

xml_child_stream::xml_child_stream(std::string_view document) {
    xml_init();
    if (document.size() > static_cast<std::size_t>(INT32_MAX)) {
        throw xml_error("XML document larger than 2 GiB");
    }
    // No URL (nothing relative can be resolved) and no encoding override: the declaration says
    // UTF-8 and libxml2 rejects bytes that are not.
    reader_.reset(xmlReaderForMemory(document.data(), static_cast<int>(document.size()), nullptr,
                                     nullptr, reader_options));
    if (!reader_) throw xml_error("cannot create an XML reader (out of memory?)");
    xmlTextReaderSetStructuredErrorHandler(reader_.get(), &xml_child_stream::on_error, this);
}

xml_child_stream::~xml_child_stream() = default;

void xml_child_stream::on_error(void* self, xmlErrorPtr error) noexcept {
    auto* stream = static_cast<xml_child_stream*>(self);
    if (error == nullptr || !stream->first_error_.empty()) return;
    if (error->level == XML_ERR_WARNING) return;
    try {
        std::string msg = error->message != nullptr ? error->message : "unknown XML error";
        while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
        stream->first_error_ = "line " + std::to_string(error->line) + ": " + msg;
    } catch (...) {
        // Out of memory while formatting: the generic fallback text is used instead.
    }
}

std::string xml_child_stream::parser_error(std::string_view fallback) const {
    return first_error_.empty() ? std::string(fallback) : first_error_;
}

int xml_child_stream::advance() {
    const int r =
        skip_subtree_ ? xmlTextReaderNext(reader_.get()) : xmlTextReaderRead(reader_.get());
    skip_subtree_ = false;
    if (r < 0) throw xml_error("malformed XML: " + parser_error("parse error"));
    if (r == 1 && xmlTextReaderNodeType(reader_.get()) == XML_READER_TYPE_DOCUMENT_TYPE) {
        // Kayako never sends a DTD; one here means an attack (XXE, entity amplification).
        throw xml_error("XML document has a DOCTYPE, which is never accepted");
    }
    return r;
}

void xml_child_stream::open_root(std::string_view expected) {
    while (advance() == 1) {
        if (xmlTextReaderNodeType(reader_.get()) != XML_READER_TYPE_ELEMENT) continue;
        const std::string_view name = view(xmlTextReaderConstName(reader_.get()));
        if (name != expected) {
            throw xml_error("unexpected root element <" + std::string(name.substr(0, 64)) +
                            ">, expected <" + std::string(expected) + ">");
        }
        root_open_ = true;
        root_closed_ = xmlTextReaderIsEmptyElement(reader_.get()) == 1;
        return;
    }
    // advance() returned 0: the parser saw the end without any element.
    throw xml_error("XML document without a root element: " + parser_error("empty document"));
}

const xmlNode* xml_child_stream::next_child() {
    if (!root_open_) throw xml_error("next_child() before open_root()");
    while (true) {
        const int r = advance();
        if (r == 0) {
            if (!root_closed_) {
                throw xml_error("XML document ended before its root element was closed: " +
                                parser_error("premature end"));
            }
            return nullptr;
        }
        const int type = xmlTextReaderNodeType(reader_.get());
        const int depth = xmlTextReaderDepth(reader_.get());
        if (depth == 0) {
            if (type == XML_READER_TYPE_END_ELEMENT) root_closed_ = true;
            // Keep reading to the end, so that trailing junk (an appended HTML <div>) is a
            // parse error rather than silently ignored.
            continue;
        }
        if (depth != 1 || type != XML_READER_TYPE_ELEMENT) continue;
        xmlNode* node = xmlTextReaderExpand(reader_.get());
        if (node == nullptr) {
            throw xml_error("malformed XML: " + parser_error("cannot read the record subtree"));
        }
        skip_subtree_ = true;
        return node;
    }
}

}  // namespace ksync::kayako
