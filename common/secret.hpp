#pragma once

#include <fmt/format.h>

#include <ostream>
#include <string>
#include <string_view>

namespace ksync {

// A credential (API secret, database password). It formats and streams as "***", so it cannot
// reach a log line, an error message or a printed config by accident; reveal() is the one door,
// used only where the value is handed to HMAC or libpq. The memory is wiped on destruction.
class secret {
public:
    secret() = default;
    explicit secret(std::string value) : value_(std::move(value)) {}
    secret(const secret& other) : value_(other.value_) {}
    secret(secret&& other) noexcept;
    secret& operator=(const secret& other);
    secret& operator=(secret&& other) noexcept;
    ~secret();

    [[nodiscard]] std::string_view reveal() const noexcept { return value_; }
    [[nodiscard]] bool empty() const noexcept { return value_.empty(); }

    friend bool operator==(const secret& a, const secret& b) noexcept { return a.value_ == b.value_; }
    friend std::ostream& operator<<(std::ostream& os, const secret&) { return os << "***"; }

private:
    void wipe() noexcept;
    std::string value_;
};

}  // namespace ksync

template <>
struct fmt::formatter<ksync::secret> : fmt::formatter<std::string_view> {
    template <class Ctx>
    auto format(const ksync::secret&, Ctx& ctx) const {
        return fmt::formatter<std::string_view>::format("***", ctx);
    }
};
