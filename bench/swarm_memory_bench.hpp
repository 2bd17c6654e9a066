#pragma once
// The swarm's memory manager and its eviction policies, for bench/swarm_bench (and, built
// with SWARM_MEMORY_BENCH_MAIN, the standalone swarm_memory_bench).
#include <cstddef>
#include <cstdint>

namespace omega::bench {

struct SwarmMemoryBenchOptions {
  std::size_t keys = 100'000;        // distinct keys of the Zipf trace
  std::size_t accesses = 1'000'000;  // length of the trace
  double zipf_s = 0.99;
  double cache_fraction = 0.01;      // cache capacity as a share of the keys
  std::size_t manager_ops = 200'000;  // allocate/write/read/free cycles per policy
  int runs = 5;                       // timed runs; medians are printed
  std::uint64_t seed = 2026;
};

// Prints three tables: per policy, hit rate on the Zipf trace (with Belady's optimum as the
// ceiling) and ns per cache access (tracker.touch(): a hit, or evict + insert), against a
// textbook std::list + std::unordered_map LRU in the same process; then MemoryManager
// operations per second per policy.
void run_swarm_memory_bench(const SwarmMemoryBenchOptions& options = {});

}  // namespace omega::bench
