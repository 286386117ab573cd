// bench_emulator_listall: how fast kayako-emulator serves 1000-ticket ListAll pages.
//
//   bench_emulator_listall [--tickets N] [--users N] [--threads N] [--passes N]
//
// Starts the emulator in-process (the same code as `kayako-emulator --tickets N --users N`),
// reports its startup time, then fetches every 1000-ticket page of
// ListAll/<all depts>/<all statuses>/-1/-1/1000/<offset>/<field>/<order> over one keep-alive
// loopback connection with a bare client, for two sort orders, and reports pages/s and MB/s.
#include "tests/emulator/server.hpp"
#include "tests/emulator/test_client.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point t0) {
    return std::chrono::duration<double>(clock_type::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
    using namespace ksync::emulator;
    emulator_options o;
    o.size.tickets = 100000;
    o.size.users = 100000;
    int passes = 1;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string_view flag = argv[i];
        const long v = std::strtol(argv[i + 1], nullptr, 10);
        if (flag == "--tickets")
            o.size.tickets = static_cast<int>(v);
        else if (flag == "--users")
            o.size.users = static_cast<int>(v);
        else if (flag == "--threads")
            o.threads = static_cast<unsigned>(v);
        else if (flag == "--passes")
            passes = static_cast<int>(v);
    }

    const auto t0 = clock_type::now();
    emulator emu(o);
    emu.start();
    std::printf("startup (--tickets %d --users %d): %.3f s\n", o.size.tickets, o.size.users,
                seconds_since(t0));

    const auto [depts, statuses] = emu.api().read([](const helpdesk& m) {
        std::string d, s;
        for (const auto& x : m.departments)
            d += (d.empty() ? "" : ",") + std::to_string(x.departmentid);
        for (const auto& x : m.statuses)
            s += (s.empty() ? "" : ",") + std::to_string(x.ticketstatusid);
        return std::pair(d, s);
    });
    const auto& api = emu.api().options();
    test::raw_client client(emu.port());

    for (const char* sort : {"ticketid/ASC", "lastactivity/DESC"}) {
        std::size_t pages = 0, bytes = 0, tickets = 0;
        const auto t1 = clock_type::now();
        for (int pass = 0; pass < passes; ++pass) {
            for (long start = 0;; start += 1000) {
                const std::string target =
                    "/api/index.php?/Tickets/Ticket/ListAll/" + depts + "/" + statuses +
                    "/-1/-1/1000/" + std::to_string(start) + "/" + sort + "&" +
                    test::auth_fields(api.apikey, api.secret, std::to_string(1000 + pages));
                const auto r = client.request("GET", target);
                if (r.status != 200) {
                    std::fprintf(stderr, "unexpected status %d\n", r.status);
                    return 1;
                }
                ++pages;
                bytes += r.body.size();
                std::size_t n = 0;
                for (auto p = r.body.find("<ticket id="); p != std::string::npos;
                     p = r.body.find("<ticket id=", p + 1))
                    ++n;
                tickets += n;
                if (n < 1000) break;
            }
        }
        const double s = seconds_since(t1);
        std::printf(
            "ListAll %-18s %zu pages, %zu tickets, %.1f MB in %.3f s: %.1f pages/s, %.1f MB/s\n",
            sort, pages, tickets, static_cast<double>(bytes) / 1e6, s,
            static_cast<double>(pages) / s, static_cast<double>(bytes) / 1e6 / s);
    }
    emu.stop();
    return 0;
}
