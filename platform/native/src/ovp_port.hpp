#pragma once
// The native reactor's OVP operations: one io::OvpSession (core/src/io/ovp_session.hpp) per
// OvpInit, each over a PacketLink (an AF_PACKET raw socket on the named interface,
// EtherType 0x88B5), registered in the socket table like any socket (edge-triggered).
//
// - Input edges drain the socket with recvmmsg into the session, which resolves waiting
//   receives in order. At the end of every loop turn that touched OVP (and when the port's
//   timer fires: the earliest session deadline, i.e. reliable-mode timers, receive timeouts,
//   lingering) each session with something due is flushed: its frames leave in one
//   sendmmsg batch and the emits of that turn resolve. Unicast frames go to the MAC address
//   the session learned for the drone, or to the Ethernet broadcast address until it has
//   heard from it.
// - Fast paths on the submitting thread (submit_inline): an OvpEmit that finds its session
//   quiet is encoded and sent there with one sendmmsg and resolved there, saving the
//   hand-off to the loop thread and back (a request/response exchange pays it twice per
//   round trip); an OvpReceive that finds a message waiting takes it there. The session
//   keeps the order (ovp_session.hpp). A submitter whose emit set an earlier reliable-mode
//   timer than the one the port's timer is armed for posts a re-arm to the loop.
// - Loop thread only, except submit_inline() and add_metrics() (any thread): the token map
//   they read is under its own shared mutex, the live list under metrics_mutex_, and the
//   sessions lock themselves.
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <omega/io/io_op.hpp>

#include "event_loop.hpp"
#include "io/frame_link.hpp"
#include "io/ovp_session.hpp"
#include "io/reactor.hpp"
#include "packet_socket.hpp"
#include "socket_table.hpp"

namespace omega::native {

// The native FrameLink: raw Ethernet through a PacketSocket (batched sendmmsg/recvmmsg).
class PacketLink final : public io::FrameLink {
 public:
  explicit PacketLink(PacketSocket socket) : socket_(std::move(socket)) {}
  [[nodiscard]] int fd() const noexcept { return socket_.fd(); }

  [[nodiscard]] Framing framing() const noexcept override { return Framing::Ethernet; }
  [[nodiscard]] std::size_t mtu() const noexcept override;
  void queue(std::uint32_t destination, const ovp::MacAddress* address,
             std::span<const std::uint8_t> frame) override;
  bool transmit(std::string& error) override;
  [[nodiscard]] bool backlogged() const noexcept override { return socket_.backlogged(); }
  std::size_t receive(FrameSink sink) override;
  void add_metrics(MetricsSnapshot& snapshot, const MetricLabels& labels) const override;

 private:
  mutable PacketSocket socket_;  // stats() folds the kernel's counters in
};

class OvpPort {
 public:
  OvpPort(EventLoop& loop, SocketTable& sockets) : loop_(loop), sockets_(sockets) {}
  OvpPort(const OvpPort&) = delete;
  OvpPort& operator=(const OvpPort&) = delete;

  // Any thread: the fast paths for OvpEmit and OvpReceive. True: `request` was resolved.
  bool submit_inline(IoRequest& request) noexcept;
  // Loop thread: an OVP operation.
  void start(IoRequest request);
  void on_event(std::uint32_t slot, std::uint32_t events);
  // Fails the session's pending operations with `why` and closes it now (TcpClose on an
  // OVP token, shutdown).
  void close_slot(std::uint32_t slot, const std::string& why);
  // Shutdown: every open session fails what is pending (kIoShuttingDown) and closes;
  // lingering ones go on. `on_idle` runs (on the loop thread) once none lingers, at once if
  // none does.
  void shutdown(std::function<void()> on_idle);
  void add_metrics(MetricsSnapshot& snapshot) const;

 private:
  void schedule_flush();
  // The end of a turn: services every session (timeouts, flush, lingering), re-arms the
  // timer for the earliest deadline.
  void flush_all();
  void arm(std::int64_t next, std::int64_t now);
  void forget(std::uint32_t slot);

  EventLoop& loop_;
  SocketTable& sockets_;
  // Loop thread only.
  std::unordered_map<std::uint32_t, std::shared_ptr<io::OvpSession>> sessions_;  // slot -> session
  std::vector<std::uint32_t> slots_;  // live OVP slots (Ovp and Lingering)
  std::vector<std::uint32_t> finished_;
  bool flush_scheduled_ = false;
  EventLoop::TimerId timer_ = 0;
  std::uint32_t last_epoch_ = 0;
  std::function<void()> on_idle_;  // set by shutdown()
  // The time the port's timer is armed for (INT64_MAX: none); read by inline emits.
  std::atomic<std::int64_t> armed_at_{INT64_MAX};
  std::atomic<bool> stopped_{false};
  // Inline paths: token -> session.
  mutable std::shared_mutex by_token_mutex_;
  std::unordered_map<std::uint64_t, std::shared_ptr<io::OvpSession>> by_token_;
  mutable std::mutex metrics_mutex_;
  std::vector<std::shared_ptr<io::OvpSession>> live_;
};

}  // namespace omega::native
