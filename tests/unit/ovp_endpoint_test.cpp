// The platform-free OVP endpoint (ovp/endpoint.hpp) every transport drives: batching,
// best-effort loss accounting, reliable delivery through the fault-injecting network,
// groups, backpressure and hostile input. Deterministic (fake time, seeded OmegaRng), the
// same on every target.
#include <omega/base/rng.hpp>
#include <omega/ovp/endpoint.hpp>

#include <catch2/catch.hpp>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "../support/fault_network.hpp"

using namespace omega::ovp;
using namespace std::chrono_literals;
using omega::test::FaultConfig;
using omega::test::FaultNetwork;
using Bytes = std::vector<std::uint8_t>;

namespace {

// Payload of message `index` from `from`: its identity plus filler derived from it, so a
// misdelivery or an undetected corruption shows as a content mismatch.
Bytes message(std::uint32_t from, std::uint32_t index, std::size_t size) {
  Bytes b(std::max<std::size_t>(size, 8));
  store_be32(b.data(), from);
  store_be32(b.data() + 4, index);
  for (std::size_t i = 8; i < b.size(); ++i) b[i] = static_cast<std::uint8_t>(index * 31 + i * 7 + from);
  return b;
}

struct Sent {
  std::uint32_t to;
  Bytes bytes;
};

// Flushes `ep` and returns its frames.
std::vector<Sent> flush(Endpoint& ep, std::chrono::nanoseconds now = 0ns) {
  std::vector<Sent> out;
  ep.flush(now, [&](std::uint32_t to, std::span<const std::uint8_t> f) { out.push_back({to, Bytes(f.begin(), f.end())}); });
  return out;
}

std::vector<Message> drain(Endpoint& ep) {
  std::vector<Message> out;
  Message m;
  while (ep.pop(m)) out.push_back(std::move(m));
  return out;
}

EndpointConfig config(std::uint32_t id, bool reliable = false) {
  EndpointConfig c;
  c.my_drone_id = id;
  c.reliable = reliable;
  return c;
}

std::uint64_t rejected(const Endpoint& ep, DecodeError e) {
  return ep.decoder_counters().rejected[static_cast<std::size_t>(e)].value();
}

std::span<const std::uint32_t> to(const std::vector<std::uint32_t>& ids) { return ids; }

}  // namespace

TEST_CASE("endpoint configuration is checked and epochs grow", "[ovp_endpoint]") {
  CHECK(validate(config(7)).empty());
  CHECK(validate(config(0)).find("my_drone_id") != std::string::npos);
  CHECK(validate(config(kBroadcast)).find("my_drone_id") != std::string::npos);
  EndpointConfig c = config(7);
  c.groups = {0};
  CHECK(validate(c).find("group id 0") != std::string::npos);
  c = config(7);
  c.max_frame = 40;
  CHECK(validate(c).find("max_frame") != std::string::npos);
  c = config(7);
  c.receive_buffer = 0;
  CHECK(validate(c).find("receive_buffer") != std::string::npos);
  c = config(7);
  c.reliable_config.window = kMaxReliableWindow + 1;
  CHECK(validate(c).find("reliable window") != std::string::npos);
  c.reliable_config.window = kMaxReliableWindow;
  CHECK(Endpoint::try_create(c).has_value());
  c.reliable_config.window = 0;
  CHECK(!Endpoint::try_create(c).has_value());
  CHECK(Endpoint::try_create(config(7)).has_value());

  const std::uint32_t e1 = session_epoch(1'700'000'000'000);
  CHECK(e1 > 0);
  CHECK(session_epoch(1'700'000'000'000, e1) == e1 + 1);   // same instant, later incarnation
  CHECK(session_epoch(1'700'000'001'000) == e1 + 256);     // 1/256 s ticks
  CHECK(session_epoch(0) == 1);
}

TEST_CASE("small messages to one drone travel in BATCH frames and arrive in order", "[ovp_endpoint]") {
  Endpoint a(config(1)), b(config(2));
  const std::vector<std::uint32_t> b_only{2};
  for (std::uint32_t i = 0; i < 100; ++i) {
    REQUIRE(a.emit(to(b_only), message(1, i, 64), static_cast<std::uint16_t>(i % 5), 0ns));
  }
  const auto frames = flush(a);
  // HELLO, then 64-byte messages at 69 bytes per record: 21 per 1468-byte payload.
  REQUIRE(frames.size() == 1 + 5);
  CHECK(a.counters().batches_sent.value() == 5);
  CHECK(a.counters().batched_messages_sent.value() == 100);
  CHECK(a.counters().control_sent.value() == 1);
  for (const auto& f : frames) {
    if (f.bytes[1] == static_cast<std::uint8_t>(FrameType::Hello)) {
      CHECK(f.to == kBroadcast);
    } else {
      CHECK(f.to == 2);
    }
    CHECK(f.bytes.size() <= kMaxOvpSize);
    REQUIRE(b.on_frame(f.bytes, 0ns));
  }
  const auto got = drain(b);
  REQUIRE(got.size() == 100);
  for (std::uint32_t i = 0; i < 100; ++i) {
    CHECK(got[i].source == 1);
    CHECK(got[i].channel == i % 5);
    CHECK(!got[i].reliable);
    CHECK(got[i].payload == message(1, i, 64));
  }
  CHECK(b.counters().batches_received.value() == 5);
  CHECK(b.counters().hellos_received.value() == 1);
  CHECK(b.counters().messages_lost.value() == 0);
  CHECK(flush(a).empty());  // nothing left
}

TEST_CASE("large and small messages keep their order; batching can be turned off", "[ovp_endpoint]") {
  for (bool batching : {true, false}) {
    INFO("batching " << batching);
    EndpointConfig ca = config(1);
    ca.batching = batching;
    Endpoint a(ca), b(config(2));
    const std::vector<std::uint32_t> b_only{2};
    const std::size_t sizes[] = {10, 1400, 0, 30, kMaxPayload, 5, 700, 700, 700};
    for (std::uint32_t i = 0; i < std::size(sizes); ++i) REQUIRE(a.emit(to(b_only), message(1, i, sizes[i]), 3, 0ns));
    const auto frames = flush(a);
    for (const auto& f : frames) REQUIRE(b.on_frame(f.bytes, 0ns));
    const auto got = drain(b);
    REQUIRE(got.size() == std::size(sizes));
    for (std::uint32_t i = 0; i < std::size(sizes); ++i) CHECK(got[i].payload == message(1, i, sizes[i]));
    if (!batching) {
      CHECK(a.counters().batches_sent.value() == 0);
      CHECK(frames.size() == 1 + std::size(sizes));
    } else {
      CHECK(a.counters().batches_sent.value() >= 1);
      CHECK(frames.size() < 1 + std::size(sizes));
    }
  }
}

TEST_CASE("emits are checked: payload limit from the link MTU, targets, loopback to ourselves", "[ovp_endpoint]") {
  EndpointConfig c = config(1);
  c.max_frame = 576;
  Endpoint a(c);
  const std::vector<std::uint32_t> two{2};
  CHECK(a.emit(to(two), Bytes(576 - kHeaderSize), 0, 0ns));
  CHECK(a.emit(to(two), Bytes(576 - kHeaderSize + 1), 0, 0ns).error() == EmitError::PayloadTooLarge);
  const std::vector<std::uint32_t> none{}, zero{2, 0}, all{kBroadcast};
  CHECK(a.emit(to(none), Bytes(1), 0, 0ns).error() == EmitError::BadTarget);
  CHECK(a.emit(to(zero), Bytes(1), 0, 0ns).error() == EmitError::BadTarget);
  CHECK(a.emit(to(all), Bytes(1), 0, 0ns).error() == EmitError::BadTarget);
  CHECK(a.emit_group(0, Bytes(1), 0, 0ns).error() == EmitError::BadTarget);
  CHECK(a.counters().messages_sent.value() == 1);

  // Our own id in the list: delivered here, never sent.
  const std::vector<std::uint32_t> self_and_two{1, 2};
  REQUIRE(a.emit(to(self_and_two), message(1, 9, 20), 4, 0ns));
  auto got = drain(a);
  REQUIRE(got.size() == 1);
  CHECK(got[0].source == 1);
  CHECK(got[0].channel == 4);
  CHECK(got[0].payload == message(1, 9, 20));
  CHECK(a.counters().messages_looped_back.value() == 1);
  for (const auto& f : flush(a)) CHECK((f.to == 2 || f.to == kBroadcast));
}

TEST_CASE("broadcasts reach every drone; group frames only the group's members", "[ovp_endpoint]") {
  EndpointConfig cb = config(2), cc = config(3);
  cb.groups = {100};
  Endpoint a(config(1)), b(cb), c(cc);
  REQUIRE(a.emit(std::nullopt, message(1, 0, 16), 1, 0ns));
  REQUIRE(a.emit_group(100, message(1, 1, 16), 2, 0ns));
  REQUIRE(a.emit_group(100, message(1, 2, 16), 2, 0ns));
  const auto frames = flush(a);
  for (const auto& f : frames) {
    CHECK(f.to == kBroadcast);
    (void)b.on_frame(f.bytes, 0ns);
    (void)c.on_frame(f.bytes, 0ns);
  }
  const auto at_b = drain(b), at_c = drain(c);
  REQUIRE(at_b.size() == 3);
  CHECK(at_b[0].payload == message(1, 0, 16));
  CHECK(at_b[1].payload == message(1, 1, 16));
  CHECK(at_b[2].payload == message(1, 2, 16));
  CHECK(at_b[2].channel == 2);
  REQUIRE(at_c.size() == 1);
  CHECK(at_c[0].payload == message(1, 0, 16));
  CHECK(rejected(c, DecodeError::NotForMe) == 1);  // the group's one BATCH frame
  // A drone never hears its own broadcast back.
  for (const auto& f : frames) CHECK(a.on_frame(f.bytes, 0ns).error() == DecodeError::OwnFrame);
  CHECK(drain(a).empty());
}

TEST_CASE("Ethernet frames teach the endpoint where each drone is", "[ovp_endpoint]") {
  Endpoint a(config(1)), b(config(2));
  const std::vector<std::uint32_t> b_only{2};
  REQUIRE(a.emit(to(b_only), message(1, 0, 10), 0, 0ns));
  const MacAddress mac_a{0x02, 0, 0, 0, 0, 0x0a}, mac_b{0x02, 0, 0, 0, 0, 0x0b};
  CHECK(!b.mac_of(1));
  for (const auto& f : flush(a)) {
    // Wrap as the native transport does: Ethernet header, padding to 60 bytes.
    Bytes eth(kEthernetHeaderSize + f.bytes.size());
    std::copy(mac_b.begin(), mac_b.end(), eth.begin());
    std::copy(mac_a.begin(), mac_a.end(), eth.begin() + 6);
    store_be16(eth.data() + 12, kEtherType);
    std::copy(f.bytes.begin(), f.bytes.end(), eth.begin() + kEthernetHeaderSize);
    if (eth.size() < kEthernetMinFrame) eth.resize(kEthernetMinFrame, 0xEE);
    REQUIRE(b.on_ethernet(eth, 0ns));
  }
  REQUIRE(b.mac_of(1));
  CHECK(*b.mac_of(1) == mac_a);
  CHECK(b.counters().peers.value() == 1);
  CHECK(drain(b).size() == 1);
  // A frame with a wrong EtherType teaches nothing.
  Bytes junk(64, 0);
  CHECK(b.on_ethernet(junk, 0ns).error() == DecodeError::WrongEtherType);
}

TEST_CASE("best effort over a lossy, duplicating network counts exactly what it lost", "[ovp_endpoint]") {
  FaultConfig faults = FaultConfig::bursty_loss(0.3);
  faults.duplicate = 0.1;
  FaultNetwork net(faults, 42);
  Endpoint a(config(1)), b(config(2));
  const std::vector<std::uint32_t> b_only{2};
  std::map<std::uint32_t, int> seen;
  std::uint32_t sent = 0;
  auto step = [&](std::chrono::nanoseconds now) {
    a.flush(now, [&](std::uint32_t dst, std::span<const std::uint8_t> f) { net.send(1, dst == kBroadcast ? 2 : dst, f, now); });
    net.deliver_due(now, [&](std::uint32_t, std::span<const std::uint8_t> f) { (void)b.on_frame(f, now); });
    for (auto& m : drain(b)) {
      REQUIRE(m.payload.size() >= 8);
      ++seen[load_be32(m.payload.data() + 4)];
    }
  };
  std::chrono::nanoseconds now{0};
  for (int round = 0; round < 400; ++round, now += 10us) {
    // Some rounds batch many messages into a frame, some send one alone.
    const int n = round % 3 == 0 ? 30 : 1;
    for (int i = 0; i < n; ++i, ++sent) REQUIRE(a.emit(to(b_only), message(1, sent, 40), 0, now));
    step(now);
  }
  // One last message over a clean network: losses before it become visible as a gap.
  net.set_config(FaultConfig{});
  REQUIRE(a.emit(to(b_only), message(1, sent++, 40), 0, now));
  step(now);
  std::uint64_t received = 0;
  for (const auto& [index, copies] : seen) {
    CHECK(copies == 1);  // duplicates are dropped
    ++received;
  }
  REQUIRE(net.stats().lost > 0);
  CHECK(received < sent);
  CHECK(b.counters().messages_lost.value() == static_cast<std::int64_t>(sent - received));
  CHECK(b.counters().messages_received.value() == received);
  CHECK(b.counters().duplicates.value() > 0);
}

namespace {

// Two or three endpoints exchanging reliable unicast messages through a FaultNetwork.
struct ReliableMesh {
  std::uint32_t n;
  std::uint32_t count;
  FaultNetwork net;
  std::map<std::uint32_t, std::unique_ptr<Endpoint>> eps;
  std::map<std::pair<std::uint32_t, std::uint32_t>, std::uint32_t> next_send;  // (from, to)
  std::map<std::pair<std::uint32_t, std::uint32_t>, std::uint32_t> next_recv;  // (to, from)
  std::uint64_t errors = 0;
  std::uint64_t corrupt_frames = 0;
  std::chrono::nanoseconds now{0};
  std::size_t size = 48;
  bool popping = true;

  ReliableMesh(std::uint32_t nodes, std::uint32_t messages, FaultConfig faults, std::uint64_t seed,
               std::size_t receive_buffer = 16384)
      : n(nodes), count(messages), net(faults, seed) {
    for (std::uint32_t id = 1; id <= n; ++id) {
      EndpointConfig c = config(id, true);
      c.receive_buffer = receive_buffer;
      eps[id] = std::make_unique<Endpoint>(c);
    }
  }

  void feed() {
    for (std::uint32_t from = 1; from <= n; ++from) {
      for (std::uint32_t dst = 1; dst <= n; ++dst) {
        if (from == dst) continue;
        std::uint32_t& next = next_send[{from, dst}];
        const std::vector<std::uint32_t> target{dst};
        while (next < count) {
          auto r = eps[from]->emit(to(target), message(from, next, size + next % 40), static_cast<std::uint16_t>(next % 7), now);
          if (!r) {
            REQUIRE(r.error() == EmitError::SendBufferFull);
            break;
          }
          ++next;
        }
      }
    }
  }

  void receive(std::uint32_t at) {
    Message m;
    while (eps[at]->pop(m)) {
      if (m.payload.size() < 8) {
        ++errors;
        continue;
      }
      const std::uint32_t from = load_be32(m.payload.data());
      const std::uint32_t index = load_be32(m.payload.data() + 4);
      std::uint32_t& expect = next_recv[{at, from}];
      if (from != m.source || index != expect || m.payload != message(from, index, size + index % 40) ||
          m.channel != index % 7 || !m.reliable) {
        ++errors;
        continue;
      }
      ++expect;
    }
  }

  bool done() {
    for (std::uint32_t a = 1; a <= n; ++a) {
      for (std::uint32_t b = 1; b <= n; ++b) {
        if (a != b && (next_recv[{a, b}] != count || next_send[{b, a}] != count)) return false;
      }
      if (!eps[a]->idle()) return false;
    }
    return !net.next_due();
  }

  bool run(std::chrono::nanoseconds limit) {
    const auto end = now + limit;
    while (now <= end) {
      feed();
      net.deliver_due(now, [&](std::uint32_t dst, std::span<const std::uint8_t> f) {
        auto r = eps[dst]->on_frame(f, now);
        if (!r && r.error() == DecodeError::CrcMismatch) ++corrupt_frames;
      });
      for (auto& [id, ep] : eps) {
        ep->flush(now, [&, from = id](std::uint32_t dst, std::span<const std::uint8_t> f) {
          if (dst != kBroadcast) {
            net.send(from, dst, f, now);
            return;
          }
          for (std::uint32_t other = 1; other <= n; ++other) {
            if (other != from) net.send(from, other, f, now);
          }
        });
        if (popping) receive(id);
      }
      if (done()) return true;
      std::optional<std::chrono::nanoseconds> next = net.next_due();
      for (auto& [id, ep] : eps) {
        if (auto t = ep->next_deadline()) next = next ? std::min(*next, *t) : *t;
      }
      now = next ? std::max(now + 1us, *next) : now + 1ms;
    }
    return false;
  }
};

}  // namespace

TEST_CASE("reliable mode delivers everything exactly once, in order, through 30% bursty loss and worse",
          "[ovp_endpoint]") {
  FaultConfig faults = FaultConfig::bursty_loss(0.3);
  faults.duplicate = 0.1;
  faults.corrupt = 0.05;
  faults.delay_min = 20us;
  faults.delay_max = 80us;
  faults.reorder = 0.1;
  faults.reorder_extra = 300us;
  ReliableMesh mesh(3, 1500, faults, 7);
  REQUIRE(mesh.run(120s));
  CHECK(mesh.errors == 0);
  CHECK(mesh.net.stats().lost > 0);
  CHECK(mesh.corrupt_frames > 0);
  std::uint64_t retransmissions = 0, batches = 0, batched = 0;
  for (auto& [id, ep] : mesh.eps) {
    retransmissions += ep->reliable_counters().retransmissions.value();
    batches += ep->counters().batches_sent.value();
    batched += ep->counters().batched_messages_sent.value();
    CHECK(ep->counters().receive_overflow.value() == 0);
  }
  CHECK(retransmissions > 0);
  CHECK(batches > 0);  // reliable data rides in BATCH frames too
  CHECK(batched > batches);
}

TEST_CASE("reliable mode without faults sends its data in batches", "[ovp_endpoint]") {
  ReliableMesh mesh(2, 2000, FaultConfig{}, 3);
  mesh.size = 20;
  REQUIRE(mesh.run(10s));
  CHECK(mesh.errors == 0);
  const Endpoint& a = *mesh.eps[1];
  CHECK(a.reliable_counters().retransmissions.value() == 0);
  CHECK(a.counters().batched_messages_sent.value() > 1900);
}

TEST_CASE("a full receive buffer pushes back on reliable senders and drops only best effort", "[ovp_endpoint]") {
  SECTION("reliable: acks advertise the room left, nothing is lost or resent, the senders resume at once") {
    ReliableMesh mesh(2, 600, FaultConfig{}, 5, /*receive_buffer=*/8);
    mesh.popping = false;
    CHECK(!mesh.run(50ms));  // nobody reads: the senders' windows fill and stay full
    std::uint64_t backpressure = 0;
    for (auto& [id, ep] : mesh.eps) {
      backpressure += ep->counters().receive_backpressure.value();
      CHECK(ep->queued() <= 8 + EndpointConfig{}.reliable_config.window);
      CHECK(ep->queued() >= 8);
      CHECK(ep->counters().receive_overflow.value() == 0);
    }
    CHECK(backpressure > 0);
    mesh.popping = true;
    const auto resumed = mesh.now;
    REQUIRE(mesh.run(120s));
    CHECK(mesh.errors == 0);
    // Window updates, not retransmission timers or probes, moved the rest: 600 messages each
    // way on a delay-free network take no simulated time.
    CHECK(mesh.now - resumed < 5ms);
    // Senders stopped at the advertised room instead of sending into a full queue: no
    // message was resent.
    for (auto& [id, ep] : mesh.eps) CHECK(ep->reliable_counters().retransmissions.value() == 0);
  }
  SECTION("reliable over a lossy network: lost window updates are recovered by probes") {
    FaultConfig faults = FaultConfig::bursty_loss(0.3);
    faults.delay_min = 20us;
    faults.delay_max = 60us;
    ReliableMesh mesh(2, 800, faults, 11, /*receive_buffer=*/8);
    for (int round = 0; round < 6; ++round) {
      mesh.popping = false;
      CHECK(!mesh.run(20ms));
      mesh.popping = true;
      (void)mesh.run(2ms);
    }
    REQUIRE(mesh.run(300s));
    CHECK(mesh.errors == 0);
    std::uint64_t backpressure = 0;
    for (auto& [id, ep] : mesh.eps) backpressure += ep->counters().receive_backpressure.value();
    CHECK(backpressure > 0);
  }
  SECTION("best effort: overflow dropped and counted") {
    EndpointConfig cb = config(2);
    cb.receive_buffer = 4;
    Endpoint a(config(1)), b(cb);
    const std::vector<std::uint32_t> b_only{2};
    for (std::uint32_t i = 0; i < 10; ++i) REQUIRE(a.emit(to(b_only), message(1, i, 8), 0, 0ns));
    for (const auto& f : flush(a)) REQUIRE(b.on_frame(f.bytes, 0ns));
    CHECK(b.queued() == 4);
    CHECK(b.counters().receive_overflow.value() == 6);
    CHECK(b.counters().receive_queue.value() == 4);
    const auto got = drain(b);
    REQUIRE(got.size() == 4);
    CHECK(got[3].payload == message(1, 3, 8));
    CHECK(b.counters().receive_queue.value() == 0);
  }
}

TEST_CASE("a silent peer fills the reliable send buffer: emits fail, nothing is queued half", "[ovp_endpoint]") {
  EndpointConfig c = config(1, true);
  c.reliable_config.window = 4;
  c.reliable_config.send_buffer = 3;
  Endpoint a(c);
  const std::vector<std::uint32_t> two{2}, two_three{3, 2};
  for (int i = 0; i < 7; ++i) REQUIRE(a.emit(to(two), Bytes(10), 0, 0ns));
  CHECK(a.emit(to(two), Bytes(10), 0, 0ns).error() == EmitError::SendBufferFull);
  // Peer 3 has room, peer 2 has not: neither gets it.
  CHECK(a.emit(to(two_three), Bytes(10), 0, 0ns).error() == EmitError::SendBufferFull);
  CHECK(a.reliable_peer(3).in_flight == 0);
  CHECK(a.counters().messages_sent.value() == 7);
}

TEST_CASE("malformed and hostile frames are counted and dropped, never trusted", "[ovp_endpoint]") {
  Endpoint a(config(1)), b(config(2, true));
  const std::vector<std::uint32_t> b_only{2};
  for (std::uint32_t i = 0; i < 30; ++i) REQUIRE(a.emit(to(b_only), message(1, i, 30), 0, 0ns));
  auto frames = flush(a);
  REQUIRE(frames.size() == 2);  // HELLO + one BATCH
  const Bytes batch = frames[1].bytes;

  // Truncated, bad version, CRC off by one bit.
  CHECK(b.on_frame(std::span<const std::uint8_t>(batch.data(), 20), 0ns).error() == DecodeError::TooShort);
  CHECK(b.on_frame(std::span<const std::uint8_t>(batch.data(), batch.size() - 1), 0ns).error() ==
        DecodeError::LengthPastEnd);
  Bytes v = batch;
  v[0] = 2;
  CHECK(b.on_frame(v, 0ns).error() == DecodeError::BadVersion);
  Bytes crc = batch;
  crc[40] ^= 0x10;
  CHECK(b.on_frame(crc, 0ns).error() == DecodeError::CrcMismatch);
  CHECK(b.decoder_counters().rejected_total() == 4);

  // A BATCH whose CRC is right but whose records lie: the whole frame is dropped.
  Bytes lie = batch;
  store_be16(lie.data() + kHeaderSize, 31);  // one record more than there is
  FrameHeader h;
  h.type = FrameType::Batch;
  h.source = 1;
  h.destination = 2;
  h.epoch = 1;
  h.sequence = 1;
  REQUIRE(seal_ovp(h, lie.size() - kHeaderSize, lie));
  REQUIRE(b.on_frame(lie, 0ns));
  CHECK(b.counters().batches_rejected.value() == 1);
  CHECK(drain(b).empty());

  // A reliable-looking ACK for data never sent, from a stranger: no state, no crash.
  FrameHeader ack;
  ack.type = FrameType::Ack;
  ack.flags = kFlagAckValid;
  ack.source = 9;
  ack.destination = 2;
  ack.epoch = 1;
  ack.ack = 12345;
  Bytes ack_frame(kHeaderSize + kAckPayloadSize);
  REQUIRE(encode_ovp(ack, Bytes(kAckPayloadSize), ack_frame));
  REQUIRE(b.on_frame(ack_frame, 0ns));
  CHECK(b.reliable_counters().peers_refused.value() == 1);

  // Random mutations of valid frames: whatever they decode to, nothing crashes and every
  // frame is either accepted or counted under a reason.
  omega::OmegaRng rng(2024);
  std::uint64_t handed = 0;
  for (int i = 0; i < 20000; ++i) {
    Bytes f = frames[rng.gen_range(frames.size())].bytes;
    const int flips = 1 + static_cast<int>(rng.gen_range(4));
    for (int k = 0; k < flips; ++k) f[rng.gen_range(f.size())] ^= static_cast<std::uint8_t>(1u << rng.gen_range(8));
    if (rng.gen_range(4) == 0) f.resize(rng.gen_range(f.size() + 1));
    if (rng.gen_range(8) == 0) {
      // Re-seal a mutated header and payload so it passes the CRC and reaches the parsers.
      if (f.size() >= kHeaderSize) {
        FrameHeader r;
        r.type = static_cast<FrameType>(1 + rng.gen_range(kMaxFrameType));
        r.flags = static_cast<std::uint16_t>(rng.gen_range(8) & ~kFlagAckValid);
        if (r.type == FrameType::Ack) r.flags |= kFlagAckValid;
        r.source = 1 + static_cast<std::uint32_t>(rng.gen_range(4));
        r.destination = rng.gen_range(2) ? 2 : kBroadcast;
        r.epoch = static_cast<std::uint32_t>(rng.gen_range(3));
        r.sequence = static_cast<std::uint32_t>(rng.next_u64());
        r.ack = static_cast<std::uint32_t>(rng.next_u64());
        (void)seal_ovp(r, f.size() - kHeaderSize, f);
      }
    }
    (void)b.on_frame(f, 0ns);
    ++handed;
    if (i % 64 == 0) {
      (void)flush(b);
      (void)drain(b);
    }
  }
  CHECK(b.decoder_counters().accepted.value() + b.decoder_counters().rejected_total() ==
        b.counters().frames_received.value());
  CHECK(b.counters().frames_received.value() == handed + 6);
}

TEST_CASE("endpoint metrics export every counter with the transport's labels", "[ovp_endpoint]") {
  Endpoint a(config(1, true)), b(config(2));
  const std::vector<std::uint32_t> b_only{2};
  REQUIRE(a.emit(to(b_only), message(1, 0, 10), 0, 0ns));
  for (const auto& f : flush(a)) (void)b.on_frame(f.bytes, 0ns);
  omega::MetricsSnapshot snap;
  REQUIRE(a.export_to(snap, {{"drone", "1"}}));
  REQUIRE(b.export_to(snap, {{"drone", "2"}}));
  const std::string text = snap.to_prometheus();
  for (const char* name : {"omega_ovp_frames_sent_total{drone=\"1\"} 2", "omega_ovp_messages_received_total{drone=\"2\"} 1",
                           "omega_ovp_reliable_data_sent_total{drone=\"1\"} 1", "omega_ovp_messages_lost{drone=\"2\"} 0",
                           "omega_ovp_frames_rejected_total{drone=\"2\",reason=\"CrcMismatch\"} 0",
                           "omega_ovp_hellos_received_total{drone=\"2\"} 1"}) {
    INFO(name);
    CHECK(text.find(name) != std::string::npos);
  }
}
