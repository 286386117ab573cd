// The emulator's transports: HTTPS with a certificate from files, and the standalone binary's
// startup line and flags.
#include "tests/emulator/server.hpp"
#include "tests/emulator/test_client.hpp"

#include <boost/asio/ssl.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/write.hpp>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>

namespace ksync::emulator {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;

// A throwaway self-signed P-256 certificate for 127.0.0.1, written as PEM files.
struct temp_certificate {
    std::filesystem::path dir;
    std::filesystem::path cert, key;

    temp_certificate() {
        char tmpl[] = "/tmp/emulator-tls-XXXXXX";
        dir = mkdtemp(tmpl);
        cert = dir / "cert.pem";
        key = dir / "key.pem";
        EVP_PKEY* pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
        X509* x = X509_new();
        X509_set_version(x, 2);
        ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
        X509_gmtime_adj(X509_getm_notBefore(x), 0);
        X509_gmtime_adj(X509_getm_notAfter(x), 3600);
        X509_set_pubkey(x, pkey);
        X509_NAME* name = X509_get_subject_name(x);
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                   reinterpret_cast<const unsigned char*>("127.0.0.1"), -1, -1, 0);
        X509_set_issuer_name(x, name);
        X509_sign(x, pkey, EVP_sha256());
        FILE* f = std::fopen(cert.c_str(), "w");
        PEM_write_X509(f, x);
        std::fclose(f);
        f = std::fopen(key.c_str(), "w");
        PEM_write_PrivateKey(f, pkey, nullptr, nullptr, 0, nullptr, nullptr);
        std::fclose(f);
        X509_free(x);
        EVP_PKEY_free(pkey);
    }
    ~temp_certificate() { std::filesystem::remove_all(dir); }
};

TEST(emulator_server, serves_https_with_a_certificate_from_files) {
    temp_certificate pem;
    emulator_options o;
    o.size.tickets = 20;
    o.size.users = 20;
    o.tls_cert_file = pem.cert.string();
    o.tls_key_file = pem.key.string();
    emulator emu(o);
    emu.start();
    ASSERT_TRUE(emu.tls());
    EXPECT_EQ(emu.base_url().rfind("https://127.0.0.1:", 0), 0U);

    asio::io_context ioc;
    asio::ssl::context ctx(asio::ssl::context::tls_client);
    ctx.set_verify_mode(asio::ssl::verify_none);  // self-signed: this test checks the transport
    asio::ssl::stream<asio::ip::tcp::socket> stream(ioc, ctx);
    stream.next_layer().connect({asio::ip::make_address("127.0.0.1"), emu.port()});
    stream.handshake(asio::ssl::stream_base::client);
    const auto& api = emu.api().options();
    http::request<http::empty_body> req{http::verb::get,
                                        "/api/index.php?/Tickets/TicketPriority/1&" +
                                            test::auth_fields(api.apikey, api.secret, "77"),
                                        11};
    req.set(http::field::host, "127.0.0.1");
    http::write(stream, req);
    boost::beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(stream, buffer, res);
    EXPECT_EQ(res.result_int(), 200U);
    EXPECT_EQ(res[http::field::content_type], "text/xml");
    EXPECT_NE(res.body().find("<title><![CDATA[Low]]></title>"), std::string::npos);
    boost::system::error_code ignored;
    stream.shutdown(ignored);
    emu.stop();
}

TEST(emulator_server, binary_prints_its_port_and_honours_its_flags) {
    char secret_tmpl[] = "/tmp/emulator-secret-XXXXXX";
    const int fd = mkstemp(secret_tmpl);
    ASSERT_GE(fd, 0);
    const std::string secret_path = secret_tmpl;
    { std::ofstream(secret_path) << "file-secret\n"; }
    close(fd);

    int out[2];
    ASSERT_EQ(pipe(out), 0);
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        dup2(out[1], STDOUT_FILENO);
        close(out[0]);
        close(out[1]);
        execl(KSYNC_EMULATOR_BIN, KSYNC_EMULATOR_BIN, "--port", "0", "--tickets", "30", "--users",
              "10", "--apikey", "key-1", "--secret-file", secret_path.c_str(), "--php", "8",
              static_cast<char*>(nullptr));
        _exit(127);
    }
    close(out[1]);
    std::string line;
    char c;
    while (read(out[0], &c, 1) == 1 && c != '\n') line.push_back(c);
    close(out[0]);
    ASSERT_EQ(line.rfind("listening on 127.0.0.1:", 0), 0U) << line;
    const auto port = static_cast<unsigned short>(std::stoi(line.substr(line.rfind(':') + 1)));

    test::raw_client client(port);
    const auto ok = client.request("GET", "/api/index.php?/Base/UserGroup/1&" +
                                              test::auth_fields("key-1", "file-secret", "5"));
    EXPECT_EQ(ok.status, 200);
    EXPECT_NE(ok.body.find("<title><![CDATA[Guest]]></title>"), std::string::npos);
    const auto default_secret =
        client.request("GET", "/api/index.php?/Base/UserGroup/1&" +
                                  test::auth_fields("key-1", api_options{}.secret, "5"));
    EXPECT_EQ(default_secret.status, 401);

    kill(pid, SIGTERM);
    int status = 0;
    waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
    std::filesystem::remove(secret_path);
}

}  // namespace
}  // namespace ksync::emulator
