#include "common/secret.hpp"

#include <gtest/gtest.h>

#include <sstream>

namespace {

TEST(secret, formats_and_streams_as_stars) {
    const ksync::secret s{"hunter2-very-secret"};
    EXPECT_EQ(fmt::format("key={}", s), "key=***");
    std::ostringstream os;
    os << s;
    EXPECT_EQ(os.str(), "***");
    EXPECT_EQ(s.reveal(), "hunter2-very-secret");
}

TEST(secret, move_leaves_source_empty) {
    ksync::secret a{"abc"};
    ksync::secret b{std::move(a)};
    EXPECT_EQ(b.reveal(), "abc");
    EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): checking the moved-from state
}

}  // namespace
