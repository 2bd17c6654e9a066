#pragma once
// The coordinator's part of swarm_bench: proposals per second (Majority and Byzantine, with
// the cost of one vote's HMAC-SHA256 as the floor they are measured against) and leader
// failover times with 10 ms heartbeats and 50-100 ms election timeouts, on a fake clock
// (1,000 kills, with and without 10% message loss) and in real time (the system clock, a
// ticking loop). Prints its lines (unit and baseline on each) and returns the figures.
#include <cstddef>

namespace omega::bench {

struct SwarmCoordFigures {
  double sign_vote_ns = 0;               // one signed vote (HMAC-SHA256 under the voter's key)
  double proposals_per_s_majority = 0;   // submit + 3 cast_votes of 4 members until Accepted
  double proposals_per_s_byzantine = 0;  // the same with per-member views and echoes
  // Leader failover: from killing the leader to a new leader being elected, in ms.
  std::size_t fake_failovers = 0;
  double fake_p50_ms = 0, fake_p99_ms = 0, fake_max_ms = 0;
  double fake_lossy_p50_ms = 0, fake_lossy_p99_ms = 0, fake_lossy_max_ms = 0;  // 10% of messages lost
  std::size_t real_failovers = 0;
  double real_p50_ms = 0, real_p99_ms = 0, real_max_ms = 0;
};

// `quick`: fewer proposals and real-time kills (smoke runs, WASM under Node).
SwarmCoordFigures run_swarm_coord_bench(bool quick = false);

}  // namespace omega::bench
