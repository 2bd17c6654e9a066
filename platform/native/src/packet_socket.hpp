#pragma once
// A raw Ethernet socket for one EtherType on one interface (AF_PACKET, SOCK_RAW): what the
// native OVP transport and omega-gateway send and receive frames with. It knows Ethernet,
// not OVP: frames in are whole Ethernet frames (without FCS), frames out are a destination
// MAC and the bytes after the Ethernet header.
//
//   auto s = omega::native::PacketSocket::open("veth0", 0x88B5);   // or the reason it cannot
//   s->queue(dest_mac, payload);   // any number, then one batched sendmmsg:
//   s->send();
//   s->receive([](std::span<const std::uint8_t> frame) { ... });   // recvmmsg until drained
//
// Contracts:
// - open() creates the socket with protocol 0 (it receives nothing), then binds it to the
//   interface's index and the EtherType, so no frame of another type or interface is ever
//   queued; frames that were queued by the time the bind returned are drained and counted
//   (drained_at_open). It is non-blocking, close-on-exec, and asks the kernel not to loop
//   our own transmissions back (PACKET_IGNORE_OUTGOING; where the kernel lacks it, frames
//   marked outgoing are skipped on receive). Errors name the call, the interface and the
//   errno text; EPERM/EACCES say "needs root or CAP_NET_RAW".
// - Sending: queue() records a frame without copying its payload (it must stay valid until
//   send() returns); send() hands every queued frame to the kernel with sendmmsg, in
//   batches, padding short frames to the 60-byte Ethernet minimum. Frames the kernel cannot
//   take now (EAGAIN, ENOBUFS) are copied into a backlog (at most kBacklogLimit frames; more
//   are dropped and counted) that the next send() sends first, keeping their order. Other
//   errors drop that frame, count it, and keep its errno text in last_error().
// - Receiving: receive() reads with recvmmsg, kBatch frames per call, until a call returns
//   fewer than kBatch (the queue was empty at that instant: with edge-triggered epoll a
//   frame arriving later raises a new edge, so this is as good as reading to EAGAIN and
//   saves the extra call). Truncated frames (larger than the buffer), frames of another
//   interface or type, and our own outgoing frames are skipped and counted.
// - stats() folds the kernel's PACKET_STATISTICS into cumulative totals (the kernel resets
//   its counts on every read). Counters are atomics: stats() and counters() may be called
//   from another thread than the one sending and receiving, while the socket lives.
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <linux/if_packet.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <memory>

#include <omega/base/result.hpp>

namespace omega::native {

using MacAddress = std::array<std::uint8_t, 6>;

struct PacketSocketCounters {
  std::uint64_t frames_sent = 0;
  std::uint64_t bytes_sent = 0;        // Ethernet bytes, padding included
  std::uint64_t frames_received = 0;   // handed to receive()'s callback
  std::uint64_t bytes_received = 0;
  std::uint64_t send_calls = 0;        // sendmmsg calls
  std::uint64_t receive_calls = 0;     // recvmmsg calls
  std::uint64_t send_backlogged = 0;   // frames the kernel could not take at once (kept for later)
  std::uint64_t send_dropped = 0;      // frames dropped: backlog full
  std::uint64_t send_errors = 0;       // frames dropped: the kernel refused them (last_error())
  std::uint64_t receive_truncated = 0; // frames larger than the receive buffer
  std::uint64_t receive_foreign = 0;   // another interface or EtherType, or our own outgoing frame
  std::uint64_t drained_at_open = 0;
  // PACKET_STATISTICS, cumulative: frames the kernel queued for us (drops included, as the
  // kernel counts them) and frames it dropped because our receive buffer was full.
  std::uint64_t kernel_packets = 0;
  std::uint64_t kernel_drops = 0;
};

class PacketSocket {
 public:
  static constexpr std::size_t kBatch = 64;            // frames per recvmmsg/sendmmsg call
  static constexpr std::size_t kBacklogLimit = 4096;   // frames kept when the kernel says EAGAIN
  static constexpr std::size_t kMinFrame = 60;         // Ethernet minimum without FCS
  static constexpr std::size_t kHeaderSize = 14;
  static constexpr MacAddress kBroadcastMac{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};

  static Result<PacketSocket, std::string> open(std::string_view interface, std::uint16_t ether_type);

  PacketSocket(PacketSocket&& other) noexcept;
  PacketSocket& operator=(PacketSocket&& other) noexcept;
  PacketSocket(const PacketSocket&) = delete;
  PacketSocket& operator=(const PacketSocket&) = delete;
  ~PacketSocket();

  [[nodiscard]] int fd() const noexcept { return fd_; }
  [[nodiscard]] int ifindex() const noexcept { return ifindex_; }
  [[nodiscard]] const MacAddress& mac() const noexcept { return mac_; }
  [[nodiscard]] std::size_t mtu() const noexcept { return mtu_; }
  [[nodiscard]] const std::string& interface() const noexcept { return interface_; }
  [[nodiscard]] std::uint16_t ether_type() const noexcept { return ether_type_; }

  // Records one frame to `destination`: our MAC as source, our EtherType, then `payload`
  // (at most mtu() bytes; longer ones are dropped and counted as send errors at send()).
  void queue(const MacAddress& destination, std::span<const std::uint8_t> payload);
  [[nodiscard]] std::size_t queued() const noexcept { return tx_.size(); }
  // Hands the backlog, then every queued frame, to the kernel. Returns frames sent.
  std::size_t send();
  // Frames kept for a later send(): the caller retries on writability or a timer.
  [[nodiscard]] bool backlogged() const noexcept { return !backlog_.empty(); }

  // Reads until drained (see above), calling on_frame(std::span<const std::uint8_t>) for
  // each Ethernet frame (valid during the call). The frames handed out, or the error of a
  // failing recvmmsg (other than EAGAIN/EINTR).
  template <class F>
  Result<std::size_t, std::string> receive(F&& on_frame) {
    std::size_t total = 0;
    for (;;) {
      auto n = receive_batch();
      if (!n) return Err(std::move(n.error()));
      for (std::size_t i = 0; i < *n; ++i) {
        const std::span<const std::uint8_t> frame = received(i);
        if (!frame.empty()) {
          on_frame(frame);
          ++total;
        }
      }
      if (*n < kBatch) return total;
    }
  }

  // Cumulative counts, PACKET_STATISTICS folded in first.
  PacketSocketCounters stats();
  [[nodiscard]] std::string last_error() const;
  // Frames the kernel refused so far (no PACKET_STATISTICS read: cheap on a send path).
  [[nodiscard]] std::uint64_t send_errors() const noexcept {
    return counters_->send_errors.load(std::memory_order_relaxed);
  }

 private:
  PacketSocket() = default;
  void close() noexcept;
  // One recvmmsg: frames now in rx_ (0 when none was waiting).
  Result<std::size_t, std::string> receive_batch();
  // The i-th frame of the last batch, empty if it was skipped (and counted).
  std::span<const std::uint8_t> received(std::size_t i);
  // sendmmsg over `count` prepared messages; returns how many the kernel took before it
  // said EAGAIN/ENOBUFS (the rest stay with the caller); hard errors skip the frame.
  std::size_t send_prepared(std::size_t count, bool& blocked);
  void keep_unsent(std::size_t from);

  struct TxFrame {
    std::array<std::uint8_t, kHeaderSize> header;
    const std::uint8_t* payload;
    std::size_t size;
  };

  int fd_ = -1;
  int ifindex_ = 0;
  MacAddress mac_{};
  std::size_t mtu_ = 0;
  std::string interface_;
  std::uint16_t ether_type_ = 0;

  std::vector<TxFrame> tx_;
  std::deque<std::vector<std::uint8_t>> backlog_;  // whole Ethernet frames, padded
  std::vector<mmsghdr> tx_msgs_;
  std::vector<iovec> tx_iov_;

  std::size_t rx_frame_size_ = 0;
  std::vector<std::uint8_t> rx_buffers_;
  std::vector<mmsghdr> rx_msgs_;
  std::vector<iovec> rx_iov_;
  std::vector<sockaddr_ll> rx_addrs_;

  struct Atomics {
    std::atomic<std::uint64_t> frames_sent{0}, bytes_sent{0}, frames_received{0}, bytes_received{0}, send_calls{0},
        receive_calls{0}, send_backlogged{0}, send_dropped{0}, send_errors{0}, receive_truncated{0},
        receive_foreign{0}, drained_at_open{0}, kernel_packets{0}, kernel_drops{0};
  };
  std::unique_ptr<Atomics> counters_ = std::make_unique<Atomics>();  // stable across moves
  std::string last_error_;
};

}  // namespace omega::native
