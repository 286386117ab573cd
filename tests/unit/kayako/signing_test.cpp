#include "connectors/kayako/signing.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <set>

namespace {

using ksync::kayako::compute_signature;

// Expected values computed independently with
//   printf %s SALT | openssl dgst -sha256 -hmac SECRET -binary | base64
TEST(kayako_signing, matches_openssl_vector_with_base64_looking_secret) {
    // The secret is used verbatim as the HMAC key, although it looks like base64.
    const ksync::secret secret{"YmFzZTY0c2VjcmV0K2tleS93aXRoPXNpZ25z+/=abc"};
    EXPECT_EQ(compute_signature("1234567890", secret), "NouU/xYjA+Y9AI8GrqjplyIgtLLN5lC/hMVMP/ky8bQ=");
}

TEST(kayako_signing, matches_openssl_vector_short_secret) {
    EXPECT_EQ(compute_signature("a3f1c2", ksync::secret{"secret"}),
              "hsXAgJ9tRKL2laqKOwuPeGWaooTj2RSKJLgBxTwBS0M=");
}

TEST(kayako_signing, matches_openssl_vector_96_char_secret_and_hex_salt) {
    const ksync::secret secret{
        "NmI4ZjM5ZTAtNDQ0Ni00YjE3LWE5YzYtMjk3ZjFmOWQ1MjQ3YzZkNWU3OTYtZjJlOS00ZjE0LWE3MzEtYjc1MzE3Y2E4NDBm"};
    ASSERT_EQ(secret.reveal().size(), 96u);
    const std::string sig = compute_signature("8f14e45fceea167a5a36dedd4bea2543", secret);
    EXPECT_EQ(sig, "8J4SNSxwpya8TrF/k3Ho3OOpO7QVhcz7/qSePDaXC1k=");
    EXPECT_EQ(sig.size(), 44u);
}

TEST(kayako_signing, salt_is_32_hex_digits_never_zero_and_not_repeated) {
    std::set<std::string> seen;
    for (int i = 0; i < 2000; ++i) {
        const std::string salt = ksync::kayako::make_salt();
        ASSERT_EQ(salt.size(), 32u);
        ASSERT_EQ(salt.find_first_not_of("0123456789abcdef"), std::string::npos) << salt;
        ASSERT_NE(salt, "0");
        ASSERT_TRUE(seen.insert(salt).second) << "salt repeated: " << salt;
    }
}

TEST(kayako_signing, auth_fields_have_fresh_salt_and_matching_signature) {
    const ksync::kayako::credentials creds{"4f6a1b2c-1111-4222-8333-944455556666",
                                           ksync::secret{"s3cr3t+/="}};
    const auto a = ksync::kayako::make_auth_fields(creds);
    const auto b = ksync::kayako::make_auth_fields(creds);
    EXPECT_EQ(a.apikey, creds.api_key);
    EXPECT_NE(a.salt, b.salt);
    EXPECT_EQ(a.signature.reveal(), compute_signature(a.salt, creds.secret));
    EXPECT_NE(a.signature.reveal(), b.signature.reveal());
    // The signature is a replayable bearer token: it must not format into a log line.
    EXPECT_EQ(fmt::format("{}", a.signature), "***");
    EXPECT_EQ(fmt::format("{}", creds.secret), "***");
}

}  // namespace
