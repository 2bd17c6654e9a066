// OVP reliable mode and best-effort loss accounting, over the fault-injecting network of
// tests/support: deterministic (fake clock, seeded OmegaRng), same results on every target.
#include <omega/ovp/crc32c.hpp>
#include <omega/ovp/reliable.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <vector>

#include "../support/fault_network.hpp"

using namespace omega::ovp;
using namespace std::chrono_literals;
using omega::test::FaultConfig;
using omega::test::FaultNetwork;
using Bytes = std::vector<std::uint8_t>;

namespace {

// The payload of message `index` from `from` to `to`: its identity plus filler derived from
// it, so any misdelivery or undetected corruption shows as a content mismatch.
Bytes message(std::uint32_t from, std::uint32_t to, std::uint32_t index) {
  const std::size_t size = 12 + (index * 37 + from * 11 + to) % 200;
  Bytes b(size);
  store_be32(b.data(), from);
  store_be32(b.data() + 4, to);
  store_be32(b.data() + 8, index);
  for (std::size_t i = 12; i < size; ++i) b[i] = static_cast<std::uint8_t>(index * 31 + i * 7 + from);
  return b;
}

// N endpoints (ids 1..N), each sending `count` messages to every other, over a FaultNetwork.
class Swarm {
 public:
  Swarm(std::uint32_t n, std::uint32_t count, FaultConfig faults, std::uint64_t seed, ReliableConfig config = {})
      : n_(n), count_(count), net_(faults, seed), config_(config) {
    for (std::uint32_t id = 1; id <= n; ++id) make_endpoint(id, config.epoch);
  }

  // Replaces endpoint `id` with a fresh incarnation (epoch + 1); what it had received is
  // forgotten, and what it still had to send is sent by the new incarnation from the start.
  void restart(std::uint32_t id) {
    const std::uint32_t epoch = endpoints_[id]->epoch() + 1;
    endpoints_[id].reset();
    make_endpoint(id, epoch);
    // As a receiver, its view of each sender starts over: it may skip only what an earlier
    // incarnation delivered. As a sender, it starts a new stream and sends every message
    // again (streams[] notices the new epoch on the first delivery).
    for (std::uint32_t from = 1; from <= n_; ++from) {
      if (from == id) continue;
      Stream& st = streams_[{id, from}];
      st.next = 0;
      st.receiver_restarted = true;
    }
    for (std::uint32_t to = 1; to <= n_; ++to) {
      if (to != id) next_to_send_[{id, to}] = 0;
    }
  }

  // Runs until every message is delivered and everything is quiet, or `limit` of simulated
  // time passes. Returns whether it finished.
  bool run(std::chrono::nanoseconds limit, bool send_more = true) {
    const auto end = now_ + limit;
    for (std::uint64_t steps = 0; now_ <= end; ++steps) {
      if (send_more) feed();
      net_.deliver_due(now_, [&](std::uint32_t to, std::span<const std::uint8_t> bytes) {
        if (endpoints_[to]) (void)endpoints_[to]->on_packet(bytes, now_);
      });
      for (auto& [id, ep] : endpoints_) {
        ep->poll(now_, [&, from = id](std::uint32_t to, std::span<const std::uint8_t> pkt) {
          net_.send(from, to, pkt, now_);
        });
        for (std::uint32_t to = 1; to <= n_; ++to) {
          if (to != id) max_in_flight_ = std::max(max_in_flight_, ep->peer_stats(to).in_flight);
        }
      }
      if (done()) return true;
      std::optional<std::chrono::nanoseconds> next = net_.next_due();
      for (auto& [id, ep] : endpoints_) {
        if (auto t = ep->next_timeout()) next = next ? std::min(*next, *t) : *t;
      }
      if (!next) return done();
      now_ = std::max(now_ + 1ns, *next);  // strictly forward: every step makes progress
    }
    return false;
  }

  [[nodiscard]] bool all_sent() const {
    for (const auto& [pair, next] : next_to_send_) {
      if (next < count_) return false;
    }
    return next_to_send_.size() == static_cast<std::size_t>(n_) * (n_ - 1);
  }
  [[nodiscard]] bool done() const {
    if (!all_sent() || net_.next_due()) return false;
    for (const auto& [id, ep] : endpoints_) {
      if (!ep->idle()) return false;
    }
    return true;
  }

  // Delivered in order and complete for every (receiver, sender) pair.
  void check_complete() const {
    for (std::uint32_t to = 1; to <= n_; ++to) {
      for (std::uint32_t from = 1; from <= n_; ++from) {
        if (to == from) continue;
        INFO("receiver " << to << ", sender " << from);
        const Stream& st = streams_.at({to, from});
        CHECK(st.next == count_);
        const std::vector<bool>& seen = st.seen;
        CHECK(std::count(seen.begin(), seen.end(), true) == static_cast<std::ptrdiff_t>(count_));
      }
    }
    CHECK(errors_ == 0);
  }

  ReliableEndpoint& ep(std::uint32_t id) { return *endpoints_.at(id); }
  FaultNetwork& net() { return net_; }
  std::uint64_t total(omega::Counter ReliableCounters::*field) const {
    std::uint64_t sum = 0;
    for (const auto& [id, ep] : endpoints_) sum += (ep->counters().*field).value();
    return sum;
  }
  std::uint64_t rejected(DecodeError e) const {
    std::uint64_t sum = 0;
    for (const auto& [id, ep] : endpoints_) sum += ep->decoder_counters().rejected[static_cast<std::size_t>(e)].value();
    return sum;
  }
  std::uint64_t errors() const { return errors_; }
  // The most messages any sender had in flight to one peer after a poll.
  std::uint32_t max_in_flight() const { return max_in_flight_; }
  std::chrono::nanoseconds now() const { return now_; }

 private:
  void make_endpoint(std::uint32_t id, std::uint32_t epoch) {
    ReliableConfig c = config_;
    c.epoch = epoch;
    endpoints_[id] = std::make_unique<ReliableEndpoint>(id, c, [this, id](const Delivery& d) { on_deliver(id, d); });
  }

  // Exactly once and in order per sender incarnation: index == next. A restarted receiver
  // may skip ahead only over messages an earlier incarnation of it delivered (the sender
  // moved past them on that incarnation's acks). A restarted sender's stream starts at 0.
  void on_deliver(std::uint32_t to, const Delivery& d) {
    if (d.payload.size() < 12) {
      ++errors_;
      return;
    }
    const std::uint32_t index = load_be32(d.payload.data() + 8);
    Stream& st = streams_[{to, d.source}];
    if (d.epoch != st.sender_epoch) {
      if (d.epoch < st.sender_epoch) {
        ++errors_;  // an older incarnation's message after a newer one's
        return;
      }
      st = Stream{d.epoch, 0, {}, false};
    }
    st.seen.resize(count_);
    bool ok = index >= st.next && index < count_;
    for (std::uint32_t i = st.next; ok && i < index; ++i) ok = st.receiver_restarted && st.seen[i];
    if (!ok || Bytes(d.payload.begin(), d.payload.end()) != message(d.source, to, index) ||
        d.channel != static_cast<std::uint16_t>(index % 7)) {
      ++errors_;
      return;
    }
    st.seen[index] = true;
    st.next = index + 1;
  }

  void feed() {
    for (std::uint32_t from = 1; from <= n_; ++from) {
      for (std::uint32_t to = 1; to <= n_; ++to) {
        if (from == to) continue;
        std::uint32_t& next = next_to_send_[{from, to}];
        while (next < count_) {
          auto r = endpoints_[from]->send(to, static_cast<std::uint16_t>(next % 7), message(from, to, next));
          if (!r) {
            REQUIRE(r.error() == SendError::SendBufferFull);
            break;
          }
          ++next;
        }
      }
    }
  }

  std::uint32_t n_;
  std::uint32_t count_;
  FaultNetwork net_;
  ReliableConfig config_;
  std::map<std::uint32_t, std::unique_ptr<ReliableEndpoint>> endpoints_;
  struct Stream {
    std::uint32_t sender_epoch = 0;
    std::uint32_t next = 0;   // index expected next
    std::vector<bool> seen;   // delivered by any incarnation of the receiver
    bool receiver_restarted = false;
  };
  std::map<std::pair<std::uint32_t, std::uint32_t>, Stream> streams_;  // (to, from)
  std::map<std::pair<std::uint32_t, std::uint32_t>, std::uint32_t> next_to_send_;             // (from, to)
  std::uint64_t errors_ = 0;
  std::uint32_t max_in_flight_ = 0;
  std::chrono::nanoseconds now_{0};
};

FaultConfig delay_only() {
  FaultConfig f;
  f.delay_min = 50us;
  f.delay_max = 150us;
  return f;
}

}  // namespace

TEST_CASE("RTO estimator follows RFC 6298", "[ovp_reliable]") {
  RtoEstimator e(50ms, 1ms, 2s, 1us);
  CHECK(e.rto() == 50ms);
  CHECK_FALSE(e.has_sample());
  e.on_sample(10ms);  // SRTT = R, RTTVAR = R/2, RTO = SRTT + 4 RTTVAR
  CHECK(e.srtt() == 10ms);
  CHECK(e.rttvar() == 5ms);
  CHECK(e.rto() == 30ms);
  e.on_sample(20ms);  // RTTVAR = 3/4*5 + 1/4*10 = 6.25; SRTT = 7/8*10 + 1/8*20 = 11.25
  CHECK(e.rttvar() == 6250us);
  CHECK(e.srtt() == 11250us);
  CHECK(e.rto() == 11250us + 4 * 6250us);
  e.on_timeout();
  CHECK(e.rto() == 2 * (11250us + 4 * 6250us));
  for (int i = 0; i < 20; ++i) e.on_timeout();
  CHECK(e.rto() == 2s);  // capped
  e.on_sample(11250us);  // a new sample recomputes it from SRTT/RTTVAR
  CHECK(e.rto() < 100ms);
  RtoEstimator tiny(50ms, 1ms, 2s, 1us);
  tiny.on_sample(10us);
  CHECK(tiny.rto() == 1ms);  // floored at the minimum
  RtoEstimator coarse(50ms, 1ms, 2s, 5ms);
  coarse.on_sample(100ms);
  for (int i = 0; i < 50; ++i) coarse.on_sample(100ms);  // RTTVAR decays towards 0 ...
  CHECK(coarse.rto() >= 105ms);                           // ... but G keeps RTO above SRTT
}

TEST_CASE("send refuses bad peers, oversize payloads and a full buffer", "[ovp_reliable]") {
  ReliableConfig c;
  c.window = 4;
  c.send_buffer = 3;
  ReliableEndpoint ep(5, c, [](const Delivery&) {});
  const Bytes small{1};
  CHECK(ep.send(0, 0, small).error() == SendError::BadPeer);
  CHECK(ep.send(kBroadcast, 0, small).error() == SendError::BadPeer);
  CHECK(ep.send(5, 0, small).error() == SendError::BadPeer);
  CHECK(ep.send(6, 0, Bytes(kMaxPayload + 1)).error() == SendError::PayloadTooLarge);
  for (int i = 0; i < 7; ++i) REQUIRE(ep.send(6, 0, small).has_value());  // 4 in the window + 3 queued
  CHECK(ep.send(6, 0, small).error() == SendError::SendBufferFull);
  CHECK(ep.peer_stats(6).in_flight == 4);
  CHECK(ep.peer_stats(6).queued == 3);
  CHECK(ep.counters().messages_accepted.value() == 7);
  ReliableConfig one = c;
  one.max_peers = 1;
  ReliableEndpoint lonely(5, one, [](const Delivery&) {});
  REQUIRE(lonely.send(6, 0, small).has_value());
  CHECK(lonely.send(7, 0, small).error() == SendError::TooManyPeers);
  CHECK_FALSE(ep.idle());
  // Nothing leaves before poll(); poll sends the window, and arms the timer.
  CHECK(ep.next_timeout() <= std::optional<std::chrono::nanoseconds>(0ns));
  int frames = 0;
  ep.poll(0ns, [&](std::uint32_t to, std::span<const std::uint8_t> pkt) {
    CHECK(to == 6);
    auto v = decode_ovp(pkt, {6, {}});
    REQUIRE(v.has_value());
    CHECK(v->header.flags == kFlagReliable);
    CHECK(v->header.sequence == static_cast<std::uint32_t>(1 + frames));
    CHECK(v->header.ack == 1);  // lowest unacknowledged
    ++frames;
  });
  CHECK(frames == 4);
  CHECK(ep.next_timeout() == std::optional<std::chrono::nanoseconds>(c.initial_rto));
}

TEST_CASE("lossless: everything delivered in order, nothing retransmitted", "[ovp_reliable]") {
  FaultConfig f;
  f.delay_min = f.delay_max = 100us;  // no jitter: no reordering either
  Swarm s(3, 500, f, 1);
  REQUIRE(s.run(60s));
  s.check_complete();
  CHECK(s.total(&ReliableCounters::delivered) == 6 * 500);
  CHECK(s.total(&ReliableCounters::data_sent) == 6 * 500);
  CHECK(s.total(&ReliableCounters::retransmissions) == 0);
  CHECK(s.total(&ReliableCounters::duplicates) == 0);
  const PeerStats st = s.ep(1).peer_stats(2);
  CHECK(st.rtt_sampled);
  CHECK(st.srtt == 200us);  // two one-way delays of 100 us
  CHECK(st.epoch == std::optional<std::uint32_t>(1));
  CHECK(st.delivered_through == 500);
}

TEST_CASE("sequence numbers wrap around 2^32", "[ovp_reliable]") {
  ReliableConfig c;
  c.first_sequence = 0xFFFFFF00u;
  FaultConfig f = FaultConfig::bursty_loss(0.2);
  f.delay_min = 50us;
  f.delay_max = 300us;
  Swarm s(2, 600, f, 9, c);
  REQUIRE(s.run(600s));
  s.check_complete();
  CHECK(s.ep(1).peer_stats(2).next_sequence == 0xFFFFFF00u + 600);
  CHECK(s.ep(1).peer_stats(2).delivered_through == 0xFFFFFF00u + 599);
}

TEST_CASE("each fault alone: delivered exactly once, in order per sender", "[ovp_reliable]") {
  struct Case {
    const char* name;
    FaultConfig faults;
  };
  std::vector<Case> cases;
  {
    FaultConfig f = FaultConfig::bursty_loss(0.3);
    f.delay_min = f.delay_max = 100us;
    cases.push_back({"30% bursty loss", f});
  }
  {
    FaultConfig f = delay_only();
    f.duplicate = 0.3;
    cases.push_back({"30% duplication", f});
  }
  {
    FaultConfig f = delay_only();
    f.reorder = 0.3;
    f.reorder_extra = 400us;
    cases.push_back({"30% reordering", f});
  }
  {
    FaultConfig f = delay_only();
    f.corrupt = 0.2;
    cases.push_back({"20% corruption", f});
  }
  {
    FaultConfig f;
    f.delay_min = 1ms;
    f.delay_max = 20ms;  // jitter larger than the send spacing reorders too
    cases.push_back({"1-20 ms delay", f});
  }
  for (const Case& k : cases) {
    for (std::uint64_t seed : {1u, 2u, 3u}) {
      INFO(k.name << ", seed " << seed);
      Swarm s(3, 300, k.faults, seed);
      REQUIRE(s.run(600s));
      s.check_complete();
      CHECK(s.total(&ReliableCounters::delivered) == 6 * 300);
      if (k.faults.loss_bad > 0) {
        CHECK(s.net().stats().lost > 0);
        CHECK(s.total(&ReliableCounters::retransmissions) > 0);
      }
      if (k.faults.duplicate > 0) CHECK(s.total(&ReliableCounters::duplicates) > 0);
      if (k.faults.corrupt > 0) {
        CHECK(s.net().stats().corrupted > 0);
        // Every corrupted copy was caught by a check (mostly the CRC) and never delivered.
        std::uint64_t rejected = 0;
        for (std::size_t i = 0; i < kDecodeErrorCount; ++i) rejected += s.rejected(static_cast<DecodeError>(i));
        CHECK(rejected == s.net().stats().corrupted);
        CHECK(s.rejected(DecodeError::CrcMismatch) > 0);
      }
    }
  }
}

namespace {
// Every fault at once: 30% bursty loss, duplication, reordering, corruption and delay.
FaultConfig all_faults() {
  FaultConfig f = FaultConfig::bursty_loss(0.3);
  f.duplicate = 0.1;
  f.reorder = 0.2;
  f.reorder_extra = 500us;
  f.corrupt = 0.05;
  f.delay_min = 100us;
  f.delay_max = 2ms;
  return f;
}
}  // namespace

TEST_CASE("all faults combined: 30% bursty loss, duplication, reordering, corruption, delay", "[ovp_reliable]") {
  const FaultConfig f = all_faults();
  for (std::uint64_t seed : {11u, 12u, 13u, 14u, 15u}) {
    INFO("seed " << seed);
    ReliableConfig c;
    c.send_buffer = 32;  // the senders also meet SendBufferFull and come back later
    Swarm s(4, 250, f, seed, c);
    REQUIRE(s.run(1200s));
    s.check_complete();
    CHECK(s.total(&ReliableCounters::delivered) == 12 * 250);
    CHECK(s.total(&ReliableCounters::retransmissions) > 0);
    CHECK(s.total(&ReliableCounters::timeouts) > 0);
    CHECK(s.total(&ReliableCounters::fast_retransmits) > 0);
    CHECK(s.total(&ReliableCounters::duplicates) > 0);
    CHECK(s.rejected(DecodeError::CrcMismatch) > 0);
    const double loss = static_cast<double>(s.net().stats().lost) / static_cast<double>(s.net().stats().sent);
    CHECK(loss > 0.2);  // the configured 30% really happened (stationary rate, one run)
    CHECK(loss < 0.4);
  }
}

TEST_CASE("a window larger than the selective-ack bitmap: exactly once, in order, under every fault", "[ovp_reliable]") {
  const FaultConfig f = all_faults();
  for (std::uint64_t seed : {41u, 42u, 43u}) {
    INFO("seed " << seed);
    ReliableConfig c;
    c.window = 1024;
    c.ack_every = 128;
    Swarm s(3, 2000, f, seed, c);
    REQUIRE(s.run(1200s));
    s.check_complete();
    CHECK(s.total(&ReliableCounters::delivered) == 6 * 2000);
    CHECK(s.max_in_flight() > kSackBits);  // the window past the bitmap was used
    CHECK(s.max_in_flight() <= c.window);
    CHECK(s.total(&ReliableCounters::out_of_window) == 0);
    CHECK(s.total(&ReliableCounters::retransmissions) > 0);
    CHECK(s.total(&ReliableCounters::fast_retransmits) > 0);
    CHECK(s.total(&ReliableCounters::duplicates) > 0);
    CHECK(s.rejected(DecodeError::CrcMismatch) > 0);
    const double loss = static_cast<double>(s.net().stats().lost) / static_cast<double>(s.net().stats().sent);
    CHECK(loss > 0.2);
  }
}

TEST_CASE("large windows wrap the 32-bit sequence space", "[ovp_reliable]") {
  // 1000 is not a power of two: its slot ring has 1024 slots, still consistent across 2^32.
  for (std::uint32_t window : {1000u, 1024u}) {
    INFO("window " << window);
    ReliableConfig c;
    c.window = window;
    c.first_sequence = 0xFFFFFFFFu - 700;  // the wrap falls inside the first full window
    FaultConfig f = FaultConfig::bursty_loss(0.3);
    f.reorder = 0.2;
    f.reorder_extra = 300us;
    f.delay_min = 50us;
    f.delay_max = 300us;
    Swarm s(2, 2500, f, 51 + window, c);
    REQUIRE(s.run(1200s));
    s.check_complete();
    CHECK(s.max_in_flight() > kSackBits);
    CHECK(s.total(&ReliableCounters::out_of_window) == 0);
    CHECK(s.ep(1).peer_stats(2).next_sequence == c.first_sequence + 2500);
    CHECK(s.ep(2).peer_stats(1).delivered_through == c.first_sequence + 2499);
  }
}

namespace {

// Two endpoints on a link with a fixed 50 us one-way delay, stepped in 100 us rounds: a
// polls, b receives what survives `drop_to_b` and answers, a receives the answers.
struct Pair {
  ReliableConfig config;
  std::vector<std::uint32_t> got;  // sequences b delivered, in order of delivery
  std::vector<Bytes> got_payloads;
  ReliableEndpoint a{1, config, [](const Delivery&) {}};
  ReliableEndpoint b{2, config, [this](const Delivery& d) {
                       got.push_back(d.sequence);
                       got_payloads.emplace_back(d.payload.begin(), d.payload.end());
                     }};
  std::chrono::nanoseconds now{0};
  std::uint32_t max_in_flight = 0;
  std::function<void()> before_b_polls = [] {};  // e.g. b's application pops, credit is set

  explicit Pair(ReliableConfig c) : config(c) {}

  template <class Drop>
  void round(Drop&& drop_to_b) {
    std::vector<Bytes> to_b, to_a;
    a.poll(now, [&](std::uint32_t, std::span<const std::uint8_t> p) { to_b.emplace_back(p.begin(), p.end()); });
    max_in_flight = std::max(max_in_flight, a.peer_stats(2).in_flight);
    for (const Bytes& w : to_b) {
      auto v = decode_ovp(w, {2, {}});
      REQUIRE(v.has_value());
      if (v->header.type == FrameType::Data && drop_to_b(v->header.sequence)) continue;
      REQUIRE(b.on_packet(w, now + 50us).has_value());
    }
    before_b_polls();
    b.poll(now + 50us, [&](std::uint32_t, std::span<const std::uint8_t> p) { to_a.emplace_back(p.begin(), p.end()); });
    for (const Bytes& w : to_a) REQUIRE(a.on_packet(w, now + 100us).has_value());
    now += 100us;
  }
  // Rounds until both sides are idle (or the simulated limit passes).
  template <class Drop>
  bool run(std::chrono::nanoseconds limit, Drop&& drop_to_b) {
    const auto end = now + limit;
    while (now < end) {
      round(drop_to_b);
      if (a.idle() && b.idle()) return true;
    }
    return false;
  }
};

}  // namespace

TEST_CASE("losses only beyond the bitmap: only the lost messages are sent again", "[ovp_reliable]") {
  ReliableConfig c;
  c.window = 512;
  const auto never = [](std::uint32_t) { return false; };
  // Warm up: RTT samples, and the peer's room (a fresh peer gets one bitmap's reach).
  const auto warm_up = [&](Pair& pair) {
    for (int i = 0; i < 40; ++i) {
      REQUIRE(pair.a.send(2, 0, Bytes{0}).has_value());
      pair.round(never);
    }
    REQUIRE(pair.run(100ms, never));
  };
  SECTION("holes inside the stream") {
    Pair pair(c);
    warm_up(pair);
    const std::uint32_t base = pair.a.peer_stats(2).next_sequence;
    for (std::uint32_t i = 0; i < 512; ++i) {
      Bytes m(8);
      store_be32(m.data(), i);
      REQUIRE(pair.a.send(2, static_cast<std::uint16_t>(i % 3), m).has_value());
    }
    // Each hole lies well past the 64 sequences the first ACK's bitmap can describe.
    const std::vector<std::uint32_t> lost{base + 100, base + 200, base + 300, base + 400};
    std::set<std::uint32_t> dropped;
    REQUIRE(pair.run(1s, [&](std::uint32_t seq) {
      // Only the first transmission of each is lost.
      return std::find(lost.begin(), lost.end(), seq) != lost.end() && dropped.insert(seq).second;
    }));
    CHECK(pair.max_in_flight == 512);  // the whole window went out at once
    REQUIRE(pair.got.size() == 40 + 512);
    for (std::uint32_t i = 0; i < 512; ++i) {
      CHECK(pair.got[40 + i] == base + i);
      CHECK(load_be32(pair.got_payloads[40 + i].data()) == i);
    }
    // Only the four lost messages went twice: nothing the receiver held beyond the bitmap.
    CHECK(pair.a.counters().retransmissions.value() == lost.size());
    CHECK(pair.b.counters().duplicates.value() == 0);
    CHECK(pair.b.counters().out_of_window.value() == 0);
  }
  SECTION("a lost tail: the timer, then each ACK, resend what is still missing") {
    Pair pair(c);
    warm_up(pair);
    const std::uint32_t base = pair.a.peer_stats(2).next_sequence;
    for (std::uint32_t i = 0; i < 512; ++i) REQUIRE(pair.a.send(2, 0, Bytes{1}).has_value());
    // The last 212 messages' first transmissions are lost, nothing after them arrives: no
    // ACK can report them, so the timer has to.
    std::set<std::uint32_t> seen;
    REQUIRE(pair.run(2s, [&](std::uint32_t seq) {
      const bool tail = seq - base >= 300;
      return tail && seen.insert(seq).second;
    }));
    REQUIRE(pair.got.size() == 40 + 512);
    for (std::uint32_t i = 0; i < 512; ++i) CHECK(pair.got[40 + i] == base + i);
    CHECK(pair.a.counters().timeouts.value() == 1);  // one timeout; the ACKs carried the rest
    CHECK(pair.a.counters().retransmissions.value() == 212);
    CHECK(pair.b.counters().duplicates.value() == 0);
  }
}

TEST_CASE("a receiver that stops consuming holds a large window back, then resumes", "[ovp_reliable]") {
  ReliableConfig c;
  c.window = 1024;
  constexpr std::size_t kRoom = 100;   // the receiver's application queue
  constexpr std::uint32_t kCount = 5000;
  Pair pair(c);
  std::size_t popped = 0;
  auto credit = [&] { return static_cast<std::uint32_t>(kRoom - std::min(kRoom, pair.got.size() - popped)); };
  for (std::uint32_t i = 0; i < kCount; ++i) {
    Bytes m(4);
    store_be32(m.data(), i);
    REQUIRE(pair.a.send(2, 0, m).has_value());
  }
  const auto never = [](std::uint32_t) { return false; };
  std::size_t max_waiting = 0;
  pair.before_b_polls = [&] { pair.b.set_receive_credit(credit()); };
  // Phase 1: nobody pops. Credit reaches 0; the sender stops sending new messages.
  for (int i = 0; i < 200; ++i) {  // 20 ms
    pair.round(never);
    max_waiting = std::max(max_waiting, pair.got.size() - popped);
  }
  CHECK(credit() == 0);
  const std::uint64_t sent_stalled = pair.a.counters().data_sent.value();
  const std::uint64_t timeouts_stalled = pair.a.counters().timeouts.value();
  for (int i = 0; i < 2000; ++i) {  // 200 ms more: only probes on the backed-off timer
    pair.round(never);
    max_waiting = std::max(max_waiting, pair.got.size() - popped);
  }
  const std::uint64_t probes = pair.a.counters().data_sent.value() - sent_stalled;
  CHECK(probes <= pair.a.counters().timeouts.value() - timeouts_stalled);
  CHECK(probes < 10);
  CHECK(pair.a.counters().retransmissions.value() == 0);  // a full receiver costs no resends
  // Bounded: the room plus what was already under way when it ran out (the first flight
  // is one bitmap's reach), plus the probes.
  CHECK(max_waiting <= kRoom + kSackBits + probes);
  // Phase 2: the application consumes again; the next probe's ACK reopens the window.
  pair.before_b_polls = [&] {
    popped = pair.got.size();
    pair.b.set_receive_credit(credit());
  };
  REQUIRE(pair.run(60s, never));
  REQUIRE(pair.got_payloads.size() == kCount);
  for (std::uint32_t i = 0; i < kCount; ++i) CHECK(load_be32(pair.got_payloads[i].data()) == i);
  CHECK(pair.max_in_flight > kSackBits);  // once room came back, the large window was used
  CHECK(pair.b.counters().duplicates.value() == 0);
  CHECK(pair.b.counters().out_of_window.value() == 0);
}

TEST_CASE("Karn's rule: a retransmitted message gives no RTT sample; the backoff stays", "[ovp_reliable]") {
  ReliableConfig c;
  c.initial_rto = 10ms;
  std::vector<Bytes> delivered;
  ReliableEndpoint a(1, c, [](const Delivery&) {});
  ReliableEndpoint b(2, c, [&](const Delivery& d) { delivered.emplace_back(d.payload.begin(), d.payload.end()); });
  std::vector<Bytes> wire;
  auto capture = [&](std::uint32_t, std::span<const std::uint8_t> p) { wire.emplace_back(p.begin(), p.end()); };

  REQUIRE(a.send(2, 0, Bytes{42}).has_value());
  a.poll(0ns, capture);
  REQUIRE(wire.size() == 1);
  wire.clear();  // the first transmission is lost
  CHECK(a.next_timeout() == std::optional<std::chrono::nanoseconds>(10ms));
  a.poll(10ms, capture);  // timeout: retransmit, back off to 20 ms
  REQUIRE(wire.size() == 1);
  CHECK(a.counters().timeouts.value() == 1);
  CHECK(a.peer_stats(2).rto == 20ms);
  CHECK(a.next_timeout() == std::optional<std::chrono::nanoseconds>(30ms));
  REQUIRE(b.on_packet(wire[0], 11ms).has_value());
  wire.clear();
  b.poll(11ms, capture);
  REQUIRE(wire.size() == 1);  // the ACK
  REQUIRE(a.on_packet(wire[0], 12ms).has_value());
  wire.clear();
  CHECK(delivered == std::vector<Bytes>{Bytes{42}});
  CHECK_FALSE(a.peer_stats(2).rtt_sampled);  // ambiguous: which transmission was acked?
  CHECK(a.peer_stats(2).rto == 20ms);         // backed-off RTO kept until a valid sample
  CHECK(a.peer_stats(2).in_flight == 0);
  CHECK_FALSE(a.next_timeout().has_value());  // nothing outstanding: timer stopped

  // A message sent once gives a sample: 3 ms round trip.
  REQUIRE(a.send(2, 0, Bytes{43}).has_value());
  a.poll(20ms, capture);
  REQUIRE(b.on_packet(wire[0], 21ms).has_value());
  wire.clear();
  b.poll(21ms, capture);
  REQUIRE(a.on_packet(wire[0], 23ms).has_value());
  CHECK(a.peer_stats(2).rtt_sampled);
  CHECK(a.peer_stats(2).srtt == 3ms);
  CHECK(a.peer_stats(2).rto == 9ms);  // 3 + 4 * 1.5
  CHECK(a.idle());
  b.poll(30ms, capture);
  CHECK(b.idle());
}

TEST_CASE("in-order data may wait ack_delay for its ACK; out-of-order data is acked at once", "[ovp_reliable]") {
  ReliableConfig c;
  c.ack_delay = 5ms;
  ReliableEndpoint a(1, c, [](const Delivery&) {});
  std::vector<std::uint32_t> got;
  ReliableEndpoint b(2, c, [&](const Delivery& d) { got.push_back(d.sequence); });
  std::vector<Bytes> wire;
  auto capture = [&](std::uint32_t, std::span<const std::uint8_t> p) { wire.emplace_back(p.begin(), p.end()); };
  for (int i = 0; i < 3; ++i) REQUIRE(a.send(2, 0, Bytes{1}).has_value());
  a.poll(0ns, capture);
  REQUIRE(wire.size() == 3);
  const std::vector<Bytes> data = wire;
  wire.clear();
  REQUIRE(b.on_packet(data[0], 1ms).has_value());  // in order
  CHECK(b.next_timeout() == std::optional<std::chrono::nanoseconds>(6ms));
  b.poll(5ms, capture);
  CHECK(wire.empty());
  REQUIRE(b.on_packet(data[2], 5ms).has_value());  // a gap: ack now, with the SACK bit
  CHECK(b.next_timeout() <= std::optional<std::chrono::nanoseconds>(5ms));
  b.poll(5ms, capture);
  REQUIRE(wire.size() == 1);
  auto ack = decode_ovp(wire[0], {1, {}});
  REQUIRE(ack.has_value());
  CHECK(ack->header.type == FrameType::Ack);
  CHECK(ack->header.ack == 1);
  CHECK(load_be32(ack->payload.data()) == 1);        // a's epoch
  CHECK(load_be64(ack->payload.data() + 4) == 1u);   // bit 0: sequence 3
  REQUIRE(a.on_packet(wire[0], 6ms).has_value());
  CHECK(a.peer_stats(2).in_flight == 2);  // 2 still missing, 3 selectively acked
  CHECK(got == std::vector<std::uint32_t>{1});
}

TEST_CASE("ACKs for unsent data or another epoch are ignored; stale frames dropped", "[ovp_reliable]") {
  ReliableConfig c;
  ReliableEndpoint a(1, c, [](const Delivery&) {});
  REQUIRE(a.send(2, 0, Bytes{1}).has_value());
  a.poll(0ns, [](std::uint32_t, std::span<const std::uint8_t>) {});
  auto ack = [](std::uint32_t acked_epoch, std::uint32_t cum, std::uint32_t sender_epoch) {
    Bytes payload(kAckPayloadSize);
    store_be32(payload.data(), acked_epoch);
    FrameHeader h;
    h.type = FrameType::Ack;
    h.flags = kFlagAckValid;
    h.source = 2;
    h.destination = 1;
    h.epoch = sender_epoch;
    h.ack = cum;
    Bytes out(kMaxOvpSize);
    out.resize(*encode_ovp(h, payload, out));
    return out;
  };
  REQUIRE(a.on_packet(ack(1, 5, 7), 1ms).has_value());  // acks 5, only 1 was sent
  CHECK(a.counters().invalid_acks.value() == 1);
  REQUIRE(a.on_packet(ack(99, 1, 7), 1ms).has_value());  // names another incarnation of ours
  CHECK(a.counters().stale_epoch.value() == 1);
  CHECK(a.peer_stats(2).in_flight == 1);
  REQUIRE(a.on_packet(ack(1, 1, 6), 1ms).has_value());  // from an older incarnation of the peer
  CHECK(a.counters().stale_epoch.value() == 2);
  CHECK(a.peer_stats(2).in_flight == 1);
  REQUIRE(a.on_packet(ack(1, 1, 7), 1ms).has_value());
  CHECK(a.peer_stats(2).in_flight == 0);
  CHECK(a.peer_stats(2).epoch == std::optional<std::uint32_t>(7));
  // An ACK from a drone we never sent to creates no state.
  Bytes stranger = ack(1, 0, 7);
  store_be32(stranger.data() + 8, 3);  // source 3
  store_be32(stranger.data() + 28, crc32c_update(crc32c_update(0, stranger.data(), 28), stranger.data() + 32, 12));
  REQUIRE(a.on_packet(stranger, 1ms).has_value());
  CHECK(a.counters().peers_refused.value() == 1);
  CHECK_FALSE(a.peer_stats(3).epoch.has_value());
  // Garbage is a decode error, counted, and changes nothing.
  CHECK(a.on_packet(Bytes(5), 2ms).error() == DecodeError::TooShort);
  CHECK(a.decoder_counters().rejected_total() == 1);
  // Best-effort frames are not this layer's.
  FrameHeader be;
  be.source = 2;
  be.destination = 1;
  Bytes out(kMaxOvpSize);
  out.resize(*encode_ovp(be, Bytes{1}, out));
  REQUIRE(a.on_packet(out, 3ms).has_value());
  CHECK(a.counters().not_reliable.value() == 1);
}

TEST_CASE("a restarted receiver is recognised and gets the rest, in order", "[ovp_reliable]") {
  for (std::uint64_t seed : {21u, 22u, 23u}) {
    INFO("seed " << seed);
    FaultConfig f = FaultConfig::bursty_loss(0.2);
    f.delay_min = 100us;
    f.delay_max = 500us;
    Swarm s(3, 400, f, seed);
    // Let part of the traffic through, then restart drone 2 mid-stream.
    s.run(1ms);
    CHECK_FALSE(s.done());
    s.restart(2);
    REQUIRE(s.run(600s));
    s.check_complete();
    // Both peers noticed drone 2's new epoch.
    CHECK(s.ep(1).counters().peer_restarts.value() == 1);
    CHECK(s.ep(3).counters().peer_restarts.value() == 1);
    CHECK(s.ep(1).peer_stats(2).epoch == std::optional<std::uint32_t>(2));
  }
}

TEST_CASE("a restarted sender starts a new stream; old frames are stale", "[ovp_reliable]") {
  ReliableConfig c;
  std::vector<std::uint32_t> got;
  ReliableEndpoint b(2, c, [&](const Delivery& d) { got.push_back(d.payload[0]); });
  std::vector<Bytes> wire;
  auto capture = [&](std::uint32_t, std::span<const std::uint8_t> p) { wire.emplace_back(p.begin(), p.end()); };
  auto a = std::make_unique<ReliableEndpoint>(1, c, [](const Delivery&) {});
  for (std::uint8_t i = 0; i < 5; ++i) REQUIRE(a->send(2, 0, Bytes{i}).has_value());
  a->poll(0ns, capture);
  const std::vector<Bytes> old_frames = wire;
  for (const Bytes& w : wire) REQUIRE(b.on_packet(w, 1ms).has_value());
  wire.clear();
  CHECK(got == std::vector<std::uint32_t>{0, 1, 2, 3, 4});

  ReliableConfig c2 = c;
  c2.epoch = 2;
  a = std::make_unique<ReliableEndpoint>(1, c2, [](const Delivery&) {});
  for (std::uint8_t i = 10; i < 13; ++i) REQUIRE(a->send(2, 0, Bytes{i}).has_value());
  a->poll(2ms, capture);
  for (const Bytes& w : wire) REQUIRE(b.on_packet(w, 3ms).has_value());
  CHECK(got == std::vector<std::uint32_t>{0, 1, 2, 3, 4, 10, 11, 12});
  CHECK(b.counters().peer_restarts.value() == 1);
  // The old incarnation's frames, replayed late, are dropped as stale.
  for (const Bytes& w : old_frames) REQUIRE(b.on_packet(w, 4ms).has_value());
  CHECK(b.counters().stale_epoch.value() == old_frames.size());
  CHECK(got.size() == 8);
}

TEST_CASE("best effort counts what it lost", "[ovp_reliable][best_effort]") {
  for (std::uint64_t seed : {31u, 32u, 33u}) {
    INFO("seed " << seed);
    FaultConfig f = FaultConfig::bursty_loss(0.3);
    f.delay_min = 10us;
    f.delay_max = 40us;  // a frame every 20 us: some reordering
    FaultNetwork net(f, seed);
    DecoderCounters decoder;
    LossTracker tracker;
    std::uint64_t accepted = 0;
    constexpr std::uint32_t kFrames = 5000;
    Bytes buf(kMaxOvpSize);
    auto deliver = [&](std::uint32_t, std::span<const std::uint8_t> bytes) {
      auto v = decoder.record(decode_ovp(bytes, {2, {}}));
      if (v && tracker.on_sequence(v->header.epoch, v->header.sequence)) ++accepted;
    };
    std::chrono::nanoseconds now{0};
    for (std::uint32_t seq = 1; seq <= kFrames; ++seq) {
      if (seq == kFrames) net.set_config(FaultConfig{});  // the last one arrives: losses before it are all visible
      FrameHeader h;
      h.source = 1;
      h.destination = 2;
      h.epoch = 1;
      h.sequence = seq;
      const std::size_t n = *encode_ovp(h, Bytes{1, 2, 3}, buf);
      net.send(1, 2, std::span<const std::uint8_t>(buf.data(), n), now);
      now += 20us;
      net.deliver_due(now, deliver);
    }
    net.deliver_due(now + 1s, deliver);
    CHECK(tracker.received() == accepted);
    CHECK(tracker.received() + tracker.lost() == kFrames);
    CHECK(tracker.lost() == net.stats().lost);  // no corruption or duplication here: exact
    CHECK(tracker.late() > 0);
    CHECK(tracker.duplicates() == 0);
  }
  // With duplication and corruption as well: duplicates recognised, corrupted copies lost.
  FaultConfig f = FaultConfig::bursty_loss(0.1);
  f.duplicate = 0.2;
  f.corrupt = 0.1;
  f.delay_min = 10us;
  f.delay_max = 40us;
  FaultNetwork net(f, 7);
  DecoderCounters decoder;
  LossTracker tracker;
  Bytes buf(kMaxOvpSize);
  auto deliver = [&](std::uint32_t, std::span<const std::uint8_t> bytes) {
    auto v = decoder.record(decode_ovp(bytes, {2, {}}));
    if (v) tracker.on_sequence(v->header.epoch, v->header.sequence);
  };
  std::chrono::nanoseconds now{0};
  for (std::uint32_t seq = 1; seq <= 3000; ++seq) {
    if (seq == 3000) net.set_config(FaultConfig{});
    FrameHeader h;
    h.source = 1;
    h.destination = 2;
    h.epoch = 1;
    h.sequence = seq;
    net.send(1, 2, std::span<const std::uint8_t>(buf.data(), *encode_ovp(h, Bytes{}, buf)), now);
    now += 20us;
    net.deliver_due(now, deliver);
  }
  net.deliver_due(now + 1s, deliver);
  CHECK(tracker.received() + tracker.lost() == 3000);
  CHECK(tracker.duplicates() > 0);
  CHECK(decoder.rejected_total() == net.stats().corrupted);
  CHECK(tracker.lost() >= net.stats().lost);
  CHECK(tracker.lost() <= net.stats().lost + net.stats().corrupted);
}

TEST_CASE("loss tracker: gaps, late arrivals, duplicates, epochs", "[ovp_reliable][best_effort]") {
  LossTracker t;
  CHECK(t.on_sequence(1, 10));
  CHECK(t.on_sequence(1, 11));
  CHECK(t.on_sequence(1, 15));  // 12..14 missing
  CHECK(t.lost() == 3);
  CHECK(t.on_sequence(1, 13));  // late
  CHECK(t.lost() == 2);
  CHECK(t.late() == 1);
  CHECK_FALSE(t.on_sequence(1, 13));
  CHECK(t.duplicates() == 1);
  CHECK(t.on_sequence(1, 100));
  CHECK_FALSE(t.on_sequence(1, 14));  // more than 64 behind: too old, stays lost
  CHECK(t.too_old() == 1);
  CHECK(t.lost() == 2 + 84);
  CHECK(t.on_sequence(2, 1));  // sender restarted: new span, old losses kept
  CHECK(t.restarts() == 1);
  CHECK(t.lost() == 86);
  CHECK(t.on_sequence(2, 3));
  CHECK(t.lost() == 87);
  CHECK_FALSE(t.on_sequence(1, 101));  // the old incarnation's frame
  CHECK(t.received() == 7);
  LossTracker w;  // across the 32-bit wrap
  CHECK(w.on_sequence(1, 0xFFFFFFFEu));
  CHECK(w.on_sequence(1, 1));
  CHECK(w.lost() == 2);  // 0xFFFFFFFF and 0
}

TEST_CASE("reliable counters export with their names", "[ovp_reliable]") {
  ReliableEndpoint ep(1, ReliableConfig{}, [](const Delivery&) {});
  REQUIRE(ep.send(2, 0, Bytes{1}).has_value());
  omega::MetricsSnapshot snap;
  REQUIRE(ep.counters().export_to(snap, {{"drone", "1"}}).has_value());
  const std::string text = snap.to_prometheus();
  CHECK(text.find("omega_ovp_reliable_messages_accepted_total{drone=\"1\"} 1") != std::string::npos);
  CHECK(text.find("omega_ovp_reliable_retransmissions_total{drone=\"1\"} 0") != std::string::npos);
}
