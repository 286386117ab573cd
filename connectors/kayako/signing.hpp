#pragma once

// Kayako REST authentication (kayako-api.md §2): every request carries apikey, a fresh salt and
// signature = base64(HMAC-SHA256(message = salt, key = secret)). The secret is used verbatim as
// the HMAC key (it is NOT base64-decoded, although it looks like base64).

#include <string>
#include <string_view>

#include "common/secret.hpp"

namespace ksync::kayako {

struct credentials {
    std::string api_key;  // a UUID; not secret on its own, but still redacted from logged URLs
    ksync::secret secret;
};

// The three auth fields of one request. The signature is a bearer token for as long as the secret
// is unchanged (Kayako stores no nonces, so a (salt, signature) pair can be replayed): it is held
// as a ksync::secret so it cannot be formatted into a log line by accident.
struct auth_fields {
    std::string apikey;
    std::string salt;
    ksync::secret signature;
};

// base64(HMAC-SHA256(message = salt, key = secret)): 44 characters ending in '='.
[[nodiscard]] std::string compute_signature(std::string_view salt, const ksync::secret& secret);

// A fresh salt: 16 bytes from OpenSSL's CSPRNG as 32 lower-case hex digits. Never "0" (PHP's
// empty("0") would make Kayako answer "NO SALT PROVIDED!"), and with 128 random bits never
// repeated in practice. Throws std::runtime_error if the CSPRNG fails (never falls back).
[[nodiscard]] std::string make_salt();

// Fresh salt + its signature, for one request.
[[nodiscard]] auth_fields make_auth_fields(const credentials& creds);

}  // namespace ksync::kayako
