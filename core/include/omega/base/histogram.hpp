#pragma once
// Log-linear latency histogram (HDR-style).
//
// Layout: values below 2^kSubBucketBits each have their own bucket; above that, every
// power-of-two range [2^m, 2^(m+1)) is split into 2^kSubBucketBits equal buckets. A bucket's
// width is therefore at most 2^-kSubBucketBits of its lower bound, and a percentile reported
// as the bucket midpoint is within kMaxRelativeError (1/256 with 7 sub-bucket bits) of the
// true sample at that rank. Values of 2^kMaxExponent ns (~4.9 h) and more are clamped into
// the last bucket and counted as saturated; min and max stay exact.
//
// Histogram records concurrently (wait-free: relaxed atomic adds, no locks) and is read
// through snapshot(). HistogramSnapshot is a plain value: mergeable, and queried for
// percentiles. Its bulk merge and percentile scans run on SIMD through Google Highway
// (runtime dispatch natively, the WASM SIMD128 target in the browser).
#include <array>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace omega {

struct HistogramLayout {
  static constexpr unsigned kSubBucketBits = 7;
  static constexpr std::uint64_t kSubBucketCount = std::uint64_t{1} << kSubBucketBits;
  static constexpr unsigned kMaxExponent = 44;
  static constexpr std::uint64_t kMaxTrackable = (std::uint64_t{1} << kMaxExponent) - 1;
  static constexpr std::size_t kBucketCount = (kMaxExponent - kSubBucketBits + 1) * kSubBucketCount;
  static constexpr double kMaxRelativeError = 1.0 / static_cast<double>(2 * kSubBucketCount);

  [[nodiscard]] static constexpr std::size_t index_of(std::uint64_t value) noexcept {
    if (value > kMaxTrackable) value = kMaxTrackable;
    if (value < kSubBucketCount) return static_cast<std::size_t>(value);
    const unsigned msb = 63U - static_cast<unsigned>(std::countl_zero(value));
    const unsigned shift = msb - kSubBucketBits;
    return static_cast<std::size_t>(((std::uint64_t{shift} + 1) << kSubBucketBits) +
                                    ((value >> shift) - kSubBucketCount));
  }
  // Smallest value that maps to bucket `index`.
  [[nodiscard]] static constexpr std::uint64_t lower_bound(std::size_t index) noexcept {
    const std::uint64_t block = index >> kSubBucketBits;
    if (block == 0) return index;
    return (kSubBucketCount + (index & (kSubBucketCount - 1))) << (block - 1);
  }
  // Number of distinct values that map to bucket `index`.
  [[nodiscard]] static constexpr std::uint64_t width(std::size_t index) noexcept {
    const std::uint64_t block = index >> kSubBucketBits;
    return block == 0 ? 1 : std::uint64_t{1} << (block - 1);
  }
  // Largest value that maps to bucket `index`.
  [[nodiscard]] static constexpr std::uint64_t upper_bound(std::size_t index) noexcept {
    return lower_bound(index) + width(index) - 1;
  }
  [[nodiscard]] static constexpr std::uint64_t midpoint(std::size_t index) noexcept {
    return lower_bound(index) + (width(index) - 1) / 2;
  }
};

// The percentiles every report in this project shows.
struct Percentiles {
  std::uint64_t count = 0;
  std::uint64_t min = 0;
  std::uint64_t p50 = 0;
  std::uint64_t p90 = 0;
  std::uint64_t p99 = 0;
  std::uint64_t p999 = 0;
  std::uint64_t max = 0;
  double mean = 0;
};

class HistogramSnapshot {
 public:
  HistogramSnapshot();

  [[nodiscard]] std::uint64_t count() const noexcept { return count_; }
  [[nodiscard]] std::uint64_t sum() const noexcept { return sum_; }  // modulo 2^64 (584 years of ns)
  [[nodiscard]] std::uint64_t min() const noexcept { return count_ ? min_ : 0; }
  [[nodiscard]] std::uint64_t max() const noexcept { return max_; }
  [[nodiscard]] std::uint64_t saturated() const noexcept { return saturated_; }
  [[nodiscard]] double mean() const noexcept;
  [[nodiscard]] std::span<const std::uint64_t> buckets() const noexcept { return counts_; }

  // Value at quantile q in [0, 1] (nearest rank, ceil(q * count)): the midpoint of the
  // bucket holding that rank, clamped to [min, max]. q <= 0 gives min, q >= 1 gives max;
  // an empty snapshot gives 0. NaN is a caller bug (asserted).
  [[nodiscard]] std::uint64_t value_at_quantile(double q) const noexcept;
  // Several quantiles in one SIMD scan; `quantiles` need not be sorted.
  void values_at_quantiles(std::span<const double> quantiles, std::span<std::uint64_t> out) const;
  [[nodiscard]] Percentiles percentiles() const;

  // Adds other's samples to this one, as if both had been recorded into one histogram.
  void merge(const HistogramSnapshot& other) noexcept;

 private:
  friend class Histogram;
  std::vector<std::uint64_t> counts_;
  std::uint64_t count_ = 0;
  std::uint64_t sum_ = 0;
  std::uint64_t min_ = ~std::uint64_t{0};
  std::uint64_t max_ = 0;
  std::uint64_t saturated_ = 0;
};

class Histogram {
 public:
  Histogram();
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  // Safe from any number of threads at once; never blocks, never allocates.
  void record(std::uint64_t value) noexcept { record_n(value, 1); }
  void record_n(std::uint64_t value, std::uint64_t n) noexcept;
  // Adds a snapshot's samples (e.g. another thread's histogram), exactly: same buckets, same
  // extremes, same sum. Safe concurrently with record().
  void merge(const HistogramSnapshot& other) noexcept;

  // A consistent-enough copy: each bucket is read atomically, but samples recorded while the
  // copy runs may be partly included. count() of the snapshot is the sum of its buckets.
  [[nodiscard]] HistogramSnapshot snapshot() const;
  // Not atomic with respect to concurrent record(): call it while recorders are quiet.
  void reset() noexcept;

 private:
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;
  std::atomic<std::uint64_t> sum_{0};
  std::atomic<std::uint64_t> min_{~std::uint64_t{0}};
  std::atomic<std::uint64_t> max_{0};
  std::atomic<std::uint64_t> saturated_{0};
};

// Name of the SIMD target the histogram kernels run on (e.g. "AVX2", "WASM").
[[nodiscard]] const char* histogram_simd_target() noexcept;

}  // namespace omega
