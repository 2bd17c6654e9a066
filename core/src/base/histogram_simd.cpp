// Highway kernels for the histogram: compiled once per SIMD target natively (runtime
// dispatch picks the best the CPU has), once for WASM SIMD128 in the browser.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "base/histogram_simd.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep

#include <hwy/highway.h>

#include <algorithm>

#include "base/histogram_simd.hpp"

HWY_BEFORE_NAMESPACE();
namespace omega::detail::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

void AddCounts(std::uint64_t* HWY_RESTRICT dst, const std::uint64_t* HWY_RESTRICT src, std::size_t n) {
  const hn::ScalableTag<std::uint64_t> d;
  const std::size_t lanes = hn::Lanes(d);
  std::size_t i = 0;
  // Four vectors per step: with 2-lane vectors (SIMD128) a single-vector loop is
  // loop-overhead bound and loses to the compiler's own unrolled scalar code.
  for (; i + 4 * lanes <= n; i += 4 * lanes) {
    const auto a0 = hn::Add(hn::LoadU(d, dst + i), hn::LoadU(d, src + i));
    const auto a1 = hn::Add(hn::LoadU(d, dst + i + lanes), hn::LoadU(d, src + i + lanes));
    const auto a2 = hn::Add(hn::LoadU(d, dst + i + 2 * lanes), hn::LoadU(d, src + i + 2 * lanes));
    const auto a3 = hn::Add(hn::LoadU(d, dst + i + 3 * lanes), hn::LoadU(d, src + i + 3 * lanes));
    hn::StoreU(a0, d, dst + i);
    hn::StoreU(a1, d, dst + i + lanes);
    hn::StoreU(a2, d, dst + i + 2 * lanes);
    hn::StoreU(a3, d, dst + i + 3 * lanes);
  }
  for (; i + lanes <= n; i += lanes) {
    hn::StoreU(hn::Add(hn::LoadU(d, dst + i), hn::LoadU(d, src + i)), d, dst + i);
  }
  for (; i < n; ++i) dst[i] += src[i];
}

HWY_INLINE std::uint64_t SumBlock(const std::uint64_t* HWY_RESTRICT p, std::size_t n) {
  const hn::ScalableTag<std::uint64_t> d;
  const std::size_t lanes = hn::Lanes(d);
  auto acc0 = hn::Zero(d);
  auto acc1 = hn::Zero(d);
  auto acc2 = hn::Zero(d);
  auto acc3 = hn::Zero(d);
  std::size_t i = 0;
  for (; i + 4 * lanes <= n; i += 4 * lanes) {
    acc0 = hn::Add(acc0, hn::LoadU(d, p + i));
    acc1 = hn::Add(acc1, hn::LoadU(d, p + i + lanes));
    acc2 = hn::Add(acc2, hn::LoadU(d, p + i + 2 * lanes));
    acc3 = hn::Add(acc3, hn::LoadU(d, p + i + 3 * lanes));
  }
  for (; i + lanes <= n; i += lanes) acc0 = hn::Add(acc0, hn::LoadU(d, p + i));
  std::uint64_t total = hn::GetLane(hn::SumOfLanes(d, hn::Add(hn::Add(acc0, acc1), hn::Add(acc2, acc3))));
  for (; i < n; ++i) total += p[i];
  return total;
}

std::uint64_t SumCounts(const std::uint64_t* HWY_RESTRICT counts, std::size_t n) { return SumBlock(counts, n); }

void FindRanks(const std::uint64_t* HWY_RESTRICT counts, std::size_t n, const std::uint64_t* HWY_RESTRICT ranks,
               std::size_t k, std::size_t* HWY_RESTRICT out) {
  // Latency histograms are sparse: most 64-bucket blocks hold nothing or lie wholly before
  // the next rank, and are passed with one vector sum instead of 64 scalar adds.
  constexpr std::size_t kBlock = 64;
  std::size_t r = 0;
  std::size_t i = 0;
  std::uint64_t running = 0;
  while (r < k && i < n) {
    const std::size_t len = std::min(kBlock, n - i);
    const std::uint64_t block = SumBlock(counts + i, len);
    if (running + block < ranks[r]) {
      running += block;
      i += len;
      continue;
    }
    for (const std::size_t end = i + len; i < end; ++i) {
      running += counts[i];
      while (r < k && running >= ranks[r]) out[r++] = i;
    }
  }
  for (; r < k; ++r) out[r] = n == 0 ? 0 : n - 1;  // ranks past the total: the last bucket
}

const char* TargetNameOf() { return hwy::TargetName(HWY_TARGET); }

}  // namespace omega::detail::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace omega::detail {

HWY_EXPORT(AddCounts);
HWY_EXPORT(SumCounts);
HWY_EXPORT(FindRanks);
HWY_EXPORT(TargetNameOf);

void add_counts(std::uint64_t* dst, const std::uint64_t* src, std::size_t n) noexcept {
  HWY_DYNAMIC_DISPATCH(AddCounts)(dst, src, n);
}
std::uint64_t sum_counts(const std::uint64_t* counts, std::size_t n) noexcept {
  return HWY_DYNAMIC_DISPATCH(SumCounts)(counts, n);
}
void find_ranks(const std::uint64_t* counts, std::size_t n, const std::uint64_t* ranks, std::size_t k,
                std::size_t* out) noexcept {
  HWY_DYNAMIC_DISPATCH(FindRanks)(counts, n, ranks, k, out);
}
const char* simd_target_name() noexcept { return HWY_DYNAMIC_DISPATCH(TargetNameOf)(); }

void add_counts_scalar(std::uint64_t* dst, const std::uint64_t* src, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) dst[i] += src[i];
}
std::uint64_t sum_counts_scalar(const std::uint64_t* counts, std::size_t n) noexcept {
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < n; ++i) total += counts[i];
  return total;
}
void find_ranks_scalar(const std::uint64_t* counts, std::size_t n, const std::uint64_t* ranks, std::size_t k,
                       std::size_t* out) noexcept {
  std::size_t r = 0;
  std::uint64_t running = 0;
  for (std::size_t i = 0; i < n && r < k; ++i) {
    running += counts[i];
    while (r < k && running >= ranks[r]) out[r++] = i;
  }
  for (; r < k; ++r) out[r] = n == 0 ? 0 : n - 1;
}

}  // namespace omega::detail
#endif  // HWY_ONCE
