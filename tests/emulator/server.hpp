#pragma once

// kayako-emulator's network side: a Beast HTTP/1.1 server on Asio coroutines, plain or TLS,
// serving a `service`. The emulator owns its io_context and worker threads, so a test can start
// one at 127.0.0.1:0, read port(), send requests from its own thread, and stop it.
//
//   emulator_options o;  o.sizes.tickets = 200;
//   emulator emu(o);      emu.start();
//   ... http://127.0.0.1:<emu.port()>/api/index.php?/Tickets/Ticket/ListAll/1 ...
//   emu.api().write([](helpdesk& m) { m.tickets[0].subject = "changed"; });

#include "tests/emulator/service.hpp"

#include <cstdint>
#include <memory>
#include <string>

namespace ksync::emulator {

struct emulator_options {
    std::string bind = "127.0.0.1";
    unsigned short port = 0;  // 0: the OS picks one; read it back with port()
    unsigned threads = 2;
    std::uint64_t seed = 1;
    sizes size;
    api_options api;
    std::string tls_cert_file;  // both set: serve HTTPS
    std::string tls_key_file;
};

class emulator {
public:
    explicit emulator(emulator_options options);  // generates the helpdesk
    ~emulator();                                  // stops
    emulator(const emulator&) = delete;
    emulator& operator=(const emulator&) = delete;

    void start();  // binds and starts serving; throws when the address is unusable
    void stop();   // closes the listener and every connection, joins the threads

    [[nodiscard]] unsigned short port() const;
    [[nodiscard]] bool tls() const;
    // e.g. "http://127.0.0.1:41234/api/index.php"
    [[nodiscard]] std::string base_url() const;
    service& api();

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace ksync::emulator
