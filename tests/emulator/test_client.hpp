#pragma once

// A bare HTTP/1.1 client for the emulator's tests and benchmark: it sends exactly the bytes it
// is given (so tests control every header and body byte) and parses the response with Beast.
// Signatures are computed here with OpenSSL, independently of the emulator and the connector.

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <string>

#include <poll.h>

namespace ksync::emulator::test {

struct raw_response {
    int status = 0;
    std::string content_type;
    std::string body;
};

inline std::string hmac_signature(const std::string& salt, const std::string& secret) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
         reinterpret_cast<const unsigned char*>(salt.data()), salt.size(), digest, &len);
    std::string out(4 * ((len + 2) / 3), '\0');
    out.resize(static_cast<std::size_t>(EVP_EncodeBlock(
        reinterpret_cast<unsigned char*>(out.data()), digest, static_cast<int>(len))));
    return out;
}

inline std::string urlencode(const std::string& s) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.') {
            out.push_back(static_cast<char>(c));
        } else {
            out.push_back('%');
            out.push_back(hex[c >> 4]);
            out.push_back(hex[c & 15]);
        }
    }
    return out;
}

// apikey=..&salt=..&signature=<urlencoded>
inline std::string auth_fields(const std::string& apikey, const std::string& secret,
                               const std::string& salt) {
    return "apikey=" + urlencode(apikey) + "&salt=" + urlencode(salt) +
           "&signature=" + urlencode(hmac_signature(salt, secret));
}

// One keep-alive connection; send() writes the raw request and reads one response.
class raw_client {
public:
    explicit raw_client(unsigned short port) : socket_(ioc_) {
        namespace asio = boost::asio;
        socket_.connect({asio::ip::make_address("127.0.0.1"), port});
    }

    raw_response send(const std::string& raw) {
        namespace http = boost::beast::http;
        boost::asio::write(socket_, boost::asio::buffer(raw));
        http::response_parser<http::string_body> parser;
        parser.body_limit(512ULL * 1024 * 1024);
        timed_reader reader{socket_, receive_timeout_ms_};
        http::read(reader, buffer_, parser);
        auto& res = parser.get();
        return {static_cast<int>(res.result_int()), std::string(res[http::field::content_type]),
                std::move(res.body())};
    }

    // Makes a read that gets no data for `ms` fail with timed_out, for "never answers" tests.
    // (SO_RCVTIMEO would not do: Asio's blocking read polls again, without a limit, on EAGAIN.)
    void set_receive_timeout(int ms) { receive_timeout_ms_ = ms; }

    // GET/DELETE with no body.
    raw_response request(const std::string& method, const std::string& target) {
        return send(method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    }
    raw_response request(const std::string& method, const std::string& target,
                         const std::string& content_type, const std::string& body) {
        std::string raw = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
        if (!content_type.empty()) raw += "Content-Type: " + content_type + "\r\n";
        raw += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
        return send(raw);
    }

private:
    // The socket as a SyncReadStream whose reads wait at most `timeout_ms` for data (0: forever).
    struct timed_reader {
        boost::asio::ip::tcp::socket& socket;
        int timeout_ms = 0;

        template <class Buffers>
        std::size_t read_some(const Buffers& buffers, boost::system::error_code& ec) {
            if (timeout_ms > 0) {
                pollfd p{socket.native_handle(), POLLIN, 0};
                const int ready = ::poll(&p, 1, timeout_ms);
                if (ready == 0) {
                    ec = boost::asio::error::timed_out;
                    return 0;
                }
            }
            return socket.read_some(buffers, ec);
        }
        template <class Buffers>
        std::size_t read_some(const Buffers& buffers) {
            boost::system::error_code ec;
            const std::size_t n = read_some(buffers, ec);
            if (ec) throw boost::system::system_error(ec);
            return n;
        }
    };

    boost::asio::io_context ioc_;
    boost::asio::ip::tcp::socket socket_;
    boost::beast::flat_buffer buffer_;
    int receive_timeout_ms_ = 0;
};

}  // namespace ksync::emulator::test
