// The WASM OVP transport through submit_io_task (WASM builds only). Both builds: gateway
// URLs that cannot work fail at once with the reason. Threaded build, where main() runs on
// a worker (PROXY_TO_PTHREAD) and the main thread is free to run WebSocket callbacks: drones
// submitted from this worker thread exchange frames through a small gateway that the test
// starts on the main thread with the `ws` package (skipped, with a message, when npm ci has
// not installed it), and a refused connection, a gateway that closes, timeouts and shutdown
// each resolve what is pending with a clear error.
#include <omega/base/config.hpp>
#include <omega/exec/system.hpp>
#include <omega/io/io_op.hpp>

#include <emscripten/em_js.h>
#include <emscripten/threading.h>

#include <catch2/catch.hpp>

#include "../support/system_metrics.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

using omega::IoOp;
using omega::IoOutput;
using omega::SocketToken;
using omega::UltraOmegaSystem;
using namespace std::chrono_literals;

// A gateway stand-in for the threaded test, on the `ws` package: binds ?drone=N, forwards
// each binary message to the drone in its destination field or, for broadcast and group
// frames, to every other drone. Main thread only.
EM_JS(int, omega_test_gateway_start, (), {
  var ws;
  try {
    ws = require("ws");
  } catch (e) {
    return 0;
  }
  // The transport unhooks its handlers before closing; a bare EventEmitter would throw on
  // the 'error' event that follows (platform/wasm/js/node-globals.js does the same).
  if (typeof WebSocket == "undefined") {
    globalThis.WebSocket = class extends ws.WebSocket {
      constructor(...a) {
        super(...a);
        this.on("error", function() {});
      }
    };
  }
  var clients = new Map();
  var server = new ws.WebSocketServer({host: "127.0.0.1", port: 0});
  var gw = {server: server, clients: clients, port: 0};
  Module.omegaTestGateway = gw;
  server.on("listening", function() { gw.port = server.address().port; });
  server.on("connection", function(sock, req) {
    var id = Number(new URL(req.url, "http://x").searchParams.get("drone"));
    clients.set(id, sock);
    sock.on("close", function() { if (clients.get(id) === sock) clients.delete(id); });
    sock.on("message", function(data, binary) {
      if (!binary || data.length < 32) return;
      var dest = data.readUInt32BE(12);
      var group = (data.readUInt16BE(2) & 2) != 0;
      clients.forEach(function(peer, pid) {
        if (dest == 0xffffffff || group ? pid != id : pid == dest) peer.send(data, {binary: true});
      });
    });
  });
  return 1;
});
EM_JS(int, omega_test_gateway_port, (), { return Module.omegaTestGateway.port; });
EM_JS(int, omega_test_gateway_clients, (), { return Module.omegaTestGateway.clients.size; });
EM_JS(int, omega_test_gateway_kick, (int drone), {
  Module.omegaTestGateway.clients.get(drone).close(4002, "bye");
  return 1;
});
EM_JS(int, omega_test_gateway_stop, (), {
  Module.omegaTestGateway.clients.forEach(function(s) { s.terminate(); });
  Module.omegaTestGateway.server.close();
  return 1;
});

namespace {

UltraOmegaSystem io_system() { return UltraOmegaSystem::builder().with_nodes(2).with_super_nodes(1).build(); }

using omega::test::counter;
using omega::test::gauge;

struct Io {
  UltraOmegaSystem& system;
  omega::OmegaRng rng = omega::OmegaRng::new_with_seed(11);

  omega::TaskHandle<IoOutput> start(IoOp op, std::optional<omega::Nanos> timeout = 10s) {
    auto h = system.submit_io_task(std::move(op), timeout, rng);
    REQUIRE(h);
    return std::move(*h);
  }
  omega::Result<IoOutput, omega::TaskError> run(IoOp op, std::optional<omega::Nanos> timeout = 10s) {
    return start(std::move(op), timeout).recv_result();
  }
  IoOutput ok(IoOp op, std::optional<omega::Nanos> timeout = 10s) {
    auto r = run(std::move(op), timeout);
    if (!r) FAIL(omega::to_string(r.error()));
    return std::move(*r);
  }
  std::string error(IoOp op, std::optional<omega::Nanos> timeout = 10s) {
    auto r = run(std::move(op), timeout);
    REQUIRE_FALSE(r);
    return r.error().timed_out() ? std::string("TimedOut") : r.error().message();
  }
};

std::vector<std::uint8_t> bytes_of(const std::string& s) { return {s.begin(), s.end()}; }
std::string text_of(const std::vector<std::uint8_t>& v) { return {v.begin(), v.end()}; }

}  // namespace

TEST_CASE("OvpInit refuses gateway URLs that cannot work, at once and with the reason", "[ovp_ws]") {
  auto system = io_system();
  Io io{system};
  const std::pair<const char*, const char*> cases[] = {
      {"veth0", "not a valid URL"},
      {"http://127.0.0.1:8080/ovp", "the scheme must be ws:// or wss://, got http://"},
      {"ws://127.0.0.1:8080/ovp#x", "may not carry a fragment"},
      {"ws://127.0.0.1:8080/ovp?drone=3", "already has a drone or groups parameter"},
  };
  for (const auto& [url, why] : cases) {
    const std::string m = io.error(IoOp::OvpInit{url, 7});
    INFO(m);
    CHECK(m.find(std::string("OvpInit: \"") + url + "\" is not a usable gateway URL") != std::string::npos);
    CHECK(m.find(why) != std::string::npos);
  }
  // Tokens never issued: refused and counted.
  CHECK(io.error(IoOp::OvpReceive{SocketToken{12345}}).find("OvpReceive: bad socket token 12345") != std::string::npos);
  CHECK(io.error(IoOp::OvpEmit{SocketToken{1}, std::nullopt, bytes_of("x")}).find("bad socket token") !=
        std::string::npos);
  CHECK(counter(system, "omega_io_bad_tokens_total") == 2);
  CHECK(counter(system, "omega_io_failed_total") == std::size(cases) + 2);
  CHECK(gauge(system, "omega_io_open_sockets") == 0);
}

// ---- threaded build: a real gateway-like server on the main thread ----------------------

namespace {

// Each runs on the main thread (on_main below): the server lives in its event loop.
int on_main(int (*fn)()) { return emscripten_sync_run_in_main_runtime_thread(EM_FUNC_SIG_I, fn); }
int start_gateway_main() { return omega_test_gateway_start(); }
int gateway_port_main() { return omega_test_gateway_port(); }
int gateway_clients_main() { return omega_test_gateway_clients(); }
int kick_nine_main() { return omega_test_gateway_kick(9); }
int stop_gateway_main() { return omega_test_gateway_stop(); }

// The gateway's port once it listens; 0 when `ws` cannot be loaded; -1 if it never listens.
int start_gateway() {
  if (on_main(&start_gateway_main) == 0) return 0;
  for (int i = 0; i < 500; ++i) {
    if (const int port = on_main(&gateway_port_main); port != 0) return port;
    std::this_thread::sleep_for(10ms);
  }
  return -1;
}
int gateway_clients() { return on_main(&gateway_clients_main); }

}  // namespace

TEST_CASE("drones on a worker thread exchange frames through a gateway; failures resolve what is pending",
          "[ovp_ws]") {
  if constexpr (!omega::kHasThreads) {
    SUCCEED("single-threaded build: only the main thread could wait, and it runs the callbacks (tests/js covers it)");
    return;
  }
  const int port = start_gateway();
  REQUIRE(port >= 0);
  if (port == 0) {
    WARN("skipped: the `ws` npm package is not installed (run npm ci in the source tree)");
    return;
  }
  const std::string url = "ws://127.0.0.1:" + std::to_string(port) + "/ovp";
  auto system = io_system();
  Io io{system};

  const SocketToken a = *io.ok(IoOp::OvpInit{url, 7}).socket;
  const SocketToken b = *io.ok(IoOp::OvpInit{url, 9, /*reliable=*/true}).socket;
  const SocketToken c = *io.ok(IoOp::OvpInit{url, 11}).socket;
  CHECK(gateway_clients() == 3);
  CHECK(gauge(system, "omega_io_open_sockets") == 3);

  // Unicast with a channel; broadcast to the others; reliable unicast back.
  CHECK(io.ok(IoOp::OvpEmit{a, std::vector<std::uint32_t>{9}, bytes_of("hello nine"), 5}).bytes == 10);
  IoOutput m = io.ok(IoOp::OvpReceive{b});
  CHECK(text_of(m.data) == "hello nine");
  CHECK(m.source_drone == 7);
  CHECK(m.channel == 5);
  io.ok(IoOp::OvpEmit{c, std::nullopt, bytes_of("everyone")});
  CHECK(text_of(io.ok(IoOp::OvpReceive{a}).data) == "everyone");
  CHECK(text_of(io.ok(IoOp::OvpReceive{b}).data) == "everyone");
  for (int i = 0; i < 50; ++i) io.ok(IoOp::OvpEmit{b, std::vector<std::uint32_t>{7}, bytes_of("r" + std::to_string(i))});
  for (int i = 0; i < 50; ++i) {
    IoOutput r = io.ok(IoOp::OvpReceive{a});
    CHECK(text_of(r.data) == "r" + std::to_string(i));
    CHECK(r.source_drone == 9);
  }
  CHECK(io.error(IoOp::OvpReceive{c}, 50ms) == "TimedOut");

  // The gateway closes b: its pending receive and later operations name the close.
  auto pending = io.start(IoOp::OvpReceive{b}, std::nullopt);
  on_main(&kick_nine_main);
  auto failed = pending.recv_result();
  REQUIRE_FALSE(failed);
  INFO(failed.error().message());
  CHECK(failed.error().message().find("OvpReceive: the OVP gateway connection " + url + "?drone=9 closed (close code 4002, "
                                      "reason \"bye\")") != std::string::npos);
  CHECK(io.error(IoOp::OvpEmit{b, std::nullopt, bytes_of("x")}).find("close code 4002") != std::string::npos);
  io.ok(IoOp::OvpClose{b});
  CHECK(io.error(IoOp::OvpReceive{b}).find("bad socket token") != std::string::npos);

  // Nothing listens on port 1.
  const std::string refused = io.error(IoOp::OvpInit{"ws://127.0.0.1:1/ovp", 13});
  INFO(refused);
  CHECK(refused.find("OvpInit: could not connect to ws://127.0.0.1:1/ovp?drone=13: connection refused") !=
        std::string::npos);

  // Shutdown from this worker thread resolves a pending receive at once.
  auto waiting = io.start(IoOp::OvpReceive{a}, std::nullopt);
  system.shutdown_all();
  auto down = waiting.recv_result();
  REQUIRE_FALSE(down);
  CHECK(down.error().message().find("shutting down") != std::string::npos);
  CHECK(gauge(system, "omega_io_open_sockets") == 0);
  CHECK(counter(system, "omega_io_submitted_total") ==
        counter(system, "omega_io_completed_total") + counter(system, "omega_io_failed_total") +
            counter(system, "omega_io_timed_out_total"));
  for (int i = 0; i < 200 && gateway_clients() != 0; ++i) std::this_thread::sleep_for(10ms);
  CHECK(gateway_clients() == 0);  // the main thread closed them
  on_main(&stop_gateway_main);
}
