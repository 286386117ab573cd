#include "common/logging.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

std::string stream_id(int fd) {
    struct stat st {};
    EXPECT_EQ(::fstat(fd, &st), 0);
    return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
}

TEST(journald, attached_only_when_the_stream_is_the_fd) {
    std::FILE* a = std::tmpfile();
    std::FILE* b = std::tmpfile();
    ASSERT_TRUE(a && b);
    const int fa = ::fileno(a);
    const int fb = ::fileno(b);
    EXPECT_TRUE(ksync::logging::journald_attached(stream_id(fa), fa));
    // A redirected stream (the variable inherited, the fd pointing elsewhere) does not count.
    EXPECT_FALSE(ksync::logging::journald_attached(stream_id(fa), fb));
    EXPECT_FALSE(ksync::logging::journald_attached("", fa));
    EXPECT_FALSE(ksync::logging::journald_attached("12", fa));
    EXPECT_FALSE(ksync::logging::journald_attached("x:y", fa));
    EXPECT_FALSE(ksync::logging::journald_attached(stream_id(fa) + "0", fa));
    std::fclose(a);
    std::fclose(b);
}

TEST(journald, reads_journal_stream_from_the_environment) {
    std::FILE* a = std::tmpfile();
    ASSERT_TRUE(a);
    const int fa = ::fileno(a);
    const char* old = std::getenv("JOURNAL_STREAM");
    const std::string saved = old ? old : "";
    ::setenv("JOURNAL_STREAM", stream_id(fa).c_str(), 1);
    EXPECT_TRUE(ksync::logging::journald_attached(fa));
    ::unsetenv("JOURNAL_STREAM");
    EXPECT_FALSE(ksync::logging::journald_attached(fa));
    if (old) ::setenv("JOURNAL_STREAM", saved.c_str(), 1);
    std::fclose(a);
}

}  // namespace
