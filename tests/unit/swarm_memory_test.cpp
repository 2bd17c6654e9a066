#include <omega/swarm/eviction.hpp>
#include <omega/swarm/memory.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <map>
#include <optional>
#include <vector>

#include <omega/base/config.hpp>
#include <omega/base/rng.hpp>

#include "../support/fake_clock.hpp"
#include "../support/sanitizers.hpp"
#include "../support/threads.hpp"

using omega::OmegaRng;
using omega::swarm::AgentId;
using omega::swarm::EvictionPolicy;
using omega::swarm::EvictionTracker;
using omega::swarm::FrequencySketch;
using omega::swarm::MemoryConfig;
using omega::swarm::MemoryManager;
using omega::swarm::RegionId;
using omega::swarm::SwarmError;
using Key = EvictionTracker::Key;

namespace {

// The naive O(n) reference: every key's history as sequence numbers, and the victim found by
// scanning. W-TinyLFU keeps its three segments as plain vectors (front = LRU end) and takes
// frequencies from the tracker's sketch, so it checks the segment logic; the sketch has its
// own test below.
class Model {
 public:
  Model(EvictionPolicy policy, std::size_t capacity) : policy_(policy), capacity_(capacity) {
    window_max_ = std::max<std::size_t>(1, capacity / 100);
    protected_max_ = (capacity - std::min(capacity, window_max_)) * 8 / 10;
  }

  void insert(Key k) {
    Entry e;
    e.last_use = e.inserted = e.written = ++seq_;
    e.count = 1;
    entries_[k] = e;
    if (policy_ == EvictionPolicy::WTinyLFU) {
      window_.push_back(k);
      if (window_.size() > window_max_) {
        const Key c = window_.front();
        window_.erase(window_.begin());
        probation_.push_back(c);
      }
    }
  }
  void access(Key k) {
    Entry& e = entries_.at(k);
    e.last_use = ++seq_;
    ++e.count;
    if (policy_ != EvictionPolicy::WTinyLFU) return;
    if (erase_from(window_, k)) {
      window_.push_back(k);
    } else if (erase_from(probation_, k)) {
      protected_.push_back(k);
      if (protected_.size() > protected_max_) {
        const Key d = protected_.front();
        protected_.erase(protected_.begin());
        probation_.push_back(d);
      }
    } else if (erase_from(protected_, k)) {
      protected_.push_back(k);
    }
  }
  void update(Key k) {
    if (policy_ == EvictionPolicy::TTL) {
      entries_.at(k).written = ++seq_;
      return;
    }
    access(k);
  }
  void remove(Key k) {
    entries_.erase(k);
    erase_from(window_, k) || erase_from(probation_, k) || erase_from(protected_, k);
  }
  void pin(Key k, bool p) { entries_.at(k).pinned = p; }
  [[nodiscard]] bool contains(Key k) const { return entries_.count(k) != 0; }
  [[nodiscard]] std::size_t size() const { return entries_.size(); }
  [[nodiscard]] std::uint64_t count(Key k) const { return entries_.at(k).count; }
  [[nodiscard]] std::size_t window() const { return window_.size(); }
  [[nodiscard]] std::size_t probation() const { return probation_.size(); }
  [[nodiscard]] std::size_t protected_size() const { return protected_.size(); }

  [[nodiscard]] std::optional<Key> victim(const EvictionTracker& t) const {
    if (policy_ == EvictionPolicy::WTinyLFU) {
      std::optional<Key> candidate;
      if (window_.size() >= window_max_) candidate = first_unpinned(window_);
      std::optional<Key> main = first_unpinned(probation_);
      if (!main) main = first_unpinned(protected_);
      if (candidate && main) {
        return t.estimated_frequency(*candidate) > t.estimated_frequency(*main) ? main : candidate;
      }
      if (candidate) return candidate;
      if (main) return main;
      return first_unpinned(window_);
    }
    std::optional<Key> best;
    const auto rank = [&](const Entry& e) -> std::pair<std::uint64_t, std::uint64_t> {
      switch (policy_) {
        case EvictionPolicy::LRU: return {e.last_use, 0};
        case EvictionPolicy::LFU: return {e.count, e.last_use};
        case EvictionPolicy::FIFO: return {e.inserted, 0};
        case EvictionPolicy::TTL: return {e.written, 0};
        case EvictionPolicy::WTinyLFU: break;
      }
      return {0, 0};
    };
    for (const auto& [k, e] : entries_) {
      if (e.pinned) continue;
      if (!best || rank(e) < rank(entries_.at(*best))) best = k;
    }
    return best;
  }

 private:
  struct Entry {
    std::uint64_t last_use = 0, inserted = 0, written = 0, count = 0;
    bool pinned = false;
  };
  static bool erase_from(std::vector<Key>& v, Key k) {
    auto it = std::find(v.begin(), v.end(), k);
    if (it == v.end()) return false;
    v.erase(it);
    return true;
  }
  [[nodiscard]] std::optional<Key> first_unpinned(const std::vector<Key>& v) const {
    for (Key k : v) {
      if (!entries_.at(k).pinned) return k;
    }
    return std::nullopt;
  }

  EvictionPolicy policy_;
  std::size_t capacity_;
  std::size_t window_max_, protected_max_;
  std::uint64_t seq_ = 0;
  std::map<Key, Entry> entries_;
  std::vector<Key> window_, probation_, protected_;
};

// Zipf(s) over n keys (rank 0 hottest) by inverse CDF: a seeded, repeatable trace.
std::vector<Key> zipf_trace(std::size_t keys, double s, std::size_t length, std::uint64_t seed) {
  std::vector<double> cdf(keys);
  double sum = 0;
  for (std::size_t i = 0; i < keys; ++i) cdf[i] = (sum += 1.0 / std::pow(static_cast<double>(i + 1), s));
  for (double& c : cdf) c /= sum;
  OmegaRng rng(seed);
  std::vector<Key> trace(length);
  for (Key& k : trace) {
    const double u = rng.next_f64();
    k = static_cast<Key>(std::min<std::size_t>(
        static_cast<std::size_t>(std::lower_bound(cdf.begin(), cdf.end(), u) - cdf.begin()), keys - 1));
  }
  return trace;
}

double hit_rate(EvictionPolicy policy, const std::vector<Key>& trace, std::size_t keys, std::size_t capacity) {
  EvictionTracker t(policy, keys, capacity);
  std::size_t hits = 0;
  for (Key k : trace) hits += t.touch(k) ? 1 : 0;
  return static_cast<double>(hits) / static_cast<double>(trace.size());
}

std::vector<std::byte> bytes_of(std::initializer_list<int> v) {
  std::vector<std::byte> out;
  for (int x : v) out.push_back(static_cast<std::byte>(x));
  return out;
}

}  // namespace

TEST_CASE("every policy chooses the victim the naive reference model chooses", "[swarm_memory]") {
  const auto policy = GENERATE(EvictionPolicy::LRU, EvictionPolicy::LFU, EvictionPolicy::FIFO, EvictionPolicy::TTL,
                               EvictionPolicy::WTinyLFU);
  // Small caches make evictions frequent; the large one gives W-TinyLFU a window of 3 and
  // a real protected segment.
  const auto shape = GENERATE(std::pair<std::size_t, std::size_t>{64, 16}, std::pair<std::size_t, std::size_t>{40, 1},
                              std::pair<std::size_t, std::size_t>{700, 300});
  const auto [keys, capacity] = shape;
  CAPTURE(omega::swarm::to_string(policy), keys, capacity);
  EvictionTracker t(policy, keys, capacity);
  Model m(policy, capacity);
  OmegaRng rng(0xE71C7 + static_cast<std::uint64_t>(policy) * 31 + capacity);
  const int steps = 20000;
  std::size_t evictions = 0, pins = 0;
  for (int step = 0; step < steps; ++step) {
    // Skew the keys a little so some become frequent.
    const Key k = static_cast<Key>(rng.next_f64() < 0.5 ? rng.gen_range(keys / 4 + 1) : rng.gen_range(keys));
    const std::uint64_t op = rng.gen_range(100);
    if (!t.contains(k)) {
      REQUIRE_FALSE(m.contains(k));
      if (op < 80) {
        if (t.size() == capacity) {
          const auto v = t.victim();
          REQUIRE(v == m.victim(t));
          if (!v) continue;  // everything pinned
          t.on_remove(*v);
          m.remove(*v);
          ++evictions;
        }
        t.on_insert(k);
        m.insert(k);
      }
    } else if (op < 45) {
      t.on_access(k);
      m.access(k);
    } else if (op < 65) {
      t.on_update(k);
      m.update(k);
    } else if (op < 80) {
      t.on_remove(k);
      m.remove(k);
    } else {
      const bool p = !t.pinned(k) && op < 88;
      pins += p ? 1 : 0;
      t.set_pinned(k, p);
      m.pin(k, p);
    }
    REQUIRE(t.size() == m.size());
    REQUIRE(t.victim() == m.victim(t));
    if (policy == EvictionPolicy::LFU && t.contains(k)) REQUIRE(t.use_count(k) == m.count(k));
    if (policy == EvictionPolicy::WTinyLFU) {
      const auto seg = t.segments();
      REQUIRE(seg.window == m.window());
      REQUIRE(seg.probation == m.probation());
      REQUIRE(seg.protected_ == m.protected_size());
      REQUIRE(seg.window <= seg.window_max);
      REQUIRE(seg.protected_ <= seg.protected_max);
      REQUIRE(seg.window + seg.probation + seg.protected_ == t.size());
    }
  }
  CHECK(evictions > 100);
  CHECK(pins > (capacity == 1 ? 20u : 100u));
}

TEST_CASE("LFU keeps one bucket per distinct count and breaks ties by recency", "[swarm_memory]") {
  EvictionTracker t(EvictionPolicy::LFU, 8, 4);
  for (Key k = 0; k < 4; ++k) t.on_insert(k);
  CHECK(t.lfu_buckets() == 1);
  t.on_access(0);
  t.on_access(0);
  t.on_access(1);
  CHECK(t.use_count(0) == 3);
  CHECK(t.use_count(1) == 2);
  CHECK(t.lfu_buckets() == 3);
  CHECK(t.victim() == Key{2});  // count 1, inserted before 3
  t.on_access(2);
  CHECK(t.victim() == Key{3});
  t.on_access(3);
  // 1, 2 and 3 have count 2; 1 got there first.
  CHECK(t.victim() == Key{1});
  CHECK(t.lfu_buckets() == 2);
  t.on_remove(0);
  CHECK(t.lfu_buckets() == 1);
}

TEST_CASE("the frequency sketch never underestimates and halves with age", "[swarm_memory]") {
  FrequencySketch sketch(1024);
  std::map<std::uint64_t, std::uint32_t> truth;
  OmegaRng rng(99);
  // Fewer additions than the sample size: no halving yet.
  for (int i = 0; i < 5000; ++i) {
    const std::uint64_t key = rng.gen_range(2000);
    sketch.increment(key);
    ++truth[key];
  }
  REQUIRE(sketch.halvings() == 0);
  std::size_t exact = 0;
  for (const auto& [key, n] : truth) {
    REQUIRE(sketch.frequency(key) >= std::min<std::uint32_t>(n, 15));
    REQUIRE(sketch.frequency(key) <= 15);
    exact += sketch.frequency(key) == std::min<std::uint32_t>(n, 15) ? 1 : 0;
  }
  CHECK(exact * 10 >= truth.size() * 9);  // 16K counters for 2K keys: collisions are rare
  // A key seen 15 times is at the cap; once the sample size is reached everything halves.
  for (int i = 0; i < 20; ++i) sketch.increment(123456789);
  CHECK(sketch.frequency(123456789) == 15);
  const std::uint64_t until = sketch.sample_size();
  for (std::uint64_t i = 0; i < until && sketch.halvings() == 0; ++i) sketch.increment(1'000'000 + i);
  REQUIRE(sketch.halvings() == 1);
  CHECK(sketch.frequency(123456789) == 7);
}

TEST_CASE("W-TinyLFU beats LRU by at least 5 points on Zipf(0.99) with the cache at 1% of the keys",
          "[swarm_memory]") {
  constexpr std::size_t kKeys = 10'000;
  const std::size_t accesses = omega::test::kSanitized ? 100'000 : 300'000;
  const std::vector<Key> trace = zipf_trace(kKeys, 0.99, accesses, 2026);
  const double lru = hit_rate(EvictionPolicy::LRU, trace, kKeys, kKeys / 100);
  const double tiny = hit_rate(EvictionPolicy::WTinyLFU, trace, kKeys, kKeys / 100);
  const double lfu = hit_rate(EvictionPolicy::LFU, trace, kKeys, kKeys / 100);
  const double fifo = hit_rate(EvictionPolicy::FIFO, trace, kKeys, kKeys / 100);
  CAPTURE(lru, tiny, lfu, fifo);
  CHECK(tiny - lru >= 0.05);
  CHECK(lru > fifo);  // recency helps a little on a skewed trace
  CHECK(lru > 0.1);   // the hot head fits: not a broken cache
}

TEST_CASE("touch() inserts, hits, and evicts only to make room", "[swarm_memory]") {
  for (EvictionPolicy p : omega::swarm::kEvictionPolicies) {
    CAPTURE(omega::swarm::to_string(p));
    EvictionTracker t(p, 10, 3);
    CHECK_FALSE(t.touch(1));
    CHECK_FALSE(t.touch(2));
    CHECK_FALSE(t.touch(3));
    CHECK(t.touch(2));
    CHECK(t.size() == 3);
    CHECK_FALSE(t.touch(4));
    CHECK(t.size() == 3);
    CHECK(t.contains(4));
    // Everything pinned: a miss cannot insert.
    for (Key k = 0; k < 10; ++k) {
      if (t.contains(k)) t.set_pinned(k, true);
    }
    CHECK(t.victim() == std::nullopt);
    CHECK_FALSE(t.touch(7));
    CHECK_FALSE(t.contains(7));
    CHECK(t.size() == 3);
  }
}

// ---------------------------------------------------------------------------------------------
// MemoryManager

namespace {

constexpr std::size_t kRegion = 1024;

MemoryConfig small_pool(EvictionPolicy policy = EvictionPolicy::LRU, std::size_t regions = 4) {
  MemoryConfig c;
  c.total_size = regions * kRegion;
  c.region_size = kRegion;
  c.eviction_policy = policy;
  return c;
}

constexpr AgentId kA{1};
constexpr AgentId kB{2};
constexpr AgentId kC{3};

}  // namespace

TEST_CASE("memory config validation explains what cannot work", "[swarm_memory]") {
  CHECK(MemoryConfig{}.validate().empty());
  MemoryConfig c;
  c.region_size = 0;
  CHECK_FALSE(c.validate().empty());
  c = MemoryConfig{};
  c.total_size = c.region_size - 1;
  CHECK_FALSE(c.validate().empty());
  c = MemoryConfig{};
  c.per_agent_limit = c.region_size / 2;
  CHECK_FALSE(c.validate().empty());
  c = MemoryConfig{};
  c.ttl = std::chrono::nanoseconds(0);
  CHECK_FALSE(c.validate().empty());
  auto bad = MemoryManager::create(MemoryConfig{.total_size = 10, .region_size = 100});
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().find("total_size") != std::string::npos);
  auto good = MemoryManager::create(small_pool());
  REQUIRE(good.has_value());
  CHECK((*good)->stats().regions_total == 4);
}

TEST_CASE("the pool's accounting is exact", "[swarm_memory]") {
  MemoryConfig c = small_pool(EvictionPolicy::LRU, 16);
  c.total_size += 100;  // a remainder smaller than a region is not part of the pool
  MemoryManager mm(c);
  auto s = mm.stats();
  CHECK(s.total_bytes == 16 * kRegion);
  CHECK(s.regions_total == 16);
  CHECK(s.utilization == 0.0);
  CHECK(s.fill == 0.0);
  RegionId a = *mm.allocate(kA, 100);
  RegionId b = *mm.allocate(kA, 1024);
  RegionId d = *mm.allocate(kB, 1);
  s = mm.stats();
  CHECK(s.regions_used == 3);
  CHECK(s.used_bytes == 1125);
  CHECK(s.reserved_bytes == 3 * kRegion);
  CHECK(s.utilization == 3.0 / 16.0);
  CHECK(s.fill == 1125.0 / 3072.0);
  CHECK(s.agents == 2);
  CHECK(mm.agent_bytes(kA) == 2 * kRegion);
  CHECK(mm.size(a) == std::size_t{100});
  REQUIRE(mm.free(b).has_value());
  s = mm.stats();
  CHECK(s.used_bytes == 101);
  CHECK(s.reserved_bytes == 2 * kRegion);
  CHECK(s.allocations == 3);
  CHECK(s.frees == 1);
  CHECK(mm.release_agent(kA) == 1);
  CHECK(mm.release_agent(kA) == 0);
  CHECK(mm.owner(a) == std::nullopt);
  CHECK(mm.owner(d) == kB);
  s = mm.stats();
  CHECK(s.regions_used == 1);
  CHECK(s.used_bytes == 1);
  CHECK(s.frees == 2);
  CHECK(s.agents == 1);
}

TEST_CASE("write, read and view move the right bytes, and bad input is an error", "[swarm_memory]") {
  MemoryManager mm(small_pool());
  RegionId r = *mm.allocate(kA, 8);
  std::vector<std::byte> out(16, std::byte{0xAA});
  // A fresh region reads as zeros.
  REQUIRE(mm.read(r, out) == std::size_t{8});
  CHECK(std::all_of(out.begin(), out.begin() + 8, [](std::byte b) { return b == std::byte{0}; }));
  CHECK(out[8] == std::byte{0xAA});
  REQUIRE(mm.write(r, bytes_of({1, 2, 3}), 5).has_value());
  REQUIRE(mm.read(r, std::span(out).first(4), 4) == std::size_t{4});
  CHECK(out[0] == std::byte{0});
  CHECK(out[1] == std::byte{1});
  CHECK(out[3] == std::byte{3});
  auto v = mm.view(r);
  REQUIRE(v.has_value());
  CHECK(v->size() == 8);
  CHECK((*v)[7] == std::byte{3});
  CHECK(mm.read(r, out, 8) == std::size_t{0});  // at the end: nothing to read
  // Refusals, none of which touches the bytes.
  CHECK(mm.allocate(kA, 0).error() == SwarmError::OutOfBounds);
  CHECK(mm.allocate(kA, kRegion + 1).error() == SwarmError::OutOfBounds);
  CHECK(mm.allocate(AgentId{}, 10).error() == SwarmError::UnknownAgent);
  CHECK(mm.write(r, bytes_of({9, 9}), 7).error() == SwarmError::OutOfBounds);
  CHECK(mm.write(r, bytes_of({9}), SIZE_MAX).error() == SwarmError::OutOfBounds);
  CHECK(mm.read(r, out, 9).error() == SwarmError::OutOfBounds);
  CHECK((*mm.view(r))[7] == std::byte{3});
  auto s = mm.stats();
  CHECK(s.refused_bounds == 5);
  CHECK(s.writes == 1);
  CHECK(s.reads == 3);
  CHECK(s.bytes_written == 3);
  CHECK(s.bytes_read == 12);
}

TEST_CASE("stale and foreign region ids answer UnknownRegion, even after the slot is reused", "[swarm_memory]") {
  MemoryManager mm(small_pool(EvictionPolicy::LRU, 1));
  std::byte buf[4];
  CHECK(mm.read(RegionId{}, buf).error() == SwarmError::UnknownRegion);
  CHECK(mm.read(RegionId{0xDEADBEEF00000000ull}, buf).error() == SwarmError::UnknownRegion);
  RegionId first = *mm.allocate(kA, 4);
  REQUIRE(mm.free(first).has_value());
  CHECK(mm.free(first).error() == SwarmError::UnknownRegion);
  RegionId second = *mm.allocate(kA, 4);  // the same (only) slot
  CHECK(second != first);
  CHECK(mm.read(first, buf).error() == SwarmError::UnknownRegion);
  CHECK(mm.write(first, bytes_of({1})).error() == SwarmError::UnknownRegion);
  CHECK(mm.view(first).error() == SwarmError::UnknownRegion);
  CHECK(mm.transfer(first, kB).error() == SwarmError::UnknownRegion);
  CHECK(mm.pin(first).error() == SwarmError::UnknownRegion);
  CHECK(mm.owner(first) == std::nullopt);
  CHECK(mm.read(second, buf).has_value());
  // Eviction makes an id stale the same way.
  RegionId third = *mm.allocate(kB, 4);
  CHECK(mm.read(second, buf).error() == SwarmError::UnknownRegion);
  CHECK(mm.read(third, buf).has_value());
  const auto s = mm.stats();
  CHECK(s.evictions == 1);
  CHECK(s.misses == 6);
  CHECK(s.hits == 2);
}

TEST_CASE("per-agent limits refuse allocations and transfers past them", "[swarm_memory]") {
  MemoryConfig c = small_pool(EvictionPolicy::LRU, 8);
  c.per_agent_limit = 2 * kRegion + 10;  // two regions
  MemoryManager mm(c);
  RegionId a1 = *mm.allocate(kA, 10);
  RegionId a2 = *mm.allocate(kA, 10);
  CHECK(mm.allocate(kA, 10).error() == SwarmError::QuotaExceeded);
  RegionId b1 = *mm.allocate(kB, 10);
  RegionId b2 = *mm.allocate(kB, 10);
  CHECK(mm.transfer(b1, kA).error() == SwarmError::QuotaExceeded);
  CHECK(mm.owner(b1) == kB);
  REQUIRE(mm.transfer(a1, kC).has_value());
  REQUIRE(mm.transfer(b1, kA).has_value());
  CHECK(mm.agent_bytes(kA) == 2 * kRegion);
  CHECK(mm.agent_bytes(kB) == 1 * kRegion);
  CHECK(mm.agent_bytes(kC) == 1 * kRegion);
  REQUIRE(mm.free(a2).has_value());
  CHECK(mm.allocate(kA, 10).has_value());
  (void)b2;
  CHECK(mm.stats().refused_quota == 2);
  CHECK(mm.stats().transfers == 2);
}

TEST_CASE("an agent's own limit replaces the pool's until the agent is released", "[swarm_memory]") {
  MemoryConfig c = small_pool(EvictionPolicy::LRU, 8);
  c.per_agent_limit = 1 * kRegion;
  MemoryManager mm(c);
  mm.set_agent_limit(kA, 3 * kRegion);
  CHECK(mm.agent_limit(kA) == 3 * kRegion);
  CHECK(mm.agent_limit(kB) == kRegion);
  for (int i = 0; i < 3; ++i) REQUIRE(mm.allocate(kA, 10).has_value());
  CHECK(mm.allocate(kA, 10).error() == SwarmError::QuotaExceeded);
  REQUIRE(mm.allocate(kB, 10).has_value());
  CHECK(mm.allocate(kB, 10).error() == SwarmError::QuotaExceeded);
  // Lowering the limit keeps what the agent owns and refuses more.
  mm.set_agent_limit(kA, 2 * kRegion);
  CHECK(mm.agent_bytes(kA) == 3 * kRegion);
  CHECK(mm.allocate(kA, 10).error() == SwarmError::QuotaExceeded);
  CHECK(mm.release_agent(kA) == 3);
  CHECK(mm.agent_limit(kA) == kRegion);  // forgotten with the agent
  REQUIRE(mm.allocate(kA, 10).has_value());
  CHECK(mm.allocate(kA, 10).error() == SwarmError::QuotaExceeded);
  mm.set_agent_limit(kB, 0);  // back to the pool's limit (it had none of its own)
  CHECK(mm.agent_limit(kB) == kRegion);
}

TEST_CASE("with every region pinned the pool is out of memory; an unpinned one is evicted", "[swarm_memory]") {
  for (EvictionPolicy p : omega::swarm::kEvictionPolicies) {
    CAPTURE(omega::swarm::to_string(p));
    MemoryManager mm(small_pool(p, 3));
    std::vector<RegionId> r;
    for (int i = 0; i < 3; ++i) r.push_back(*mm.allocate(kA, 16));
    for (RegionId id : r) REQUIRE(mm.pin(id).has_value());
    REQUIRE(mm.pin(r[1]).has_value());  // pins nest
    CHECK(mm.allocate(kB, 16).error() == SwarmError::OutOfMemory);
    CHECK(mm.stats().refused_oom == 1);
    CHECK(mm.stats().regions_pinned == 3);
    REQUIRE(mm.unpin(r[1]).has_value());
    CHECK(mm.allocate(kB, 16).error() == SwarmError::OutOfMemory);  // still pinned once
    REQUIRE(mm.unpin(r[1]).has_value());
    RegionId fresh = *mm.allocate(kB, 16);
    CHECK(mm.owner(r[1]) == std::nullopt);  // the only unpinned region went
    CHECK(mm.owner(r[0]) == kA);
    CHECK(mm.owner(r[2]) == kA);
    CHECK(mm.owner(fresh) == kB);
    CHECK(mm.stats().evictions == 1);
    CHECK(mm.stats().regions_pinned == 2);
    // release_agent frees an agent's regions, pinned or not.
    CHECK(mm.release_agent(kA) == 2);
    CHECK(mm.stats().regions_pinned == 0);
    CHECK(mm.stats().regions_used == 1);
  }
}

TEST_CASE("the manager evicts the region its policy names", "[swarm_memory]") {
  // Three regions r0, r1, r2 allocated in that order, then: read r0 twice, write r1. The
  // fourth allocation evicts:
  //   LRU: r2 (least recently used)    LFU: r2 (count 1)    FIFO: r0 (first in)
  //   TTL: r0 (oldest write: r1 was rewritten)             WTinyLFU: r2 (see below)
  struct Case {
    EvictionPolicy policy;
    int evicted;
  };
  for (Case c : {Case{EvictionPolicy::LRU, 2}, Case{EvictionPolicy::LFU, 2}, Case{EvictionPolicy::FIFO, 0},
                 Case{EvictionPolicy::TTL, 0}, Case{EvictionPolicy::WTinyLFU, 2}}) {
    CAPTURE(omega::swarm::to_string(c.policy));
    MemoryManager mm(small_pool(c.policy, 3));
    std::vector<RegionId> r;
    for (int i = 0; i < 3; ++i) r.push_back(*mm.allocate(kA, 16));
    std::byte buf[16];
    REQUIRE(mm.read(r[0], buf).has_value());
    REQUIRE(mm.read(r[0], buf).has_value());
    REQUIRE(mm.write(r[1], bytes_of({1})).has_value());
    // WTinyLFU with 3 regions: a window of 1 (r2 pushed r1, r1 pushed r0 into probation);
    // r0's reads promoted it to protected, which holds 1 (80% of main's 2), so r1's
    // promotion demoted r0 back to probation. The window's candidate r2 (frequency 1) loses
    // against probation's r0 (frequency 3): r2 goes.
    REQUIRE(mm.allocate(kB, 16).has_value());
    for (int i = 0; i < 3; ++i) {
      CHECK((mm.owner(r[static_cast<std::size_t>(i)]) == std::nullopt) == (i == c.evicted));
    }
  }
}

TEST_CASE("transfer moves ownership and keeps the bytes where they are", "[swarm_memory]") {
  MemoryManager mm(small_pool());
  RegionId r = *mm.allocate(kA, 64);
  REQUIRE(mm.write(r, bytes_of({7, 8, 9})).has_value());
  const std::byte* before = mm.view(r)->data();
  REQUIRE(mm.transfer(r, kB).has_value());
  CHECK(mm.owner(r) == kB);
  CHECK(mm.view(r)->data() == before);
  CHECK((*mm.view(r))[2] == std::byte{9});
  CHECK(mm.agent_bytes(kA) == 0);
  CHECK(mm.agent_bytes(kB) == kRegion);
  CHECK(mm.regions_of(kB) == std::vector<RegionId>{r});
  CHECK(mm.regions_of(kA).empty());
  REQUIRE(mm.transfer(r, kB).has_value());  // to its owner: nothing to do, not counted
  CHECK(mm.stats().transfers == 1);
  CHECK(mm.transfer(r, AgentId{}).error() == SwarmError::UnknownAgent);
  CHECK(mm.release_agent(kA) == 0);
  CHECK(mm.release_agent(kB) == 1);
}

TEST_CASE("garbage collection reclaims regions past their ttl and compacts the free list", "[swarm_memory]") {
  omega::test::FakeClock clock;
  MemoryConfig c = small_pool(EvictionPolicy::LFU, 4);
  c.ttl = std::chrono::seconds(60);
  MemoryManager mm(c, clock.source());
  RegionId a = *mm.allocate(kA, 8);
  RegionId b = *mm.allocate(kA, 8);
  RegionId p = *mm.allocate(kB, 8);
  RegionId d = *mm.allocate(kB, 8);
  const std::byte* b_addr = mm.view(b)->data();
  REQUIRE(mm.pin(p).has_value());
  clock.advance(30'000'000'000);
  REQUIRE(mm.write(a, bytes_of({1})).has_value());  // a's life restarts at 30 s
  std::byte buf[8];
  REQUIRE(mm.read(d, buf).has_value());  // a read does not
  CHECK(*mm.garbage_collect() == 0);
  clock.advance(30'000'000'000);  // 60 s: b and d are due; p is pinned; a is 30 s old
  REQUIRE(mm.free(a).has_value());
  // Slots: a 0, b 1, p 2, d 3. The free list is a stack: after this collection it would
  // offer d's slot 3 (released last) first; compaction makes it offer the lowest, a's slot 0.
  CHECK(*mm.garbage_collect() == 2);
  CHECK(mm.owner(b) == std::nullopt);
  CHECK(mm.owner(d) == std::nullopt);
  CHECK(mm.owner(p) == kB);
  RegionId next = *mm.allocate(kC, 8);
  CHECK(mm.view(next)->data() == b_addr - kRegion);
  const auto s = mm.stats();
  CHECK(s.gc_runs == 2);
  CHECK(s.gc_reclaimed == 2);
  CHECK(s.regions_used == 2);
}

TEST_CASE("metrics report the pool's figures", "[swarm_memory]") {
  MemoryManager mm(small_pool(EvictionPolicy::WTinyLFU, 4));
  RegionId r = *mm.allocate(kA, 512);
  (void)mm.allocate(kA, 0);
  std::byte buf[4];
  (void)mm.read(r, buf);
  omega::MetricsSnapshot snap;
  mm.append_metrics(snap);
  const auto* util = snap.find("omega_swarm_memory_utilization");
  REQUIRE(util != nullptr);
  REQUIRE(util->series.size() == 1);
  CHECK(std::get<double>(util->series[0].value) == 0.25);
  CHECK(util->series[0].labels == omega::MetricLabels{{"policy", "WTinyLFU"}});
  const auto* allocs = snap.find("omega_swarm_memory_allocations_total");
  REQUIRE(allocs != nullptr);
  CHECK(std::get<std::uint64_t>(allocs->series[0].value) == 1);
  const auto* refused = snap.find("omega_swarm_memory_refused_total");
  REQUIRE(refused != nullptr);
  REQUIRE(refused->series.size() == 3);
  CHECK(std::get<std::uint64_t>(refused->series[2].value) == 1);  // bounds
  CHECK(snap.to_prometheus().find("omega_swarm_memory_reads_total{policy=\"WTinyLFU\"} 1") != std::string::npos);
}

TEST_CASE("concurrent agents keep the pool consistent", "[swarm_memory]") {
  if constexpr (!omega::kHasThreads) {
    SUCCEED("single-threaded target");
    return;
  }
  constexpr int kThreads = 4;
  MemoryConfig c = small_pool(EvictionPolicy::WTinyLFU, 24);
  c.per_agent_limit = 8 * kRegion;
  MemoryManager mm(c);
  const int rounds = 100000;  // about 1 s under TSan
  std::atomic<int> corrupt{0};
  omega::test::run_threads(kThreads, [&](int id) {
    OmegaRng rng(static_cast<std::uint64_t>(id) + 1);
    const AgentId me{static_cast<std::uint32_t>(id + 1)};
    std::vector<RegionId> mine;
    std::vector<std::byte> pattern(64), back(64);
    for (int i = 0; i < rounds; ++i) {
      const auto op = rng.gen_range(10);
      if (op < 3 || mine.empty()) {
        if (auto r = mm.allocate(me, 64)) mine.push_back(*r);
      } else {
        const std::size_t at = rng.gen_range(mine.size());
        const RegionId r = mine[at];
        if (op < 6) {
          // Pinned, nobody can evict it between the write and the read.
          if (!mm.pin(r)) {
            mine.erase(mine.begin() + static_cast<std::ptrdiff_t>(at));
            continue;
          }
          std::fill(pattern.begin(), pattern.end(), static_cast<std::byte>(i));
          (void)mm.write(r, pattern);
          (void)mm.read(r, back);
          if (back != pattern) corrupt.fetch_add(1);
          (void)mm.unpin(r);
        } else if (op < 8) {
          (void)mm.free(r);
          mine.erase(mine.begin() + static_cast<std::ptrdiff_t>(at));
        } else if (op < 9) {
          const AgentId other{static_cast<std::uint32_t>((id + 1) % kThreads + 1)};
          (void)mm.transfer(r, other);
          mine.erase(mine.begin() + static_cast<std::ptrdiff_t>(at));
        } else {
          (void)mm.view(r);
          (void)mm.stats();
        }
      }
    }
  });
  CHECK(corrupt.load() == 0);
  const auto s = mm.stats();
  CHECK(s.regions_used == s.allocations - s.frees - s.evictions - s.gc_reclaimed);
  std::size_t owned = 0;
  for (int id = 0; id < kThreads; ++id) {
    const AgentId a{static_cast<std::uint32_t>(id + 1)};
    owned += mm.agent_bytes(a);
    CHECK(mm.agent_bytes(a) <= c.per_agent_limit);
    CHECK(mm.regions_of(a).size() * kRegion == mm.agent_bytes(a));
  }
  CHECK(owned == s.reserved_bytes);
  CHECK(s.regions_pinned == 0);
  CHECK(s.evictions > 0);
}
