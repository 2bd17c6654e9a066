// The native OVP transport end to end: two UltraOmegaSystems, each with an OVP endpoint on
// one end of a veth pair between two network namespaces, driven through submit_io_task
// (root only; skipped with the reason otherwise). Each system's first I/O submission comes
// from a thread inside its namespace, so its reactor thread (and every socket it opens)
// lives there.
#include <omega/exec/system.hpp>
#include <omega/io/io_op.hpp>
#include <omega/ovp/endpoint.hpp>

#include <catch2/catch.hpp>

#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "netns.hpp"
#include "packet_socket.hpp"

using omega::IoOp;
using omega::IoOutput;
using omega::OmegaRng;
using omega::Result;
using omega::SocketToken;
using omega::TaskError;
using omega::TaskHandle;
using omega::UltraOmegaSystem;
using omega::native::PacketSocket;
using omega::test::VethPair;
using namespace std::chrono_literals;
using Bytes = std::vector<std::uint8_t>;

namespace {

constexpr omega::Nanos kGuard = 10s;  // only a bug reaches it

bool skip_unless_netns() {
  static const std::string why = VethPair::available();
  if (!why.empty()) WARN("SKIPPED: " << why);
  return !why.empty();
}

Bytes message(std::uint32_t from, std::uint32_t index, std::size_t size) {
  Bytes b(std::max<std::size_t>(size, 8));
  omega::ovp::store_be32(b.data(), from);
  omega::ovp::store_be32(b.data() + 4, index);
  for (std::size_t i = 8; i < b.size(); ++i) b[i] = static_cast<std::uint8_t>(index + i);
  return b;
}
std::uint32_t index_of(const Bytes& b) { return b.size() >= 8 ? omega::ovp::load_be32(b.data() + 4) : ~0u; }

// Sum of a counter family's series whose labels include every (name, value) given.
std::uint64_t metric(const UltraOmegaSystem& system, const std::string& name,
                     const std::vector<std::pair<std::string, std::string>>& want = {}) {
  const omega::MetricsSnapshot snap = system.metrics();
  const auto* family = snap.find(name);
  if (family == nullptr) return 0;
  std::uint64_t sum = 0;
  for (const auto& s : family->series) {
    bool match = true;
    for (const auto& [k, v] : want) {
      match = match && std::find(s.labels.begin(), s.labels.end(), omega::MetricLabel{k, v}) != s.labels.end();
    }
    if (!match) continue;
    if (auto* u = std::get_if<std::uint64_t>(&s.value)) sum += *u;
    if (auto* d = std::get_if<double>(&s.value)) sum += static_cast<std::uint64_t>(*d);
  }
  return sum;
}

struct Drone {
  std::unique_ptr<UltraOmegaSystem> system;
  SocketToken token{};
  OmegaRng rng{7};
  std::uint32_t id = 0;

  // A drone joined to `ifname` in namespace `ns`.
  static std::unique_ptr<Drone> join(const std::string& ns, const std::string& ifname, std::uint32_t id,
                                     bool reliable = false, std::vector<std::uint32_t> groups = {}) {
    auto d = std::make_unique<Drone>();
    d->id = id;
    d->system = std::make_unique<UltraOmegaSystem>(UltraOmegaSystem::builder().with_nodes(2).with_super_nodes(1).build());
    std::optional<Result<IoOutput, TaskError>> r;
    VethPair::in_namespace(ns, [&] {
      auto h = d->system->submit_io_task(IoOp::OvpInit{ifname, id, reliable, std::move(groups)}, kGuard, d->rng);
      REQUIRE(h);
      r = h->recv_result();
    });
    INFO((*r ? std::string("ok") : r->error().message()));
    REQUIRE(*r);
    REQUIRE((*r)->socket);
    d->token = *(*r)->socket;
    return d;
  }

  TaskHandle<IoOutput> start(IoOp op, std::optional<omega::Nanos> timeout = kGuard) {
    auto h = system->submit_io_task(std::move(op), timeout, rng);
    REQUIRE(h);
    return std::move(*h);
  }
  Result<IoOutput, TaskError> run(IoOp op, std::optional<omega::Nanos> timeout = kGuard) {
    return start(std::move(op), timeout).recv_result();
  }
  Result<IoOutput, TaskError> emit(std::optional<std::vector<std::uint32_t>> targets, Bytes payload,
                                   std::uint16_t channel = 0) {
    return run(IoOp::OvpEmit{token, std::move(targets), std::move(payload), channel});
  }
  Result<IoOutput, TaskError> receive(omega::Nanos timeout = kGuard) { return run(IoOp::OvpReceive{token}, timeout); }
};

// Runs fn with an Endpoint and its PacketSocket on `ifname` in `ns` (a raw drone, to send
// what the OVP API cannot: group frames, malformed frames).
PacketSocket raw_socket(const std::string& ns, const std::string& ifname) {
  std::optional<PacketSocket> s;
  VethPair::in_namespace(ns, [&] {
    auto r = PacketSocket::open(ifname, omega::ovp::kEtherType);
    if (r) s.emplace(std::move(*r));
  });
  REQUIRE(s.has_value());
  return std::move(*s);
}

}  // namespace

TEST_CASE("OVP unicast and broadcast between two systems across network namespaces", "[ovp_netns]") {
  if (skip_unless_netns()) return;
  VethPair veth;
  REQUIRE(veth.ok());
  auto a = Drone::join(veth.ns_a(), veth.if_a(), 1);
  auto b = Drone::join(veth.ns_b(), veth.if_b(), 2);

  auto r = a->emit(std::vector<std::uint32_t>{2}, message(1, 0, 20), 5);
  REQUIRE(r);
  CHECK(r->bytes == 20);
  auto got = b->receive();
  REQUIRE(got);
  CHECK(got->source_drone == 1);
  CHECK(got->channel == 5);
  CHECK(got->data == message(1, 0, 20));
  CHECK(got->bytes == 20);

  REQUIRE(b->emit(std::nullopt, message(2, 1, 100), 6));
  got = a->receive();
  REQUIRE(got);
  CHECK(got->source_drone == 2);
  CHECK(got->channel == 6);
  CHECK(got->data == message(2, 1, 100));

  // A message for a drone that is not there reaches nobody; one to ourselves comes back.
  REQUIRE(a->emit(std::vector<std::uint32_t>{3, 1}, message(1, 2, 10)));
  got = a->receive();
  REQUIRE(got);
  CHECK(got->source_drone == 1);
  CHECK(got->data == message(1, 2, 10));
  auto none = b->receive(100ms);
  REQUIRE_FALSE(none);
  CHECK(none.error().timed_out());

  // Each learned the other's address from its frames (HELLO included).
  CHECK(metric(*a->system, "omega_ovp_peers") == 1);
  CHECK(metric(*b->system, "omega_ovp_peers") == 1);
  CHECK(metric(*a->system, "omega_ovp_hellos_received_total") == 1);  // b joined after a
  CHECK(metric(*b->system, "omega_ovp_frames_rejected_total", {{"reason", "NotForMe"}}) >= 1);  // to drone 3
  CHECK(metric(*b->system, "omega_ovp_kernel_packets_total", {{"interface", veth.if_b()}, {"drone", "2"}}) >= 2);
  CHECK(metric(*b->system, "omega_ovp_kernel_drops_total") == 0);
}

TEST_CASE("OVP small messages are batched and arrive complete and in order", "[ovp_netns]") {
  if (skip_unless_netns()) return;
  VethPair veth;
  REQUIRE(veth.ok());
  auto a = Drone::join(veth.ns_a(), veth.if_a(), 10);
  auto b = Drone::join(veth.ns_b(), veth.if_b(), 20);
  constexpr std::uint32_t kCount = 3000;
  // Two receives waiting on a mark it as pipelining: its emits all go through the reactor,
  // which batches them (none answers them; they fail at shutdown).
  auto pending_a1 = a->start(IoOp::OvpReceive{a->token}, std::nullopt);
  auto pending_a2 = a->start(IoOp::OvpReceive{a->token}, std::nullopt);
  // Receives first, so the messages meet waiting operations as well as the buffer.
  std::vector<TaskHandle<IoOutput>> receives;
  for (std::uint32_t i = 0; i < kCount / 2; ++i) receives.push_back(b->start(IoOp::OvpReceive{b->token}));
  std::vector<TaskHandle<IoOutput>> emits;
  for (std::uint32_t i = 0; i < kCount; ++i) {
    emits.push_back(a->start(IoOp::OvpEmit{a->token, std::vector<std::uint32_t>{20}, message(10, i, 64),
                                           static_cast<std::uint16_t>(i % 3)}));
  }
  for (auto& e : emits) REQUIRE(e.recv_result());
  for (std::uint32_t i = kCount / 2; i < kCount; ++i) receives.push_back(b->start(IoOp::OvpReceive{b->token}));
  for (std::uint32_t i = 0; i < kCount; ++i) {
    auto got = receives[i].recv_result();
    REQUIRE(got);
    INFO("message " << i);
    REQUIRE(index_of(got->data) == i);
    CHECK(got->data == message(10, i, 64));
    CHECK(got->channel == i % 3);
  }
  const std::uint64_t frames = metric(*a->system, "omega_ovp_frames_sent_total");
  const std::uint64_t batches = metric(*a->system, "omega_ovp_batches_sent_total");
  // How many messages share a frame depends on how many emits one reactor turn finds (the
  // unit tests check the packing itself): here only that batches formed and add up.
  const std::uint64_t batched = metric(*a->system, "omega_ovp_batched_messages_sent_total");
  const std::uint64_t control = metric(*a->system, "omega_ovp_control_sent_total");
  CHECK(batches > 0);
  CHECK(batched >= 2 * batches);
  CHECK(frames - control == batches + (kCount - batched));  // the rest went as DATA frames
  CHECK(frames - control < kCount);
  CHECK(metric(*a->system, "omega_ovp_socket_send_calls_total") <= frames);
  CHECK(metric(*b->system, "omega_ovp_messages_lost") == 0);
  CHECK(metric(*b->system, "omega_ovp_batches_received_total") == batches);
  CHECK(metric(*a->system, "omega_ovp_inline_emits_total") == 0);
}

TEST_CASE("OVP reliable mode delivers every message exactly once and in order", "[ovp_netns]") {
  if (skip_unless_netns()) return;
  VethPair veth;
  REQUIRE(veth.ok());
  auto a = Drone::join(veth.ns_a(), veth.if_a(), 1, /*reliable=*/true);
  auto b = Drone::join(veth.ns_b(), veth.if_b(), 2, /*reliable=*/true);
  constexpr std::uint32_t kCount = 8000;
  // As in the batching test: two receives waiting on a send every emit through the reactor.
  auto pending_a1 = a->start(IoOp::OvpReceive{a->token}, std::nullopt);
  auto pending_a2 = a->start(IoOp::OvpReceive{a->token}, std::nullopt);
  std::uint32_t next = 0;
  for (std::uint32_t sent = 0; sent < kCount;) {
    // Chunks below the reliable send buffer (window 64 + 4096 queued).
    std::vector<TaskHandle<IoOutput>> emits;
    for (std::uint32_t i = 0; i < 1000 && sent < kCount; ++i, ++sent) {
      emits.push_back(a->start(IoOp::OvpEmit{a->token, std::vector<std::uint32_t>{2}, message(1, sent, 16 + sent % 200)}));
    }
    for (auto& e : emits) REQUIRE(e.recv_result());
    for (std::size_t i = 0; i < emits.size(); ++i, ++next) {
      auto got = b->receive();
      REQUIRE(got);
      REQUIRE(index_of(got->data) == next);
      CHECK(got->data == message(1, next, 16 + next % 200));
    }
  }
  auto extra = b->receive(100ms);
  REQUIRE_FALSE(extra);
  CHECK(extra.error().timed_out());
  CHECK(metric(*b->system, "omega_ovp_reliable_delivered_total") == kCount);
  CHECK(metric(*a->system, "omega_ovp_reliable_acks_received_total") > 0);
  CHECK(metric(*a->system, "omega_ovp_batched_messages_sent_total") > 0);  // reliable data batched too
}

TEST_CASE("OVP keeps emit order when spaced emits go inline and bursts go through the reactor", "[ovp_netns]") {
  if (skip_unless_netns()) return;
  for (bool reliable : {false, true}) {
    INFO("reliable " << reliable);
    VethPair veth;
    REQUIRE(veth.ok());
    auto a = Drone::join(veth.ns_a(), veth.if_a(), 1, reliable);
    auto b = Drone::join(veth.ns_b(), veth.if_b(), 2, reliable);
    constexpr std::uint32_t kCount = 600;
    std::vector<TaskHandle<IoOutput>> emits;
    std::uint32_t next_read = 0;
    for (std::uint32_t i = 0; i < kCount; ++i) {
      // Every 8th after a pause (a quiet endpoint: sent by this thread), the rest back to
      // back (batched by the reactor), some of them not awaited before the next.
      if (i % 8 == 0) {
        for (auto& e : emits) REQUIRE(e.recv_result());
        emits.clear();
        ::usleep(200);
      }
      emits.push_back(a->start(IoOp::OvpEmit{a->token, std::vector<std::uint32_t>{2}, message(1, i, 24)}));
      // Receives one at a time too, once messages wait (so they take them inline).
      if (i % 50 == 49) {
        for (int spins = 0; spins < 5000 && metric(*b->system, "omega_ovp_receive_queue") < 10; ++spins) ::usleep(1000);
        for (std::uint32_t k = 0; k < 10; ++k) {
          auto got = b->receive();
          REQUIRE(got);
          REQUIRE(index_of(got->data) == next_read++);
        }
      }
    }
    for (auto& e : emits) REQUIRE(e.recv_result());
    // The rest, in order.
    for (; next_read < kCount; ++next_read) {
      auto got = b->receive();
      REQUIRE(got);
      REQUIRE(index_of(got->data) == next_read);
      CHECK(got->data == message(1, next_read, 24));
    }
    CHECK_FALSE(b->receive(50ms));
    // The inline paths were taken (the emits after a pause, the receives that found their
    // message waiting); which of the back-to-back emits went through the reactor depends on
    // timing.
    CHECK(metric(*a->system, "omega_ovp_inline_emits_total") >= kCount / 8);
    CHECK(metric(*b->system, "omega_ovp_inline_receives_total") >= 10);
  }
}

TEST_CASE("OVP reliable: an inline-sent message that is lost is retransmitted, in order with later emits",
          "[ovp_netns]") {
  if (skip_unless_netns()) return;
  VethPair veth;
  REQUIRE(veth.ok());
  auto a = Drone::join(veth.ns_a(), veth.if_a(), 1, /*reliable=*/true);
  // The first emit finds A's endpoint quiet, so A's submitting thread sends it; nobody
  // listens on the other end yet, so that frame is lost and only A's timer can deliver it.
  REQUIRE(a->emit(std::vector<std::uint32_t>{2}, message(1, 0, 40)));
  REQUIRE(metric(*a->system, "omega_ovp_inline_emits_total") == 1);
  // Nothing else happens on A, so only a reactor that learned of the inline-sent message
  // (its retransmission timer) sends it again.
  for (int spins = 0; spins < 5000 && metric(*a->system, "omega_ovp_reliable_retransmissions_total") == 0; ++spins) {
    ::usleep(1000);
  }
  REQUIRE(metric(*a->system, "omega_ovp_reliable_retransmissions_total") > 0);
  auto b = Drone::join(veth.ns_b(), veth.if_b(), 2, /*reliable=*/true);
  // Later emits mix both paths: after a pause (inline) and back to back (the reactor).
  constexpr std::uint32_t kCount = 200;
  std::vector<TaskHandle<IoOutput>> emits;
  for (std::uint32_t i = 1; i < kCount; ++i) {
    if (i % 10 == 0) {
      for (auto& e : emits) REQUIRE(e.recv_result());
      emits.clear();
      ::usleep(200);
    }
    emits.push_back(a->start(IoOp::OvpEmit{a->token, std::vector<std::uint32_t>{2}, message(1, i, 40)}));
  }
  for (auto& e : emits) REQUIRE(e.recv_result());
  for (std::uint32_t i = 0; i < kCount; ++i) {
    auto got = b->receive();
    REQUIRE(got);
    INFO("message " << i);
    REQUIRE(index_of(got->data) == i);
    CHECK(got->data == message(1, i, 40));
  }
  CHECK_FALSE(b->receive(100ms));  // exactly once
  CHECK(metric(*a->system, "omega_ovp_inline_emits_total") >= kCount / 10);
  CHECK(metric(*b->system, "omega_ovp_reliable_delivered_total") == kCount);
}

TEST_CASE("OVP groups: members get group frames, others count them as not for them", "[ovp_netns]") {
  if (skip_unless_netns()) return;
  VethPair veth;
  REQUIRE(veth.ok());
  auto b = Drone::join(veth.ns_b(), veth.if_b(), 2, false, {100, 101});
  // A raw drone (id 3) on the other end sends what the OVP operations have no word for.
  PacketSocket raw = raw_socket(veth.ns_a(), veth.if_a());
  omega::ovp::Endpoint sender(omega::ovp::EndpointConfig{.my_drone_id = 3});
  REQUIRE(sender.emit_group(100, message(3, 0, 30), 1, 0ns));
  REQUIRE(sender.emit_group(200, message(3, 1, 30), 1, 0ns));
  REQUIRE(sender.emit_group(101, message(3, 2, 30), 2, 0ns));
  sender.flush(0ns, [&](std::uint32_t to, std::span<const std::uint8_t> f) {
    CHECK(to == omega::ovp::kBroadcast);
    raw.queue(PacketSocket::kBroadcastMac, f);
  });
  CHECK(raw.send() == 4);  // HELLO + three group frames
  auto got = b->receive();
  REQUIRE(got);
  CHECK(got->data == message(3, 0, 30));
  got = b->receive();
  REQUIRE(got);
  CHECK(got->data == message(3, 2, 30));
  CHECK(got->channel == 2);
  CHECK_FALSE(b->receive(100ms));
  CHECK(metric(*b->system, "omega_ovp_frames_rejected_total", {{"reason", "NotForMe"}}) == 1);
}

TEST_CASE("OVP receive timeouts, close and bad tokens", "[ovp_netns]") {
  if (skip_unless_netns()) return;
  VethPair veth;
  REQUIRE(veth.ok());
  auto a = Drone::join(veth.ns_a(), veth.if_a(), 1);
  auto b = Drone::join(veth.ns_b(), veth.if_b(), 2);

  // Timed out: nothing consumed, the endpoint stays usable.
  auto r = b->receive(50ms);
  REQUIRE_FALSE(r);
  CHECK(r.error().timed_out());
  REQUIRE(a->emit(std::vector<std::uint32_t>{2}, message(1, 7, 10)));
  r = b->receive();
  REQUIRE(r);
  CHECK(r->data == message(1, 7, 10));

  // Wrong kinds of token.
  r = b->run(IoOp::TcpReceive{b->token, 10});
  REQUIRE_FALSE(r);
  CHECK(r.error().message().find("is an OVP endpoint, not a connection") != std::string::npos);
  r = b->run(IoOp::OvpEmit{SocketToken{b->token.value + 1}, std::nullopt, message(2, 0, 8)});
  REQUIRE_FALSE(r);
  CHECK(r.error().message().find("bad socket token") != std::string::npos);

  // Close: the pending receive fails, the token goes stale.
  auto pending = b->start(IoOp::OvpReceive{b->token});
  REQUIRE(b->run(IoOp::OvpClose{b->token}));
  r = pending.recv_result();
  REQUIRE_FALSE(r);
  CHECK(r.error().message().find("socket closed (OvpClose)") != std::string::npos);
  const std::uint64_t bad_before = metric(*b->system, "omega_io_bad_tokens_total");
  for (const IoOp& op : {IoOp(IoOp::OvpReceive{b->token}), IoOp(IoOp::OvpEmit{b->token, std::nullopt, Bytes{1}}),
                         IoOp(IoOp::OvpClose{b->token})}) {
    r = b->run(op);
    REQUIRE_FALSE(r);
    CHECK(r.error().message().find("bad socket token") != std::string::npos);
  }
  CHECK(metric(*b->system, "omega_io_bad_tokens_total") == bad_before + 3);
  CHECK(metric(*b->system, "omega_ovp_frames_sent_total") == 0);  // its series left with it
  CHECK(metric(*b->system, "omega_io_open_sockets") == 0);

  // Rejoining the same interface works (a new epoch) and hears a again.
  auto rejoined = Drone::join(veth.ns_b(), veth.if_b(), 2);
  REQUIRE(a->emit(std::vector<std::uint32_t>{2}, message(1, 8, 10)));
  r = rejoined->receive();
  REQUIRE(r);
  CHECK(r->data == message(1, 8, 10));

  // Shutdown resolves what is pending.
  auto waiting = a->start(IoOp::OvpReceive{a->token}, std::nullopt);
  a->system->shutdown_all();
  r = waiting.recv_result();
  REQUIRE_FALSE(r);
  CHECK(r.error().message().find("shutting down") != std::string::npos);
}

TEST_CASE("malformed frames injected on the wire are counted and dropped", "[ovp_netns]") {
  if (skip_unless_netns()) return;
  VethPair veth;
  REQUIRE(veth.ok());
  auto b = Drone::join(veth.ns_b(), veth.if_b(), 2);
  PacketSocket raw = raw_socket(veth.ns_a(), veth.if_a());
  omega::ovp::FrameHeader h;
  h.source = 9;
  h.destination = 2;
  h.epoch = 1;
  h.sequence = 1;
  const Bytes body = message(9, 0, 100);
  Bytes good(omega::ovp::kHeaderSize + body.size());
  REQUIRE(omega::ovp::encode_ovp(h, body, good));

  Bytes bad_crc = good;
  bad_crc[60] ^= 0x01;
  Bytes bad_version = good;
  bad_version[0] = 7;
  Bytes truncated(good.begin(), good.begin() + 40);  // header says 100 bytes of payload
  Bytes bad_type = good;
  bad_type[1] = 0;
  for (const Bytes* f : {&bad_crc, &bad_version, &truncated, &bad_type}) raw.queue(PacketSocket::kBroadcastMac, *f);
  // Then one good frame, which still arrives.
  h.sequence = 2;
  const Bytes body2 = message(9, 1, 50);
  Bytes good2(omega::ovp::kHeaderSize + body2.size());
  REQUIRE(omega::ovp::encode_ovp(h, body2, good2));
  raw.queue(PacketSocket::kBroadcastMac, good2);
  REQUIRE(raw.send() == 5);

  auto r = b->receive();
  REQUIRE(r);
  CHECK(r->data == body2);
  CHECK(r->source_drone == 9);
  CHECK_FALSE(b->receive(50ms));
  CHECK(metric(*b->system, "omega_ovp_frames_rejected_total", {{"reason", "CrcMismatch"}}) == 1);
  CHECK(metric(*b->system, "omega_ovp_frames_rejected_total", {{"reason", "BadVersion"}}) == 1);
  CHECK(metric(*b->system, "omega_ovp_frames_rejected_total", {{"reason", "LengthPastEnd"}}) == 1);
  CHECK(metric(*b->system, "omega_ovp_frames_rejected_total", {{"reason", "BadType"}}) == 1);
  CHECK(metric(*b->system, "omega_ovp_frames_accepted_total") == 1);
  // Loss accounting starts at the first frame that passed: rejected frames are counted as
  // rejected, not as lost messages.
  CHECK(metric(*b->system, "omega_ovp_messages_lost") == 0);
}
