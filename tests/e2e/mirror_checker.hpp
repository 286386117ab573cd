#pragma once

// The e2e checker: compares the mirror with the emulator's model field by field, from the model
// itself (never from anything our own client decoded), and reports every difference.

#include "tests/emulator/model.hpp"

#include <map>
#include <string>
#include <vector>

namespace ksync::test {

// entity -> id -> canonical text of the fields compared
using snapshot = std::map<std::string, std::map<std::int64_t, std::string>>;

snapshot expected_from_model(const emulator::helpdesk& model);
snapshot actual_from_mirror(const std::string& dsn, const std::string& mirror_schema = "kayako");

// Empty when equal; otherwise one line per difference (at most `limit`).
std::vector<std::string> differences(const snapshot& expected, const snapshot& actual,
                                     std::size_t limit = 20);

}  // namespace ksync::test
