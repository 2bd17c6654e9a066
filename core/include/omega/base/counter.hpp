#pragma once
// The two lock-free metric primitives a component embeds in its own state: recording is a
// relaxed atomic on the metric's own cache line. Collecting them into a snapshot (names,
// labels, JSON, Prometheus) is omega/base/metrics.hpp's job.
#include <atomic>
#include <cstdint>

#include <omega/base/cache.hpp>

namespace omega {

// Monotonic event count. Relaxed adds on its own cache line: recording never contends with
// neighbouring data, only with other writers of the same counter.
class alignas(kCacheLine) Counter {
 public:
  void add(std::uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
  [[nodiscard]] std::uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

// A value that goes up and down (queue depth, active threads).
class alignas(kCacheLine) Gauge {
 public:
  void set(std::int64_t v) noexcept { value_.store(v, std::memory_order_relaxed); }
  void add(std::int64_t d) noexcept { value_.fetch_add(d, std::memory_order_relaxed); }
  [[nodiscard]] std::int64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> value_{0};
};

}  // namespace omega
