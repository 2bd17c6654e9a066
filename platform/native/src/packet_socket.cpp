#include "packet_socket.hpp"
#include "syscall.hpp"

#include <arpa/inet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>
#include <utility>

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23  // Linux 4.20; older kernels refuse it (handled on receive)
#endif

namespace omega::native {
namespace {

std::string socket_error(std::string_view what, std::string_view interface, int err) {
  std::string s = errno_text(what, interface, err);
  if (err == EPERM || err == EACCES) s += ": raw sockets: needs root or CAP_NET_RAW";
  return s;
}

constexpr std::uint8_t kZeros[PacketSocket::kMinFrame] = {};

}  // namespace

Result<PacketSocket, std::string> PacketSocket::open(std::string_view interface, std::uint16_t ether_type) {
  if (interface.empty() || interface.size() >= IFNAMSIZ) {
    return Err("interface name '" + std::string(interface) + "' must be 1.." + std::to_string(IFNAMSIZ - 1) +
               " characters");
  }
  PacketSocket s;
  s.interface_ = std::string(interface);
  s.ether_type_ = ether_type;
  // Protocol 0: the socket receives nothing until bind() names the EtherType and interface.
  s.fd_ = ::socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s.fd_ < 0) return Err(socket_error("socket(AF_PACKET, SOCK_RAW)", interface, errno));

  ifreq ifr{};
  std::memcpy(ifr.ifr_name, interface.data(), interface.size());
  if (::ioctl(s.fd_, SIOCGIFINDEX, &ifr) != 0) {
    const int err = errno;
    if (err == ENODEV) return Err("interface '" + s.interface_ + "' does not exist (SIOCGIFINDEX: no such device)");
    return Err(socket_error("SIOCGIFINDEX", interface, err));
  }
  s.ifindex_ = ifr.ifr_ifindex;
  if (::ioctl(s.fd_, SIOCGIFFLAGS, &ifr) != 0) return Err(socket_error("SIOCGIFFLAGS", interface, errno));
  if ((ifr.ifr_flags & IFF_UP) == 0) return Err("interface '" + s.interface_ + "' is down");
  if (::ioctl(s.fd_, SIOCGIFHWADDR, &ifr) != 0) return Err(socket_error("SIOCGIFHWADDR", interface, errno));
  if (ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER && ifr.ifr_hwaddr.sa_family != ARPHRD_LOOPBACK) {
    return Err("interface '" + s.interface_ + "' is not an Ethernet interface (ARPHRD " +
               std::to_string(ifr.ifr_hwaddr.sa_family) + ")");
  }
  std::memcpy(s.mac_.data(), ifr.ifr_hwaddr.sa_data, 6);
  if (::ioctl(s.fd_, SIOCGIFMTU, &ifr) != 0) return Err(socket_error("SIOCGIFMTU", interface, errno));
  s.mtu_ = static_cast<std::size_t>(std::max(ifr.ifr_mtu, 0));

  const int one = 1;
  // Not fatal where the kernel lacks it: receive() skips PACKET_OUTGOING frames anyway.
  (void)::setsockopt(s.fd_, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one);
  // Room for bursts: the kernel drops (and PACKET_STATISTICS counts) what does not fit.
  // The forced variants exceed rmem_max/wmem_max with CAP_NET_ADMIN; otherwise the capped ones.
  const int bytes = 4 << 20;
  if (::setsockopt(s.fd_, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof bytes) != 0) {
    (void)::setsockopt(s.fd_, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
  }
  if (::setsockopt(s.fd_, SOL_SOCKET, SO_SNDBUFFORCE, &bytes, sizeof bytes) != 0) {
    (void)::setsockopt(s.fd_, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes);
  }

  sockaddr_ll addr{};
  addr.sll_family = AF_PACKET;
  addr.sll_protocol = htons(ether_type);
  addr.sll_ifindex = s.ifindex_;
  if (::bind(s.fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    return Err(socket_error("bind(AF_PACKET)", interface, errno));
  }

  // Receive buffers: the MTU plus the Ethernet header and one VLAN tag, and a few bytes
  // more so a frame over that size is seen as truncated rather than silently cut.
  s.rx_frame_size_ = std::max<std::size_t>(s.mtu_, kMinFrame) + kHeaderSize + 4 + 4;
  s.rx_buffers_.resize(s.rx_frame_size_ * kBatch);
  s.rx_msgs_.resize(kBatch);
  s.rx_iov_.resize(kBatch);
  s.rx_addrs_.resize(kBatch);
  for (std::size_t i = 0; i < kBatch; ++i) {
    s.rx_iov_[i].iov_base = s.rx_buffers_.data() + i * s.rx_frame_size_;
    s.rx_iov_[i].iov_len = s.rx_frame_size_;
  }
  s.tx_.reserve(kBatch);
  s.tx_msgs_.resize(kBatch);
  s.tx_iov_.resize(kBatch * 3);

  // Whatever was queued by the time bind() returned is not ours to interpret.
  std::uint8_t scratch[64];
  while (::recv(s.fd_, scratch, sizeof scratch, MSG_DONTWAIT | MSG_TRUNC) >= 0) {
    s.counters_->drained_at_open.fetch_add(1, std::memory_order_relaxed);
  }
  return s;
}

PacketSocket::PacketSocket(PacketSocket&& o) noexcept { *this = std::move(o); }

PacketSocket& PacketSocket::operator=(PacketSocket&& o) noexcept {
  if (this == &o) return *this;
  close();
  fd_ = std::exchange(o.fd_, -1);
  ifindex_ = o.ifindex_;
  mac_ = o.mac_;
  mtu_ = o.mtu_;
  interface_ = std::move(o.interface_);
  ether_type_ = o.ether_type_;
  tx_ = std::move(o.tx_);
  backlog_ = std::move(o.backlog_);
  tx_msgs_ = std::move(o.tx_msgs_);
  tx_iov_ = std::move(o.tx_iov_);
  rx_frame_size_ = o.rx_frame_size_;
  rx_buffers_ = std::move(o.rx_buffers_);
  rx_msgs_ = std::move(o.rx_msgs_);
  rx_iov_ = std::move(o.rx_iov_);
  rx_addrs_ = std::move(o.rx_addrs_);
  counters_ = std::move(o.counters_);
  if (!o.counters_) o.counters_ = std::make_unique<Atomics>();
  last_error_ = std::move(o.last_error_);
  return *this;
}

PacketSocket::~PacketSocket() { close(); }

void PacketSocket::close() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

// ---------------------------------------------------------------------------------------
// Sending

void PacketSocket::queue(const MacAddress& destination, std::span<const std::uint8_t> payload) {
  TxFrame& f = tx_.emplace_back();
  std::memcpy(f.header.data(), destination.data(), 6);
  std::memcpy(f.header.data() + 6, mac_.data(), 6);
  f.header[12] = static_cast<std::uint8_t>(ether_type_ >> 8);
  f.header[13] = static_cast<std::uint8_t>(ether_type_);
  f.payload = payload.data();
  f.size = payload.size();
}

std::size_t PacketSocket::send_prepared(std::size_t count, bool& blocked) {
  std::size_t done = 0;
  blocked = false;
  while (done < count) {
    counters_->send_calls.fetch_add(1, std::memory_order_relaxed);
    const int n = ::sendmmsg(fd_, tx_msgs_.data() + done, static_cast<unsigned>(count - done), MSG_DONTWAIT);
    if (n > 0) {
      for (std::size_t i = done; i < done + static_cast<std::size_t>(n); ++i) {
        counters_->bytes_sent.fetch_add(tx_msgs_[i].msg_len, std::memory_order_relaxed);
      }
      counters_->frames_sent.fetch_add(static_cast<std::uint64_t>(n), std::memory_order_relaxed);
      done += static_cast<std::size_t>(n);
      continue;
    }
    const int err = errno;
    if (err == EINTR) continue;
    if (err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS) {
      blocked = true;
      return done;
    }
    // The first remaining frame failed for good (too long, interface gone, ...): drop it.
    counters_->send_errors.fetch_add(1, std::memory_order_relaxed);
    last_error_ = socket_error("sendmmsg", interface_, err);
    ++done;
  }
  return done;
}

void PacketSocket::keep_unsent(std::size_t from) {
  for (std::size_t i = from; i < tx_.size(); ++i) {
    if (backlog_.size() >= kBacklogLimit) {
      counters_->send_dropped.fetch_add(tx_.size() - i, std::memory_order_relaxed);
      return;
    }
    const TxFrame& f = tx_[i];
    std::vector<std::uint8_t> copy(std::max(kHeaderSize + f.size, kMinFrame), 0);
    std::memcpy(copy.data(), f.header.data(), kHeaderSize);
    if (f.size != 0) std::memcpy(copy.data() + kHeaderSize, f.payload, f.size);
    backlog_.push_back(std::move(copy));
    counters_->send_backlogged.fetch_add(1, std::memory_order_relaxed);
  }
}

std::size_t PacketSocket::send() {
  std::size_t sent = 0;
  bool blocked = false;
  // The backlog first, so frames leave in the order they were queued.
  while (!backlog_.empty()) {
    const std::size_t n = std::min(backlog_.size(), kBatch);
    for (std::size_t i = 0; i < n; ++i) {
      tx_iov_[i] = iovec{backlog_[i].data(), backlog_[i].size()};
      tx_msgs_[i] = mmsghdr{};
      tx_msgs_[i].msg_hdr.msg_iov = &tx_iov_[i];
      tx_msgs_[i].msg_hdr.msg_iovlen = 1;
    }
    const std::size_t done = send_prepared(n, blocked);
    sent += done;
    backlog_.erase(backlog_.begin(), backlog_.begin() + static_cast<std::ptrdiff_t>(done));
    if (blocked) {
      keep_unsent(0);
      tx_.clear();
      return sent;
    }
  }
  for (std::size_t base = 0; base < tx_.size();) {
    const std::size_t n = std::min(tx_.size() - base, kBatch);
    std::size_t prepared = 0;
    std::size_t first_of[kBatch];  // prepared message -> index in tx_
    for (std::size_t i = 0; i < n; ++i) {
      const TxFrame& f = tx_[base + i];
      if (f.size > mtu_) {
        counters_->send_errors.fetch_add(1, std::memory_order_relaxed);
        last_error_ = "frame of " + std::to_string(f.size) + " bytes is above the MTU of " + interface_ + " (" +
                      std::to_string(mtu_) + ")";
        continue;
      }
      iovec* iov = &tx_iov_[prepared * 3];
      std::size_t parts = 0;
      iov[parts++] = iovec{const_cast<std::uint8_t*>(f.header.data()), kHeaderSize};
      if (f.size != 0) iov[parts++] = iovec{const_cast<std::uint8_t*>(f.payload), f.size};
      const std::size_t total = kHeaderSize + f.size;
      if (total < kMinFrame) iov[parts++] = iovec{const_cast<std::uint8_t*>(kZeros), kMinFrame - total};
      tx_msgs_[prepared] = mmsghdr{};
      tx_msgs_[prepared].msg_hdr.msg_iov = iov;
      tx_msgs_[prepared].msg_hdr.msg_iovlen = parts;
      first_of[prepared] = base + i;
      ++prepared;
    }
    const std::size_t done = send_prepared(prepared, blocked);
    sent += done;
    if (blocked) {
      keep_unsent(first_of[done]);
      break;
    }
    base += n;
  }
  tx_.clear();
  return sent;
}

// ---------------------------------------------------------------------------------------
// Receiving

Result<std::size_t, std::string> PacketSocket::receive_batch() {
  for (std::size_t i = 0; i < kBatch; ++i) {
    mmsghdr& m = rx_msgs_[i];
    m = mmsghdr{};
    m.msg_hdr.msg_iov = &rx_iov_[i];
    m.msg_hdr.msg_iovlen = 1;
    m.msg_hdr.msg_name = &rx_addrs_[i];
    m.msg_hdr.msg_namelen = sizeof(sockaddr_ll);
  }
  for (;;) {
    counters_->receive_calls.fetch_add(1, std::memory_order_relaxed);
    const int n = ::recvmmsg(fd_, rx_msgs_.data(), kBatch, MSG_DONTWAIT, nullptr);
    if (n >= 0) return static_cast<std::size_t>(n);
    const int err = errno;
    if (err == EINTR) continue;
    if (err == EAGAIN || err == EWOULDBLOCK) return std::size_t{0};
    return Err(socket_error("recvmmsg", interface_, err));
  }
}

std::span<const std::uint8_t> PacketSocket::received(std::size_t i) {
  const mmsghdr& m = rx_msgs_[i];
  const sockaddr_ll& from = rx_addrs_[i];
  if ((m.msg_hdr.msg_flags & MSG_TRUNC) != 0 || m.msg_len > rx_frame_size_) {
    counters_->receive_truncated.fetch_add(1, std::memory_order_relaxed);
    return {};
  }
  if (from.sll_pkttype == PACKET_OUTGOING || from.sll_ifindex != ifindex_ || ntohs(from.sll_protocol) != ether_type_) {
    counters_->receive_foreign.fetch_add(1, std::memory_order_relaxed);
    return {};
  }
  counters_->frames_received.fetch_add(1, std::memory_order_relaxed);
  counters_->bytes_received.fetch_add(m.msg_len, std::memory_order_relaxed);
  return {rx_buffers_.data() + i * rx_frame_size_, m.msg_len};
}

PacketSocketCounters PacketSocket::stats() {
  if (fd_ >= 0) {
    tpacket_stats st{};
    socklen_t len = sizeof st;
    if (::getsockopt(fd_, SOL_PACKET, PACKET_STATISTICS, &st, &len) == 0) {
      // Read-and-reset in the kernel: fold into our totals.
      counters_->kernel_packets.fetch_add(st.tp_packets, std::memory_order_relaxed);
      counters_->kernel_drops.fetch_add(st.tp_drops, std::memory_order_relaxed);
    }
  }
  const Atomics& a = *counters_;
  auto v = [](const std::atomic<std::uint64_t>& x) { return x.load(std::memory_order_relaxed); };
  PacketSocketCounters c;
  c.frames_sent = v(a.frames_sent);
  c.bytes_sent = v(a.bytes_sent);
  c.frames_received = v(a.frames_received);
  c.bytes_received = v(a.bytes_received);
  c.send_calls = v(a.send_calls);
  c.receive_calls = v(a.receive_calls);
  c.send_backlogged = v(a.send_backlogged);
  c.send_dropped = v(a.send_dropped);
  c.send_errors = v(a.send_errors);
  c.receive_truncated = v(a.receive_truncated);
  c.receive_foreign = v(a.receive_foreign);
  c.drained_at_open = v(a.drained_at_open);
  c.kernel_packets = v(a.kernel_packets);
  c.kernel_drops = v(a.kernel_drops);
  return c;
}

std::string PacketSocket::last_error() const { return last_error_; }

}  // namespace omega::native
