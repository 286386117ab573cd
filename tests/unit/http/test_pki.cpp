#include "tests/unit/http/test_pki.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <vector>

namespace ksync::test::http {
namespace {

struct key_free {
    void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct cert_free {
    void operator()(X509* c) const { X509_free(c); }
};
using key_ptr = std::unique_ptr<EVP_PKEY, key_free>;
using cert_ptr = std::unique_ptr<X509, cert_free>;

void check(bool ok, const char* what) {
    if (!ok) throw std::runtime_error(std::string("test_pki: ") + what + " failed");
}

key_ptr make_key() {
    key_ptr k(EVP_EC_gen("P-256"));
    check(k != nullptr, "EVP_EC_gen");
    return k;
}

void add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    check(ext != nullptr, "X509V3_EXT_conf_nid");
    check(X509_add_ext(cert, ext, -1) == 1, "X509_add_ext");
    X509_EXTENSION_free(ext);
}

// issuer/issuer_key null = self-signed. Validity in seconds relative to now.
cert_ptr make_cert(EVP_PKEY* key, const std::string& cn, const std::string& san, bool is_ca,
                   X509* issuer, EVP_PKEY* issuer_key, long not_before, long not_after,
                   long serial) {
    cert_ptr c(X509_new());
    check(c != nullptr, "X509_new");
    check(X509_set_version(c.get(), 2) == 1, "X509_set_version");
    check(ASN1_INTEGER_set(X509_get_serialNumber(c.get()), serial) == 1, "serial");
    check(X509_gmtime_adj(X509_getm_notBefore(c.get()), not_before) != nullptr, "notBefore");
    check(X509_gmtime_adj(X509_getm_notAfter(c.get()), not_after) != nullptr, "notAfter");
    check(X509_set_pubkey(c.get(), key) == 1, "X509_set_pubkey");
    X509_NAME* name = X509_get_subject_name(c.get());
    check(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                     reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1,
                                     0) == 1,
          "CN");
    X509* signer = issuer ? issuer : c.get();
    check(X509_set_issuer_name(c.get(), X509_get_subject_name(signer)) == 1, "issuer");
    if (is_ca) {
        add_ext(c.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
        add_ext(c.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
        add_ext(c.get(), signer, NID_subject_key_identifier, "hash");
    } else {
        add_ext(c.get(), signer, NID_basic_constraints, "critical,CA:FALSE");
        add_ext(c.get(), signer, NID_key_usage, "critical,digitalSignature");
        add_ext(c.get(), signer, NID_ext_key_usage, "serverAuth");
        add_ext(c.get(), signer, NID_subject_alt_name, san);
    }
    check(X509_sign(c.get(), issuer_key ? issuer_key : key, EVP_sha256()) > 0, "X509_sign");
    return c;
}

void write_cert(const std::filesystem::path& p, X509* c) {
    FILE* f = std::fopen(p.c_str(), "w");
    check(f != nullptr, "fopen");
    const bool ok = PEM_write_X509(f, c) == 1;
    std::fclose(f);
    check(ok, "PEM_write_X509");
}

void write_key(const std::filesystem::path& p, EVP_PKEY* k) {
    FILE* f = std::fopen(p.c_str(), "w");
    check(f != nullptr, "fopen");
    const bool ok = PEM_write_PrivateKey(f, k, nullptr, nullptr, 0, nullptr, nullptr) == 1;
    std::fclose(f);
    check(ok, "PEM_write_PrivateKey");
}

}  // namespace

test_pki::test_pki() {
    std::string templ = (std::filesystem::temp_directory_path() / "ksync-http-pki-XXXXXX").string();
    std::vector<char> buf(templ.begin(), templ.end());
    buf.push_back('\0');
    check(::mkdtemp(buf.data()) != nullptr, "mkdtemp");
    dir_ = buf.data();

    constexpr long day = 24 * 3600;
    const std::string local_san = "DNS:localhost,IP:127.0.0.1";

    auto ca_key = make_key();
    auto ca = make_cert(ca_key.get(), "ksync test CA", "", true, nullptr, nullptr, -day, 30 * day, 1);
    ca_file_ = (dir_ / "ca.pem").string();
    write_cert(ca_file_, ca.get());

    auto other_key = make_key();
    auto other_ca = make_cert(other_key.get(), "ksync other CA", "", true, nullptr, nullptr, -day,
                              30 * day, 2);

    long serial = 10;
    auto issue = [&](const std::string& stem, const std::string& san, X509* issuer,
                     EVP_PKEY* issuer_key, long nb, long na) {
        auto key = make_key();
        auto cert = make_cert(key.get(), stem, san, false, issuer, issuer_key, nb, na, serial++);
        leaf l{(dir_ / (stem + ".pem")).string(), (dir_ / (stem + ".key")).string()};
        write_cert(l.cert_file, cert.get());
        write_key(l.key_file, key.get());
        return l;
    };
    valid_ = issue("valid", local_san, ca.get(), ca_key.get(), -day, 30 * day);
    wrong_host_ = issue("wrong-host", "DNS:wrong.example", ca.get(), ca_key.get(), -day, 30 * day);
    self_signed_ = issue("self-signed", local_san, nullptr, nullptr, -day, 30 * day);
    expired_ = issue("expired", local_san, ca.get(), ca_key.get(), -10 * day, -day);
    unknown_ca_ = issue("unknown-ca", local_san, other_ca.get(), other_key.get(), -day, 30 * day);
}

test_pki::~test_pki() {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
}

}  // namespace ksync::test::http
