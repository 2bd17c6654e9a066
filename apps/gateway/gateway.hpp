#pragma once
// omega-gateway: HTTP (web/ and the JS package, /metrics, /status) and the OVP bridge
// between WebSocket drones (/ovp?drone=N) and a raw Ethernet interface, on one
// native::EventLoop thread. docs/gateway.md has the whole contract; in short:
//
// - Each WebSocket connection is bound to the drone id it asked for; every binary message
//   must be one OVP frame (ovp::decode_ovp with my_id 0: any source and destination), whose
//   source field the gateway overwrites with the bound id (and re-seals) before bridging it:
//   to the raw interface (in Ethernet, to the broadcast MAC) and to the WebSocket drones it
//   addresses (unicast to a bound id, broadcast, or a group). Frames from the raw interface
//   go to the WebSocket drones they address. Bad frames are dropped and counted.
// - Hostile clients (protocol violations, unmasked or text frames, oversize messages,
//   floods, slow readers, stalled handshakes) are closed with a close code and counted;
//   every other connection carries on. Memory per connection is bounded: the request head,
//   one message, and the outgoing queue (--max-outgoing).
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <omega/base/metrics.hpp>
#include <omega/base/result.hpp>
#include <omega/ovp/frame.hpp>

#include "event_loop.hpp"
#include "options.hpp"

namespace omega::gateway {

// The raw side as the gateway needs it. The program implements it over
// omega::native::PacketSocket (raw_port.cpp); tests may implement it over anything that
// carries Ethernet frames.
class RawPort {
 public:
  struct Stats {
    std::uint64_t received = 0;      // Ethernet frames handed to receive()'s callback
    std::uint64_t sent = 0;          // Ethernet frames the kernel took
    std::uint64_t send_dropped = 0;  // frames lost on the way out (backlog full, kernel refused)
    std::uint64_t kernel_drops = 0;  // frames the kernel dropped before we read them
  };
  using FrameCallback = std::function<void(std::span<const std::uint8_t>)>;

  virtual ~RawPort() = default;
  [[nodiscard]] virtual int fd() const noexcept = 0;  // readable (EPOLLIN) when frames wait
  [[nodiscard]] virtual std::string name() const = 0;
  // Sends each OVP frame (header + payload) in an Ethernet frame to its MAC address. Frames
  // the kernel cannot take now are kept, in order, for the next send() or retry().
  struct Outgoing {
    ovp::MacAddress destination;
    std::vector<std::uint8_t> frame;
  };
  virtual void send(std::span<const Outgoing> frames) = 0;
  [[nodiscard]] virtual bool backlogged() const = 0;
  virtual void retry() = 0;
  // Calls on_frame for every received Ethernet frame (without FCS) until none waits.
  virtual Result<std::size_t, std::string> receive(const FrameCallback& on_frame) = 0;
  [[nodiscard]] virtual Stats stats() = 0;
  [[nodiscard]] virtual std::string last_error() const = 0;
};

class Gateway {
 public:
  // Binds the listening socket (config.host:config.port) and registers with `loop`, which
  // must outlive the gateway. `raw` may be null (WebSocket drones only).
  static Result<std::unique_ptr<Gateway>, std::string> create(native::EventLoop& loop, GatewayConfig config,
                                                              std::unique_ptr<RawPort> raw);
  ~Gateway();
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  [[nodiscard]] std::uint16_t port() const noexcept;
  // Stops accepting, closes WebSocket drones with 1001 (going away) and HTTP connections,
  // and calls `done` on the loop once every connection is gone (or after the close timeout).
  void shutdown(std::function<void()> done);

  // Loop thread only.
  [[nodiscard]] MetricsSnapshot metrics() const;
  [[nodiscard]] std::string status_json() const;

  class Impl;

 private:
  explicit Gateway(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace omega::gateway
