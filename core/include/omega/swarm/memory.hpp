#pragma once
// MemoryManager (seed 004, "Memory Management"): the swarm's pool of fixed-size regions that
// agents allocate, write, read, hand to each other and lose to eviction.
//
//   omega::swarm::MemoryManager mm({.total_size = 28 << 20, .region_size = 64 << 10,
//                                   .eviction_policy = EvictionPolicy::WTinyLFU});
//   RegionId r = *mm.allocate(agent, 4096);      // one region; evicts per policy when full
//   mm.write(r, bytes); mm.read(r, out);          // UnknownRegion once freed or evicted
//   mm.transfer(r, other_agent);                  // ownership moves, the bytes stay put
//   mm.pin(r); ... mm.unpin(r);                   // never evicted while pinned
//
// Contracts:
// - A real pool: one contiguous buffer of regions_total * region_size bytes (regions_total =
//   total_size / region_size; a remainder is not allocated), carved into regions kept on a free
//   list. One allocation takes one whole region; its size (1..region_size bytes) bounds reads
//   and writes. Fresh regions read as zeros (the bytes are cleared on allocation).
// - Region ids are never reused: an id carries its slot and that slot's generation, so an id
//   that was freed or evicted answers UnknownRegion even after the slot holds another region
//   (until one slot has been allocated 2^32 times).
// - Eviction: when no region is free, allocate() evicts the policy's victim (eviction.hpp)
//   among unpinned regions, whoever owns it; OutOfMemory when every region is pinned. Reads
//   and view() are uses for the policy, writes are updates (TTL restarts the region's life).
// - Quota: per_agent_limit counts reserved bytes, region_size per region the agent owns
//   (that is what the pool gives up for it); QuotaExceeded refuses an allocate or a transfer
//   that would pass it. An agent at its quota is refused; its own regions are not evicted for it.
//   set_agent_limit() gives one agent its own limit instead (Agent::with_memory_limit);
//   release_agent() forgets it with the agent.
// - TTL: a region is past its ttl when it has not been written (or allocated) for ttl;
//   garbage_collect() reclaims every unpinned region past its ttl under every policy, and
//   reorders the free list so the lowest addresses are handed out first.
// - Statistics are exact: used_bytes is the sum of live regions' sizes, reserved_bytes the
//   live regions times region_size; utilization = reserved / total, fill = used / reserved.
// - Compression (the seed names it) is not implemented: regions hold the bytes as written.
// - Thread-safe: one mutex serialises every call (each is O(1) but for victim() walking past
//   pinned regions, release_agent (O(regions of the agent)) and garbage_collect (O(regions))).
//   A view() stays valid until the region is freed or evicted: pin it while another thread
//   may allocate.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include <omega/base/metrics.hpp>
#include <omega/base/result.hpp>
#include <omega/swarm/eviction.hpp>
#include <omega/swarm/types.hpp>

namespace omega::swarm {

struct MemoryConfig {
  std::size_t total_size = 28 << 20;  // the pool, bytes (the seed's 28 MB)
  std::size_t region_size = 64 << 10;  // one region, bytes (the seed's 64 KB)
  EvictionPolicy eviction_policy = EvictionPolicy::LRU;
  std::size_t per_agent_limit = 0;  // reserved bytes an agent may own; 0 = no limit
  std::chrono::nanoseconds ttl{std::chrono::seconds(60)};  // life of a region since its last write
  [[nodiscard]] std::string validate() const;  // empty when the config can work, else the reason
};

struct MemoryStats {
  std::uint64_t total_bytes = 0;     // regions_total * region_size
  std::uint64_t used_bytes = 0;      // sum of live regions' requested sizes
  std::uint64_t reserved_bytes = 0;  // regions_used * region_size
  std::uint64_t regions_total = 0;
  std::uint64_t regions_used = 0;
  std::uint64_t regions_pinned = 0;
  std::uint64_t agents = 0;          // agents owning at least one region
  std::uint64_t allocations = 0;     // successful allocate()
  std::uint64_t frees = 0;           // successful free(), and regions freed by release_agent()
  std::uint64_t evictions = 0;       // regions taken by the policy to make room
  std::uint64_t transfers = 0;       // successful transfer() to another owner
  std::uint64_t reads = 0;           // successful read()
  std::uint64_t writes = 0;          // successful write()
  std::uint64_t bytes_read = 0;
  std::uint64_t bytes_written = 0;
  std::uint64_t hits = 0;            // read/write/view of a live region
  std::uint64_t misses = 0;          // read/write/view of a freed, evicted or unknown id
  std::uint64_t gc_runs = 0;
  std::uint64_t gc_reclaimed = 0;    // regions reclaimed past their ttl
  std::uint64_t refused_quota = 0;
  std::uint64_t refused_oom = 0;
  std::uint64_t refused_bounds = 0;  // zero or oversized allocations, accesses past a region's size
  double utilization = 0;            // reserved / total
  double fill = 0;                   // used / reserved (0 when nothing is reserved)
  double hit_rate = 0;               // hits / (hits + misses)
};

class MemoryManager {
 public:
  // An invalid config aborts with its reason (validate() first for outside input); or use create().
  explicit MemoryManager(MemoryConfig config, TimeSource time = TimeSource::system());
  [[nodiscard]] static Result<std::unique_ptr<MemoryManager>, std::string> create(
      MemoryConfig config, TimeSource time = TimeSource::system());
  MemoryManager(const MemoryManager&) = delete;
  MemoryManager& operator=(const MemoryManager&) = delete;
  ~MemoryManager();

  // size in 1..region_size, else OutOfBounds. QuotaExceeded, OutOfMemory as above. An
  // invalid owner (value 0) is UnknownAgent.
  Result<RegionId, SwarmError> allocate(AgentId owner, std::size_t size);
  // Writes all of `bytes` at offset or nothing: OutOfBounds when offset + size passes the region's size.
  Result<void, SwarmError> write(RegionId region, std::span<const std::byte> bytes, std::size_t offset = 0);
  // Copies min(out.size(), size - offset) bytes; OutOfBounds when offset > size.
  Result<std::size_t, SwarmError> read(RegionId region, std::span<std::byte> out, std::size_t offset = 0);
  // The region's bytes in place (its requested size), without a copy; a use for the policy.
  Result<std::span<const std::byte>, SwarmError> view(RegionId region);
  // Ownership moves, the bytes do not. QuotaExceeded when the new owner would pass its limit.
  Result<void, SwarmError> transfer(RegionId region, AgentId new_owner);
  Result<void, SwarmError> free(RegionId region);
  // Pins nest: a region is evictable again after as many unpins as pins.
  Result<void, SwarmError> pin(RegionId region);
  Result<void, SwarmError> unpin(RegionId region);
  // The agent's own limit in reserved bytes, in place of per_agent_limit; 0 returns it to
  // per_agent_limit. Regions it owns already are kept even when they pass the new limit; only
  // later allocations and transfers to it are refused.
  void set_agent_limit(AgentId agent, std::size_t bytes);
  [[nodiscard]] std::size_t agent_limit(AgentId agent) const;  // 0: no limit
  // Frees every region the agent owns, pinned or not (the agent is gone), and forgets its own
  // limit; returns how many regions.
  std::size_t release_agent(AgentId agent);
  // Reclaims unpinned regions past their ttl and compacts the free list; returns how many.
  Result<std::size_t, SwarmError> garbage_collect();

  [[nodiscard]] std::optional<AgentId> owner(RegionId region) const;
  [[nodiscard]] std::optional<std::size_t> size(RegionId region) const;
  [[nodiscard]] std::vector<RegionId> regions_of(AgentId agent) const;
  [[nodiscard]] std::size_t agent_bytes(AgentId agent) const;  // reserved bytes the agent owns
  [[nodiscard]] MemoryStats stats() const;
  [[nodiscard]] const MemoryConfig& config() const noexcept { return config_; }
  // omega_swarm_memory_* counters and gauges for SwarmOrchestrator::metrics().
  void append_metrics(MetricsSnapshot& out) const;

 private:
  struct Slot {
    std::uint32_t generation = 0;  // of the region in it now (or last); ids use it
    bool live = false;
    std::uint32_t pins = 0;
    AgentId owner;
    std::size_t size = 0;
    std::int64_t written_ns = 0;  // allocation or last write: the start of its ttl
    std::uint32_t agent_prev = 0xFFFFFFFFu;  // the owner's regions, an intrusive list
    std::uint32_t agent_next = 0xFFFFFFFFu;
  };
  struct AgentUsage {
    std::uint32_t head = 0xFFFFFFFFu;
    std::size_t regions = 0;
  };

  // The live slot an id names, or nullptr (stale, foreign, never issued).
  [[nodiscard]] Slot* find(RegionId region) noexcept;
  [[nodiscard]] const Slot* find(RegionId region) const noexcept;
  [[nodiscard]] RegionId id_of(std::uint32_t slot) const noexcept;
  [[nodiscard]] std::byte* bytes_of(std::uint32_t slot) const noexcept;
  void attach(std::uint32_t slot, AgentId agent);
  void detach(std::uint32_t slot);
  void release(std::uint32_t slot);  // live -> free: tracker, owner list, accounting
  [[nodiscard]] bool over_quota(AgentId agent, std::size_t more_regions) const;
  [[nodiscard]] std::size_t limit_of(AgentId agent) const;

  MemoryConfig config_;
  TimeSource time_;
  std::size_t regions_total_;
  std::unique_ptr<std::byte[]> pool_;
  mutable std::mutex mutex_;
  std::vector<Slot> slots_;
  std::vector<std::uint32_t> free_;  // a stack: back() is handed out next
  EvictionTracker tracker_;
  std::unordered_map<AgentId, AgentUsage> agents_;
  std::unordered_map<AgentId, std::size_t> limits_;  // set_agent_limit()
  std::uint64_t used_bytes_ = 0;
  std::uint64_t regions_used_ = 0;
  std::uint64_t regions_pinned_ = 0;
  MemoryStats counters_;  // the monotonic counters; the gauges are computed in stats()
};

}  // namespace omega::swarm
