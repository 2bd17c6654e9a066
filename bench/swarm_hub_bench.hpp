#pragma once
// The communication hub's part of swarm_bench (issue 14), callable from its main:
//   1. point to point: 16-byte messages among `agents` agents on a Mesh, each round one send
//      per agent then every agent drains its inbox, one thread; against the same messages
//      through a bare std::mutex + std::deque per receiver (the baseline: what the hub adds is
//      routing, sequence numbers, the replay log, fairness and statistics);
//   2. broadcast: one sender to a group of every agent, copies delivered per second;
//   3. per topology: mean and largest hop count over every ordered pair (exact, from route()),
//      and the point-to-point rate of part 1 routed that way;
//   4. where the platform has threads, one sender thread and one receiver thread.
// Messages per second (medians of `runs`); "x" is the hub over the baseline.
#include <cstdint>
#include <vector>

#include <omega/swarm/types.hpp>

namespace omega::bench {

struct SwarmHubBenchOptions {
  std::uint32_t agents = 256;
  std::uint64_t messages = 256'000;  // per point-to-point run
  int runs = 5;
};

struct SwarmHubFigures {
  struct Topology {
    omega::swarm::SwarmTopology topology;
    double mean_hops = 0;
    std::uint32_t max_hops = 0;
    double messages_per_s = 0;
  };
  double p2p_per_s = 0;
  double baseline_per_s = 0;
  double broadcast_copies_per_s = 0;
  double threaded_per_s = 0;  // 0 where the platform has no threads
  std::vector<Topology> topologies;
};

// Runs the four parts and prints them (stdout) as it goes.
SwarmHubFigures run_swarm_hub_bench(const SwarmHubBenchOptions& options = {});

}  // namespace omega::bench
