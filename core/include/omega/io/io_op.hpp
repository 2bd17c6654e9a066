#pragma once
// The I/O circulation's vocabulary (seed 000): IoOp, what UltraOmegaSystem::submit_io_task
// is asked to do, and IoOutput, what its handle resolves with.
//
//   auto listener = system.submit_io_task(omega::IoOp::TcpListen{"127.0.0.1", 0, 64}, std::nullopt, rng);
//   omega::SocketToken l = *listener->recv_result()->socket;        // local->port: the port bound
//   auto conn = system.submit_io_task(omega::IoOp::TcpConnect{"127.0.0.1", port}, 1s, rng);
//   system.submit_io_task(omega::IoOp::TcpSend{token, bytes}, std::nullopt, rng);
//   system.submit_io_task(omega::IoOp::TcpReceive{token, 4096}, 500ms, rng);   // TimedOut if nothing came
//
// Sockets are named by SocketToken, an opaque id the reactor maps to its own resources; a
// token that was never issued, or whose socket was closed, is refused with an
// ExecutionFailed naming it (and counted), never dereferenced.
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace omega {

// Opaque socket id. Natively: a slot index and that slot's generation, so a token outlives
// its socket harmlessly (a stale token is refused even after the slot is reused).
struct SocketToken {
  std::uint64_t value = 0;
  friend bool operator==(const SocketToken&, const SocketToken&) = default;
};

struct SocketAddress {
  std::string host;  // numeric IPv4, e.g. "127.0.0.1"
  std::uint16_t port = 0;
  friend bool operator==(const SocketAddress&, const SocketAddress&) = default;
};

namespace io_ops {

// Hosts are numeric IPv4 addresses: the reactor never blocks on a DNS lookup.
struct TcpConnect {
  std::string host;
  std::uint16_t port = 0;
};
// port 0: an ephemeral port, reported in IoOutput::local.
struct TcpListen {
  std::string host;
  std::uint16_t port = 0;
  int backlog = 128;
};
struct TcpAccept {
  SocketToken listener;
};
// Resolves once every byte was handed to the kernel (IoOutput::bytes == bytes.size()).
struct TcpSend {
  SocketToken socket;
  std::vector<std::uint8_t> bytes;
};
// Resolves with what one read returns: between 1 and max_bytes bytes, or none with
// end_of_stream set when the peer closed its side. max_bytes: 1 .. kMaxReceiveBytes.
struct TcpReceive {
  SocketToken socket;
  std::size_t max_bytes = 64 * 1024;
};
// Closes the socket; operations still pending on it resolve with ExecutionFailed
// ("socket closed"). The token is stale afterwards.
struct TcpClose {
  SocketToken socket;
};

// OVP (seed 000's fields, plus options with defaults). Natively frames travel in raw
// Ethernet (AF_PACKET, EtherType 0x88B5); in WASM each frame is one binary WebSocket message
// to omega-gateway. Semantics every transport keeps (docs/ovp.md, "OVP transport"):
//
// OvpInit joins: natively `interface` names a network interface ("veth0"); in WASM it is
// the gateway's WebSocket URL ("ws://127.0.0.1:8080/ovp"), and the transport connects to
// it with "?drone=<my_drone_id>" appended (the gateway binds the connection to that id).
// my_drone_id: 1 .. 0xFFFFFFFE. Resolves with IoOutput::socket, the token later ops name.
struct OvpInit {
  std::string interface;
  std::uint32_t my_drone_id = 0;
  // Unicast emits from this endpoint go through the reliable mode (ovp/reliable.hpp):
  // delivered exactly once and in order per sender, retransmitted on loss. Broadcast and
  // group emits stay best effort.
  bool reliable = false;
  std::vector<std::uint32_t> groups{};  // group ids whose frames this drone also receives
};
// Sends `payload` (at most ovp::kMaxPayload bytes) to each listed drone, or to every drone
// (nullopt). Small payloads emitted close together are coalesced into BATCH frames.
// Resolves with IoOutput::bytes = payload.size() once the frames carrying it were handed to
// the transport (kernel or WebSocket); in reliable mode once the message was accepted into
// every target's send window (delivery then follows, with retransmission). A full reliable
// send buffer (a silent peer) fails the emit with ExecutionFailed: backpressure, not a drop.
struct OvpEmit {
  SocketToken socket_token;
  std::optional<std::vector<std::uint32_t>> targets;  // nullopt: every drone
  std::vector<std::uint8_t> payload;
  std::uint16_t channel = 0;
};
// Resolves with the next message for this drone, in arrival order: IoOutput::data (the
// payload), source_drone and channel. Messages that arrive while no receive is pending
// wait in a bounded buffer; past it they are dropped and counted.
struct OvpReceive {
  SocketToken socket_token;
};
// Leaves: pending operations resolve with ExecutionFailed ("<Op>: socket closed (OvpClose)
// ..."), the token goes stale. Emits already resolved are still delivered: queued frames go
// out first, and unacknowledged reliable messages keep being sent in the background for up
// to 2 s (the endpoint lingers, on both targets; natively shutdown waits for that).
struct OvpClose {
  SocketToken socket_token;
};

}  // namespace io_ops

inline constexpr std::size_t kMaxReceiveBytes = std::size_t{16} << 20;

using IoOpVariant = std::variant<io_ops::TcpConnect, io_ops::TcpListen, io_ops::TcpAccept, io_ops::TcpSend,
                                 io_ops::TcpReceive, io_ops::TcpClose, io_ops::OvpInit, io_ops::OvpEmit,
                                 io_ops::OvpReceive, io_ops::OvpClose>;

// One I/O operation: a std::variant of the structs above, which are also reachable as
// IoOp::TcpConnect etc. so call sites read like the seed (IoOp::OvpInit{...}).
struct IoOp : IoOpVariant {
  using TcpConnect = io_ops::TcpConnect;
  using TcpListen = io_ops::TcpListen;
  using TcpAccept = io_ops::TcpAccept;
  using TcpSend = io_ops::TcpSend;
  using TcpReceive = io_ops::TcpReceive;
  using TcpClose = io_ops::TcpClose;
  using OvpInit = io_ops::OvpInit;
  using OvpEmit = io_ops::OvpEmit;
  using OvpReceive = io_ops::OvpReceive;
  using OvpClose = io_ops::OvpClose;
  using IoOpVariant::IoOpVariant;

  // The variant itself, for std::visit (visiting a class derived from std::variant is
  // C++23; Emscripten 3.1.6's libc++ does not have it).
  [[nodiscard]] const IoOpVariant& variant() const noexcept { return *this; }
  [[nodiscard]] IoOpVariant& variant() noexcept { return *this; }
  // "TcpConnect", "OvpEmit", ...: for messages and metrics.
  [[nodiscard]] const char* name() const noexcept;
};

// What an I/O operation produced. Which fields are set depends on the operation:
//   TcpConnect: socket, local, peer       TcpListen: socket, local (with the bound port)
//   TcpAccept:  socket (the new one), local, peer
//   TcpSend:    bytes (all of them)       TcpReceive: bytes, data (or end_of_stream)
//   TcpClose:   nothing
//   OvpInit:    socket                     OvpEmit: bytes (the payload's size)
//   OvpReceive: data, source_drone, channel
//   OvpClose:   nothing
struct IoOutput {
  std::optional<SocketToken> socket;
  std::size_t bytes = 0;
  std::vector<std::uint8_t> data;
  bool end_of_stream = false;
  std::optional<SocketAddress> local;
  std::optional<SocketAddress> peer;
  std::uint32_t source_drone = 0;  // OvpReceive: the sender
  std::uint16_t channel = 0;       // OvpReceive: the channel it was sent on
};

}  // namespace omega
