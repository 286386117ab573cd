// libFuzzer target: the config loader on arbitrary text. parse_config() is what load_config()
// runs on the file's contents; a hostile or broken file may only ever give a config_error (exit
// 78), never a crash or another exception. A config that loads is printed with to_yaml(), which
// must load again. parse_duration()/parse_size() (std::invalid_argument) get short inputs too.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>

#include "config/config.hpp"

namespace c = ksync::config;

namespace {

// Relative paths in a config resolve against this private directory, which holds the two secret
// files the seed corpus names (owner-only, as read_secret_file demands).
std::filesystem::path base_dir;

void write_secret(const std::string& name, const std::string& value) {
    const auto path = base_dir / name;
    std::ofstream(path) << value << '\n';
    std::filesystem::permissions(path, std::filesystem::perms::owner_read |
                                           std::filesystem::perms::owner_write);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "ksync-fuzz-config.XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) std::abort();
    base_dir = tmpl;
    write_secret("api-secret", "fuzz-api-secret");
    write_secret("pg-password", "fuzz-pg-password");
    std::atexit([] {
        std::error_code ec;
        std::filesystem::remove_all(base_dir, ec);
    });
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const c::environment env{};  // no $CREDENTIALS_DIRECTORY
    try {
        const auto cfg = c::parse_config(text, "fuzz.yaml", base_dir, env);
        const std::string again = c::to_yaml(cfg);
        // The effective config must load again (an inline secret shows as "***", still a value).
        try {
            (void)c::parse_config(again, "fuzz-again.yaml", base_dir, env);
        } catch (const c::config_error& e) {
            std::fprintf(stderr, "to_yaml output does not load again: %s\n%s\n", e.what(),
                         again.c_str());
            std::abort();
        }
    } catch (const c::config_error&) {
    }
    if (size <= 64) {
        try {
            (void)c::parse_duration(text);
        } catch (const std::invalid_argument&) {
        }
        try {
            (void)c::parse_size(text);
        } catch (const std::invalid_argument&) {
        }
    }
    return 0;
}
