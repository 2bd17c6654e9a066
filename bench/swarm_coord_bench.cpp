#include "swarm_coord_bench.hpp"

#include <omega/swarm/coordinator.hpp>
#include <omega/swarm/hub.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

#include "bench_util.hpp"

namespace omega::bench {
namespace {

namespace os = omega::swarm;
using namespace std::chrono_literals;

struct ManualClock {
  std::int64_t now = 1'000'000;
  [[nodiscard]] TimeSource source() const {
    return TimeSource{[](const void* self) { return static_cast<const ManualClock*>(self)->now; }, this};
  }
};

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto idx = static_cast<std::size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(idx, v.size() - 1)];
}

os::CoordinatorConfig failover_config(std::uint64_t seed) {
  os::CoordinatorConfig c;
  c.heartbeat_interval = 10ms;
  c.election_timeout_min = 50ms;
  c.election_timeout_max = 100ms;
  c.seed = seed;
  return c;
}

double proposals_per_second(os::ConsensusMode mode, int proposals) {
  ManualClock clock;
  os::CommunicationHub hub;
  os::CoordinatorConfig config;
  config.mode = mode;
  os::SwarmCoordinator c(hub, config, clock.source());
  const std::vector<os::AgentId> ids{os::AgentId{1}, os::AgentId{2}, os::AgentId{3}, os::AgentId{4}};
  for (os::AgentId id : ids) (void)c.add_member(id);
  const std::byte payload[16] = {};
  std::size_t accepted = 0;
  const double ns = time_ns([&] {
    for (int i = 0; i < proposals; ++i) {
      const os::ProposalId p = *c.submit_proposal(ids[0], os::ProposalType::TaskAssignment, payload);
      (void)c.cast_vote(p, ids[1], os::VoteDecision::Approve);
      (void)c.cast_vote(p, ids[2], os::VoteDecision::Approve);
      auto s = c.cast_vote(p, ids[3], os::VoteDecision::Approve);
      accepted += s && *s == os::ProposalStatus::Accepted;
    }
  });
  keep(accepted);
  if (accepted != static_cast<std::size_t>(proposals)) std::printf("  (only %zu of %d accepted!)\n", accepted, proposals);
  return static_cast<double>(proposals) / (ns / 1e9);
}

// Kills the leader `kills` times on a fake clock ticked every millisecond; returns the
// failover times in ms (kill to a new leader elected).
std::vector<double> fake_failovers(int kills, double loss) {
  ManualClock clock;
  os::CommunicationHub hub;
  if (loss > 0) hub.set_faults({.drop_probability = loss, .seed = 17});
  os::SwarmCoordinator c(hub, failover_config(23), clock.source());
  for (std::uint32_t i = 1; i <= 5; ++i) (void)c.add_member(os::AgentId{i});
  constexpr std::int64_t kTick = 1'000'000;
  auto wait_leader = [&](os::AgentId not_this, std::int64_t limit_ns) {
    for (std::int64_t t = 0; t < limit_ns; t += kTick) {
      clock.now += kTick;
      c.tick();
      const os::LeaderInfo l = c.leader();
      if (l.valid() && l.agent != not_this) return true;
    }
    return false;
  };
  std::vector<double> out;
  if (!wait_leader({}, 2'000'000'000)) return out;
  for (int k = 0; k < kills; ++k) {
    // Settle: the followers hear the leader for a while before it dies.
    for (int i = 0; i < 50; ++i) {
      clock.now += kTick;
      c.tick();
    }
    const os::LeaderInfo old = c.leader();
    if (!old.valid()) continue;
    const std::int64_t t0 = clock.now;
    c.kill(old.agent);
    if (wait_leader(old.agent, 2'000'000'000)) out.push_back(static_cast<double>(clock.now - t0) / 1e6);
    c.revive(old.agent);
  }
  return out;
}

// The same in real time: a loop ticks the coordinator every millisecond on the system clock.
std::vector<double> real_failovers(int kills) {
  os::CommunicationHub hub;
  os::SwarmCoordinator c(hub, failover_config(29));
  for (std::uint32_t i = 1; i <= 5; ++i) (void)c.add_member(os::AgentId{i});
  auto tick_until_leader = [&](os::AgentId not_this, std::chrono::milliseconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      c.tick();
      const os::LeaderInfo l = c.leader();
      if (l.valid() && l.agent != not_this) return true;
      std::this_thread::sleep_for(1ms);
    }
    return false;
  };
  std::vector<double> out;
  if (!tick_until_leader({}, 2s)) return out;
  for (int k = 0; k < kills; ++k) {
    const auto settle = std::chrono::steady_clock::now() + 50ms;
    while (std::chrono::steady_clock::now() < settle) {
      c.tick();
      std::this_thread::sleep_for(1ms);
    }
    const os::LeaderInfo old = c.leader();
    if (!old.valid()) continue;
    const auto t0 = std::chrono::steady_clock::now();
    c.kill(old.agent);
    if (tick_until_leader(old.agent, 2s))
      out.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    c.revive(old.agent);
  }
  return out;
}

}  // namespace

SwarmCoordFigures run_swarm_coord_bench(bool quick) {
  SwarmCoordFigures f;
  std::printf("== swarm coordinator ==\n");
  {
    os::CommunicationHub hub;
    os::SwarmCoordinator c(hub, {});
    (void)c.add_member(os::AgentId{1});
    constexpr int kSigns = 100'000;
    const Stat s = repeat(5, [&] {
      return time_ns([&] {
               for (int i = 0; i < kSigns; ++i)
                 keep(c.sign_vote(os::ProposalId{static_cast<std::uint64_t>(i) + 1}, os::AgentId{1},
                                  os::VoteDecision::Approve).mac);
             }) /
             kSigns;
    });
    f.sign_vote_ns = s.median;
    std::printf("sign_vote (one HMAC-SHA256, GNU Nettle): %.0f ns per vote (median of 5; min %.0f, max %.0f)\n", s.median,
                s.min, s.max);
  }
  const int proposals = quick ? 20'000 : 200'000;
  for (auto mode : {os::ConsensusMode::Majority, os::ConsensusMode::Byzantine}) {
    const Stat s = repeat(3, [&] { return proposals_per_second(mode, proposals); });
    (mode == os::ConsensusMode::Majority ? f.proposals_per_s_majority : f.proposals_per_s_byzantine) = s.median;
    std::printf("proposals/s, %s, 4 members, 3 signed votes each (cast_vote): %.0f (median of 3; min %.0f, max %.0f); "
                "floor set by signing alone (3 sign_vote calls): %.0f/s\n",
                std::string(os::to_string(mode)).c_str(), s.median, s.min, s.max, 1e9 / (3 * f.sign_vote_ns));
  }
  const int kills = quick ? 200 : 1000;
  const std::vector<double> clean = fake_failovers(kills, 0);
  const std::vector<double> lossy = fake_failovers(kills, 0.10);
  f.fake_failovers = clean.size();
  f.fake_p50_ms = percentile(clean, 0.50);
  f.fake_p99_ms = percentile(clean, 0.99);
  f.fake_max_ms = percentile(clean, 1.0);
  f.fake_lossy_p50_ms = percentile(lossy, 0.50);
  f.fake_lossy_p99_ms = percentile(lossy, 0.99);
  f.fake_lossy_max_ms = percentile(lossy, 1.0);
  std::printf("leader failover, fake clock, 5 members, 10 ms heartbeats, 50-100 ms election timeouts, 1 ms ticks:\n"
              "  no loss: %zu of %d kills, P50 %.0f ms, P99 %.0f ms, max %.0f ms (target P99 < 250 ms)\n"
              "  10%% loss: %zu of %d kills, P50 %.0f ms, P99 %.0f ms, max %.0f ms\n",
              clean.size(), kills, f.fake_p50_ms, f.fake_p99_ms, f.fake_max_ms, lossy.size(), kills,
              f.fake_lossy_p50_ms, f.fake_lossy_p99_ms, f.fake_lossy_max_ms);
  const int real_kills = quick ? 10 : 40;
  const std::vector<double> real = real_failovers(real_kills);
  f.real_failovers = real.size();
  f.real_p50_ms = percentile(real, 0.50);
  f.real_p99_ms = percentile(real, 0.99);
  f.real_max_ms = percentile(real, 1.0);
  std::printf("leader failover, system clock, same settings, ticked every ~1 ms: %zu of %d kills, P50 %.1f ms, "
              "P99 %.1f ms, max %.1f ms\n",
              real.size(), real_kills, f.real_p50_ms, f.real_p99_ms, f.real_max_ms);
  return f;
}

}  // namespace omega::bench
