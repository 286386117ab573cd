// Reading a credential file (reliability.md §5). Each refusal names the key and the path (never
// the content), so an operator knows what to fix.

#include "config/config.hpp"

#include <openssl/crypto.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <array>
#include <cerrno>
#include <cstring>

namespace ksync::config {
namespace {

// Closes the descriptor and wipes the read buffer on every path out, errors included.
struct file_guard {
    int fd = -1;
    std::array<char, max_secret_size + 1> buffer{};
    ~file_guard() {
        if (fd >= 0) ::close(fd);
        OPENSSL_cleanse(buffer.data(), buffer.size());
    }
};

std::string file_kind(mode_t mode) {
    if (S_ISDIR(mode)) return "a directory";
    if (S_ISFIFO(mode)) return "a FIFO";
    if (S_ISSOCK(mode)) return "a socket";
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISBLK(mode)) return "a block device";
    return "not a regular file";
}

std::string octal_mode(mode_t mode) {
    char text[8];
    std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
    return text;
}

}  // namespace

secret read_secret_file(const std::filesystem::path& path, const std::string& key,
                        bool trusted_directory) {
    const std::string where = path.string();
    file_guard f;
    // O_NOFOLLOW: a symlink could point anywhere the daemon can read. O_NONBLOCK: opening a FIFO
    // must not hang; it is refused by the fstat check below.
    f.fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (f.fd < 0) {
        const int e = errno;
        if (e == ELOOP) {
            throw config_error(key, where +
                                        " is a symbolic link; refusing to follow it (point "
                                        "the config at the real file)");
        }
        if (e == ENOENT) throw config_error(key, where + " does not exist");
        throw config_error(key, "cannot open " + where + ": " + std::strerror(e));
    }
    struct stat st {};
    if (::fstat(f.fd, &st) != 0) {
        throw config_error(key, "cannot stat " + where + ": " + std::strerror(errno));
    }
    if (!S_ISREG(st.st_mode)) {
        throw config_error(key, where + " is " + file_kind(st.st_mode) +
                                    ", expected a regular file holding the secret");
    }
    if (!trusted_directory) {
        // libpq's rule for its password file. systemd's credentials directory is exempt: its
        // files are owned by root and made readable to the unit's user by ACL or mount.
        if (st.st_uid != ::geteuid()) {
            throw config_error(key, where + " is owned by uid " + std::to_string(st.st_uid) +
                                        ", not by the user running kayako-sync (uid " +
                                        std::to_string(::geteuid()) + ")");
        }
        if ((st.st_mode & 077) != 0) {
            throw config_error(key, where + " is accessible by group or others (mode " +
                                        octal_mode(st.st_mode) + "); run: chmod 600 " + where);
        }
    }
    if (st.st_size == 0) throw config_error(key, where + " is empty");
    if (st.st_size > static_cast<off_t>(max_secret_size)) {
        throw config_error(key, where + " is larger than " + std::to_string(max_secret_size) +
                                    " bytes; a secret file holds only the secret");
    }
    // Read until EOF with a bound one past the limit, so a file that grew since fstat is caught.
    std::size_t total = 0;
    while (total < f.buffer.size()) {
        const ssize_t n = ::read(f.fd, f.buffer.data() + total, f.buffer.size() - total);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw config_error(key, "cannot read " + where + ": " + std::strerror(errno));
        }
        if (n == 0) break;
        total += static_cast<std::size_t>(n);
    }
    if (total > max_secret_size) {
        throw config_error(key, where + " is larger than " + std::to_string(max_secret_size) +
                                    " bytes; a secret file holds only the secret");
    }
    if (total == 0) throw config_error(key, where + " is empty");
    // Exactly one trailing newline goes: `echo secret > file` adds it, and nothing else should
    // be altered (a secret may legitimately end in whitespace).
    if (f.buffer[total - 1] == '\n') --total;
    if (total == 0) throw config_error(key, where + " holds only a newline");
    return secret(std::string(f.buffer.data(), total));
}

}  // namespace ksync::config
