#include "common/secret.hpp"

#include <openssl/crypto.h>

namespace ksync {

secret::secret(secret&& other) noexcept : value_(std::move(other.value_)) { other.wipe(); }

secret& secret::operator=(const secret& other) {
    if (this != &other) {
        wipe();
        value_ = other.value_;
    }
    return *this;
}

secret& secret::operator=(secret&& other) noexcept {
    if (this != &other) {
        wipe();
        value_ = std::move(other.value_);
        other.wipe();
    }
    return *this;
}

secret::~secret() { wipe(); }

void secret::wipe() noexcept {
    // OPENSSL_cleanse cannot be optimised away, unlike a memset before free. Capacity, not size:
    // a shrunk string may still hold old bytes past its end.
    if (value_.capacity() > 0) OPENSSL_cleanse(value_.data(), value_.capacity());
    value_.clear();
}

}  // namespace ksync
