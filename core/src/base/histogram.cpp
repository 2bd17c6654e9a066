#include <omega/base/assert.hpp>
#include <omega/base/histogram.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>

#include "base/histogram_simd.hpp"

namespace omega {

using Layout = HistogramLayout;

namespace {
void raise_to(std::atomic<std::uint64_t>& slot, std::uint64_t v) noexcept {
  std::uint64_t seen = slot.load(std::memory_order_relaxed);
  while (v > seen && !slot.compare_exchange_weak(seen, v, std::memory_order_relaxed)) {
  }
}
void lower_to(std::atomic<std::uint64_t>& slot, std::uint64_t v) noexcept {
  std::uint64_t seen = slot.load(std::memory_order_relaxed);
  while (v < seen && !slot.compare_exchange_weak(seen, v, std::memory_order_relaxed)) {
  }
}
}  // namespace

HistogramSnapshot::HistogramSnapshot() : counts_(Layout::kBucketCount, 0) {}

double HistogramSnapshot::mean() const noexcept {
  return count_ ? static_cast<double>(sum_) / static_cast<double>(count_) : 0.0;
}

std::uint64_t HistogramSnapshot::value_at_quantile(double q) const noexcept {
  std::uint64_t v = 0;
  values_at_quantiles(std::span(&q, 1), std::span(&v, 1));
  return v;
}

void HistogramSnapshot::values_at_quantiles(std::span<const double> quantiles, std::span<std::uint64_t> out) const {
  OMEGA_ASSERT(out.size() >= quantiles.size(), "one output per quantile");
  const std::size_t k = quantiles.size();
  if (count_ == 0) {
    std::fill_n(out.begin(), k, 0);
    return;
  }
  // Ranks must be ascending for the single scan; keep each quantile's output slot.
  std::vector<std::size_t> order(k);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return quantiles[a] < quantiles[b]; });
  std::vector<std::uint64_t> ranks(k);
  for (std::size_t j = 0; j < k; ++j) {
    const double q = quantiles[order[j]];
    OMEGA_ASSERT(!std::isnan(q), "quantile is NaN");
    const double exact = std::ceil(std::clamp(q, 0.0, 1.0) * static_cast<double>(count_));
    ranks[j] = std::clamp<std::uint64_t>(static_cast<std::uint64_t>(exact), 1, count_);
  }
  std::vector<std::size_t> index(k);
  detail::find_ranks(counts_.data(), counts_.size(), ranks.data(), k, index.data());
  for (std::size_t j = 0; j < k; ++j) {
    const double q = quantiles[order[j]];
    // Clamp to the exact extremes (never std::clamp: a racing snapshot may see min_ > max_).
    std::uint64_t v = std::min(std::max(Layout::midpoint(index[j]), min_), max_);
    if (q <= 0.0) v = min_;
    if (q >= 1.0) v = max_;
    out[order[j]] = v;
  }
}

Percentiles HistogramSnapshot::percentiles() const {
  static constexpr std::array<double, 4> kQuantiles{0.5, 0.9, 0.99, 0.999};
  std::array<std::uint64_t, 4> v{};
  values_at_quantiles(kQuantiles, v);
  return Percentiles{.count = count_, .min = min(), .p50 = v[0], .p90 = v[1], .p99 = v[2], .p999 = v[3],
                     .max = max_, .mean = mean()};
}

void HistogramSnapshot::merge(const HistogramSnapshot& other) noexcept {
  detail::add_counts(counts_.data(), other.counts_.data(), counts_.size());
  count_ += other.count_;
  sum_ += other.sum_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  saturated_ += other.saturated_;
}

Histogram::Histogram() : counts_(new std::atomic<std::uint64_t>[Layout::kBucketCount]) { reset(); }

void Histogram::record_n(std::uint64_t value, std::uint64_t n) noexcept {
  if (n == 0) return;
  // min/max/sum first, bucket last with release: a snapshot that sees the bucket (acquire)
  // also sees min/max covering it.
  lower_to(min_, value);
  raise_to(max_, value);
  sum_.fetch_add(value * n, std::memory_order_relaxed);
  if (value > Layout::kMaxTrackable) [[unlikely]] {
    saturated_.fetch_add(n, std::memory_order_relaxed);
  }
  counts_[Layout::index_of(value)].fetch_add(n, std::memory_order_release);
}

void Histogram::merge(const HistogramSnapshot& other) noexcept {
  if (other.count_ == 0) return;
  lower_to(min_, other.min_);
  raise_to(max_, other.max_);
  sum_.fetch_add(other.sum_, std::memory_order_relaxed);
  saturated_.fetch_add(other.saturated_, std::memory_order_relaxed);
  for (std::size_t i = 0; i < Layout::kBucketCount; ++i) {
    if (other.counts_[i] != 0) counts_[i].fetch_add(other.counts_[i], std::memory_order_release);
  }
}

HistogramSnapshot Histogram::snapshot() const {
  HistogramSnapshot s;
  for (std::size_t i = 0; i < Layout::kBucketCount; ++i) s.counts_[i] = counts_[i].load(std::memory_order_acquire);
  s.count_ = detail::sum_counts(s.counts_.data(), s.counts_.size());
  s.sum_ = sum_.load(std::memory_order_relaxed);
  s.min_ = min_.load(std::memory_order_relaxed);
  s.max_ = max_.load(std::memory_order_relaxed);
  s.saturated_ = saturated_.load(std::memory_order_relaxed);
  return s;
}

void Histogram::reset() noexcept {
  for (std::size_t i = 0; i < Layout::kBucketCount; ++i) counts_[i].store(0, std::memory_order_relaxed);
  sum_.store(0, std::memory_order_relaxed);
  min_.store(~std::uint64_t{0}, std::memory_order_relaxed);
  max_.store(0, std::memory_order_relaxed);
  saturated_.store(0, std::memory_order_relaxed);
}

const char* histogram_simd_target() noexcept { return detail::simd_target_name(); }

}  // namespace omega
