#include <omega/base/assert.hpp>
#include <omega/base/clock.hpp>
#include <omega/base/rng.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <numbers>

namespace omega {
namespace {

std::uint64_t splitmix64(std::uint64_t& x) noexcept {
  std::uint64_t z = (x += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// Routing looks at a handful of candidates (k = max(2, floor(log2 n)) <= 64 for any
// realistic n); weights live on the stack.
constexpr std::size_t kMaxCandidates = 64;

std::size_t pick_weighted(const double* weights, std::size_t n, OmegaRng& rng) noexcept {
  double total = 0;
  for (std::size_t i = 0; i < n; ++i) total += weights[i];
  double x = rng.next_f64() * total;
  for (std::size_t i = 0; i + 1 < n; ++i) {
    if (x < weights[i]) return i;
    x -= weights[i];
  }
  return n - 1;
}

}  // namespace

OmegaRng::OmegaRng(std::uint64_t seed) noexcept {
  std::uint64_t x = seed;
  for (auto& word : s_) word = splitmix64(x);
}

OmegaRng OmegaRng::from_entropy() noexcept {
  static std::atomic<std::uint64_t> counter{0};
  const auto t = static_cast<std::uint64_t>(now_ns());
  return OmegaRng(t ^ (counter.fetch_add(1, std::memory_order_relaxed) * 0xD1B54A32D192ED03ULL));
}

namespace {
// The full 128-bit product a * b as (high, low). 64-bit targets have it in one instruction;
// wasm32 has no 128-bit multiply and would call __multi3 for `unsigned __int128`, so there
// the four 32x32 products are written out (inlined, no call). Both give identical results.
struct Product {
  std::uint64_t high;
  std::uint64_t low;
};
inline Product mul_64x64(std::uint64_t a, std::uint64_t b) noexcept {
#if defined(__SIZEOF_INT128__) && UINTPTR_MAX > 0xFFFFFFFFu
  __extension__ using U128 = unsigned __int128;
  const U128 m = static_cast<U128>(a) * b;
  return {static_cast<std::uint64_t>(m >> 64), static_cast<std::uint64_t>(m)};
#else
  const std::uint64_t a_lo = a & 0xFFFFFFFFu, a_hi = a >> 32;
  const std::uint64_t b_lo = b & 0xFFFFFFFFu, b_hi = b >> 32;
  const std::uint64_t ll = a_lo * b_lo, lh = a_lo * b_hi, hl = a_hi * b_lo, hh = a_hi * b_hi;
  const std::uint64_t mid = (ll >> 32) + (lh & 0xFFFFFFFFu) + (hl & 0xFFFFFFFFu);  // cannot overflow
  return {hh + (lh >> 32) + (hl >> 32) + (mid >> 32), (mid << 32) | (ll & 0xFFFFFFFFu)};
#endif
}
}  // namespace

// Lemire's nearly divisionless method: unbiased, one multiply in the common case.
std::uint64_t OmegaRng::gen_range(std::uint64_t n) noexcept {
  OMEGA_DASSERT(n > 0, "gen_range needs a non-empty range");
  Product m = mul_64x64(next_u64(), n);
  if (m.low < n) {
    const std::uint64_t threshold = (0 - n) % n;
    while (m.low < threshold) m = mul_64x64(next_u64(), n);
  }
  return m.high;
}

BiasStrategy BiasStrategy::for_attempt(unsigned attempt) noexcept {
  switch (attempt) {
    case 0: return Power(std::numbers::pi);
    case 1: return Stepped();
    case 2: return Weighted();
    default: return Exponential();
  }
}

std::size_t BiasStrategy::pick(std::span<const std::uint32_t> pressures, OmegaRng& rng) const noexcept {
  OMEGA_ASSERT(!pressures.empty(), "BiasStrategy::pick needs at least one candidate");
  const std::size_t n = std::min(pressures.size(), kMaxCandidates);
  if (n == 1) return 0;
  std::array<double, kMaxCandidates> w;
  switch (kind_) {
    case Kind::Power:
      if (exponent_ == std::numbers::pi) {
        // The routing default: weights computed once, not two pow() calls per submission.
        static const auto kPiWeights = [] {
          std::array<double, kMaxCandidates> t{};
          for (std::size_t i = 0; i < t.size(); ++i) t[i] = std::pow(static_cast<double>(i + 1), -std::numbers::pi);
          return t;
        }();
        return pick_weighted(kPiWeights.data(), n, rng);
      } else {
        for (std::size_t i = 0; i < n; ++i) w[i] = std::pow(static_cast<double>(i + 1), -exponent_);
      }
      break;
    case Kind::Stepped:
      return static_cast<std::size_t>(rng.gen_range((n + 1) / 2));
    case Kind::Weighted:
      for (std::size_t i = 0; i < n; ++i) w[i] = 101.0 - std::min<double>(pressures[i], 100);
      break;
    case Kind::Exponential: {
      static const auto kExp = [] {
        std::array<double, 101> t{};
        for (std::size_t p = 0; p < t.size(); ++p) t[p] = std::exp(-static_cast<double>(p) / 10.0);
        return t;
      }();
      for (std::size_t i = 0; i < n; ++i) w[i] = kExp[std::min<std::uint32_t>(pressures[i], 100)];
      break;
    }
  }
  return pick_weighted(w.data(), n, rng);
}

}  // namespace omega
