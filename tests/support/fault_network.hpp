#pragma once
// A lossy, duplicating, reordering, corrupting, delaying network between endpoints in one
// process, driven by a fake clock and a seeded OmegaRng: what `tc netem` would do, which
// these machines lack. Deterministic: the same seed and the same calls give the same run.
//
// Loss follows a Gilbert-Elliott model per directed link: a Good and a Bad state with their
// own loss probabilities, switching Good->Bad with p_good_to_bad and Bad->Good with
// p_bad_to_good per frame, so losses come in bursts. The stationary loss rate is
//   pi_bad * loss_bad + (1 - pi_bad) * loss_good,  pi_bad = p_gb / (p_gb + p_bg).
#include <omega/base/rng.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <queue>
#include <span>
#include <utility>
#include <vector>

namespace omega::test {

struct FaultConfig {
  // Gilbert-Elliott loss (all zero: no loss).
  double p_good_to_bad = 0;
  double p_bad_to_good = 1;
  double loss_good = 0;
  double loss_bad = 0;
  double duplicate = 0;  // probability a delivered frame arrives twice (independently delayed)
  double corrupt = 0;    // probability a delivered frame has 1..3 random bits flipped
  // Each copy is delayed uniformly in [delay_min, delay_max]; with probability `reorder` it
  // is held back a further reorder_extra, so later frames overtake it.
  std::chrono::nanoseconds delay_min{0};
  std::chrono::nanoseconds delay_max{0};
  double reorder = 0;
  std::chrono::nanoseconds reorder_extra{0};

  // Bursty loss averaging `rate` (0..~0.6): bursts of mean length 1/p_bad_to_good = 3.3
  // frames at 80% loss, 5% loss between them.
  static FaultConfig bursty_loss(double rate) {
    FaultConfig c;
    c.loss_good = 0.05;
    c.loss_bad = 0.8;
    c.p_bad_to_good = 0.3;
    // rate = pi*0.8 + (1-pi)*0.05  =>  pi = (rate - 0.05) / 0.75;  p_gb = pi * p_bg / (1 - pi)
    const double pi = rate <= 0.05 ? 0.0 : (rate - 0.05) / 0.75;
    c.p_good_to_bad = pi * c.p_bad_to_good / (1 - pi);
    return c;
  }
};

struct FaultStats {
  std::uint64_t sent = 0;        // frames handed to the network (per destination)
  std::uint64_t lost = 0;        // dropped by the loss model
  std::uint64_t duplicated = 0;  // extra copies made
  std::uint64_t corrupted = 0;   // copies with flipped bits
  std::uint64_t reordered = 0;   // copies held back
  std::uint64_t delivered = 0;   // copies handed to receivers
};

class FaultNetwork {
 public:
  using Nanos = std::chrono::nanoseconds;

  FaultNetwork(FaultConfig config, std::uint64_t seed) : config_(config), rng_(seed) {}

  void set_config(const FaultConfig& config) { config_ = config; }
  [[nodiscard]] const FaultStats& stats() const noexcept { return stats_; }

  // One frame from `from` to `to`, sent at `now`.
  void send(std::uint32_t from, std::uint32_t to, std::span<const std::uint8_t> bytes, Nanos now) {
    ++stats_.sent;
    bool& bad = link_bad_[{from, to}];
    bad = bad ? !chance(config_.p_bad_to_good) : chance(config_.p_good_to_bad);
    if (chance(bad ? config_.loss_bad : config_.loss_good)) {
      ++stats_.lost;
      return;
    }
    const int copies = chance(config_.duplicate) ? 2 : 1;
    stats_.duplicated += static_cast<std::uint64_t>(copies - 1);
    for (int i = 0; i < copies; ++i) {
      std::vector<std::uint8_t> data(bytes.begin(), bytes.end());
      if (!data.empty() && chance(config_.corrupt)) {
        ++stats_.corrupted;
        // 1..3 distinct bits (flipping one bit twice would undo the corruption).
        const std::size_t flips = std::min<std::size_t>(1 + rng_.gen_range(3), data.size() * 8);
        std::uint64_t chosen[3] = {};
        for (std::size_t f = 0; f < flips;) {
          const std::uint64_t bit = rng_.gen_range(data.size() * 8);
          if (std::find(chosen, chosen + f, bit) != chosen + f) continue;
          chosen[f++] = bit;
          data[bit / 8] = static_cast<std::uint8_t>(data[bit / 8] ^ (1u << (bit % 8)));
        }
      }
      Nanos at = now + config_.delay_min;
      const auto span = (config_.delay_max - config_.delay_min).count();
      if (span > 0) at += Nanos(static_cast<std::int64_t>(rng_.gen_range(static_cast<std::uint64_t>(span) + 1)));
      if (chance(config_.reorder)) {
        ++stats_.reordered;
        at += config_.reorder_extra;
      }
      in_flight_.push(InFlight{at, order_++, to, std::move(data)});
    }
  }

  // The earliest time a frame is due, if any is in flight.
  [[nodiscard]] std::optional<Nanos> next_due() const {
    if (in_flight_.empty()) return std::nullopt;
    return in_flight_.top().at;
  }

  // Hands every frame due by `now` to deliver(to, bytes), earliest first (ties: send order).
  template <class F>
  std::size_t deliver_due(Nanos now, F&& deliver) {
    std::size_t n = 0;
    while (!in_flight_.empty() && in_flight_.top().at <= now) {
      InFlight f = std::move(const_cast<InFlight&>(in_flight_.top()));
      in_flight_.pop();
      ++stats_.delivered;
      ++n;
      deliver(f.to, std::span<const std::uint8_t>(f.data));
    }
    return n;
  }

 private:
  struct InFlight {
    Nanos at;
    std::uint64_t order;
    std::uint32_t to;
    std::vector<std::uint8_t> data;
    bool operator>(const InFlight& o) const noexcept { return at != o.at ? at > o.at : order > o.order; }
  };
  bool chance(double p) { return p > 0 && rng_.next_f64() < p; }

  FaultConfig config_;
  OmegaRng rng_;
  FaultStats stats_;
  std::map<std::pair<std::uint32_t, std::uint32_t>, bool> link_bad_;
  std::priority_queue<InFlight, std::vector<InFlight>, std::greater<>> in_flight_;
  std::uint64_t order_ = 0;
};

}  // namespace omega::test
