// The I/O circulation: submit_io_task through the platform reactor. Natively real TCP on
// 127.0.0.1 (ephemeral ports); in WASM the clear "not available" errors. Every operation
// that should succeed carries a guard timeout, so a broken reactor fails a test instead of
// hanging it.
#include <omega/base/config.hpp>
#include <omega/exec/system.hpp>
#include <omega/io/io_op.hpp>
#include <omega/ovp/frame.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "../support/system_metrics.hpp"
#include "../support/threads.hpp"

using omega::IoOp;
using omega::IoOutput;
using omega::OmegaRng;
using omega::SocketToken;
using omega::TaskError;
using omega::TaskHandle;
using omega::UltraOmegaSystem;
using namespace std::chrono_literals;

namespace {

constexpr omega::Nanos kGuard = 10s;  // far above anything loopback needs; only a bug reaches it
const char* const kLoopback = "127.0.0.1";

UltraOmegaSystem io_system() { return UltraOmegaSystem::builder().with_nodes(4).with_super_nodes(1).build(); }

using omega::test::counter;
using omega::test::gauge;

std::vector<std::uint8_t> bytes_of(const std::string& s) { return {s.begin(), s.end()}; }
std::vector<std::uint8_t> pattern(std::size_t n, std::uint32_t seed) {
  std::vector<std::uint8_t> v(n);
  std::uint32_t x = seed * 2654435761u + 1;
  for (auto& b : v) {
    x = x * 1664525u + 1013904223u;
    b = static_cast<std::uint8_t>(x >> 24);
  }
  return v;
}

// A submitter: one system, one rng (rngs are per thread).
struct Io {
  UltraOmegaSystem& system;
  OmegaRng rng = OmegaRng::new_with_seed(7);

  TaskHandle<IoOutput> start(IoOp op, std::optional<omega::Nanos> timeout = kGuard) {
    auto h = system.submit_io_task(std::move(op), timeout, rng);
    REQUIRE(h);
    return std::move(*h);
  }
  omega::Result<IoOutput, TaskError> run(IoOp op, std::optional<omega::Nanos> timeout = kGuard) {
    return start(std::move(op), timeout).recv_result();
  }
  IoOutput ok(IoOp op) {
    auto r = run(std::move(op));
    if (!r) FAIL(omega::to_string(r.error()));
    return std::move(*r);
  }
  // Receives until `n` bytes came (TCP may split them), or fails.
  std::vector<std::uint8_t> receive_exactly(SocketToken s, std::size_t n) {
    std::vector<std::uint8_t> got;
    while (got.size() < n) {
      IoOutput out = ok(IoOp::TcpReceive{s, n - got.size()});
      REQUIRE_FALSE(out.end_of_stream);
      got.insert(got.end(), out.data.begin(), out.data.end());
    }
    return got;
  }
};

struct Pair {
  SocketToken listener, client, server;
  std::uint16_t port = 0;
};

// A listener on an ephemeral loopback port and one connection through it.
Pair connect_pair(Io& io) {
  Pair p;
  IoOutput l = io.ok(IoOp::TcpListen{kLoopback, 0, 16});
  REQUIRE(l.socket);
  REQUIRE(l.local);
  p.listener = *l.socket;
  p.port = l.local->port;
  REQUIRE(p.port != 0);
  auto accept = io.start(IoOp::TcpAccept{p.listener});
  IoOutput c = io.ok(IoOp::TcpConnect{kLoopback, p.port});
  auto a = accept.recv_result();
  REQUIRE(a);
  REQUIRE(c.socket);
  REQUIRE(a->socket);
  p.client = *c.socket;
  p.server = *a->socket;
  CHECK(c.peer == omega::SocketAddress{kLoopback, p.port});
  CHECK(a->peer == c.local);  // each side sees the other's address
  return p;
}

void check_balanced(const UltraOmegaSystem& system) {
  CHECK(counter(system, "omega_io_submitted_total") ==
        counter(system, "omega_io_completed_total") + counter(system, "omega_io_failed_total") +
            counter(system, "omega_io_timed_out_total"));
}

}  // namespace

TEST_CASE("OVP operations on a missing interface or an unknown token fail clearly", "[io]") {
  auto system = io_system();
  Io io{system};
  const std::vector<IoOp> ops = {IoOp::OvpInit{"omega-none0", 7},
                                 IoOp::OvpEmit{SocketToken{1}, std::vector<std::uint32_t>{9}, bytes_of("hi")},
                                 IoOp::OvpEmit{SocketToken{1}, std::nullopt, bytes_of("all")},
                                 IoOp::OvpReceive{SocketToken{1}}, IoOp::OvpClose{SocketToken{1}}};
  for (std::size_t i = 0; i < ops.size(); ++i) {
    auto r = io.run(ops[i], 500ms);
    REQUIRE_FALSE(r);
    CHECK(r.error().execution_failed());
    const std::string& m = r.error().message();
    INFO(m);
    if (!omega::kHasTcp && i == 0) {
      // WASM: the interface is the gateway's WebSocket URL (tests/unit/ovp_ws_test.cpp).
      CHECK(m.find("is not a usable gateway URL") != std::string::npos);
    } else if (i == 0) {
      // Natively (tests/native covers working endpoints between network namespaces).
      CHECK((m.find("interface 'omega-none0' does not exist") != std::string::npos ||
             m.find("needs root or CAP_NET_RAW") != std::string::npos));
    } else {
      CHECK(m.find("bad socket token") != std::string::npos);
    }
  }
  CHECK(counter(system, "omega_io_bad_tokens_total") == ops.size() - 1);
  CHECK(counter(system, "omega_io_failed_total") == ops.size());
  check_balanced(system);
}

TEST_CASE("invalid arguments and expired timeouts are refused before any I/O", "[io]") {
  auto system = io_system();
  Io io{system};
  auto r = io.run(IoOp::TcpReceive{SocketToken{1}, 0});
  REQUIRE_FALSE(r);
  CHECK(r.error().message().find("max_bytes") != std::string::npos);
  r = io.run(IoOp::TcpListen{kLoopback, 0, 0});
  REQUIRE_FALSE(r);
  CHECK(r.error().message().find("backlog") != std::string::npos);
  r = io.run(IoOp::OvpInit{"veth0", 0});
  REQUIRE_FALSE(r);
  CHECK(r.error().message().find("my_drone_id must lie in 1..4294967294") != std::string::npos);
  r = io.run(IoOp::OvpInit{"veth0", omega::ovp::kBroadcast});
  REQUIRE_FALSE(r);
  CHECK(r.error().message().find("my_drone_id") != std::string::npos);
  r = io.run(IoOp::OvpInit{"", 7});
  REQUIRE_FALSE(r);
  CHECK(r.error().message().find("interface is empty") != std::string::npos);
  r = io.run(IoOp::OvpEmit{SocketToken{1}, std::nullopt, std::vector<std::uint8_t>(omega::ovp::kMaxPayload + 1)});
  REQUIRE_FALSE(r);
  CHECK(r.error().message().find("above the maximum of 1468") != std::string::npos);
  r = io.run(IoOp::OvpEmit{SocketToken{1}, std::vector<std::uint32_t>{}, bytes_of("x")});
  REQUIRE_FALSE(r);
  CHECK(r.error().message().find("empty list") != std::string::npos);
  r = io.run(IoOp::OvpEmit{SocketToken{1}, std::vector<std::uint32_t>{3, 0}, bytes_of("x")});
  REQUIRE_FALSE(r);
  CHECK(r.error().message().find("target drone id 0 is not a drone") != std::string::npos);
  r = io.run(IoOp::TcpConnect{kLoopback, 1}, 0ns);  // a timeout already elapsed: nothing is started
  REQUIRE_FALSE(r);
  CHECK(r.error().timed_out());
  CHECK(counter(system, "omega_io_timed_out_total") == 1);
  check_balanced(system);
}

TEST_CASE("in WASM every TCP operation fails with a clear error", "[io]") {
  if constexpr (omega::kHasTcp) {
    SUCCEED("native build: TCP is covered by the tests below");
    return;
  }
  auto system = io_system();
  Io io{system};
  const std::vector<IoOp> ops = {IoOp::TcpListen{kLoopback, 0, 8}, IoOp::TcpConnect{kLoopback, 80},
                                 IoOp::TcpAccept{SocketToken{1}},  IoOp::TcpSend{SocketToken{1}, bytes_of("x")},
                                 IoOp::TcpReceive{SocketToken{1}, 16}, IoOp::TcpClose{SocketToken{1}}};
  for (const auto& op : ops) {
    auto r = io.run(op);
    REQUIRE_FALSE(r);
    CHECK(r.error().execution_failed());
    CHECK(r.error().message() == "TCP is not available in the browser; use the OVP gateway");
  }
  CHECK(counter(system, "omega_io_failed_total") == ops.size());
  check_balanced(system);
  system.shutdown_all();
  CHECK_FALSE(system.submit_io_task(IoOp::TcpListen{kLoopback, 0, 8}, std::nullopt, io.rng));
}

TEST_CASE("TCP round trip on loopback: listen, accept, connect, send, receive, close", "[io]") {
  if constexpr (!omega::kHasTcp) return;
  auto system = io_system();
  Io io{system};
  Pair p = connect_pair(io);
  CHECK(gauge(system, "omega_io_open_sockets") == 3);

  IoOutput sent = io.ok(IoOp::TcpSend{p.client, bytes_of("ping")});
  CHECK(sent.bytes == 4);
  CHECK(io.receive_exactly(p.server, 4) == bytes_of("ping"));
  CHECK(io.ok(IoOp::TcpSend{p.server, bytes_of("pong!")}).bytes == 5);
  CHECK(io.receive_exactly(p.client, 5) == bytes_of("pong!"));

  // A large send waits for the peer to drain the socket buffers (partial writes, EPOLLOUT).
  const auto big = pattern(8u << 20, 3);
  auto send = io.start(IoOp::TcpSend{p.client, big});
  CHECK(io.receive_exactly(p.server, big.size()) == big);
  auto s = send.recv_result();
  REQUIRE(s);
  CHECK(s->bytes == big.size());

  for (SocketToken t : {p.client, p.server, p.listener}) io.ok(IoOp::TcpClose{t});
  CHECK(gauge(system, "omega_io_open_sockets") == 0);
  CHECK(counter(system, "omega_io_failed_total") == 0);
  CHECK(counter(system, "omega_io_reactor_wakeups_total") > 0);
  check_balanced(system);
}

TEST_CASE("64 concurrent connections each echo their own message", "[io]") {
  if constexpr (!omega::kHasTcp) return;
  constexpr std::size_t kConnections = 64;
  constexpr std::size_t kBytes = 1024;
  auto system = io_system();
  Io io{system};
  IoOutput l = io.ok(IoOp::TcpListen{kLoopback, 0, static_cast<int>(kConnections)});
  const SocketToken listener = *l.socket;

  // Every accept and connect in flight at once.
  std::vector<TaskHandle<IoOutput>> accepts, connects;
  for (std::size_t i = 0; i < kConnections; ++i) accepts.push_back(io.start(IoOp::TcpAccept{listener}));
  for (std::size_t i = 0; i < kConnections; ++i) connects.push_back(io.start(IoOp::TcpConnect{kLoopback, l.local->port}));
  std::vector<SocketToken> clients, servers;
  for (auto& h : connects) clients.push_back(*h.recv_result().value().socket);
  for (auto& h : accepts) servers.push_back(*h.recv_result().value().socket);

  // Clients send; servers learn which client they hold from the message's first byte.
  std::vector<TaskHandle<IoOutput>> sends;
  for (std::size_t i = 0; i < kConnections; ++i) {
    auto msg = pattern(kBytes, static_cast<std::uint32_t>(i));
    msg[0] = static_cast<std::uint8_t>(i);
    sends.push_back(io.start(IoOp::TcpSend{clients[i], msg}));
  }
  for (auto& h : sends) CHECK(h.recv_result().value().bytes == kBytes);
  std::vector<TaskHandle<IoOutput>> echoes;
  for (SocketToken s : servers) echoes.push_back(io.start(IoOp::TcpSend{s, io.receive_exactly(s, kBytes)}));
  for (auto& h : echoes) CHECK(h.recv_result().value().bytes == kBytes);
  for (std::size_t i = 0; i < kConnections; ++i) {
    auto want = pattern(kBytes, static_cast<std::uint32_t>(i));
    want[0] = static_cast<std::uint8_t>(i);
    CHECK(io.receive_exactly(clients[i], kBytes) == want);
  }
  for (SocketToken t : clients) io.ok(IoOp::TcpClose{t});
  for (SocketToken t : servers) io.ok(IoOp::TcpClose{t});
  io.ok(IoOp::TcpClose{listener});
  CHECK(gauge(system, "omega_io_open_sockets") == 0);
  CHECK(counter(system, "omega_io_failed_total") == 0);
  check_balanced(system);
}

TEST_CASE("a receive that times out is cancelled, consumes nothing, and leaves the socket usable", "[io]") {
  if constexpr (!omega::kHasTcp) return;
  auto system = io_system();
  Io io{system};
  Pair p = connect_pair(io);

  auto r = io.run(IoOp::TcpReceive{p.server, 64}, 30ms);
  REQUIRE_FALSE(r);
  CHECK(r.error().timed_out());
  CHECK(counter(system, "omega_io_timed_out_total") == 1);

  // One that times out while another waits behind it: the one behind takes the data.
  auto first = io.start(IoOp::TcpReceive{p.server, 64}, 30ms);
  auto second = io.start(IoOp::TcpReceive{p.server, 64});
  CHECK(first.recv_result().error().timed_out());
  io.ok(IoOp::TcpSend{p.client, bytes_of("late")});
  auto got = second.recv_result();
  REQUIRE(got);
  CHECK(got->data == bytes_of("late"));

  // An accept times out the same way and the listener still accepts afterwards.
  CHECK(io.run(IoOp::TcpAccept{p.listener}, 20ms).error().timed_out());
  auto accept = io.start(IoOp::TcpAccept{p.listener});
  IoOutput c2 = io.ok(IoOp::TcpConnect{kLoopback, p.port});
  REQUIRE(accept.recv_result());
  io.ok(IoOp::TcpClose{*c2.socket});

  CHECK(counter(system, "omega_io_timed_out_total") == 3);
  check_balanced(system);
}

TEST_CASE("bad, stale and wrong-kind tokens get a clear error and are counted", "[io]") {
  if constexpr (!omega::kHasTcp) return;
  auto system = io_system();
  Io io{system};
  auto expect_bad = [&](IoOp op, const char* text) {
    auto r = io.run(std::move(op));
    REQUIRE_FALSE(r);
    CHECK(r.error().execution_failed());
    INFO(r.error().message());
    CHECK(r.error().message().find(text) != std::string::npos);
  };
  expect_bad(IoOp::TcpReceive{SocketToken{0}, 16}, "bad socket token");
  expect_bad(IoOp::TcpSend{SocketToken{(std::uint64_t{5} << 32) | 12345}, bytes_of("x")}, "bad socket token");
  CHECK(counter(system, "omega_io_bad_tokens_total") == 2);

  Pair p = connect_pair(io);
  io.ok(IoOp::TcpClose{p.client});
  expect_bad(IoOp::TcpSend{p.client, bytes_of("x")}, "bad socket token");  // stale
  expect_bad(IoOp::TcpClose{p.client}, "bad socket token");
  // A new socket may reuse the slot; the old token still names nothing.
  IoOutput again = io.ok(IoOp::TcpConnect{kLoopback, p.port});
  CHECK(*again.socket != p.client);
  expect_bad(IoOp::TcpReceive{p.client, 16}, "bad socket token");
  CHECK(counter(system, "omega_io_bad_tokens_total") == 5);

  expect_bad(IoOp::TcpReceive{p.listener, 16}, "is a listener");
  expect_bad(IoOp::TcpAccept{p.server}, "not a listener");

  expect_bad(IoOp::TcpConnect{"localhost", p.port}, "numeric IPv4");
  expect_bad(IoOp::TcpListen{kLoopback, p.port, 4}, "Address already in use");
  io.ok(IoOp::TcpClose{p.listener});
  expect_bad(IoOp::TcpConnect{kLoopback, p.port}, "Connection refused");  // nobody listens there now
  check_balanced(system);
}

TEST_CASE("a peer that closes ends a pending receive; closing a socket fails its pending operations", "[io]") {
  if constexpr (!omega::kHasTcp) return;
  auto system = io_system();
  Io io{system};
  Pair p = connect_pair(io);

  auto pending = io.start(IoOp::TcpReceive{p.server, 64});
  io.ok(IoOp::TcpSend{p.client, bytes_of("last words")});
  io.ok(IoOp::TcpClose{p.client});
  auto first = pending.recv_result();
  REQUIRE(first);
  std::vector<std::uint8_t> got = first->data;
  // Everything sent before the close arrives, then the end of the stream.
  for (;;) {
    IoOutput out = io.ok(IoOp::TcpReceive{p.server, 64});
    if (out.end_of_stream) {
      CHECK(out.bytes == 0);
      break;
    }
    got.insert(got.end(), out.data.begin(), out.data.end());
  }
  CHECK(got == bytes_of("last words"));

  // Our own close while a receive waits: it fails with the reason, nothing leaks.
  auto waiting = io.start(IoOp::TcpAccept{p.listener}, std::nullopt);
  io.ok(IoOp::TcpClose{p.listener});
  auto r = waiting.recv_result();
  REQUIRE_FALSE(r);
  CHECK(r.error().message().find("socket closed") != std::string::npos);
  io.ok(IoOp::TcpClose{p.server});
  CHECK(gauge(system, "omega_io_open_sockets") == 0);
  check_balanced(system);
}

TEST_CASE("shutdown resolves every pending I/O operation and refuses new ones", "[io]") {
  if constexpr (!omega::kHasTcp) return;
  auto system = io_system();
  Io io{system};
  Pair p = connect_pair(io);
  std::vector<TaskHandle<IoOutput>> pending;
  for (int i = 0; i < 8; ++i) {
    pending.push_back(io.start(IoOp::TcpReceive{p.server, 64}, std::nullopt));  // no timeout: only shutdown ends them
    pending.push_back(io.start(IoOp::TcpAccept{p.listener}, 1h));
  }
  system.shutdown_all();
  for (auto& h : pending) {
    REQUIRE(h.is_ready());  // shutdown_all returned: every one was resolved
    auto r = h.recv_result();
    REQUIRE_FALSE(r);
    CHECK(r.error().execution_failed());
    CHECK(r.error().message().find("shutting down") != std::string::npos);
  }
  auto refused = system.submit_io_task(IoOp::TcpListen{kLoopback, 0, 4}, std::nullopt, io.rng);
  REQUIRE_FALSE(refused);
  CHECK(refused.error() == omega::NodeError::NodeShuttingDown);
  CHECK(gauge(system, "omega_io_open_sockets") == 0);
  check_balanced(system);
}

TEST_CASE("several submitting threads, fewer than the workers, each run their own ping-pong", "[io]") {
  if constexpr (!omega::kHasTcp) return;
  constexpr int kSubmitters = 3;  // the system below has at least 4 workers
  constexpr int kRounds = 200;
  auto system = io_system();
  REQUIRE(system.memory_stats().threads > kSubmitters);
  Io setup{system};
  IoOutput l = setup.ok(IoOp::TcpListen{kLoopback, 0, 16});
  std::atomic<int> failures{0};
  std::atomic<int> rounds{0};
  // Catch2 assertions are not thread-safe: threads count failures, the test checks them.
  omega::test::run_threads(kSubmitters, [&](int t) {
    OmegaRng rng = OmegaRng::new_with_seed(100 + static_cast<std::uint64_t>(t));
    auto run = [&](IoOp op) -> std::optional<IoOutput> {
      auto h = system.submit_io_task(std::move(op), kGuard, rng);
      if (!h) return std::nullopt;
      auto r = h->recv_result();
      if (!r) return std::nullopt;
      return std::move(*r);
    };
    auto accept = system.submit_io_task(IoOp::TcpAccept{*l.socket}, kGuard, rng);
    auto c = run(IoOp::TcpConnect{kLoopback, l.local->port});
    if (!accept || !c) {
      failures.fetch_add(1);
      return;
    }
    auto a = accept->recv_result();
    if (!a) {
      failures.fetch_add(1);
      return;
    }
    // Accepts of different threads may pair up crosswise: each thread echoes on what it
    // accepted and pings on what it connected, so every connection has one of each.
    const SocketToken mine = *c->socket, theirs = *a->socket;
    for (int i = 0; i < kRounds; ++i) {
      const std::uint8_t b = static_cast<std::uint8_t>(t * 50 + i);
      auto send = system.submit_io_task(IoOp::TcpSend{mine, {b}}, kGuard, rng);
      auto echo_in = run(IoOp::TcpReceive{theirs, 1});
      if (!send || !send->recv_result() || !echo_in || echo_in->bytes != 1) {
        failures.fetch_add(1);
        return;
      }
      auto echo_out = run(IoOp::TcpSend{theirs, echo_in->data});
      auto back = run(IoOp::TcpReceive{mine, 1});
      if (!echo_out || !back || back->data != std::vector<std::uint8_t>{b}) {
        failures.fetch_add(1);
        return;
      }
      rounds.fetch_add(1);
    }
  });
  CHECK(failures.load() == 0);
  CHECK(rounds.load() == kSubmitters * kRounds);
  check_balanced(system);
}
