#pragma once
// The platform's half of an OVP session (ovp_session.hpp): a link that moves whole OVP
// frames and knows nothing of the protocol. Natively an AF_PACKET raw socket on one
// interface (raw Ethernet, EtherType 0x88B5: platform/native/src/ovp_port.hpp); in WASM a
// WebSocket to omega-gateway, one OVP frame per binary message
// (platform/wasm/src/ovp_websocket.cpp); in tests the fault-injecting network.
//
// Contracts:
// - The session calls every method with its own lock held, from whichever thread drives it
//   at that moment; a link needs no lock of its own for what the session calls. A link may
//   call nothing on its session from inside these methods except the sink it is given.
// - queue() records one frame to `destination` (a drone id, or ovp::kBroadcast for frames
//   every drone on the segment should see: broadcasts, group frames, HELLO). The bytes stay
//   valid until transmit() returns. `address` is where that drone was last heard from: for
//   Ethernet links the MAC the session learned from its frames (the peer address lookup),
//   nullptr when it is unknown or the frame is a broadcast (send it to every station).
// - transmit() hands what queue() recorded to the medium, in order. Frames the medium cannot
//   take now stay with the link (backlogged()) and go first at the next transmit(). Frames it
//   refuses for good are dropped; transmit() then sets `error` (why, for the emits that
//   rode in them) and the session fails the emits of that flush.
// - receive() (pull links) hands every frame the medium holds now to `sink`, as framing()
//   says: whole Ethernet frames, from which the session learns each sender's address, or
//   bare OVP frames. Push links (WebSocket) call OvpSession::on_frame from their own
//   callback instead, and keep the default.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include <omega/base/function_ref.hpp>
#include <omega/base/metrics.hpp>
#include <omega/ovp/frame.hpp>

namespace omega::io {

class FrameLink {
 public:
  enum class Framing : std::uint8_t { Ethernet, Ovp };
  using FrameSink = FunctionRef<void(std::span<const std::uint8_t> frame)>;

  virtual ~FrameLink() = default;

  [[nodiscard]] virtual Framing framing() const noexcept = 0;
  // The largest OVP frame (header + payload) the link carries: at most ovp::kMaxOvpSize.
  [[nodiscard]] virtual std::size_t mtu() const noexcept = 0;
  virtual void queue(std::uint32_t destination, const ovp::MacAddress* address,
                     std::span<const std::uint8_t> frame) = 0;
  // Whether anything was handed to the medium (or is still backlogged).
  virtual bool transmit(std::string& error) = 0;
  [[nodiscard]] virtual bool backlogged() const noexcept { return false; }
  // Non-empty: why the link takes no more emits now (a full send buffer), for OvpEmit to
  // fail with before anything is queued: backpressure, not a drop.
  [[nodiscard]] virtual std::string congested() const { return {}; }
  virtual std::size_t receive(FrameSink sink) {
    (void)sink;
    return 0;
  }
  // The link's own series (kernel and socket counters), each with `labels`. May run on
  // another thread than the one driving the session, while the link lives.
  virtual void add_metrics(MetricsSnapshot& snapshot, const MetricLabels& labels) const {
    (void)snapshot;
    (void)labels;
  }
};

}  // namespace omega::io
