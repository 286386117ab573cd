#pragma once

// Loads the hand-written Kayako fixtures of tests/fixtures/kayako/ byte for byte.

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>

namespace ksync::test {

inline std::string kayako_fixture(const std::string& name) {
    const std::string path = std::string(KSYNC_SOURCE_DIR) + "/tests/fixtures/kayako/" + name;
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot open fixture " + path);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace ksync::test
