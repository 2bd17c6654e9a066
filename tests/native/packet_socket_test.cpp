// PacketSocket on a real veth pair between two network namespaces (root only; skipped with
// the reason otherwise).
#include <linux/capability.h>
#include <sys/syscall.h>

#include <catch2/catch.hpp>

#include <cstring>
#include <thread>
#include <optional>
#include <vector>

#include "netns.hpp"
#include "packet_socket.hpp"

using omega::native::MacAddress;
using omega::native::PacketSocket;
using omega::test::VethPair;
using Bytes = std::vector<std::uint8_t>;

namespace {

constexpr std::uint16_t kType = 0x88B5;

bool skip_unless_netns() {
  static const std::string why = VethPair::available();
  if (!why.empty()) WARN("SKIPPED: " << why);
  return !why.empty();
}

PacketSocket open_in(const std::string& ns, const std::string& ifname, std::uint16_t type = kType) {
  std::optional<PacketSocket> s;
  std::string error;
  VethPair::in_namespace(ns, [&] {
    auto r = PacketSocket::open(ifname, type);
    if (r) {
      s.emplace(std::move(*r));
    } else {
      error = r.error();
    }
  });
  INFO(error);
  REQUIRE(s.has_value());
  return std::move(*s);
}

Bytes payload(std::size_t size, std::uint32_t index) {
  Bytes b(size);
  for (std::size_t i = 0; i < size; ++i) b[i] = static_cast<std::uint8_t>(index * 13 + i);
  if (size >= 4) std::memcpy(b.data(), &index, 4);
  return b;
}

// Receives until `want` frames arrived or `polls` polls 100 us apart found nothing more
// (2 s by default; a check that nothing arrives waits 100 ms).
std::vector<Bytes> receive_frames(PacketSocket& s, std::size_t want, int polls = 20000) {
  std::vector<Bytes> got;
  for (int spins = 0; got.size() < want && spins < polls; ++spins) {
    auto n = s.receive([&](std::span<const std::uint8_t> f) { got.emplace_back(f.begin(), f.end()); });
    REQUIRE(n.has_value());
    if (*n == 0) ::usleep(100);
  }
  return got;
}

}  // namespace

TEST_CASE("PacketSocket refuses bad interfaces with a clear reason", "[packet_socket]") {
  auto r = PacketSocket::open("", kType);
  REQUIRE(!r);
  CHECK(r.error().find("must be 1..15 characters") != std::string::npos);
  r = PacketSocket::open("an-interface-name-too-long", kType);
  REQUIRE(!r);
  CHECK(r.error().find("characters") != std::string::npos);
  r = PacketSocket::open("omega-no-such0", kType);
  REQUIRE(!r);
  if (::geteuid() == 0) {
    CHECK(r.error().find("does not exist") != std::string::npos);
  } else {
    CHECK(r.error().find("needs root or CAP_NET_RAW") != std::string::npos);
  }
}

TEST_CASE("PacketSocket says what is missing when raw sockets are not permitted", "[packet_socket]") {
  if (::geteuid() != 0) {
    auto r = PacketSocket::open("lo", kType);
    REQUIRE(!r);
    CHECK(r.error().find("needs root or CAP_NET_RAW") != std::string::npos);
    return;
  }
  // As root: a thread that dropped CAP_NET_RAW from its effective set (capabilities are per
  // thread) sees what an unprivileged process sees.
  std::string error;
  bool opened = false;
  std::thread t([&] {
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2]{};
    if (::syscall(SYS_capget, &header, data) != 0) return;
    data[CAP_NET_RAW / 32].effective &= ~(1u << (CAP_NET_RAW % 32));
    if (::syscall(SYS_capset, &header, data) != 0) return;
    auto r = PacketSocket::open("lo", kType);
    opened = r.has_value();
    if (!r) error = r.error();
  });
  t.join();
  CHECK_FALSE(opened);
  INFO(error);
  CHECK(error.find("socket(AF_PACKET, SOCK_RAW)") != std::string::npos);
  CHECK(error.find("Operation not permitted (errno 1)") != std::string::npos);
  CHECK(error.find("needs root or CAP_NET_RAW") != std::string::npos);
}

TEST_CASE("PacketSocket sends batches across a veth pair and receives only its EtherType", "[packet_socket]") {
  if (skip_unless_netns()) return;
  VethPair veth;
  REQUIRE(veth.ok());
  PacketSocket a = open_in(veth.ns_a(), veth.if_a());
  PacketSocket b = open_in(veth.ns_b(), veth.if_b());
  PacketSocket other_type = open_in(veth.ns_a(), veth.if_a(), 0x88B6);
  CHECK(a.mtu() == 1500);
  CHECK(a.mac() != b.mac());
  CHECK(a.ifindex() > 0);

  // A frame of another EtherType first: b must never see it.
  const Bytes foreign = payload(100, 999);
  other_type.queue(b.mac(), foreign);
  CHECK(other_type.send() == 1);

  // 200 frames, short ones (padded to 60 bytes) and full-MTU ones, unicast and broadcast,
  // in one send(): several sendmmsg batches.
  std::vector<Bytes> sent;
  for (std::uint32_t i = 0; i < 200; ++i) {
    const std::size_t sizes[] = {4, 32, 46, 47, 200, 1500};
    sent.push_back(payload(sizes[i % 6], i));
  }
  for (std::uint32_t i = 0; i < sent.size(); ++i) a.queue(i % 2 ? b.mac() : PacketSocket::kBroadcastMac, sent[i]);
  CHECK(a.queued() == 200);
  CHECK(a.send() == 200);
  CHECK(a.queued() == 0);
  CHECK(!a.backlogged());

  const auto got = receive_frames(b, 200);
  REQUIRE(got.size() == 200);
  for (std::uint32_t i = 0; i < got.size(); ++i) {
    INFO("frame " << i);
    const Bytes& f = got[i];
    REQUIRE(f.size() == std::max<std::size_t>(14 + sent[i].size(), 60));
    const MacAddress dst = i % 2 ? b.mac() : PacketSocket::kBroadcastMac;
    CHECK(std::memcmp(f.data(), dst.data(), 6) == 0);
    CHECK(std::memcmp(f.data() + 6, a.mac().data(), 6) == 0);
    CHECK(f[12] == 0x88);
    CHECK(f[13] == 0xB5);
    CHECK(Bytes(f.begin() + 14, f.begin() + 14 + static_cast<std::ptrdiff_t>(sent[i].size())) == sent[i]);
    for (std::size_t k = 14 + sent[i].size(); k < f.size(); ++k) CHECK(f[k] == 0);
  }
  // Nothing more: not the foreign frame, not a second copy.
  CHECK(receive_frames(b, 1, 1000).empty());
  // The sender does not hear its own frames.
  CHECK(receive_frames(a, 1, 1000).empty());

  const auto sa = a.stats();
  const auto sb = b.stats();
  CHECK(sa.frames_sent == 200);
  CHECK(sa.send_calls <= 4);  // 200 frames in batches of 64
  CHECK(sa.send_errors == 0);
  CHECK(sb.frames_received == 200);
  CHECK(sb.kernel_packets == 200);  // the kernel's own count of what it queued for b
  CHECK(sb.kernel_drops == 0);
  CHECK(sa.kernel_packets == 0);

  // Oversize frames are refused and counted, the rest still go.
  const Bytes oversize = payload(1501, 1), small = payload(10, 2);  // valid until send()
  a.queue(b.mac(), oversize);
  a.queue(b.mac(), small);
  CHECK(a.send() == 1);
  CHECK(a.stats().send_errors == 1);
  CHECK(a.last_error().find("above the MTU") != std::string::npos);
  CHECK(receive_frames(b, 1).size() == 1);
}

TEST_CASE("PacketSocket reports the kernel's drops when its receive buffer overflows", "[packet_socket]") {
  if (skip_unless_netns()) return;
  VethPair veth;
  REQUIRE(veth.ok());
  PacketSocket a = open_in(veth.ns_a(), veth.if_a());
  PacketSocket b = open_in(veth.ns_b(), veth.if_b());
  // b does not read while a sends far more than its 4 MiB receive buffer holds.
  const Bytes big = payload(1400, 7);
  std::uint64_t sent = 0;
  for (int round = 0; round < 100 && b.stats().kernel_drops == 0; ++round) {
    for (int i = 0; i < 1000; ++i) a.queue(b.mac(), big);
    sent += a.send();
  }
  const auto before = b.stats();
  CHECK(before.kernel_drops > 0);
  // Read everything that was kept: the kernel's count minus its drops.
  std::uint64_t read = 0;
  for (;;) {
    auto n = b.receive([&](std::span<const std::uint8_t>) { ++read; });
    REQUIRE(n.has_value());
    if (*n == 0) break;
  }
  const auto after = b.stats();
  CHECK(after.kernel_packets >= before.kernel_packets);  // cumulative, not reset by each read
  CHECK(read == after.kernel_packets - after.kernel_drops);
  CHECK(after.kernel_packets <= sent);
}
