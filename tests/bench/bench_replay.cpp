// bench_replay: the emulator's serving rate alone, for scripts/bench (issue 14).
//
//   bench_replay --port P --apikey K --secret S [--connections N] < targets
//
// Reads one Kayako route per line from stdin (`/Tickets/Ticket/ListAll/...`, as the emulator's
// request log records the GETs a sync made), signs each with a fresh salt and fetches it from
// http://127.0.0.1:P/api/index.php?<route> over N keep-alive connections (one thread each), the
// bodies discarded. No decoding, no database: what the emulator can serve on this machine.
// Prints one JSON object: total seconds, requests, bytes, and per route kind (the route without
// its numeric arguments) the requests, bytes and summed request seconds.
#include "tests/emulator/test_client.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

// "/Tickets/Ticket/ListAll/1,2/3/-1/-1/1000/0/ticketid/ASC" -> "Tickets/Ticket/ListAll"
std::string kind_of(const std::string& route) {
    std::string out;
    std::size_t pos = 1;
    for (int part = 0; part < 3 && pos <= route.size(); ++part) {
        const auto end = route.find('/', pos);
        const std::string seg = route.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
        if (seg.empty() || (seg.find_first_not_of("0123456789") == std::string::npos)) break;
        out += (out.empty() ? "" : "/") + seg;
        if (end == std::string::npos) break;
        pos = end + 1;
    }
    return out;
}

struct tally {
    long requests = 0;
    long long bytes = 0;
    double seconds = 0;
};

}  // namespace

int main(int argc, char** argv) {
    using namespace ksync::emulator;
    unsigned short port = 0;
    std::string apikey, secret;
    int connections = 1;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string_view flag = argv[i];
        if (flag == "--port")
            port = static_cast<unsigned short>(std::atoi(argv[i + 1]));
        else if (flag == "--apikey")
            apikey = argv[i + 1];
        else if (flag == "--secret")
            secret = argv[i + 1];
        else if (flag == "--connections")
            connections = std::max(1, std::atoi(argv[i + 1]));
    }
    if (port == 0 || apikey.empty() || secret.empty()) {
        std::fprintf(stderr, "usage: bench_replay --port P --apikey K --secret S [--connections N] < routes\n");
        return 2;
    }
    std::vector<std::string> routes;
    for (std::string line; std::getline(std::cin, line);)
        if (!line.empty()) routes.push_back(line);

    std::atomic<std::size_t> next{0};
    std::atomic<int> failures{0};
    std::mutex mu;
    std::map<std::string, tally> by_kind;
    const auto t0 = clock_type::now();
    std::vector<std::thread> threads;
    for (int c = 0; c < connections; ++c) {
        threads.emplace_back([&, c] {
            test::raw_client client(port);
            std::map<std::string, tally> mine;
            for (std::size_t i = next++; i < routes.size(); i = next++) {
                const std::string salt = std::to_string(c) + "x" + std::to_string(i);
                const std::string target = "/api/index.php?" + routes[i] + "&" +
                                           test::auth_fields(apikey, secret, salt);
                const auto r0 = clock_type::now();
                const auto r = client.request("GET", target);
                auto& t = mine[kind_of(routes[i])];
                t.seconds += std::chrono::duration<double>(clock_type::now() - r0).count();
                ++t.requests;
                t.bytes += static_cast<long long>(r.body.size());
                if (r.status != 200) ++failures;
            }
            const std::lock_guard lock(mu);
            for (const auto& [k, t] : mine) {
                auto& all = by_kind[k];
                all.requests += t.requests;
                all.bytes += t.bytes;
                all.seconds += t.seconds;
            }
        });
    }
    for (auto& t : threads) t.join();
    const double total = std::chrono::duration<double>(clock_type::now() - t0).count();
    long long bytes = 0;
    std::printf("{\"seconds\":%.4f,\"requests\":%zu,\"connections\":%d,\"failures\":%d,\"kinds\":{",
                total, routes.size(), connections, failures.load());
    bool first = true;
    for (const auto& [k, t] : by_kind) {
        bytes += t.bytes;
        std::printf("%s\"%s\":{\"requests\":%ld,\"bytes\":%lld,\"seconds\":%.4f}", first ? "" : ",",
                    k.c_str(), t.requests, t.bytes, t.seconds);
        first = false;
    }
    std::printf("},\"bytes\":%lld}\n", bytes);
    return failures.load() == 0 ? 0 : 1;
}
