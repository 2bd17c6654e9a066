// SwarmCoordinator and CircuitBreaker: signed votes and quorums, Byzantine agreement with an
// equivocator, leader election under loss and kills, heartbeat failure detection, and the
// breaker's exact half-open probe count. Everything runs on a fake clock over a real hub.
#include <catch2/catch.hpp>

#include <omega/base/config.hpp>
#include <omega/base/rng.hpp>
#include <omega/swarm/breaker.hpp>
#include <omega/swarm/coordinator.hpp>
#include <omega/swarm/hub.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "../support/fake_clock.hpp"
#include "../support/threads.hpp"
#include "swarm/hmac.hpp"

using namespace std::chrono_literals;
namespace os = omega::swarm;
using omega::test::FakeClock;

namespace {

std::vector<std::uint8_t> unhex(std::string_view hex) {
  std::vector<std::uint8_t> out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<std::uint8_t>(std::stoul(std::string(hex.substr(i, 2)), nullptr, 16)));
  return out;
}
std::string tohex(std::span<const std::uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (std::uint8_t b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 15]);
  }
  return out;
}
std::vector<std::uint8_t> text(std::string_view s) { return {s.begin(), s.end()}; }

constexpr std::int64_t ms(std::int64_t n) { return n * 1'000'000; }

std::vector<os::AgentId> add_members(os::SwarmCoordinator& c, std::uint32_t n) {
  std::vector<os::AgentId> ids;
  for (std::uint32_t i = 1; i <= n; ++i) {
    const os::AgentId id{i};
    REQUIRE(c.add_member(id));
    ids.push_back(id);
  }
  return ids;
}

}  // namespace

TEST_CASE("HMAC-SHA256 from Nettle matches RFC 4231", "[swarm_coord]") {
  using omega::swarm::internal::hmac_sha256;
  struct Case {
    std::vector<std::uint8_t> key;
    std::vector<std::uint8_t> data;
    std::string_view mac;
  };
  const std::vector<Case> cases = {
      {std::vector<std::uint8_t>(20, 0x0b), text("Hi There"),
       "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
      {text("Jefe"), text("what do ya want for nothing?"),
       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
      {std::vector<std::uint8_t>(20, 0xaa), std::vector<std::uint8_t>(50, 0xdd),
       "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
      {unhex("0102030405060708090a0b0c0d0e0f10111213141516171819"), std::vector<std::uint8_t>(50, 0xcd),
       "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
      {std::vector<std::uint8_t>(131, 0xaa), text("Test Using Larger Than Block-Size Key - Hash Key First"),
       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
      {std::vector<std::uint8_t>(131, 0xaa),
       text("This is a test using a larger than block-size key and a larger than block-size data. The key needs "
            "to be hashed before being used by the HMAC algorithm."),
       "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
  };
  for (const Case& c : cases) CHECK(tohex(hmac_sha256(c.key, c.data)) == c.mac);
  // RFC 4231 case 5: the MAC truncated to 128 bits.
  const auto truncated = hmac_sha256(std::vector<std::uint8_t>(20, 0x0c), text("Test With Truncation"));
  CHECK(tohex(std::span(truncated).first(16)) == "a3b6167473100ee06e0c796c2955552b");
  // A keyed context reused for many messages gives each message's own MAC, in parts or whole.
  const omega::swarm::internal::HmacSha256Key key(text("Jefe"));
  const auto whole = text("what do ya want for nothing?");
  CHECK(tohex(key.mac({std::span(whole).first(7), std::span(whole).subspan(7)})) == cases[1].mac);
  CHECK(tohex(key.mac(whole)) == cases[1].mac);
  CHECK(omega::swarm::internal::mac_equal(key.mac(whole), key.mac(whole)));
  auto other = key.mac(whole);
  other[31] ^= 1;
  CHECK_FALSE(omega::swarm::internal::mac_equal(key.mac(whole), other));
}

TEST_CASE("circuit breaker: closed, open, half-open with exactly N probes, closed again", "[swarm_coord]") {
  FakeClock clock;
  os::CircuitBreaker b({.failure_threshold = 3, .open_duration = 100ms, .half_open_probes = 2}, clock.source());
  CHECK(b.state() == os::BreakerState::Closed);
  // A success resets the run of failures: only consecutive ones open it.
  for (int i = 0; i < 2; ++i) b.on_failure(b.try_acquire());
  b.on_success(b.try_acquire());
  for (int i = 0; i < 2; ++i) b.on_failure(b.try_acquire());
  CHECK(b.state() == os::BreakerState::Closed);
  b.on_failure(b.try_acquire());
  CHECK(b.state() == os::BreakerState::Open);
  CHECK_FALSE(b.try_acquire());
  clock.advance(ms(99));
  CHECK_FALSE(b.try_acquire());
  clock.advance(ms(1));
  const os::BreakerPermit p1 = b.try_acquire();
  const os::BreakerPermit p2 = b.try_acquire();
  CHECK(p1);
  CHECK(p2);
  CHECK(b.state() == os::BreakerState::HalfOpen);
  for (int i = 0; i < 10; ++i) CHECK_FALSE(b.try_acquire());  // the third caller and later wait
  b.on_success(p1);
  CHECK(b.state() == os::BreakerState::HalfOpen);
  CHECK_FALSE(b.try_acquire());  // still only two probes this round
  b.on_success(p2);
  CHECK(b.state() == os::BreakerState::Closed);
  const os::BreakerStats s = b.stats();
  CHECK(s.probes == 2);
  CHECK(s.opened == 1);
  CHECK(s.half_opened == 1);
  CHECK(s.closed == 1);
}

TEST_CASE("circuit breaker: a failing probe reopens; stale outcomes move nothing", "[swarm_coord]") {
  FakeClock clock;
  os::CircuitBreaker b({.failure_threshold = 1, .open_duration = 50ms, .half_open_probes = 3}, clock.source());
  const os::BreakerPermit slow = b.try_acquire();  // a call from the Closed era, still running
  b.on_failure(b.try_acquire());
  REQUIRE(b.state() == os::BreakerState::Open);
  clock.advance(ms(50));
  const os::BreakerPermit probe = b.try_acquire();
  REQUIRE(probe);
  b.on_success(slow);  // must not count as a probe
  b.on_success(b.try_acquire());
  CHECK(b.state() == os::BreakerState::HalfOpen);
  CHECK(b.stats().stale_outcomes == 1);
  b.on_failure(probe);
  CHECK(b.state() == os::BreakerState::Open);
  CHECK_FALSE(b.try_acquire());
  CHECK(b.stats().opened == 2);
  CHECK(os::BreakerConfig{.half_open_probes = 0}.validate() != "");
}

TEST_CASE("circuit breaker admits exactly N probes under concurrent callers", "[swarm_coord]") {
  if constexpr (!omega::kHasThreads) {
    SUCCEED("single-threaded target: no concurrent callers");
    return;
  }
  constexpr unsigned kProbes = 5;
  constexpr int kThreads = 4;
  for (int round = 0; round < 10; ++round) {
    FakeClock clock;
    os::CircuitBreaker b({.failure_threshold = 1, .open_duration = 10ms, .half_open_probes = kProbes}, clock.source());
    b.on_failure(b.try_acquire());
    clock.advance(ms(10));
    std::atomic<int> ready{0};
    std::atomic<unsigned> admitted{0};
    omega::test::run_threads(kThreads, [&](int) {
      ready.fetch_add(1);
      while (ready.load() < kThreads) std::this_thread::yield();
      for (int i = 0; i < 500; ++i)
        if (b.try_acquire()) admitted.fetch_add(1);
    });
    CHECK(admitted.load() == kProbes);
    CHECK(b.state() == os::BreakerState::HalfOpen);
    CHECK(b.stats().refused == kThreads * 500 - kProbes);
  }
}

TEST_CASE("majority voting: quorum, duplicates, forged and equivocating votes, expiry", "[swarm_coord]") {
  FakeClock clock;
  os::CommunicationHub hub;
  os::SwarmCoordinator c(hub, {.mode = os::ConsensusMode::Majority, .quorum = 0.5, .proposal_timeout = 1000ms},
                         clock.source());
  const auto ids = add_members(c, 5);
  const std::vector<std::byte> data{std::byte{1}, std::byte{2}};
  const os::ProposalId p = *c.submit_proposal(ids[0], os::ProposalType::TaskAssignment, data);
  CHECK(*c.cast_vote(p, ids[0], os::VoteDecision::Approve, "mine") == os::ProposalStatus::Open);
  CHECK(c.cast_vote(p, ids[0], os::VoteDecision::Approve).error() == os::SwarmError::AlreadyVoted);
  CHECK(*c.cast_vote(p, ids[1], os::VoteDecision::Approve) == os::ProposalStatus::Open);
  // A vote signed with the wrong key, or altered after signing, is refused and counted.
  os::Vote forged = c.sign_vote(p, ids[2], os::VoteDecision::Approve, "ok");
  forged.voter = ids[3];
  CHECK(c.submit_vote(forged).error() == os::SwarmError::InvalidSignature);
  os::Vote altered = c.sign_vote(p, ids[2], os::VoteDecision::Reject, "no");
  altered.decision = os::VoteDecision::Approve;
  CHECK(c.submit_vote(altered).error() == os::SwarmError::InvalidSignature);
  CHECK(c.stats().votes_refused_signature == 2);
  CHECK(c.proposal(p)->approvals == 2);
  // Three of five approvals: strictly more than half.
  CHECK(*c.submit_vote(c.sign_vote(p, ids[2], os::VoteDecision::Approve, "ok")) == os::ProposalStatus::Accepted);
  CHECK(c.cast_vote(p, ids[3], os::VoteDecision::Approve).error() == os::SwarmError::ProposalClosed);
  CHECK(c.proposal(p)->data == data);

  // Rejection as soon as approval has become impossible.
  const os::ProposalId q = *c.submit_proposal(ids[1], os::ProposalType::ResourceAllocation, {});
  CHECK(*c.cast_vote(q, ids[0], os::VoteDecision::Reject) == os::ProposalStatus::Open);
  CHECK(*c.cast_vote(q, ids[1], os::VoteDecision::Abstain) == os::ProposalStatus::Open);
  CHECK(*c.cast_vote(q, ids[2], os::VoteDecision::Reject) == os::ProposalStatus::Rejected);

  // Equivocation: a second, different vote convicts the voter everywhere.
  const os::ProposalId r = *c.submit_proposal(ids[0], os::ProposalType::Custom, {});
  const os::ProposalId r2 = *c.submit_proposal(ids[0], os::ProposalType::Custom, {});
  CHECK(*c.cast_vote(r2, ids[4], os::VoteDecision::Approve) == os::ProposalStatus::Open);
  CHECK(*c.cast_vote(r, ids[4], os::VoteDecision::Approve) == os::ProposalStatus::Open);
  CHECK(c.cast_vote(r, ids[4], os::VoteDecision::Reject).error() == os::SwarmError::Equivocation);
  CHECK(c.faulty() == std::vector<os::AgentId>{ids[4]});
  CHECK(c.proposal(r2)->approvals == 0);  // its vote left every open tally
  CHECK(c.cast_vote(r, ids[4], os::VoteDecision::Approve).error() == os::SwarmError::NotEligible);
  CHECK(c.submit_proposal(ids[4], os::ProposalType::Custom, {}).error() == os::SwarmError::NotEligible);
  // Four eligible voters now: three approvals are needed.
  CHECK(*c.cast_vote(r, ids[0], os::VoteDecision::Approve) == os::ProposalStatus::Open);
  CHECK(*c.cast_vote(r, ids[1], os::VoteDecision::Approve) == os::ProposalStatus::Open);
  CHECK(*c.cast_vote(r, ids[2], os::VoteDecision::Approve) == os::ProposalStatus::Accepted);

  // Expiry on the clock.
  const os::ProposalId e = *c.submit_proposal(ids[0], os::ProposalType::Custom, {});
  clock.advance(ms(999));
  c.tick();
  CHECK(*c.status(e) == os::ProposalStatus::Open);
  clock.advance(ms(1));
  c.tick();
  CHECK(*c.status(e) == os::ProposalStatus::Expired);
  CHECK(c.cast_vote(e, ids[0], os::VoteDecision::Approve).error() == os::SwarmError::ProposalClosed);
  CHECK(c.status(os::ProposalId{999}).error() == os::SwarmError::UnknownProposal);
  CHECK(c.cast_vote(p, os::AgentId{77}, os::VoteDecision::Approve).error() == os::SwarmError::NotEligible);
  const os::CoordinationStats s = c.stats();
  CHECK(s.accepted == 2);
  CHECK(s.rejected == 1);
  CHECK(s.equivocations == 1);
  CHECK(s.faulty_agents == 1);
  CHECK_FALSE(c.byzantine_tolerant());  // Majority mode claims no Byzantine tolerance
}

TEST_CASE("decided proposals are kept up to closed_history", "[swarm_coord]") {
  FakeClock clock;
  os::CommunicationHub hub;
  os::CoordinatorConfig config;
  config.closed_history = 2;
  os::SwarmCoordinator c(hub, config, clock.source());
  const auto ids = add_members(c, 1);
  std::vector<os::ProposalId> ps;
  for (int i = 0; i < 3; ++i) {
    ps.push_back(*c.submit_proposal(ids[0], os::ProposalType::Custom, {}));
    CHECK(*c.cast_vote(ps.back(), ids[0], os::VoteDecision::Approve) == os::ProposalStatus::Accepted);
  }
  CHECK(c.status(ps[0]).error() == os::SwarmError::UnknownProposal);
  CHECK(*c.status(ps[1]) == os::ProposalStatus::Accepted);
  CHECK(*c.status(ps[2]) == os::ProposalStatus::Accepted);
}

TEST_CASE("Byzantine voting, n = 4 with f = 1 equivocating: every honest member decides the same", "[swarm_coord]") {
  FakeClock clock;
  os::CommunicationHub hub;
  os::SwarmCoordinator c(hub, {.mode = os::ConsensusMode::Byzantine}, clock.source());
  const auto ids = add_members(c, 4);
  const os::AgentId a = ids[0], b = ids[1], d = ids[2], e = ids[3];  // e equivocates
  const std::vector<os::AgentId> honest{a, b, d};
  CHECK(c.byzantine_tolerant());

  SECTION("the equivocator's approval would tip the vote: it is excluded everywhere") {
    const os::ProposalId p = *c.submit_proposal(a, os::ProposalType::TaskAssignment, {});
    // e tells a "Approve" and b, d "Reject", each vote validly signed.
    const std::vector<os::AgentId> to_a{a};
    const std::vector<os::AgentId> to_bd{b, d};
    CHECK(*c.submit_vote(c.sign_vote(p, e, os::VoteDecision::Approve, "yes"), to_a) == os::ProposalStatus::Open);
    CHECK(c.submit_vote(c.sign_vote(p, e, os::VoteDecision::Reject, "no"), to_bd).error() ==
          os::SwarmError::Equivocation);
    CHECK(c.faulty() == std::vector<os::AgentId>{e});
    CHECK(c.byzantine_tolerant());  // f = 1 < 4/3
    // Honest: two approve, one rejects. Counting e's approval, a would see 3 of 4 (> 2n/3).
    CHECK(*c.cast_vote(p, a, os::VoteDecision::Approve) == os::ProposalStatus::Open);
    CHECK(*c.cast_vote(p, b, os::VoteDecision::Approve) == os::ProposalStatus::Open);
    CHECK(*c.cast_vote(p, d, os::VoteDecision::Reject) == os::ProposalStatus::Rejected);
    for (os::AgentId m : honest) CHECK(*c.decision(p, m) == os::ProposalStatus::Rejected);
    CHECK(c.proposal(p)->approvals == 2);
  }

  SECTION("honest approvals carry it; equivocation mid-vote changes no honest decision") {
    const os::ProposalId p = *c.submit_proposal(b, os::ProposalType::ResourceAllocation, {});
    CHECK(*c.cast_vote(p, a, os::VoteDecision::Approve) == os::ProposalStatus::Open);
    const std::vector<os::AgentId> to_b{b};
    const std::vector<os::AgentId> to_d{d};
    CHECK(*c.submit_vote(c.sign_vote(p, e, os::VoteDecision::Reject), to_b) == os::ProposalStatus::Open);
    for (os::AgentId m : honest) CHECK(*c.decision(p, m) == os::ProposalStatus::Open);
    CHECK(c.submit_vote(c.sign_vote(p, e, os::VoteDecision::Approve), to_d).error() == os::SwarmError::Equivocation);
    CHECK(*c.cast_vote(p, b, os::VoteDecision::Approve) == os::ProposalStatus::Open);
    CHECK(*c.cast_vote(p, d, os::VoteDecision::Approve) == os::ProposalStatus::Accepted);
    for (os::AgentId m : honest) CHECK(*c.decision(p, m) == os::ProposalStatus::Accepted);
  }

  SECTION("a forged vote is refused before it can convict anyone") {
    const os::ProposalId p = *c.submit_proposal(a, os::ProposalType::Custom, {});
    CHECK(*c.cast_vote(p, b, os::VoteDecision::Approve) == os::ProposalStatus::Open);
    os::Vote forged = c.sign_vote(p, b, os::VoteDecision::Reject);
    forged.mac[0] ^= 0x80;
    CHECK(c.submit_vote(forged).error() == os::SwarmError::InvalidSignature);
    CHECK(c.faulty().empty());
    CHECK(c.stats().votes_refused_signature == 1);
  }

  SECTION("with f >= n/3 faulty the mode claims no tolerance") {
    for (os::AgentId liar : {d, e}) {
      const os::ProposalId p = *c.submit_proposal(a, os::ProposalType::Custom, {});
      REQUIRE(c.cast_vote(p, liar, os::VoteDecision::Approve));
      CHECK(c.cast_vote(p, liar, os::VoteDecision::Reject).error() == os::SwarmError::Equivocation);
    }
    CHECK(c.faulty().size() == 2);
    CHECK_FALSE(c.byzantine_tolerant());
    omega::MetricsSnapshot snap;
    c.append_metrics(snap);
    const auto* fam = snap.find("swarm_coordination_byzantine_tolerant");
    REQUIRE(fam);
    CHECK(std::get<double>(fam->series.at(0).value) == 0.0);
  }
}

TEST_CASE("Byzantine voting: random orders and recipients of an equivocator's votes never split the honest",
          "[swarm_coord]") {
  omega::OmegaRng rng(2024);
  const std::array<os::VoteDecision, 3> kinds{os::VoteDecision::Approve, os::VoteDecision::Reject,
                                              os::VoteDecision::Abstain};
  for (int trial = 0; trial < 300; ++trial) {
    FakeClock clock;
    os::CommunicationHub hub;
    os::SwarmCoordinator c(hub, {.mode = os::ConsensusMode::Byzantine, .seed = static_cast<std::uint64_t>(trial) + 1},
                           clock.source());
    const auto ids = add_members(c, 4);
    const os::AgentId e = ids[rng.gen_range(4)];
    std::vector<os::AgentId> honest;
    for (os::AgentId id : ids)
      if (id != e) honest.push_back(id);
    const os::ProposalId p = *c.submit_proposal(honest[0], os::ProposalType::Custom, {});
    // Five events in random order: three honest votes and the equivocator's two.
    std::vector<int> order{0, 1, 2, 3, 4};
    for (std::size_t i = order.size() - 1; i > 0; --i) std::swap(order[i], order[rng.gen_range(i + 1)]);
    const os::VoteDecision first = kinds[rng.gen_range(3)];
    const os::VoteDecision second = kinds[(static_cast<std::size_t>(first) + 1 + rng.gen_range(2)) % 3];
    for (int ev : order) {
      if (ev < 3) {
        (void)c.cast_vote(p, honest[static_cast<std::size_t>(ev)], kinds[rng.gen_range(3)]);
        continue;
      }
      std::vector<os::AgentId> to;
      for (os::AgentId h : honest)
        if (rng.gen_range(2) == 0) to.push_back(h);
      if (to.empty()) to.push_back(honest[rng.gen_range(3)]);
      (void)c.submit_vote(c.sign_vote(p, e, ev == 3 ? first : second), to);
    }
    const os::ProposalStatus decided = *c.status(p);
    CHECK(decided != os::ProposalStatus::Open);
    for (os::AgentId h : honest) CHECK(*c.decision(p, h) == decided);
    CHECK(c.faulty() == std::vector<os::AgentId>{e});
    CHECK(c.byzantine_tolerant());
  }
}

TEST_CASE("leader election: one leader, found by every member", "[swarm_coord]") {
  FakeClock clock;
  os::CommunicationHub hub;
  os::SwarmCoordinator c(hub, {.seed = 7}, clock.source());
  const auto ids = add_members(c, 5);
  std::vector<os::LeaderInfo> wins;
  c.set_on_leader([&](os::LeaderInfo l) { wins.push_back(l); });
  for (int i = 0; i < 100 && !c.leader().valid(); ++i) {
    clock.advance(ms(10));
    c.tick();
  }
  const os::LeaderInfo l = c.leader();
  REQUIRE(l.valid());
  REQUIRE(wins.size() >= 1);
  CHECK(wins.back() == l);
  // A few heartbeats later every member follows it, and it stays leader.
  for (int i = 0; i < 50; ++i) {
    clock.advance(ms(10));
    c.tick();
  }
  CHECK(c.leader() == l);
  for (const os::MemberInfo& m : c.members()) {
    CHECK(m.term == l.term);
    CHECK(m.leader == l.agent);
    CHECK((m.role == os::MemberRole::Leader) == (m.agent == l.agent));
  }
  CHECK(c.stats().failures_detected == 0);
}

TEST_CASE("leader election under 10% message loss and 1,000 leader kills: never two leaders in a term",
          "[swarm_coord]") {
  FakeClock clock;
  os::CommunicationHub hub;
  hub.set_faults({.drop_probability = 0.10, .seed = 42});
  os::SwarmCoordinator c(hub,
                         {.heartbeat_interval = 10ms, .election_timeout_min = 50ms, .election_timeout_max = 100ms,
                          .seed = 3},
                         clock.source());
  const auto ids = add_members(c, 5);
  std::map<std::uint64_t, std::set<os::AgentId>> leaders_by_term;
  c.set_on_leader([&](os::LeaderInfo l) { leaders_by_term[l.term].insert(l.agent); });
  omega::OmegaRng rng(11);
  auto step = [&] {
    clock.advance(ms(5));
    c.tick();
    // Also every member's own claim, as seen after each tick.
    for (const os::MemberInfo& m : c.members())
      if (m.role == os::MemberRole::Leader) leaders_by_term[m.term].insert(m.agent);
  };
  auto wait_for_leader = [&](os::AgentId not_this) {
    for (int i = 0; i < 400; ++i) {
      step();
      const os::LeaderInfo l = c.leader();
      if (l.valid() && l.agent != not_this) return true;
    }
    return false;
  };
  REQUIRE(wait_for_leader({}));
  int failovers = 0;
  for (int kill = 0; kill < 1000; ++kill) {
    const os::LeaderInfo old = c.leader();
    REQUIRE(old.valid());
    c.kill(old.agent);
    // Sometimes a follower dies too (a majority of 3 of 5 stays alive).
    os::AgentId extra{};
    if (rng.gen_range(4) == 0) {
      extra = ids[rng.gen_range(ids.size())];
      if (extra == old.agent) extra = {};
      else c.kill(extra);
    }
    if (wait_for_leader(old.agent)) ++failovers;
    CHECK(c.leader().term > old.term);
    c.revive(old.agent);
    if (extra.valid()) c.revive(extra);
  }
  CHECK(failovers == 1000);
  std::size_t split = 0;
  for (const auto& [term, who] : leaders_by_term) split += who.size() > 1 ? 1 : 0;
  CHECK(split == 0);
  CHECK(leaders_by_term.size() >= 1000);
  const os::CoordinationStats s = c.stats();
  CHECK(s.split_brain_terms == 0);
  CHECK(s.leader_changes >= 1001);
  CHECK(hub.stats().dropped_fault > 0);  // the loss was real
}

TEST_CASE("heartbeats: a killed member is reported once, within three intervals and a tick", "[swarm_coord]") {
  FakeClock clock;
  os::CommunicationHub hub;
  os::SwarmCoordinator c(hub, {.seed = 5}, clock.source());  // 100 ms heartbeats, threshold 3
  const auto ids = add_members(c, 5);
  std::vector<std::pair<os::AgentId, std::int64_t>> reports;
  c.set_on_failure([&](os::AgentId a) { reports.emplace_back(a, clock.now()); });
  constexpr std::int64_t kTick = ms(10);
  auto run_for = [&](std::int64_t ns) {
    for (std::int64_t t = 0; t < ns; t += kTick) {
      clock.advance(kTick);
      c.tick();
    }
  };
  run_for(ms(1000));
  CHECK(reports.empty());  // live members are never reported
  omega::OmegaRng rng(9);
  for (int round = 0; round < 20; ++round) {
    const os::AgentId victim = ids[rng.gen_range(ids.size())];
    run_for(kTick * static_cast<std::int64_t>(rng.gen_range(10)));  // kill at any phase of its interval
    const std::int64_t killed_at = clock.now();
    c.kill(victim);
    run_for(ms(600));
    REQUIRE(reports.size() == 1);  // once, and only the victim
    CHECK(reports[0].first == victim);
    CHECK(reports[0].second - killed_at <= 3 * ms(100) + kTick);
    CHECK(c.member(victim)->failed);
    c.revive(victim);
    run_for(ms(300));
    CHECK_FALSE(c.member(victim)->failed);
    reports.clear();
  }
  CHECK(c.stats().failures_detected == 20);
  CHECK(c.stats().recoveries == 20);
}

TEST_CASE("coordination messages: malformed bytes are dropped and counted; other kinds are handed on",
          "[swarm_coord]") {
  FakeClock clock;
  os::CommunicationHub hub;
  os::SwarmCoordinator c(hub, {}, clock.source());
  const auto ids = add_members(c, 3);
  std::vector<std::uint32_t> foreign;
  c.set_on_foreign_message([&](os::Message&& m) { foreign.push_back(m.kind); });
  const std::vector<std::byte> junk{std::byte{9}, std::byte{1}};
  std::vector<std::byte> zero_term(10, std::byte{0});
  zero_term[0] = std::byte{1};
  REQUIRE(hub.send(ids[0], ids[1], os::kCoordinationKinds + 1, junk, clock.now()));
  REQUIRE(hub.send(ids[0], ids[1], os::kCoordinationKinds + 1, zero_term, clock.now()));
  REQUIRE(hub.send(ids[0], ids[1], os::kCoordinationKinds + 77, zero_term, clock.now()));
  REQUIRE(hub.send(ids[0], ids[1], 5, junk, clock.now()));
  c.tick();
  // The junk and the unknown kind; a heartbeat at term 0 is valid (no election has run yet).
  CHECK(c.stats().messages_malformed == 2);
  CHECK(foreign == std::vector<std::uint32_t>{5});
  CHECK(os::CoordinatorConfig{.election_timeout_min = 50ms, .election_timeout_max = 50ms}.validate() != "");
  CHECK(os::CoordinatorConfig{}.validate().empty());
}
