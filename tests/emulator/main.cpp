// kayako-emulator: a Kayako Classic REST API emulator for tests, benchmarks and the demo.
// Prints "listening on ADDRESS:PORT" as its first stdout line once it accepts connections.
#include "tests/emulator/server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <string_view>

namespace {

constexpr const char* usage = R"(usage: kayako-emulator [options]

  --bind ADDRESS         listen address (default 127.0.0.1)
  --port N               listen port; 0 picks a free one (default 0)
  --threads N            worker threads (default 2)
  --apikey KEY           API key (default 4e2b1c9a-7d3f-4a61-9b8e-2f5c0d6e1a73)
  --secret SECRET        API secret, used verbatim as the HMAC key (default: a fixed
                         96-character test secret, see README)
  --secret-file PATH     read the secret from a file (trailing newline ignored)
  --api-disabled         answer every API call with 403 (g_enableapiinterface=0)
  --php 7|8              how PHP renders an (int) 0 (default 7: `<x />`; 8: CDATA[0])
  --mask-display-ids     displayid is the ticket mask (t_eticketid=random); default the id
  --posts-desc           posts newest first (t_postorder=desc)
  --tls-cert PATH        serve HTTPS with this PEM certificate chain ...
  --tls-key PATH         ... and this PEM private key
  --seed N               data seed (default 1)
  --tickets N            tickets (default 1000)
  --users N              users (default 500)
  --organizations N      organisations (default 50)
  --departments N        ticket departments (default 6; one livechat department is added)
  --staff N              staff members (default 12)
  --staff-groups N       staff groups (default 3)
  --trashed-percent N    share of tickets in the trash (default 3)
)";

[[noreturn]] void fail(const std::string& message) {
    std::cerr << "kayako-emulator: " << message << "\n\n" << usage;
    std::exit(2);
}

long long number(std::string_view flag, const char* value) {
    char* end = nullptr;
    const long long v = std::strtoll(value, &end, 10);
    if (end == value || *end != '\0' || v < 0) fail("invalid number for " + std::string(flag));
    return v;
}

}  // namespace

int main(int argc, char** argv) {
    using ksync::emulator::emulator_options;
    emulator_options o;
    for (int i = 1; i < argc; ++i) {
        const std::string_view flag = argv[i];
        auto value = [&]() -> const char* {
            if (i + 1 >= argc) fail("missing value for " + std::string(flag));
            return argv[++i];
        };
        if (flag == "--help" || flag == "-h") {
            std::cout << usage;
            return 0;
        } else if (flag == "--bind") {
            o.bind = value();
        } else if (flag == "--port") {
            const auto p = number(flag, value());
            if (p > 65535) fail("port out of range");
            o.port = static_cast<unsigned short>(p);
        } else if (flag == "--threads") {
            o.threads = static_cast<unsigned>(std::max(1LL, number(flag, value())));
        } else if (flag == "--apikey") {
            o.api.apikey = value();
        } else if (flag == "--secret") {
            o.api.secret = value();
        } else if (flag == "--secret-file") {
            std::ifstream in(value());
            if (!in) fail("cannot read the secret file");
            std::stringstream ss;
            ss << in.rdbuf();
            std::string s = ss.str();
            while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
            o.api.secret = s;
        } else if (flag == "--api-disabled") {
            o.api.api_enabled = false;
        } else if (flag == "--php") {
            const std::string_view v = value();
            if (v == "7")
                o.api.php = ksync::emulator::php_version::php7;
            else if (v == "8")
                o.api.php = ksync::emulator::php_version::php8;
            else
                fail("--php takes 7 or 8");
        } else if (flag == "--mask-display-ids") {
            o.api.mask_display_ids = true;
        } else if (flag == "--posts-desc") {
            o.api.posts_descending = true;
        } else if (flag == "--tls-cert") {
            o.tls_cert_file = value();
        } else if (flag == "--tls-key") {
            o.tls_key_file = value();
        } else if (flag == "--seed") {
            o.seed = static_cast<std::uint64_t>(number(flag, value()));
        } else if (flag == "--tickets") {
            o.size.tickets = static_cast<int>(number(flag, value()));
        } else if (flag == "--users") {
            o.size.users = static_cast<int>(number(flag, value()));
        } else if (flag == "--organizations") {
            o.size.organizations = static_cast<int>(number(flag, value()));
        } else if (flag == "--departments") {
            o.size.departments = static_cast<int>(std::max(1LL, number(flag, value())));
        } else if (flag == "--staff") {
            o.size.staff = static_cast<int>(std::max(1LL, number(flag, value())));
        } else if (flag == "--staff-groups") {
            o.size.staff_groups = static_cast<int>(std::max(1LL, number(flag, value())));
        } else if (flag == "--trashed-percent") {
            o.size.trashed_percent = static_cast<int>(std::min(100LL, number(flag, value())));
        } else {
            fail("unknown option " + std::string(flag));
        }
    }
    if (o.tls_cert_file.empty() != o.tls_key_file.empty())
        fail("--tls-cert and --tls-key go together");

    const auto t0 = std::chrono::steady_clock::now();
    try {
        ksync::emulator::emulator emu(o);
        emu.start();
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now() - t0)
                            .count();
        std::cout << "listening on " << o.bind << ":" << emu.port() << std::endl;
        std::cerr << "kayako-emulator: " << (emu.tls() ? "https" : "http") << ", seed " << o.seed
                  << ", " << o.size.tickets << " tickets, " << o.size.users << " users, ready in "
                  << ms << " ms" << std::endl;

        boost::asio::io_context signals_ctx;
        boost::asio::signal_set signals(signals_ctx, SIGINT, SIGTERM);
        signals.async_wait([](const boost::system::error_code&, int) {});
        signals_ctx.run();
        emu.stop();
    } catch (const std::exception& e) {
        std::cerr << "kayako-emulator: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
