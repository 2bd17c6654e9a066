#include <omega/swarm/memory.hpp>

#include <algorithm>
#include <cstring>
#include <functional>

#include <omega/base/assert.hpp>

namespace omega::swarm {

namespace {

constexpr std::uint32_t kNoSlot = 0xFFFFFFFFu;

std::size_t regions_in(const MemoryConfig& c) noexcept { return c.region_size == 0 ? 0 : c.total_size / c.region_size; }

std::size_t checked_regions(const MemoryConfig& c) {
  const std::string why = c.validate();
  OMEGA_ASSERT(why.empty(), why.c_str());
  return regions_in(c);
}

}  // namespace

std::string MemoryConfig::validate() const {
  if (region_size == 0) return "region_size must be greater than 0";
  if (total_size < region_size) return "total_size must hold at least one region";
  // Slots are 32-bit indices (half of a RegionId); the tracker reserves the top value.
  if (regions_in(*this) >= kNoSlot) return "total_size / region_size must be below 2^32 - 1 regions";
  if (per_agent_limit != 0 && per_agent_limit < region_size) {
    return "per_agent_limit must be 0 (no limit) or at least one region_size";
  }
  if (ttl.count() <= 0) return "ttl must be positive";
  return {};
}

MemoryManager::MemoryManager(MemoryConfig config, TimeSource time)
    : config_(config),
      time_(time),
      regions_total_(checked_regions(config)),
      pool_(new std::byte[regions_total_ * config.region_size]),
      slots_(regions_total_),
      tracker_(config.eviction_policy, regions_total_, regions_total_) {
  OMEGA_ASSERT(time_.now != nullptr, "a MemoryManager needs a time source");
  free_.reserve(regions_total_);
  // Highest index first, so back() hands out the lowest address first.
  for (std::size_t i = regions_total_; i-- > 0;) free_.push_back(static_cast<std::uint32_t>(i));
}

MemoryManager::~MemoryManager() = default;

Result<std::unique_ptr<MemoryManager>, std::string> MemoryManager::create(MemoryConfig config, TimeSource time) {
  if (std::string why = config.validate(); !why.empty()) return Err(std::move(why));
  if (time.now == nullptr) return Err(std::string("a MemoryManager needs a time source"));
  return std::make_unique<MemoryManager>(config, time);
}

MemoryManager::Slot* MemoryManager::find(RegionId region) noexcept {
  const auto slot = static_cast<std::uint32_t>(region.value & 0xFFFFFFFFu);
  const auto generation = static_cast<std::uint32_t>(region.value >> 32);
  if (slot >= slots_.size()) return nullptr;
  Slot& s = slots_[slot];
  return (s.live && s.generation == generation && generation != 0) ? &s : nullptr;
}

const MemoryManager::Slot* MemoryManager::find(RegionId region) const noexcept {
  return const_cast<MemoryManager*>(this)->find(region);
}

RegionId MemoryManager::id_of(std::uint32_t slot) const noexcept {
  return RegionId{(static_cast<std::uint64_t>(slots_[slot].generation) << 32) | slot};
}

std::byte* MemoryManager::bytes_of(std::uint32_t slot) const noexcept {
  return pool_.get() + static_cast<std::size_t>(slot) * config_.region_size;
}

void MemoryManager::attach(std::uint32_t slot, AgentId agent) {
  AgentUsage& u = agents_[agent];
  Slot& s = slots_[slot];
  s.owner = agent;
  s.agent_prev = kNoSlot;
  s.agent_next = u.head;
  if (u.head != kNoSlot) slots_[u.head].agent_prev = slot;
  u.head = slot;
  ++u.regions;
}

void MemoryManager::detach(std::uint32_t slot) {
  Slot& s = slots_[slot];
  auto it = agents_.find(s.owner);
  OMEGA_DASSERT(it != agents_.end(), "a live region's owner has no usage entry");
  AgentUsage& u = it->second;
  if (s.agent_prev != kNoSlot) {
    slots_[s.agent_prev].agent_next = s.agent_next;
  } else {
    u.head = s.agent_next;
  }
  if (s.agent_next != kNoSlot) slots_[s.agent_next].agent_prev = s.agent_prev;
  s.agent_prev = s.agent_next = kNoSlot;
  if (--u.regions == 0) agents_.erase(it);
}

void MemoryManager::release(std::uint32_t slot) {
  Slot& s = slots_[slot];
  tracker_.on_remove(slot);
  detach(slot);
  used_bytes_ -= s.size;
  --regions_used_;
  if (s.pins != 0) --regions_pinned_;
  s.live = false;
  s.pins = 0;
  s.size = 0;
  s.owner = AgentId{};
  free_.push_back(slot);
}

std::size_t MemoryManager::limit_of(AgentId agent) const {
  auto it = limits_.find(agent);
  return it == limits_.end() ? config_.per_agent_limit : it->second;
}

bool MemoryManager::over_quota(AgentId agent, std::size_t more_regions) const {
  const std::size_t limit = limit_of(agent);
  if (limit == 0) return false;
  auto it = agents_.find(agent);
  const std::size_t have = it == agents_.end() ? 0 : it->second.regions;
  return (have + more_regions) * config_.region_size > limit;
}

void MemoryManager::set_agent_limit(AgentId agent, std::size_t bytes) {
  std::lock_guard lock(mutex_);
  if (bytes == 0) {
    limits_.erase(agent);
  } else {
    limits_[agent] = bytes;
  }
}

std::size_t MemoryManager::agent_limit(AgentId agent) const {
  std::lock_guard lock(mutex_);
  return limit_of(agent);
}

Result<RegionId, SwarmError> MemoryManager::allocate(AgentId owner, std::size_t size) {
  std::lock_guard lock(mutex_);
  if (!owner.valid()) return Err(SwarmError::UnknownAgent);
  if (size == 0 || size > config_.region_size) {
    ++counters_.refused_bounds;
    return Err(SwarmError::OutOfBounds);
  }
  if (over_quota(owner, 1)) {
    ++counters_.refused_quota;
    return Err(SwarmError::QuotaExceeded);
  }
  if (free_.empty()) {
    const std::optional<std::uint32_t> victim = tracker_.victim();
    if (!victim) {
      ++counters_.refused_oom;
      return Err(SwarmError::OutOfMemory);
    }
    release(*victim);
    ++counters_.evictions;
  }
  const std::uint32_t slot = free_.back();
  free_.pop_back();
  Slot& s = slots_[slot];
  ++s.generation;
  if (s.generation == 0) s.generation = 1;  // 0 would make the id of slot 0 invalid
  s.live = true;
  s.pins = 0;
  s.size = size;
  s.written_ns = time_.read();
  attach(slot, owner);
  std::memset(bytes_of(slot), 0, size);  // a region never shows its previous owner's bytes
  const RegionId id = id_of(slot);
  tracker_.on_insert(slot, id.value);
  used_bytes_ += size;
  ++regions_used_;
  ++counters_.allocations;
  return id;
}

Result<void, SwarmError> MemoryManager::write(RegionId region, std::span<const std::byte> bytes, std::size_t offset) {
  std::lock_guard lock(mutex_);
  Slot* s = find(region);
  if (s == nullptr) {
    ++counters_.misses;
    return Err(SwarmError::UnknownRegion);
  }
  if (offset > s->size || bytes.size() > s->size - offset) {
    ++counters_.refused_bounds;
    return Err(SwarmError::OutOfBounds);
  }
  const auto slot = static_cast<std::uint32_t>(s - slots_.data());
  if (!bytes.empty()) std::memcpy(bytes_of(slot) + offset, bytes.data(), bytes.size());
  s->written_ns = time_.read();
  tracker_.on_update(slot);
  ++counters_.hits;
  ++counters_.writes;
  counters_.bytes_written += bytes.size();
  return {};
}

Result<std::size_t, SwarmError> MemoryManager::read(RegionId region, std::span<std::byte> out, std::size_t offset) {
  std::lock_guard lock(mutex_);
  Slot* s = find(region);
  if (s == nullptr) {
    ++counters_.misses;
    return Err(SwarmError::UnknownRegion);
  }
  if (offset > s->size) {
    ++counters_.refused_bounds;
    return Err(SwarmError::OutOfBounds);
  }
  const auto slot = static_cast<std::uint32_t>(s - slots_.data());
  const std::size_t n = std::min(out.size(), s->size - offset);
  if (n != 0) std::memcpy(out.data(), bytes_of(slot) + offset, n);
  tracker_.on_access(slot);
  ++counters_.hits;
  ++counters_.reads;
  counters_.bytes_read += n;
  return n;
}

Result<std::span<const std::byte>, SwarmError> MemoryManager::view(RegionId region) {
  std::lock_guard lock(mutex_);
  Slot* s = find(region);
  if (s == nullptr) {
    ++counters_.misses;
    return Err(SwarmError::UnknownRegion);
  }
  const auto slot = static_cast<std::uint32_t>(s - slots_.data());
  tracker_.on_access(slot);
  ++counters_.hits;
  return std::span<const std::byte>(bytes_of(slot), s->size);
}

Result<void, SwarmError> MemoryManager::transfer(RegionId region, AgentId new_owner) {
  std::lock_guard lock(mutex_);
  if (!new_owner.valid()) return Err(SwarmError::UnknownAgent);
  Slot* s = find(region);
  if (s == nullptr) return Err(SwarmError::UnknownRegion);
  if (s->owner == new_owner) return {};
  if (over_quota(new_owner, 1)) {
    ++counters_.refused_quota;
    return Err(SwarmError::QuotaExceeded);
  }
  const auto slot = static_cast<std::uint32_t>(s - slots_.data());
  detach(slot);
  attach(slot, new_owner);
  ++counters_.transfers;
  return {};
}

Result<void, SwarmError> MemoryManager::free(RegionId region) {
  std::lock_guard lock(mutex_);
  Slot* s = find(region);
  if (s == nullptr) return Err(SwarmError::UnknownRegion);
  release(static_cast<std::uint32_t>(s - slots_.data()));
  ++counters_.frees;
  return {};
}

Result<void, SwarmError> MemoryManager::pin(RegionId region) {
  std::lock_guard lock(mutex_);
  Slot* s = find(region);
  if (s == nullptr) return Err(SwarmError::UnknownRegion);
  if (s->pins++ == 0) {
    tracker_.set_pinned(static_cast<std::uint32_t>(s - slots_.data()), true);
    ++regions_pinned_;
  }
  return {};
}

Result<void, SwarmError> MemoryManager::unpin(RegionId region) {
  std::lock_guard lock(mutex_);
  Slot* s = find(region);
  if (s == nullptr) return Err(SwarmError::UnknownRegion);
  if (s->pins == 0) return {};  // unbalanced unpin: nothing was holding it
  if (--s->pins == 0) {
    tracker_.set_pinned(static_cast<std::uint32_t>(s - slots_.data()), false);
    --regions_pinned_;
  }
  return {};
}

std::size_t MemoryManager::release_agent(AgentId agent) {
  std::lock_guard lock(mutex_);
  limits_.erase(agent);
  auto it = agents_.find(agent);
  if (it == agents_.end()) return 0;
  std::size_t n = 0;
  // release() erases the usage entry with the agent's last region: read the head each time.
  while (true) {
    auto cur = agents_.find(agent);
    if (cur == agents_.end()) break;
    release(cur->second.head);
    ++n;
  }
  counters_.frees += n;
  return n;
}

Result<std::size_t, SwarmError> MemoryManager::garbage_collect() {
  std::lock_guard lock(mutex_);
  const std::int64_t now = time_.read();
  const std::int64_t ttl = config_.ttl.count();
  std::size_t reclaimed = 0;
  for (std::uint32_t i = 0; i < slots_.size(); ++i) {
    const Slot& s = slots_[i];
    if (s.live && s.pins == 0 && now - s.written_ns >= ttl) {
      release(i);
      ++reclaimed;
    }
  }
  // Compaction: hand out the lowest free addresses first, so live regions gather at the
  // start of the pool.
  std::sort(free_.begin(), free_.end(), std::greater<>());
  ++counters_.gc_runs;
  counters_.gc_reclaimed += reclaimed;
  return reclaimed;
}

std::optional<AgentId> MemoryManager::owner(RegionId region) const {
  std::lock_guard lock(mutex_);
  const Slot* s = find(region);
  if (s == nullptr) return std::nullopt;
  return s->owner;
}

std::optional<std::size_t> MemoryManager::size(RegionId region) const {
  std::lock_guard lock(mutex_);
  const Slot* s = find(region);
  if (s == nullptr) return std::nullopt;
  return s->size;
}

std::vector<RegionId> MemoryManager::regions_of(AgentId agent) const {
  std::lock_guard lock(mutex_);
  std::vector<RegionId> out;
  auto it = agents_.find(agent);
  if (it == agents_.end()) return out;
  for (std::uint32_t i = it->second.head; i != kNoSlot; i = slots_[i].agent_next) out.push_back(id_of(i));
  return out;
}

std::size_t MemoryManager::agent_bytes(AgentId agent) const {
  std::lock_guard lock(mutex_);
  auto it = agents_.find(agent);
  return it == agents_.end() ? 0 : it->second.regions * config_.region_size;
}

MemoryStats MemoryManager::stats() const {
  std::lock_guard lock(mutex_);
  MemoryStats st = counters_;
  st.regions_total = regions_total_;
  st.total_bytes = regions_total_ * config_.region_size;
  st.regions_used = regions_used_;
  st.regions_pinned = regions_pinned_;
  st.used_bytes = used_bytes_;
  st.reserved_bytes = regions_used_ * config_.region_size;
  st.agents = agents_.size();
  st.utilization = static_cast<double>(st.reserved_bytes) / static_cast<double>(st.total_bytes);
  st.fill = st.reserved_bytes == 0 ? 0.0 : static_cast<double>(st.used_bytes) / static_cast<double>(st.reserved_bytes);
  const std::uint64_t accesses = st.hits + st.misses;
  st.hit_rate = accesses == 0 ? 0.0 : static_cast<double>(st.hits) / static_cast<double>(accesses);
  return st;
}

void MemoryManager::append_metrics(MetricsSnapshot& out) const {
  const MemoryStats st = stats();
  const MetricLabels policy{{"policy", std::string(to_string(config_.eviction_policy))}};
  const auto gauge = [&](const char* name, const char* help, double v) { (void)out.add_gauge(name, help, policy, v); };
  const auto counter = [&](const char* name, const char* help, std::uint64_t v) {
    (void)out.add_counter(name, help, policy, v);
  };
  gauge("omega_swarm_memory_total_bytes", "Bytes in the pool (regions * region_size)",
        static_cast<double>(st.total_bytes));
  gauge("omega_swarm_memory_used_bytes", "Bytes requested by live regions", static_cast<double>(st.used_bytes));
  gauge("omega_swarm_memory_reserved_bytes", "Bytes of the regions in use", static_cast<double>(st.reserved_bytes));
  gauge("omega_swarm_memory_regions", "Regions in the pool", static_cast<double>(st.regions_total));
  gauge("omega_swarm_memory_regions_used", "Regions in use", static_cast<double>(st.regions_used));
  gauge("omega_swarm_memory_regions_pinned", "Regions pinned (never evicted)", static_cast<double>(st.regions_pinned));
  gauge("omega_swarm_memory_utilization", "Reserved bytes / total bytes", st.utilization);
  gauge("omega_swarm_memory_fill", "Used bytes / reserved bytes", st.fill);
  counter("omega_swarm_memory_allocations_total", "Regions allocated", st.allocations);
  counter("omega_swarm_memory_frees_total", "Regions freed by their owner or with their agent", st.frees);
  counter("omega_swarm_memory_evictions_total", "Regions evicted by the policy to make room", st.evictions);
  counter("omega_swarm_memory_transfers_total", "Regions moved to another owner", st.transfers);
  counter("omega_swarm_memory_reads_total", "Successful reads", st.reads);
  counter("omega_swarm_memory_writes_total", "Successful writes", st.writes);
  counter("omega_swarm_memory_hits_total", "Accesses to a live region", st.hits);
  counter("omega_swarm_memory_misses_total", "Accesses to a freed, evicted or unknown region", st.misses);
  counter("omega_swarm_memory_gc_runs_total", "garbage_collect() calls", st.gc_runs);
  counter("omega_swarm_memory_gc_reclaimed_total", "Regions reclaimed past their ttl", st.gc_reclaimed);
  for (const auto& [reason, value] : {std::pair{"quota", st.refused_quota}, std::pair{"out_of_memory", st.refused_oom},
                                      std::pair{"bounds", st.refused_bounds}}) {
    MetricLabels l = policy;
    l.push_back({"reason", reason});
    (void)out.add_counter("omega_swarm_memory_refused_total", "Refused operations, by reason", std::move(l), value);
  }
}

}  // namespace omega::swarm
