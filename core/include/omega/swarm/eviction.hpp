#pragma once
// Cache eviction policies (seed 004: LRU, LFU, FIFO, TTL; issue 14: W-TinyLFU as a fifth),
// as one key-based tracker the MemoryManager drives with region slots and the benchmark and
// the property test drive with plain keys.
//
//   omega::swarm::EvictionTracker t(EvictionPolicy::WTinyLFU, /*key_limit=*/100'000, /*capacity=*/1'000);
//   bool hit = t.touch(key);            // a cache access: hit, or evict if full and insert
//   t.on_insert(k); t.on_access(k);     // or drive it by hand
//   std::optional<Key> v = t.victim();  // who goes next; t.on_remove(*v) evicts it
//
// Contracts:
// - Keys are dense: 0 <= key < key_limit (node storage is an array indexed by key, so no
//   hashing on the hot path). At most `capacity` keys are tracked at once.
// - Every operation is O(1) with nothing pinned. A pinned key stays where the policy put it
//   and is skipped by victim(): victim() costs O(1 + pinned keys it walks past).
// - The tracker never decides on its own to drop a key: victim() only names one, and the
//   caller removes it with on_remove() (evict() does both). Eviction therefore happens before
//   the insert that needs room, which is what a pool with fixed regions needs.
// - Orders (the victim is the first unpinned key in this order):
//     LRU      least recently inserted-or-used first (on_access and on_update are uses).
//     LFU      lowest use count first (insert counts 1, each use +1), ties least recently used
//              (frequency buckets, each an LRU list: O(1) per use).
//     FIFO     insertion order; uses change nothing.
//     TTL      expire-after-write: a key's life restarts at on_insert and on_update, so the
//              least recently written key is the one whose deadline comes first. With one ttl
//              for all keys, "expired first" is "oldest write first"; the clock itself is the
//              caller's (MemoryManager::garbage_collect reclaims what is past ttl).
//     WTinyLFU Caffeine's design, written from its papers' description: a window LRU
//              (1% of capacity, at least 1) that every new key enters; a main SLRU (probation
//              and protected, protected at most 80% of main). A key leaving the window is a
//              candidate; when room is needed it competes with the probation LRU key (or the
//              protected LRU key when probation is empty) and the one with the lower estimated
//              frequency goes (ties: the candidate goes). Frequencies come from a count-min
//              sketch of 4-bit counters (4 probes per key) over every insert and use, halved
//              after 10 * capacity additions so old popularity fades. A probation key that is
//              used moves to protected; protected overflow demotes its LRU key to probation.
//              Not included: Caffeine's doorkeeper and its hill-climbing of the window size
//              (fixed at 1%).
// - Not thread-safe: the owner serialises calls (MemoryManager holds its mutex).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace omega::swarm {

enum class EvictionPolicy : std::uint8_t { LRU, LFU, FIFO, TTL, WTinyLFU };
[[nodiscard]] std::string_view to_string(EvictionPolicy p) noexcept;
inline constexpr EvictionPolicy kEvictionPolicies[] = {EvictionPolicy::LRU, EvictionPolicy::LFU, EvictionPolicy::FIFO,
                                                       EvictionPolicy::TTL, EvictionPolicy::WTinyLFU};

// Count-min sketch of 4-bit saturating counters, 16 to a 64-bit word, 4 probes per key.
// frequency() never underestimates a key's additions since the last halving (capped at 15).
class FrequencySketch {
 public:
  // About 16 counters per expected distinct hot key; halves every 10 * capacity additions.
  explicit FrequencySketch(std::size_t capacity, std::uint64_t seed = 0x9E3779B97F4A7C15ull);
  void increment(std::uint64_t key) noexcept;
  [[nodiscard]] std::uint32_t frequency(std::uint64_t key) const noexcept;
  [[nodiscard]] std::uint64_t halvings() const noexcept { return halvings_; }
  [[nodiscard]] std::size_t counters() const noexcept { return table_.size() * 16; }
  [[nodiscard]] std::uint64_t sample_size() const noexcept { return sample_size_; }

 private:
  void halve() noexcept;
  std::vector<std::uint64_t> table_;
  std::uint64_t mask_;  // counters - 1 (a power of two)
  std::uint64_t seed_;
  std::uint64_t sample_size_;
  std::uint64_t additions_ = 0;
  std::uint64_t halvings_ = 0;
};

class EvictionTracker {
 public:
  using Key = std::uint32_t;

  // Aborts when capacity == 0 or key_limit == 0 or key_limit >= 2^32 - 1 (programming errors).
  EvictionTracker(EvictionPolicy policy, std::size_t key_limit, std::size_t capacity);

  // The key must be untracked and size() < capacity() (debug-checked). `identity` is what the
  // W-TinyLFU sketch counts: the caller's object id when keys are reused storage slots, so
  // one slot's history does not carry over to the next object in it.
  void on_insert(Key key) { on_insert(key, key); }
  void on_insert(Key key, std::uint64_t identity);
  void on_access(Key key);  // a read of a tracked key
  void on_update(Key key);  // a write: TTL restarts the key's life; elsewhere the same as on_access
  void on_remove(Key key);  // freed or evicted; the key may be inserted again later
  void set_pinned(Key key, bool pinned);

  [[nodiscard]] std::optional<Key> victim() const;
  std::optional<Key> evict();  // victim(), removed
  // One cache access: a tracked key is used (true: hit); an untracked one is inserted after
  // evicting the victim when full (false: miss; when everything is pinned it is not inserted).
  bool touch(Key key);

  [[nodiscard]] bool contains(Key key) const noexcept { return key < nodes_.size() && nodes_[key].where != Where::None; }
  [[nodiscard]] bool pinned(Key key) const noexcept { return contains(key) && nodes_[key].pinned; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
  [[nodiscard]] std::size_t key_limit() const noexcept { return nodes_.size(); }
  [[nodiscard]] EvictionPolicy policy() const noexcept { return policy_; }

  // Introspection for tests and metrics.
  [[nodiscard]] std::uint64_t use_count(Key key) const;  // LFU: the key's count; 0 elsewhere or untracked
  [[nodiscard]] std::uint32_t estimated_frequency(Key key) const;  // WTinyLFU: the sketch's estimate
  struct Segments {
    std::size_t window = 0, probation = 0, protected_ = 0;
    std::size_t window_max = 0, protected_max = 0;
  };
  [[nodiscard]] Segments segments() const noexcept;  // WTinyLFU; zeros elsewhere
  enum class Segment : std::uint8_t { None, Window, Probation, Protected };
  [[nodiscard]] Segment segment(Key key) const noexcept;  // WTinyLFU; None elsewhere
  [[nodiscard]] std::size_t lfu_buckets() const noexcept { return live_buckets_; }

 private:
  static constexpr std::uint32_t kNil = 0xFFFFFFFFu;
  enum class Where : std::uint8_t { None, Queue, Bucket, Window, Probation, Protected };
  struct Node {
    std::uint32_t prev = kNil;
    std::uint32_t next = kNil;
    std::uint32_t bucket = kNil;  // LFU: index into buckets_
    Where where = Where::None;
    bool pinned = false;
    std::uint64_t identity = 0;  // WTinyLFU: the sketch's key
  };
  struct List {
    std::uint32_t head = kNil;  // the eviction end (oldest)
    std::uint32_t tail = kNil;  // the most recent end
    std::uint32_t size = 0;
  };
  struct Bucket {
    List items;
    std::uint64_t count = 0;
    std::uint32_t prev = kNil;  // buckets in ascending count
    std::uint32_t next = kNil;
  };

  void push_back(List& list, Key key) noexcept;
  void unlink(List& list, Key key) noexcept;
  List& list_of(Key key) noexcept;
  [[nodiscard]] std::optional<Key> first_unpinned(const List& list) const noexcept;
  std::uint32_t new_bucket(std::uint64_t count, std::uint32_t after) noexcept;  // after == kNil: at the front
  void drop_bucket_if_empty(std::uint32_t b) noexcept;
  void lfu_use(Key key) noexcept;
  void tinylfu_use(Key key) noexcept;

  EvictionPolicy policy_;
  std::size_t capacity_;
  std::size_t size_ = 0;
  std::vector<Node> nodes_;
  List queue_;  // LRU, FIFO, TTL
  // LFU
  std::vector<Bucket> buckets_;
  std::vector<std::uint32_t> free_buckets_;
  std::uint32_t lowest_bucket_ = kNil;
  std::size_t live_buckets_ = 0;
  // WTinyLFU
  List window_, probation_, protected_;
  std::size_t window_max_ = 0;
  std::size_t protected_max_ = 0;
  std::optional<FrequencySketch> sketch_;
};

}  // namespace omega::swarm
