#include <omega/swarm/eviction.hpp>

#include <algorithm>

#include <omega/base/assert.hpp>

namespace omega::swarm {

std::string_view to_string(EvictionPolicy p) noexcept {
  switch (p) {
    case EvictionPolicy::LRU: return "LRU";
    case EvictionPolicy::LFU: return "LFU";
    case EvictionPolicy::FIFO: return "FIFO";
    case EvictionPolicy::TTL: return "TTL";
    case EvictionPolicy::WTinyLFU: return "WTinyLFU";
  }
  return "Unknown";
}

namespace {

std::uint64_t mix64(std::uint64_t x) noexcept {  // splitmix64's finaliser
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

std::uint64_t next_pow2(std::uint64_t v) noexcept {
  std::uint64_t p = 1;
  while (p < v) p <<= 1;
  return p;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// FrequencySketch

FrequencySketch::FrequencySketch(std::size_t capacity, std::uint64_t seed)
    : table_(next_pow2(std::max<std::size_t>(capacity, 4))),
      mask_(table_.size() * 16 - 1),
      seed_(seed),
      sample_size_(10 * static_cast<std::uint64_t>(std::max<std::size_t>(capacity, 1))) {}

void FrequencySketch::increment(std::uint64_t key) noexcept {
  // Four probes by double hashing from one 64-bit mix; h2 odd so the probes differ.
  const std::uint64_t h1 = mix64(key ^ seed_);
  const std::uint64_t h2 = mix64(h1) | 1;
  bool added = false;
  for (std::uint64_t i = 0; i < 4; ++i) {
    const std::uint64_t index = (h1 + i * h2) & mask_;
    std::uint64_t& word = table_[index >> 4];
    const unsigned shift = static_cast<unsigned>(index & 15) * 4;
    if (((word >> shift) & 0xF) != 0xF) {
      word += std::uint64_t{1} << shift;
      added = true;
    }
  }
  if (added && ++additions_ >= sample_size_) halve();
}

std::uint32_t FrequencySketch::frequency(std::uint64_t key) const noexcept {
  const std::uint64_t h1 = mix64(key ^ seed_);
  const std::uint64_t h2 = mix64(h1) | 1;
  std::uint32_t f = 15;
  for (std::uint64_t i = 0; i < 4; ++i) {
    const std::uint64_t index = (h1 + i * h2) & mask_;
    const unsigned shift = static_cast<unsigned>(index & 15) * 4;
    f = std::min(f, static_cast<std::uint32_t>((table_[index >> 4] >> shift) & 0xF));
  }
  return f;
}

// Every counter halves at once (the mask drops the bit each counter shifts into its
// neighbour), so popularity decays with age; O(counters / 16) every sample_size additions.
void FrequencySketch::halve() noexcept {
  for (std::uint64_t& word : table_) word = (word >> 1) & 0x7777777777777777ull;
  additions_ /= 2;
  ++halvings_;
}

// ---------------------------------------------------------------------------------------------
// EvictionTracker

EvictionTracker::EvictionTracker(EvictionPolicy policy, std::size_t key_limit, std::size_t capacity)
    : policy_(policy), capacity_(capacity) {
  OMEGA_ASSERT(capacity > 0, "an eviction tracker needs room for one key");
  OMEGA_ASSERT(key_limit > 0 && key_limit < kNil, "keys must fit below the nil index");
  nodes_.resize(key_limit);
  if (policy == EvictionPolicy::LFU) {
    // At most one non-empty bucket per tracked key, plus one being created before its
    // predecessor is dropped.
    const std::size_t n = std::min(capacity, key_limit) + 1;
    buckets_.resize(n);
    free_buckets_.reserve(n);
    for (std::size_t i = n; i-- > 0;) free_buckets_.push_back(static_cast<std::uint32_t>(i));
  } else if (policy == EvictionPolicy::WTinyLFU) {
    window_max_ = std::max<std::size_t>(1, capacity / 100);
    const std::size_t main_max = capacity - std::min(capacity, window_max_);
    protected_max_ = main_max * 8 / 10;
    sketch_.emplace(capacity);
  }
}

void EvictionTracker::push_back(List& list, Key key) noexcept {
  Node& n = nodes_[key];
  n.prev = list.tail;
  n.next = kNil;
  if (list.tail != kNil) {
    nodes_[list.tail].next = key;
  } else {
    list.head = key;
  }
  list.tail = key;
  ++list.size;
}

void EvictionTracker::unlink(List& list, Key key) noexcept {
  Node& n = nodes_[key];
  if (n.prev != kNil) {
    nodes_[n.prev].next = n.next;
  } else {
    list.head = n.next;
  }
  if (n.next != kNil) {
    nodes_[n.next].prev = n.prev;
  } else {
    list.tail = n.prev;
  }
  n.prev = n.next = kNil;
  --list.size;
}

EvictionTracker::List& EvictionTracker::list_of(Key key) noexcept {
  switch (nodes_[key].where) {
    case Where::Bucket: return buckets_[nodes_[key].bucket].items;
    case Where::Window: return window_;
    case Where::Probation: return probation_;
    case Where::Protected: return protected_;
    case Where::Queue:
    case Where::None: break;
  }
  return queue_;
}

std::optional<EvictionTracker::Key> EvictionTracker::first_unpinned(const List& list) const noexcept {
  for (std::uint32_t k = list.head; k != kNil; k = nodes_[k].next) {
    if (!nodes_[k].pinned) return k;
  }
  return std::nullopt;
}

std::uint32_t EvictionTracker::new_bucket(std::uint64_t count, std::uint32_t after) noexcept {
  OMEGA_DASSERT(!free_buckets_.empty(), "LFU bucket pool exhausted");
  const std::uint32_t b = free_buckets_.back();
  free_buckets_.pop_back();
  Bucket& bucket = buckets_[b];
  bucket.items = List{};
  bucket.count = count;
  bucket.prev = after;
  bucket.next = after == kNil ? lowest_bucket_ : buckets_[after].next;
  if (bucket.next != kNil) buckets_[bucket.next].prev = b;
  if (after == kNil) {
    lowest_bucket_ = b;
  } else {
    buckets_[after].next = b;
  }
  ++live_buckets_;
  return b;
}

void EvictionTracker::drop_bucket_if_empty(std::uint32_t b) noexcept {
  Bucket& bucket = buckets_[b];
  if (bucket.items.size != 0) return;
  if (bucket.prev != kNil) {
    buckets_[bucket.prev].next = bucket.next;
  } else {
    lowest_bucket_ = bucket.next;
  }
  if (bucket.next != kNil) buckets_[bucket.next].prev = bucket.prev;
  free_buckets_.push_back(b);
  --live_buckets_;
}

void EvictionTracker::on_insert(Key key, std::uint64_t identity) {
  OMEGA_DASSERT(key < nodes_.size(), "key out of range");
  OMEGA_DASSERT(nodes_[key].where == Where::None, "key already tracked");
  OMEGA_DASSERT(size_ < capacity_, "tracker full: remove a victim first");
  Node& n = nodes_[key];
  n.pinned = false;
  n.identity = identity;
  ++size_;
  switch (policy_) {
    case EvictionPolicy::LRU:
    case EvictionPolicy::FIFO:
    case EvictionPolicy::TTL:
      n.where = Where::Queue;
      push_back(queue_, key);
      break;
    case EvictionPolicy::LFU: {
      std::uint32_t b = lowest_bucket_;
      if (b == kNil || buckets_[b].count != 1) b = new_bucket(1, kNil);
      n.where = Where::Bucket;
      n.bucket = b;
      push_back(buckets_[b].items, key);
      break;
    }
    case EvictionPolicy::WTinyLFU:
      sketch_->increment(identity);
      n.where = Where::Window;
      push_back(window_, key);
      if (window_.size > window_max_) {
        // The window's LRU key leaves it as a candidate for main. Room was made before this
        // insert (victim() already weighed that candidate), so nothing is dropped here.
        const Key c = window_.head;
        unlink(window_, c);
        nodes_[c].where = Where::Probation;
        push_back(probation_, c);
      }
      break;
  }
}

void EvictionTracker::lfu_use(Key key) noexcept {
  Node& n = nodes_[key];
  const std::uint32_t from = n.bucket;
  const std::uint64_t count = buckets_[from].count;
  if (count == UINT64_MAX) {  // saturated: stays, most recent in its bucket
    unlink(buckets_[from].items, key);
    push_back(buckets_[from].items, key);
    return;
  }
  std::uint32_t to = buckets_[from].next;
  if (to == kNil || buckets_[to].count != count + 1) to = new_bucket(count + 1, from);
  unlink(buckets_[from].items, key);
  n.bucket = to;
  push_back(buckets_[to].items, key);
  drop_bucket_if_empty(from);
}

void EvictionTracker::tinylfu_use(Key key) noexcept {
  Node& n = nodes_[key];
  sketch_->increment(n.identity);
  switch (n.where) {
    case Where::Window:
      unlink(window_, key);
      push_back(window_, key);
      break;
    case Where::Probation:
      unlink(probation_, key);
      n.where = Where::Protected;
      push_back(protected_, key);
      if (protected_.size > protected_max_) {
        const Key d = protected_.head;
        unlink(protected_, d);
        nodes_[d].where = Where::Probation;
        push_back(probation_, d);
      }
      break;
    case Where::Protected:
      unlink(protected_, key);
      push_back(protected_, key);
      break;
    default: break;
  }
}

void EvictionTracker::on_access(Key key) {
  OMEGA_DASSERT(contains(key), "access to an untracked key");
  switch (policy_) {
    case EvictionPolicy::LRU:
      unlink(queue_, key);
      push_back(queue_, key);
      break;
    case EvictionPolicy::LFU: lfu_use(key); break;
    case EvictionPolicy::FIFO:
    case EvictionPolicy::TTL: break;
    case EvictionPolicy::WTinyLFU: tinylfu_use(key); break;
  }
}

void EvictionTracker::on_update(Key key) {
  OMEGA_DASSERT(contains(key), "update of an untracked key");
  if (policy_ == EvictionPolicy::TTL) {
    unlink(queue_, key);
    push_back(queue_, key);
    return;
  }
  on_access(key);
}

void EvictionTracker::on_remove(Key key) {
  OMEGA_DASSERT(contains(key), "removal of an untracked key");
  Node& n = nodes_[key];
  const std::uint32_t bucket = n.bucket;
  unlink(list_of(key), key);
  if (n.where == Where::Bucket) drop_bucket_if_empty(bucket);
  n.where = Where::None;
  n.bucket = kNil;
  n.pinned = false;
  --size_;
}

void EvictionTracker::set_pinned(Key key, bool pinned) {
  OMEGA_DASSERT(contains(key), "pin of an untracked key");
  nodes_[key].pinned = pinned;
}

std::optional<EvictionTracker::Key> EvictionTracker::victim() const {
  switch (policy_) {
    case EvictionPolicy::LRU:
    case EvictionPolicy::FIFO:
    case EvictionPolicy::TTL: return first_unpinned(queue_);
    case EvictionPolicy::LFU:
      for (std::uint32_t b = lowest_bucket_; b != kNil; b = buckets_[b].next) {
        if (auto k = first_unpinned(buckets_[b].items)) return k;
      }
      return std::nullopt;
    case EvictionPolicy::WTinyLFU: {
      // The candidate is the key the next insert pushes out of the window; only a full
      // window has one.
      std::optional<Key> candidate;
      if (window_.size >= window_max_) candidate = first_unpinned(window_);
      std::optional<Key> main = first_unpinned(probation_);
      if (!main) main = first_unpinned(protected_);
      if (candidate && main) {
        const std::uint32_t fc = sketch_->frequency(nodes_[*candidate].identity);
        const std::uint32_t fm = sketch_->frequency(nodes_[*main].identity);
        return fc > fm ? main : candidate;
      }
      if (candidate) return candidate;
      if (main) return main;
      return first_unpinned(window_);
    }
  }
  return std::nullopt;
}

std::optional<EvictionTracker::Key> EvictionTracker::evict() {
  auto v = victim();
  if (v) on_remove(*v);
  return v;
}

bool EvictionTracker::touch(Key key) {
  if (contains(key)) {
    on_access(key);
    return true;
  }
  if (size_ >= capacity_ && !evict()) return false;
  on_insert(key);
  return false;
}

std::uint64_t EvictionTracker::use_count(Key key) const {
  if (policy_ != EvictionPolicy::LFU || !contains(key)) return 0;
  return buckets_[nodes_[key].bucket].count;
}

std::uint32_t EvictionTracker::estimated_frequency(Key key) const {
  if (!sketch_ || !contains(key)) return 0;
  return sketch_->frequency(nodes_[key].identity);
}

EvictionTracker::Segments EvictionTracker::segments() const noexcept {
  if (policy_ != EvictionPolicy::WTinyLFU) return {};
  return Segments{window_.size, probation_.size, protected_.size, window_max_, protected_max_};
}

EvictionTracker::Segment EvictionTracker::segment(Key key) const noexcept {
  if (!contains(key)) return Segment::None;
  switch (nodes_[key].where) {
    case Where::Window: return Segment::Window;
    case Where::Probation: return Segment::Probation;
    case Where::Protected: return Segment::Protected;
    default: return Segment::None;
  }
}

}  // namespace omega::swarm
