#pragma once

#include <filesystem>
#include <string>

namespace ksync::test::http {

// A throwaway PKI generated at run time with the OpenSSL C API into a fresh temporary directory,
// which the destructor removes. Every leaf is for localhost / 127.0.0.1 unless its name says not.
class test_pki {
public:
    struct leaf {
        std::string cert_file;  // PEM: the leaf certificate
        std::string key_file;   // PEM: its private key
    };

    test_pki();
    ~test_pki();
    test_pki(const test_pki&) = delete;
    test_pki& operator=(const test_pki&) = delete;

    [[nodiscard]] const std::string& ca_file() const { return ca_file_; }  // the trusted test CA
    [[nodiscard]] const leaf& valid() const { return valid_; }        // CA-signed, localhost+127.0.0.1
    [[nodiscard]] const leaf& wrong_host() const { return wrong_host_; }  // CA-signed, wrong.example
    [[nodiscard]] const leaf& self_signed() const { return self_signed_; }
    [[nodiscard]] const leaf& expired() const { return expired_; }    // CA-signed, expired yesterday
    [[nodiscard]] const leaf& unknown_ca() const { return unknown_ca_; }  // signed by another CA
    [[nodiscard]] const std::filesystem::path& dir() const { return dir_; }

private:
    std::filesystem::path dir_;
    std::string ca_file_;
    leaf valid_, wrong_host_, self_signed_, expired_, unknown_ca_;
};

}  // namespace ksync::test::http
