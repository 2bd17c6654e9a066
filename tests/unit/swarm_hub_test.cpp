// CommunicationHub (omega/swarm/hub.hpp) against its contract: every topology's path and hop
// count, backpressure at exactly the channel's capacity, fair draining across senders,
// broadcast groups, replay after restart (against a reference model), seeded drops that
// repeat for a seed, cut links, dead relays, exact statistics and metrics, and bad input.
// One case runs senders and a receiver on threads where the platform has them.
#include <omega/base/config.hpp>
#include <omega/base/rng.hpp>
#include <omega/swarm/hub.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "../support/sanitizers.hpp"
#include "../support/threads.hpp"

namespace os = omega::swarm;
using os::AgentId;
using os::CommunicationHub;
using os::SwarmError;
using os::SwarmTopology;

namespace {

AgentId A(std::uint32_t v) { return AgentId{v}; }

// Agents 1..n, added in order (index i holds AgentId i+1).
std::vector<AgentId> add_agents(CommunicationHub& hub, std::uint32_t n) {
  std::vector<AgentId> ids;
  for (std::uint32_t v = 1; v <= n; ++v) {
    REQUIRE(hub.add_agent(A(v)).has_value());
    ids.push_back(A(v));
  }
  return ids;
}

std::vector<AgentId> path_of(std::initializer_list<std::uint32_t> values) {
  std::vector<AgentId> p;
  for (auto v : values) p.push_back(A(v));
  return p;
}

std::vector<std::byte> bytes_of(std::uint64_t v) {
  std::vector<std::byte> b(sizeof v);
  std::memcpy(b.data(), &v, sizeof v);
  return b;
}

std::uint64_t value_of(const std::vector<std::byte>& b) {
  std::uint64_t v = 0;
  REQUIRE(b.size() == sizeof v);
  std::memcpy(&v, b.data(), sizeof v);
  return v;
}

// Sends one message and checks it arrives with the route's hop count.
std::uint32_t delivered_hops(CommunicationHub& hub, AgentId from, AgentId to) {
  REQUIRE(hub.send(from, to, 7, {}, 0).has_value());
  std::vector<os::Message> in;
  REQUIRE(hub.receive(to, in) == 1);
  CHECK(in[0].from == from);
  CHECK(in[0].to == to);
  return in[0].hops;
}

}  // namespace

TEST_CASE("hub config is validated", "[swarm_hub]") {
  CHECK(os::HubConfig{}.validate().empty());
  CHECK_FALSE(os::HubConfig{.channel_capacity = 0}.validate().empty());
  CHECK_FALSE(os::HubConfig{.fanout = 0}.validate().empty());
  CHECK(os::HubConfig{.replay_capacity = 0}.validate().empty());
  CHECK_THROWS_AS(CommunicationHub(os::HubConfig{.channel_capacity = 0}), std::invalid_argument);
}

TEST_CASE("hub Mesh delivers directly in one hop", "[swarm_hub]") {
  CommunicationHub hub({.topology = SwarmTopology::Mesh});
  add_agents(hub, 8);
  CHECK(hub.route(A(1), A(8)) == path_of({1, 8}));
  CHECK(hub.route(A(5), A(2)) == path_of({5, 2}));
  const std::vector<std::byte> payload = bytes_of(0xfeedULL);
  REQUIRE(hub.send(A(3), A(6), 42, payload, 1234).has_value());
  std::vector<os::Message> in;
  REQUIRE(hub.receive(A(6), in) == 1);
  CHECK(in[0].from == A(3));
  CHECK(in[0].to == A(6));
  CHECK(in[0].kind == 42);
  CHECK(in[0].seq == 1);
  CHECK(in[0].sent_ns == 1234);
  CHECK(in[0].hops == 1);
  CHECK(in[0].group.empty());
  CHECK(value_of(in[0].payload) == 0xfeedULL);
  // A dead agent elsewhere changes nothing; the direct link has no relay.
  hub.kill(A(4));
  CHECK(delivered_hops(hub, A(1), A(8)) == 1);
}

TEST_CASE("hub Star and Centralized relay through the centre", "[swarm_hub]") {
  for (SwarmTopology t : {SwarmTopology::Star, SwarmTopology::Centralized}) {
    INFO(os::to_string(t));
    CommunicationHub hub({.topology = t});
    add_agents(hub, 9);
    CHECK(hub.center() == A(1));  // the first added
    CHECK(hub.route(A(3), A(7)) == path_of({3, 1, 7}));
    CHECK(hub.route(A(1), A(7)) == path_of({1, 7}));
    CHECK(hub.route(A(7), A(1)) == path_of({7, 1}));
    CHECK(delivered_hops(hub, A(3), A(7)) == 2);
    CHECK(delivered_hops(hub, A(1), A(9)) == 1);

    hub.set_center(A(5));
    CHECK(hub.center() == A(5));
    CHECK(hub.route(A(3), A(7)) == path_of({3, 5, 7}));
    CHECK(hub.route(A(1), A(7)) == path_of({1, 5, 7}));
    hub.set_center(A(99));  // unknown: ignored
    CHECK(hub.center() == A(5));

    // Nothing relays through a dead centre; the centre itself still talks to the edges.
    hub.kill(A(5));
    CHECK(hub.route(A(3), A(7)).empty());
    CHECK(hub.send(A(3), A(7), 0, {}, 0).error() == SwarmError::Unreachable);
    hub.revive(A(5));
    hub.kill(A(7));
    CHECK(hub.route(A(3), A(7)).empty());  // a dead receiver has no route either
    hub.revive(A(7));
    hub.kill(A(2));
    CHECK(delivered_hops(hub, A(3), A(7)) == 2);  // a dead edge elsewhere is no relay
    CHECK(hub.stats().refused_unreachable == 1);

    // Removing the chosen centre falls back to the first added.
    hub.remove_agent(A(5));
    CHECK(hub.center() == A(1));
  }
}

TEST_CASE("hub Ring forwards in the shorter live direction", "[swarm_hub]") {
  CommunicationHub hub({.topology = SwarmTopology::Ring});
  add_agents(hub, 9);  // ring 1-2-3-4-5-6-7-8-9-1
  CHECK(hub.route(A(1), A(2)) == path_of({1, 2}));
  CHECK(hub.route(A(1), A(4)) == path_of({1, 2, 3, 4}));
  CHECK(hub.route(A(1), A(7)) == path_of({1, 9, 8, 7}));       // 6 forward, 3 back
  CHECK(hub.route(A(8), A(2)) == path_of({8, 9, 1, 2}));       // forward across the wrap
  CHECK(hub.route(A(2), A(8)) == path_of({2, 1, 9, 8}));       // backward across the wrap
  CHECK(delivered_hops(hub, A(1), A(7)) == 3);
  CHECK(delivered_hops(hub, A(3), A(8)) == 4);  // 5 forward, 4 back

  // A dead agent blocks its direction: the long way round.
  hub.kill(A(2));
  CHECK(hub.route(A(1), A(4)) == path_of({1, 9, 8, 7, 6, 5, 4}));
  CHECK(delivered_hops(hub, A(1), A(4)) == 6);
  // Both directions blocked.
  hub.kill(A(6));
  CHECK(hub.route(A(1), A(4)).empty());
  CHECK(hub.send(A(1), A(4), 0, {}, 0).error() == SwarmError::Unreachable);
  // Neighbours on either side of the blocks still reach each other.
  CHECK(hub.route(A(3), A(5)) == path_of({3, 4, 5}));
  CHECK(hub.route(A(7), A(1)) == path_of({7, 8, 9, 1}));
  hub.revive(A(2));
  hub.revive(A(6));

  // An even ring's tie goes forward.
  CommunicationHub even({.topology = SwarmTopology::Ring});
  add_agents(even, 8);
  CHECK(even.route(A(1), A(5)) == path_of({1, 2, 3, 4, 5}));
  CHECK(even.route(A(5), A(1)) == path_of({5, 6, 7, 8, 1}));
  even.kill(A(3));
  CHECK(even.route(A(1), A(5)) == path_of({1, 8, 7, 6, 5}));

  // Removing an agent closes the ring over the gap.
  even.revive(A(3));
  even.remove_agent(A(2));
  CHECK(even.route(A(1), A(3)) == path_of({1, 3}));
  CHECK(even.route(A(1), A(5)) == path_of({1, 3, 4, 5}));
}

TEST_CASE("hub Hierarchical climbs to the common ancestor and descends", "[swarm_hub]") {
  // Fan-out 3 over 10 agents: 1 is the root; 2,3,4 its children; 5,6,7 under 2; 8,9,10 under 3.
  CommunicationHub hub({.topology = SwarmTopology::Hierarchical, .fanout = 3});
  add_agents(hub, 10);
  CHECK(hub.route(A(5), A(9)) == path_of({5, 2, 1, 3, 9}));
  CHECK(hub.route(A(5), A(6)) == path_of({5, 2, 6}));
  CHECK(hub.route(A(5), A(2)) == path_of({5, 2}));
  CHECK(hub.route(A(2), A(7)) == path_of({2, 7}));
  CHECK(hub.route(A(1), A(10)) == path_of({1, 3, 10}));
  CHECK(hub.route(A(10), A(1)) == path_of({10, 3, 1}));
  CHECK(hub.route(A(4), A(8)) == path_of({4, 1, 3, 8}));
  CHECK(delivered_hops(hub, A(5), A(9)) == 4);
  CHECK(delivered_hops(hub, A(8), A(10)) == 2);

  // A dead interior node cuts off its subtree's traffic through it.
  hub.kill(A(2));
  CHECK(hub.route(A(5), A(9)).empty());
  CHECK(hub.route(A(5), A(6)).empty());
  CHECK(hub.send(A(6), A(10), 0, {}, 0).error() == SwarmError::Unreachable);
  CHECK(hub.route(A(3), A(9)) == path_of({3, 9}));
  CHECK(hub.route(A(4), A(10)) == path_of({4, 1, 3, 10}));
  hub.revive(A(2));
  hub.kill(A(1));  // the root: siblings under one parent still talk
  CHECK(hub.route(A(8), A(10)) == path_of({8, 3, 10}));
  CHECK(hub.route(A(5), A(8)).empty());

  // Fan-out 2 over 7 agents: a full binary tree.
  CommunicationHub binary({.topology = SwarmTopology::Hierarchical, .fanout = 2});
  add_agents(binary, 7);
  CHECK(binary.route(A(4), A(7)) == path_of({4, 2, 1, 3, 7}));
  CHECK(binary.route(A(4), A(5)) == path_of({4, 2, 5}));
  CHECK(binary.route(A(7), A(1)) == path_of({7, 3, 1}));
  CHECK(delivered_hops(binary, A(4), A(7)) == 4);
}

TEST_CASE("hub refuses with Backpressure at exactly the channel's capacity", "[swarm_hub]") {
  CommunicationHub hub({.channel_capacity = 4});
  add_agents(hub, 3);
  for (int i = 0; i < 4; ++i) REQUIRE(hub.send(A(1), A(2), 0, {}, 0).has_value());
  CHECK(hub.send(A(1), A(2), 0, {}, 0).error() == SwarmError::Backpressure);
  CHECK(hub.send(A(1), A(2), 0, {}, 0).error() == SwarmError::Backpressure);
  // Channels are per sender: another sender to the same receiver is not held back.
  CHECK(hub.send(A(3), A(2), 0, {}, 0).has_value());
  std::vector<os::Message> in;
  REQUIRE(hub.receive(A(2), in, 1) == 1);
  CHECK(in[0].from == A(1));
  CHECK(hub.send(A(1), A(2), 0, {}, 0).has_value());  // one slot freed, one taken
  CHECK(hub.send(A(1), A(2), 0, {}, 0).error() == SwarmError::Backpressure);
  const os::HubStats s = hub.stats();
  CHECK(s.refused_backpressure == 3);
  CHECK(s.sent == 6);
  CHECK(s.queued == 5);
  // Refusals take no seq: the channel's numbers stay dense.
  in.clear();
  REQUIRE(hub.receive(A(2), in) == 5);
  std::vector<std::uint64_t> from1;
  for (const auto& m : in) {
    if (m.from == A(1)) from1.push_back(m.seq);
  }
  CHECK(from1 == std::vector<std::uint64_t>{2, 3, 4, 5});
}

TEST_CASE("hub receive drains senders round robin and keeps each channel's order", "[swarm_hub]") {
  CommunicationHub hub;
  add_agents(hub, 4);
  for (int i = 0; i < 6; ++i) REQUIRE(hub.send(A(2), A(1), 0, bytes_of(static_cast<std::uint64_t>(i)), 0).has_value());
  for (int i = 0; i < 2; ++i) REQUIRE(hub.send(A(3), A(1), 0, bytes_of(100 + static_cast<std::uint64_t>(i)), 0).has_value());
  for (int i = 0; i < 2; ++i) REQUIRE(hub.send(A(4), A(1), 0, bytes_of(200 + static_cast<std::uint64_t>(i)), 0).has_value());
  std::vector<os::Message> in;
  // Small batches: the turn carries over between calls.
  while (hub.receive(A(1), in, 2) > 0) {
  }
  std::vector<std::uint64_t> order;
  for (const auto& m : in) order.push_back(value_of(m.payload));
  CHECK(order == std::vector<std::uint64_t>{0, 100, 200, 1, 101, 201, 2, 3, 4, 5});
  CHECK(hub.stats().delivered == 10);
  CHECK(hub.stats().queued == 0);
}

TEST_CASE("hub broadcast sends one copy per live member except the sender", "[swarm_hub]") {
  CommunicationHub hub({.topology = SwarmTopology::Star});
  add_agents(hub, 7);
  for (std::uint32_t v : {2, 3, 4, 5, 6}) REQUIRE(hub.join("sensors", A(v)).has_value());
  REQUIRE(hub.join("sensors", A(3)).has_value());  // joining twice is one membership
  CHECK(hub.stats().groups == 1);

  auto n = hub.broadcast("sensors", A(3), 9, bytes_of(77), 5);
  REQUIRE(n.has_value());
  CHECK(*n == 4);
  for (std::uint32_t v : {2, 4, 5, 6}) {
    std::vector<os::Message> in;
    REQUIRE(hub.receive(A(v), in) == 1);
    CHECK(in[0].group == "sensors");
    CHECK(in[0].from == A(3));
    CHECK(in[0].kind == 9);
    CHECK(in[0].hops == 2);  // edge to edge through the centre
    CHECK(value_of(in[0].payload) == 77);
  }
  std::vector<os::Message> none;
  CHECK(hub.receive(A(3), none) == 0);

  // A non-member may broadcast; a dead member gets nothing (counted as dead), the rest do.
  hub.kill(A(5));
  n = hub.broadcast("sensors", A(1), 9, {}, 6);
  REQUIRE(n.has_value());
  CHECK(*n == 4);
  CHECK(hub.stats().dropped_dead == 1);
  CHECK(hub.stats().broadcasts == 2);

  CHECK(hub.broadcast("nobody", A(1), 0, {}, 0).error() == SwarmError::UnknownGroup);
  CHECK(hub.broadcast("", A(1), 0, {}, 0).error() == SwarmError::UnknownGroup);
  CHECK(hub.broadcast("sensors", A(99), 0, {}, 0).error() == SwarmError::UnknownAgent);
  CHECK(hub.join("", A(1)).error() == SwarmError::UnknownGroup);
  CHECK(hub.join("sensors", A(99)).error() == SwarmError::UnknownAgent);

  for (std::uint32_t v : {2, 3, 4, 5, 6}) hub.leave("sensors", A(v));
  CHECK(hub.stats().groups == 0);
  CHECK(hub.broadcast("sensors", A(1), 0, {}, 0).error() == SwarmError::UnknownGroup);
  CHECK(hub.stats().broadcasts == 2);
}

TEST_CASE("hub restart replays exactly the unacknowledged messages in order", "[swarm_hub]") {
  CommunicationHub hub({.replay_capacity = 16});
  add_agents(hub, 3);
  for (std::uint64_t i = 1; i <= 5; ++i) REQUIRE(hub.send(A(1), A(2), 0, bytes_of(i), 0).has_value());
  for (std::uint64_t i = 1; i <= 2; ++i) REQUIRE(hub.send(A(3), A(2), 0, bytes_of(100 + i), 0).has_value());
  std::vector<os::Message> in;
  REQUIRE(hub.receive(A(2), in) == 7);
  // Handled 1's first two and 3's first; then the agent fails, mid-stream.
  for (const auto& m : in) {
    if ((m.from == A(1) && m.seq == 2) || (m.from == A(3) && m.seq == 1)) hub.ack(A(2), m);
  }
  hub.kill(A(2));
  CHECK(hub.send(A(1), A(2), 0, bytes_of(6), 0).has_value());  // lost: nothing reaches the dead
  hub.revive(A(2));
  CHECK(hub.restart(A(2)) == 4);
  in.clear();
  REQUIRE(hub.receive(A(2), in) == 4);
  std::map<std::uint32_t, std::vector<std::uint64_t>> got;
  for (const auto& m : in) got[m.from.value].push_back(value_of(m.payload));
  CHECK(got[1] == std::vector<std::uint64_t>{3, 4, 5});
  CHECK(got[3] == std::vector<std::uint64_t>{102});
  // Ack past all of it; new traffic continues the channel's numbering; a second restart
  // replays only what came after the ack, even though it was already received once.
  for (const auto& m : in) hub.ack(A(2), m);
  REQUIRE(hub.send(A(1), A(2), 0, bytes_of(7), 0).has_value());
  in.clear();
  REQUIRE(hub.receive(A(2), in) == 1);
  CHECK(in[0].seq == 6);
  CHECK(hub.restart(A(2)) == 1);
  in.clear();
  REQUIRE(hub.receive(A(2), in) == 1);
  CHECK(value_of(in[0].payload) == 7);
  hub.ack(A(2), in[0]);
  CHECK(hub.restart(A(2)) == 0);
  const os::HubStats s = hub.stats();
  CHECK(s.replayed == 5);
  CHECK(s.replay_gaps == 0);
  CHECK(s.dropped_dead == 1);
}

TEST_CASE("hub counts replay gaps when the log overflowed", "[swarm_hub]") {
  CommunicationHub hub({.replay_capacity = 4});
  add_agents(hub, 2);
  for (std::uint64_t i = 1; i <= 10; ++i) REQUIRE(hub.send(A(1), A(2), 0, bytes_of(i), 0).has_value());
  std::vector<os::Message> in;
  REQUIRE(hub.receive(A(2), in, 3) == 3);
  hub.ack(A(2), in[1]);  // seq 2 handled: 3..10 are owed, the log holds 7..10
  CHECK(hub.restart(A(2)) == 4);
  in.clear();
  REQUIRE(hub.receive(A(2), in) == 4);
  CHECK(in.front().seq == 7);
  CHECK(in.back().seq == 10);
  CHECK(hub.stats().replay_gaps == 4);  // seqs 3, 4, 5, 6

  // Without a log, every unacknowledged message is a gap.
  CommunicationHub bare({.replay_capacity = 0});
  add_agents(bare, 2);
  for (int i = 0; i < 3; ++i) REQUIRE(bare.send(A(1), A(2), 0, {}, 0).has_value());
  CHECK(bare.restart(A(2)) == 0);
  CHECK(bare.stats().replay_gaps == 3);
  in.clear();
  CHECK(bare.receive(A(2), in) == 0);
}

TEST_CASE("hub replay matches a reference model under random kills and restarts", "[swarm_hub]") {
  // Three senders stream to one receiver that receives in small batches, acks some of what
  // it handled, and is killed, revived and restarted at random. The model: per channel, the
  // seqs accepted, the last ack, and what the receiver may still be owed.
  constexpr std::size_t kLog = 64;
  CommunicationHub hub({.channel_capacity = 32, .replay_capacity = kLog});
  add_agents(hub, 4);
  const AgentId rx = A(4);
  omega::OmegaRng rng(2024);
  std::map<std::uint32_t, std::uint64_t> sent;     // last seq accepted per sender
  std::map<std::uint32_t, std::uint64_t> acked;    // last seq acked per sender
  std::map<std::uint32_t, std::uint64_t> expect;   // next seq the receiver must see per sender
  std::uint64_t restarts = 0;
  bool dead = false;
  for (int step = 0; step < 4000; ++step) {
    const std::uint64_t op = rng.gen_range(100);
    if (op < 60) {
      const auto from = static_cast<std::uint32_t>(1 + rng.gen_range(3));
      auto r = hub.send(A(from), rx, 0, {}, step);
      if (r.has_value() && !dead) ++sent[from];
      if (!r.has_value()) CHECK(r.error() == SwarmError::Backpressure);
    } else if (op < 85) {
      std::vector<os::Message> in;
      hub.receive(rx, in, 1 + rng.gen_range(5));
      if (dead) CHECK(in.empty());
      for (const auto& m : in) {
        const std::uint32_t f = m.from.value;
        if (expect[f] == 0) expect[f] = 1;
        REQUIRE(m.seq == expect[f]);  // per-channel order, nothing skipped, nothing twice
        ++expect[f];
        if (rng.gen_range(2) == 0) {
          hub.ack(rx, m);
          acked[f] = m.seq;
        }
      }
    } else if (op < 90) {
      if (dead) {
        hub.revive(rx);
      } else {
        hub.kill(rx);
      }
      dead = !dead;
    } else if (op < 95 && !dead) {
      // The restarted receiver is owed everything past its acks (the log holds kLog > the
      // channel's capacity, so nothing has fallen out of it).
      std::size_t owed = 0;
      for (auto [f, s] : sent) owed += s - acked[f];
      CHECK(hub.restart(rx) == owed);
      for (auto [f, s] : sent) expect[f] = acked[f] + 1;
      ++restarts;
    }
  }
  CHECK(restarts > 10);
  CHECK(hub.stats().replay_gaps == 0);
  CHECK(hub.stats().dropped_dead > 0);
}

TEST_CASE("hub drops are deterministic for a seed", "[swarm_hub]") {
  struct Run {
    std::uint64_t dropped;
    std::vector<std::uint64_t> received;  // payloads that arrived, in order
  };
  const auto run = [](std::uint64_t seed) {
    CommunicationHub hub({.topology = SwarmTopology::Ring, .channel_capacity = 4096});
    add_agents(hub, 8);
    hub.set_faults({.drop_probability = 0.3, .seed = seed});
    for (std::uint64_t i = 0; i < 2000; ++i) {
      REQUIRE(hub.send(A(static_cast<std::uint32_t>(1 + i % 7)), A(8), 0, bytes_of(i), 0).has_value());
    }
    Run r{hub.stats().dropped_fault, {}};
    std::vector<os::Message> in;
    hub.receive(A(8), in);
    for (const auto& m : in) r.received.push_back(value_of(m.payload));
    CHECK(hub.stats().sent + hub.stats().dropped_fault == 2000);
    return r;
  };
  const Run a = run(42);
  const Run b = run(42);
  const Run c = run(43);
  CHECK(a.dropped == b.dropped);
  CHECK(a.received == b.received);
  CHECK(a.received != c.received);
  // 30% of 2000 with a binomial spread of ~20: this seed's count lies well inside.
  CHECK(a.dropped > 500);
  CHECK(a.dropped < 700);
  CHECK(a.received.size() + a.dropped == 2000);

  // Probability 0 and 1 are exact.
  CommunicationHub all({.channel_capacity = 64});
  add_agents(all, 2);
  all.set_faults({.drop_probability = 1.0, .seed = 7});
  for (int i = 0; i < 50; ++i) CHECK(all.send(A(1), A(2), 0, {}, 0).has_value());
  CHECK(all.stats().dropped_fault == 50);
  CHECK(all.stats().sent == 0);
  all.set_faults({});
  for (int i = 0; i < 50; ++i) CHECK(all.send(A(1), A(2), 0, {}, 0).has_value());
  CHECK(all.stats().sent == 50);
}

TEST_CASE("hub cut links lose messages both ways until healed", "[swarm_hub]") {
  CommunicationHub mesh;
  add_agents(mesh, 3);
  mesh.cut(A(1), A(2));
  CHECK(mesh.send(A(1), A(2), 0, {}, 0).has_value());
  CHECK(mesh.send(A(2), A(1), 0, {}, 0).has_value());
  CHECK(mesh.send(A(1), A(3), 0, {}, 0).has_value());
  CHECK(mesh.stats().dropped_fault == 2);
  CHECK(mesh.stats().sent == 1);
  mesh.heal(A(2), A(1));
  CHECK(delivered_hops(mesh, A(1), A(2)) == 1);

  // A cut link on a relayed path loses the message; routes do not avoid it.
  CommunicationHub star({.topology = SwarmTopology::Star});
  add_agents(star, 4);
  star.cut(A(3), A(1));
  CHECK(star.route(A(2), A(3)) == path_of({2, 1, 3}));
  CHECK(star.send(A(2), A(3), 0, {}, 0).has_value());
  CHECK(star.send(A(2), A(4), 0, {}, 0).has_value());
  CHECK(star.stats().dropped_fault == 1);
  CHECK(star.stats().sent == 1);
}

TEST_CASE("hub killed agents neither send nor receive until revived", "[swarm_hub]") {
  CommunicationHub hub;
  add_agents(hub, 3);
  REQUIRE(hub.send(A(1), A(2), 0, bytes_of(1), 0).has_value());
  hub.kill(A(2));
  CHECK_FALSE(hub.alive(A(2)));
  CHECK(hub.alive(A(1)));
  CHECK_FALSE(hub.alive(A(99)));
  CHECK(hub.send(A(2), A(3), 0, {}, 0).has_value());  // lost: nothing leaves the dead
  CHECK(hub.send(A(1), A(2), 0, {}, 0).has_value());  // lost: nothing reaches the dead
  std::vector<os::Message> in;
  CHECK(hub.receive(A(2), in) == 0);
  CHECK(hub.receive(A(3), in) == 0);
  CHECK(hub.stats().dropped_dead == 2);
  CHECK(hub.stats().dead == 1);
  // Revived without a restart, it still holds what was queued before.
  hub.revive(A(2));
  REQUIRE(hub.receive(A(2), in) == 1);
  CHECK(value_of(in[0].payload) == 1);

  // Restarted while still dead: the inbox is rebuilt at once and served after revive.
  REQUIRE(hub.send(A(1), A(2), 0, bytes_of(2), 0).has_value());
  hub.kill(A(2));
  CHECK(hub.restart(A(2)) == 2);  // nothing acknowledged yet
  in.clear();
  CHECK(hub.receive(A(2), in) == 0);
  hub.revive(A(2));
  REQUIRE(hub.receive(A(2), in) == 2);
  CHECK(value_of(in[0].payload) == 1);
  CHECK(value_of(in[1].payload) == 2);
  hub.leave("no such group", A(2));  // ignored
  hub.leave("", A(99));              // ignored
}

TEST_CASE("hub refuses bad input", "[swarm_hub]") {
  CommunicationHub hub;
  CHECK(hub.add_agent(AgentId{}).error() == SwarmError::UnknownAgent);
  add_agents(hub, 2);
  CHECK(hub.add_agent(A(1)).error() == SwarmError::DuplicateAgent);
  CHECK(hub.send(A(1), A(9), 0, {}, 0).error() == SwarmError::UnknownAgent);
  CHECK(hub.send(A(9), A(1), 0, {}, 0).error() == SwarmError::UnknownAgent);
  CHECK(hub.send(AgentId{}, A(1), 0, {}, 0).error() == SwarmError::UnknownAgent);
  CHECK(hub.route(A(1), A(9)).empty());
  std::vector<os::Message> in;
  CHECK(hub.receive(A(9), in) == 0);
  CHECK(hub.restart(A(9)) == 0);
  hub.ack(A(9), os::Message{});  // ignored
  hub.kill(A(9));                // ignored
  CHECK(hub.stats().agents == 2);

  // Sending to oneself is a loopback of 0 hops.
  CHECK(hub.route(A(1), A(1)) == path_of({1}));
  CHECK(delivered_hops(hub, A(1), A(1)) == 0);

  // Payloads have no limit but memory.
  std::vector<std::byte> big(8 << 20, std::byte{0x5a});
  REQUIRE(hub.send(A(1), A(2), 0, big, 0).has_value());
  in.clear();
  REQUIRE(hub.receive(A(2), in) == 1);
  CHECK(in[0].payload == big);

  // An ack cannot run ahead of what the channel sent.
  REQUIRE(hub.send(A(1), A(2), 0, {}, 0).has_value());
  os::Message forged;
  forged.from = A(1);
  forged.seq = 1000;
  hub.ack(A(2), forged);
  CHECK(hub.restart(A(2)) == 0);  // acked up to seq 2, the last sent
  REQUIRE(hub.send(A(1), A(2), 0, {}, 0).has_value());
  CHECK(hub.restart(A(2)) == 1);  // seq 3 is still owed
}

TEST_CASE("hub remove_agent drops its channels and queued messages", "[swarm_hub]") {
  CommunicationHub hub;
  add_agents(hub, 3);
  REQUIRE(hub.join("g", A(2)).has_value());
  for (int i = 0; i < 3; ++i) REQUIRE(hub.send(A(1), A(2), 0, {}, 0).has_value());
  for (int i = 0; i < 2; ++i) REQUIRE(hub.send(A(2), A(3), 0, {}, 0).has_value());
  REQUIRE(hub.send(A(3), A(1), 0, {}, 0).has_value());
  CHECK(hub.stats().channels == 3);
  hub.remove_agent(A(2));
  const os::HubStats s = hub.stats();
  CHECK(s.dropped_removed == 5);
  CHECK(s.queued == 1);
  CHECK(s.channels == 1);
  CHECK(s.groups == 0);
  CHECK(s.agents == 2);
  CHECK(hub.send(A(1), A(2), 0, {}, 0).error() == SwarmError::UnknownAgent);
  // The id may come back as a new agent with fresh channels.
  REQUIRE(hub.add_agent(A(2)).has_value());
  REQUIRE(hub.send(A(1), A(2), 0, {}, 0).has_value());
  std::vector<os::Message> in;
  REQUIRE(hub.receive(A(2), in) == 1);
  CHECK(in[0].seq == 1);
}

TEST_CASE("hub statistics and metrics are exact", "[swarm_hub]") {
  CommunicationHub hub({.topology = SwarmTopology::Star, .channel_capacity = 2, .replay_capacity = 8});
  add_agents(hub, 5);  // centre 1
  const std::vector<std::byte> ten(10);
  REQUIRE(hub.send(A(2), A(3), 0, ten, 0).has_value());   // 2 hops, 10 bytes
  REQUIRE(hub.send(A(2), A(3), 0, ten, 0).has_value());   // 2 hops, 10 bytes
  CHECK(hub.send(A(2), A(3), 0, ten, 0).error() == SwarmError::Backpressure);
  REQUIRE(hub.send(A(1), A(4), 0, {}, 0).has_value());    // 1 hop
  REQUIRE(hub.join("g", A(4)).has_value());
  REQUIRE(hub.join("g", A(5)).has_value());
  REQUIRE(*hub.broadcast("g", A(2), 0, ten, 0) == 2);     // 2 x 2 hops, 20 bytes
  hub.kill(A(5));
  REQUIRE(*hub.broadcast("g", A(2), 0, {}, 0) == 1);      // 2 hops; the copy to 5 is dead
  hub.kill(A(1));
  CHECK(hub.send(A(2), A(4), 0, {}, 0).error() == SwarmError::Unreachable);
  hub.revive(A(1));
  hub.cut(A(1), A(4));
  REQUIRE(hub.send(A(1), A(4), 0, {}, 0).has_value());    // lost on the cut link
  std::vector<os::Message> in;
  REQUIRE(hub.receive(A(3), in) == 2);
  REQUIRE(hub.receive(A(4), in) == 3);  // 1's message and both broadcast copies
  hub.ack(A(3), in[0]);
  CHECK(hub.restart(A(3)) == 1);

  const os::HubStats s = hub.stats();
  CHECK(s.sent == 6);
  CHECK(s.delivered == 5);
  CHECK(s.bytes == 40);
  CHECK(s.hops == 11);
  CHECK(s.broadcasts == 2);
  CHECK(s.refused_backpressure == 1);
  CHECK(s.refused_unreachable == 1);
  CHECK(s.dropped_fault == 1);
  CHECK(s.dropped_dead == 1);
  CHECK(s.replayed == 1);
  CHECK(s.replay_gaps == 0);
  CHECK(s.queued == 2);  // 5's broadcast copy and 3's replay
  CHECK(s.channels == 4);  // 2->3, 1->4, 2->4, 2->5
  CHECK(s.groups == 1);
  CHECK(s.agents == 5);
  CHECK(s.dead == 1);
  CHECK(s.mean_hops() == Approx(11.0 / 6.0));

  omega::MetricsSnapshot snap;
  hub.append_metrics(snap);
  const auto counter = [&](const char* name, const char* cause = nullptr) -> std::uint64_t {
    const auto* f = snap.find(name);
    REQUIRE(f != nullptr);
    for (const auto& series : f->series) {
      if (cause == nullptr ? series.labels.empty()
                           : (series.labels.size() == 1 && series.labels[0].value == cause)) {
        return std::get<std::uint64_t>(series.value);
      }
    }
    FAIL("no series " << name << " " << (cause ? cause : ""));
    return 0;
  };
  const auto gauge = [&](const char* name) {
    const auto* f = snap.find(name);
    REQUIRE(f != nullptr);
    REQUIRE(f->series.size() == 1);
    return std::get<double>(f->series[0].value);
  };
  CHECK(counter("swarm_hub_messages_sent_total") == 6);
  CHECK(counter("swarm_hub_messages_delivered_total") == 5);
  CHECK(counter("swarm_hub_payload_bytes_total") == 40);
  CHECK(counter("swarm_hub_hops_total") == 11);
  CHECK(counter("swarm_hub_broadcasts_total") == 2);
  CHECK(counter("swarm_hub_refused_total", "backpressure") == 1);
  CHECK(counter("swarm_hub_refused_total", "unreachable") == 1);
  CHECK(counter("swarm_hub_dropped_total", "fault") == 1);
  CHECK(counter("swarm_hub_dropped_total", "dead") == 1);
  CHECK(counter("swarm_hub_dropped_total", "removed") == 0);
  CHECK(counter("swarm_hub_replayed_total") == 1);
  CHECK(counter("swarm_hub_replay_gaps_total") == 0);
  CHECK(gauge("swarm_hub_queued") == 2);
  CHECK(gauge("swarm_hub_channels") == 4);
  CHECK(gauge("swarm_hub_groups") == 1);
  CHECK(gauge("swarm_hub_agents") == 5);
  CHECK(gauge("swarm_hub_dead_agents") == 1);
  CHECK(gauge("swarm_hub_mean_hops") == Approx(11.0 / 6.0));
  CHECK(snap.to_prometheus().find("swarm_hub_dropped_total{cause=\"fault\"} 1") != std::string::npos);
}

TEST_CASE("hub concurrent senders lose nothing and keep each channel's order", "[swarm_hub]") {
  if constexpr (!omega::kHasThreads) {
    WARN("SKIPPED: the single-threaded build has no second thread");
    return;
  }
  // Four senders stream to one receiver through small channels (natively Backpressure is
  // common) while another thread kills and revives an unrelated agent and reads routes and
  // stats: every accepted message arrives exactly once, in its channel's order. In WASM each
  // handoff between Workers after a refusal costs about a millisecond on this machine: wider
  // channels there keep the case near a second.
  constexpr int kSenders = 4;
#ifdef __EMSCRIPTEN__
  constexpr bool kWasm = true;  // threads are Web Workers
#else
  constexpr bool kWasm = false;
#endif
  const std::uint64_t per_sender = kWasm ? 10'000 : (omega::test::kSanitized ? 5'000 : 50'000);
  CommunicationHub hub({.topology = SwarmTopology::Ring, .channel_capacity = kWasm ? 256u : 16u});
  add_agents(hub, kSenders + 2);  // senders 1..4, receiver 5, bystander 6
  const AgentId rx = A(kSenders + 1);
  const AgentId bystander = A(kSenders + 2);
  std::atomic<bool> senders_done{false};
  std::atomic<int> running{kSenders};
  std::vector<std::uint64_t> next(kSenders + 1, 1);
  std::uint64_t received = 0;
  bool order_ok = true;
  std::atomic<std::uint64_t> backpressured{0};
  std::atomic<bool> other_error{false};  // Catch's assertions are for the test's own thread

  omega::test::run_threads(kSenders + 2, [&](int t) {
    if (t < kSenders) {
      const AgentId me = A(static_cast<std::uint32_t>(t + 1));
      for (std::uint64_t i = 1; i <= per_sender;) {
        auto r = hub.send(me, rx, 0, bytes_of(i), 0);
        if (r.has_value()) {
          ++i;
        } else {
          if (r.error() != SwarmError::Backpressure) other_error.store(true);
          backpressured.fetch_add(1, std::memory_order_relaxed);
          std::this_thread::yield();
        }
      }
      if (running.fetch_sub(1) == 1) senders_done.store(true);
    } else if (t == kSenders) {
      std::vector<os::Message> in;
      while (received < per_sender * kSenders) {
        in.clear();
        if (hub.receive(rx, in, 64) == 0) {
          std::this_thread::yield();
          continue;
        }
        for (const auto& m : in) {
          const std::uint32_t f = m.from.value;
          std::uint64_t value = 0;
          if (m.payload.size() == sizeof value) std::memcpy(&value, m.payload.data(), sizeof value);
          if (m.seq != next[f] || value != m.seq) order_ok = false;
          ++next[f];
          hub.ack(rx, m);
        }
        received += in.size();
      }
    } else {
      while (!senders_done.load()) {
        hub.kill(bystander);
        (void)hub.route(A(1), rx);
        (void)hub.stats();
        hub.revive(bystander);
        std::this_thread::sleep_for(std::chrono::microseconds(50));
      }
    }
  });
  CHECK(order_ok);
  CHECK_FALSE(other_error.load());
  CHECK(received == per_sender * kSenders);
  for (int f = 1; f <= kSenders; ++f) CHECK(next[static_cast<std::size_t>(f)] == per_sender + 1);
  const os::HubStats s = hub.stats();
  CHECK(s.sent == per_sender * kSenders);
  CHECK(s.delivered == per_sender * kSenders);
  CHECK(s.refused_backpressure == backpressured.load());
  CHECK(s.queued == 0);
  std::vector<os::Message> rest;
  CHECK(hub.receive(rx, rest) == 0);
}

TEST_CASE("hub metrics of two hubs share a snapshot under their own labels", "[swarm_hub]") {
  CommunicationHub data;
  CommunicationHub control;
  add_agents(data, 2);
  add_agents(control, 2);
  REQUIRE(data.send(A(1), A(2), 0, {}, 0).has_value());
  for (int i = 0; i < 3; ++i) REQUIRE(control.send(A(2), A(1), 0, {}, 0).has_value());
  omega::MetricsSnapshot snap;
  data.append_metrics(snap, {{"hub", "data"}});
  control.append_metrics(snap, {{"hub", "control"}});
  const auto* sent = snap.find("swarm_hub_messages_sent_total");
  REQUIRE(sent != nullptr);
  REQUIRE(sent->series.size() == 2);
  CHECK(sent->series[0].labels == omega::MetricLabels{{"hub", "data"}});
  CHECK(std::get<std::uint64_t>(sent->series[0].value) == 1);
  CHECK(sent->series[1].labels == omega::MetricLabels{{"hub", "control"}});
  CHECK(std::get<std::uint64_t>(sent->series[1].value) == 3);
  const auto* dropped = snap.find("swarm_hub_dropped_total");
  REQUIRE(dropped != nullptr);
  CHECK(dropped->series.size() == 6);  // three causes per hub
  // The snapshot keeps labels sorted by name.
  CHECK(dropped->series[3].labels == omega::MetricLabels{{"cause", "fault"}, {"hub", "control"}});
}
