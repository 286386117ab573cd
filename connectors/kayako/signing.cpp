#include "connectors/kayako/signing.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <array>
#include <stdexcept>

namespace ksync::kayako {

std::string compute_signature(std::string_view salt, const ksync::secret& secret) {
    const std::string_view key = secret.reveal();
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int digest_len = 0;
    // HMAC() with an empty key still works (OpenSSL substitutes a zero-length key); Kayako would
    // reject the result, which is the right place for that error.
    if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
             reinterpret_cast<const unsigned char*>(salt.data()), salt.size(), digest.data(),
             &digest_len) == nullptr) {
        throw std::runtime_error("HMAC-SHA256 failed");
    }
    // 4 * ceil(32 / 3) = 44 characters plus the NUL EVP_EncodeBlock writes.
    std::array<unsigned char, 4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1> b64{};
    const int n = EVP_EncodeBlock(b64.data(), digest.data(), static_cast<int>(digest_len));
    OPENSSL_cleanse(digest.data(), digest.size());
    std::string out(reinterpret_cast<const char*>(b64.data()), static_cast<std::size_t>(n));
    OPENSSL_cleanse(b64.data(), b64.size());
    return out;
}

std::string make_salt() {
    std::array<unsigned char, 16> raw{};
    if (RAND_bytes(raw.data(), static_cast<int>(raw.size())) != 1) {
        throw std::runtime_error("OpenSSL RAND_bytes failed: cannot create a request salt");
    }
    static constexpr std::string_view hex = "0123456789abcdef";
    std::string out;
    out.reserve(raw.size() * 2);
    for (const unsigned char b : raw) {
        out.push_back(hex[b >> 4]);
        out.push_back(hex[b & 0x0f]);
    }
    return out;
}

auth_fields make_auth_fields(const credentials& creds) {
    auth_fields f;
    f.apikey = creds.api_key;
    f.salt = make_salt();
    f.signature = ksync::secret{compute_signature(f.salt, creds.secret)};
    return f;
}

}  // namespace ksync::kayako
