#pragma once

// A private temporary directory for one test, removed with everything in it afterwards.

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

namespace ksync::test {

class temp_dir {
public:
    temp_dir() {
        std::string tmpl =
            (std::filesystem::temp_directory_path() / "ksync-config-XXXXXX").string();
        if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
        path_ = tmpl;
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    ~temp_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }

    [[nodiscard]] const std::filesystem::path& path() const { return path_; }

    // Writes `content` to name (relative to the directory) with the given mode.
    std::filesystem::path write(const std::string& name, const std::string& content,
                                mode_t mode = 0600) const {
        const auto p = path_ / name;
        std::filesystem::create_directories(p.parent_path());
        {
            std::ofstream out(p, std::ios::binary | std::ios::trunc);
            out << content;
        }
        ::chmod(p.c_str(), mode);
        return p;
    }

private:
    std::filesystem::path path_;
};

}  // namespace ksync::test
