#pragma once
// The WASM OVP transport: each OVP frame (32-byte header + payload, no Ethernet header, no
// padding) is one binary WebSocket message to omega-gateway, which binds the connection to
// the drone id given in the URL (`<interface>?drone=<my_drone_id>`). The protocol side of
// each endpoint (emits, ordered receives, close/linger, metrics) is the core's
// io::OvpSession, the same as natively; this file is its frame link (the WebSocket) and
// the connection around it (connect, gateway closes, tokens, timers).
//
// Threads. Emscripten 3.1.6 creates every WebSocket on the main runtime thread and calls
// its callbacks there (the `_on_thread` argument is ignored), and each websocket function
// called from a pthread is proxied synchronously to the main thread, which would block a
// worker on the main thread and deadlock when the main thread waits for that worker. So
// every WebSocket call and every timer lives on the main thread: operations submitted there
// run at once; operations submitted from a worker are queued and the main thread is asked,
// without waiting, to take them (emscripten_async_run_in_main_runtime_thread). All state is
// under one mutex, so a worker can still fail pending operations at shutdown. The main
// thread never blocks: it only ever takes that mutex for short, non-blocking sections.
//
// Single-threaded build: the same code, where every caller is the main thread.
#include <memory>
#include <string>

#include "io/reactor.hpp"

namespace omega::wasm {

class OvpWebSocketCore;

class OvpWebSocketTransport {
 public:
  explicit OvpWebSocketTransport(IoCounters& counters);
  ~OvpWebSocketTransport();
  OvpWebSocketTransport(const OvpWebSocketTransport&) = delete;
  OvpWebSocketTransport& operator=(const OvpWebSocketTransport&) = delete;

  // OvpInit / OvpEmit / OvpReceive / OvpClose (others are a caller bug). Thread-safe.
  void submit(IoRequest request) noexcept;
  // Resolves every pending operation with kIoShuttingDown at once (any thread); the
  // sockets are closed on the main thread. Idempotent.
  void shutdown() noexcept;
  // Per-endpoint counters (omega_ovp_* with a drone label) and the transport's own.
  void add_metrics(MetricsSnapshot& snapshot) const;

 private:
  // Shared with callbacks and queued main-thread calls that may outlive this object.
  std::shared_ptr<OvpWebSocketCore> core_;
};

}  // namespace omega::wasm
