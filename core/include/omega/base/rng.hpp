#pragma once
// OmegaRng: the seedable generator that makes routing reproducible (seed 000: "same seed,
// same pressures, same nodes"), and BiasStrategy, the seed's ways of choosing among routing
// candidates. xoshiro256** (Blackman & Vigna): 4 words of state, ~1 ns per draw, passes
// BigCrush; seeded through splitmix64 so nearby seeds give unrelated streams. Not for
// cryptography. One OmegaRng per submitting thread: it is not thread-safe.
#include <cstddef>
#include <cstdint>
#include <span>

namespace omega {

class OmegaRng {
 public:
  static OmegaRng new_with_seed(std::uint64_t seed) noexcept { return OmegaRng(seed); }
  // Seeded from the clock and a per-process counter: different on every call.
  static OmegaRng from_entropy() noexcept;

  explicit OmegaRng(std::uint64_t seed) noexcept;

  std::uint64_t next_u64() noexcept {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  // Uniform in [0, 1), 53 bits.
  double next_f64() noexcept { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }
  // Uniform in [0, n) without modulo bias (Lemire's multiply-shift with rejection); n > 0.
  std::uint64_t gen_range(std::uint64_t n) noexcept;

 private:
  static constexpr std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }
  std::uint64_t s_[4];
};

// How a router picks one of K candidates that it has ordered from least to most loaded.
// The router escalates through them by attempt (seed 000): Power first, then Stepped,
// Weighted, Exponential.
class BiasStrategy {
 public:
  enum class Kind : std::uint8_t {
    Power,        // P(i) ~ 1 / (i+1)^exponent: favours the least loaded, keeps some spread
    Stepped,      // uniform over the less-loaded half: even distribution among the good ones
    Weighted,     // P(i) ~ headroom_i = 101 - pressure_i: proportional to spare capacity
    Exponential,  // P(i) ~ exp(-pressure_i / 10): sheds load hard towards the emptiest
  };

  static constexpr BiasStrategy Power(double exponent) noexcept { return BiasStrategy(Kind::Power, exponent); }
  static constexpr BiasStrategy Stepped() noexcept { return BiasStrategy(Kind::Stepped, 0); }
  static constexpr BiasStrategy Weighted() noexcept { return BiasStrategy(Kind::Weighted, 0); }
  static constexpr BiasStrategy Exponential() noexcept { return BiasStrategy(Kind::Exponential, 0); }
  // The strategy for routing attempt `attempt` (0-based): Power(pi), Stepped, Weighted, then
  // Exponential for every later attempt.
  static BiasStrategy for_attempt(unsigned attempt) noexcept;

  [[nodiscard]] constexpr Kind kind() const noexcept { return kind_; }
  [[nodiscard]] constexpr double exponent() const noexcept { return exponent_; }

  // Index into `pressures` (percent, 0..100, ascending: index 0 is the least loaded) of the
  // chosen candidate. Empty input is a caller bug (asserted); one candidate returns 0.
  [[nodiscard]] std::size_t pick(std::span<const std::uint32_t> pressures, OmegaRng& rng) const noexcept;

 private:
  constexpr BiasStrategy(Kind kind, double exponent) noexcept : kind_(kind), exponent_(exponent) {}
  Kind kind_;
  double exponent_;
};

}  // namespace omega
