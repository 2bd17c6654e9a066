#pragma once
// The pulse layer's policy (seed 002): per-poll budgets, the four tiers' promotion and
// demotion thresholds, the priority multipliers, the profiles, and what one finished poll
// means for a task. Pure logic: no threads and no clock reads (time is passed in), so the
// runtime calls it on its hot path and tests drive it with synthetic times.
//
//   omega::PulseConfig c = omega::PulseConfig::profile(omega::PulseProfile::Balanced)
//                              .with_tier(omega::Tier::Yield, omega::TierPolicy::builder("yield")
//                                                                 .promotion_violations(3)
//                                                                 .promotion_cpu_ms(5)
//                                                                 .demotion_good_polls(100)
//                                                                 .build());   // now Custom
//   if (std::string why = c.validate(); !why.empty()) { /* refuse it */ }
//   omega::PollBudget b = omega::poll_budget_for(c, omega::Priority::High, state.tier);
//   ... poll the task, measure it ...
//   omega::PollVerdict v = omega::apply_poll(c, state, omega::Priority::High, sample, now_ns);
//
// Contracts:
// - A task is promoted or demoted at most one tier per poll, except that a poll the
//   watchdog flagged sends it straight to Isolate.
// - Promotion thresholds are scaled by the task priority's threshold multiplier (rounded,
//   saturated, and never below 1 for an enabled threshold); demotion thresholds are not:
//   leaving a tier is earned by behaviour, whatever the priority.
// - The hot-path functions (the multipliers, scaled_threshold, poll_budget_for, apply_poll)
//   neither allocate nor throw, and saturate rather than overflow on any input.
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include <omega/base/clock.hpp>
#include <omega/base/priority.hpp>
#include <omega/pulse/types.hpp>

namespace omega {

// Limits past which a value is a mistake rather than a choice (validate() names them).
inline constexpr std::uint64_t kPulseMaxCount = 1'000'000'000;          // counts: polls, violations
inline constexpr std::uint64_t kPulseMaxCpuMs = 60ULL * 60 * 1000;      // one hour of CPU
inline constexpr std::uint64_t kPulseMaxDurationMs = 24ULL * 60 * 60 * 1000;  // a day at one tier
inline constexpr std::int64_t kPulseMaxTimeNs = 60LL * 60 * 1'000'000'000;    // one hour
// A poll of at most this is good, unless a policy says otherwise (TierPolicy::Builder's
// start value): a fifth of Balanced's 1 ms poll budget.
inline constexpr std::uint64_t kDefaultGoodPollNs = 200'000;

// Seed 002's per-tier thresholds. At tier t a policy says when a task leaves t: promotion to
// t+1 when ANY enabled promotion threshold is reached (0 disables that one; promotion fields
// are ignored at Isolate), demotion to t-1 when BOTH demotion_good_polls consecutive good polls
// and demotion_min_duration_ms at the tier have been reached (ignored at Monitor). Promotion
// thresholds are scaled by the task priority's threshold multiplier (threshold_multiplier).
struct TierPolicy {
  std::string name;
  std::uint32_t promotion_violations = 0;  // polls over the (priority-scaled) time budget, counted at this tier
  std::uint64_t promotion_cpu_ms = 0;      // CPU time of the task since it last WAITED (timer, I/O, another task);
                                           // yields and budget suspensions do not reset it (a cooperative hog is still a hog)
  std::uint32_t promotion_slow_polls = 0;  // polls at or over PulseConfig::slow_poll_threshold, counted at this tier
  std::uint32_t demotion_good_polls = 0;   // consecutive good polls needed
  std::uint64_t demotion_min_duration_ms = 0;  // minimum time spent at this tier
  std::uint64_t demotion_cpu_threshold_ns = 0; // a poll of at most this is good (see apply_poll)

  // Chainable construction (defined below, where TierPolicy is complete).
  class Builder;
  [[nodiscard]] static Builder builder(std::string name);

  // Why this policy cannot serve at `tier`, or empty. Each reason names the tier, the policy
  // and the field. A tier below Isolate whose promotion thresholds are all 0 is allowed (it
  // means "stay"); above Monitor, demotion_good_polls and demotion_cpu_threshold_ns must be
  // at least 1 (otherwise no poll could be good, or time alone would demote); counts over
  // kPulseMaxCount, promotion_cpu_ms over kPulseMaxCpuMs, demotion_min_duration_ms over
  // kPulseMaxDurationMs, demotion_cpu_threshold_ns over kPulseMaxTimeNs and an empty name
  // are errors.
  [[nodiscard]] std::string validate(Tier tier) const;

  friend bool operator==(const TierPolicy&, const TierPolicy&) = default;
};

// Starts from name, every promotion threshold 0 (never promotes), demotion after 0 good
// polls and 0 ms, and demotion_cpu_threshold_ns = kDefaultGoodPollNs, so that a policy
// which only states its counts (the example) is valid above Monitor once it sets
// demotion_good_polls.
class TierPolicy::Builder {
 public:
  explicit Builder(std::string name);
  Builder& promotion_violations(std::uint32_t n) noexcept;
  Builder& promotion_cpu_ms(std::uint64_t ms) noexcept;
  Builder& promotion_slow_polls(std::uint32_t n) noexcept;
  Builder& demotion_good_polls(std::uint32_t n) noexcept;
  Builder& demotion_min_duration_ms(std::uint64_t ms) noexcept;
  Builder& demotion_cpu_threshold_ns(std::uint64_t ns) noexcept;
  [[nodiscard]] TierPolicy build() const;  // not validated: that needs the tier (TierPolicy::validate)

 private:
  TierPolicy policy_;
};

struct PulseConfig {
  // Which preset these values are, or Custom once a setter changed them. (Not `profile`:
  // that name is the static factory below, as the API spells it.)
  PulseProfile profile_kind = PulseProfile::Balanced;
  std::uint32_t unit_budget = 128;                          // checkpoint() units per poll at Normal priority (Tokio: 128)
  Nanos poll_budget = std::chrono::milliseconds(1);         // time per poll at Normal priority; over it is a violation
  Nanos slow_poll_threshold = std::chrono::milliseconds(5); // a poll at least this long is a slow poll
  std::uint32_t yield_budget_divisor = 4;                   // at Tier::Yield and Isolate both budgets are divided by this
  Nanos watchdog_threshold = std::chrono::milliseconds(5);  // a poll still running this long is flagged while it runs
  Nanos watchdog_period = std::chrono::milliseconds(1);     // how often the watchdog looks
  SchedulingAlgorithm algorithm = SchedulingAlgorithm::CreditBased;  // the slow lane's
  double slow_lane_share = 0.25;                            // at most this fraction of one core for the slow lane, (0, 1]
  std::array<std::uint32_t, kPriorityCount> slow_lane_weights{1, 2, 4, 8};  // indexed by Priority; Critical's is unused (always first)
  Nanos drr_quantum = std::chrono::microseconds(500);
  std::array<TierPolicy, kTierCount> tiers = balanced_tiers();  // indexed by Tier

  // Presets (Aggressive, Balanced, Permissive); the values and their reasons are in
  // policy.cpp. Custom gives Balanced's values marked Custom. A default-constructed config
  // is profile(Balanced).
  [[nodiscard]] static PulseConfig profile(PulseProfile p);

  // Chainable setters; each marks the config Custom, whatever the value. Not validated here.
  PulseConfig& with_unit_budget(std::uint32_t units) noexcept;
  PulseConfig& with_poll_budget(Nanos budget) noexcept;
  PulseConfig& with_slow_poll_threshold(Nanos threshold) noexcept;
  PulseConfig& with_yield_budget_divisor(std::uint32_t divisor) noexcept;
  PulseConfig& with_watchdog(Nanos threshold, Nanos period) noexcept;
  PulseConfig& with_algorithm(SchedulingAlgorithm a) noexcept;
  PulseConfig& with_slow_lane_share(double share) noexcept;
  PulseConfig& with_slow_lane_weight(Priority p, std::uint32_t weight) noexcept;
  PulseConfig& with_drr_quantum(Nanos quantum) noexcept;
  PulseConfig& with_tier(Tier t, TierPolicy policy);

  [[nodiscard]] const TierPolicy& tier(Tier t) const noexcept { return tiers[static_cast<std::size_t>(t)]; }

  // Why it cannot work, or empty: every reason found, joined by "; ", each naming its field.
  // Checks each tier's policy (TierPolicy::validate(tier)), budgets, thresholds and the DRR
  // quantum in (0, kPulseMaxTimeNs], unit_budget in [1, kPulseMaxCount], yield_budget_divisor
  // in [1, 1024], watchdog_period <= watchdog_threshold, slow_lane_share in (0, 1], Low, Normal
  // and High weights in [1, 10^6], and that the enums hold one of their values.
  [[nodiscard]] std::string validate() const;

  friend bool operator==(const PulseConfig&, const PulseConfig&) = default;

 private:
  static std::array<TierPolicy, kTierCount> balanced_tiers();
};

// Seed 002's priority scaling: budget Critical 4x, High 2x, Normal 1x, Low 0.5x; escalation
// threshold Critical 0.25x, High 0.5x, Normal 1x, Low 2x.
[[nodiscard]] double budget_multiplier(Priority p) noexcept;
[[nodiscard]] double threshold_multiplier(Priority p) noexcept;

// An enabled promotion threshold as priority p sees it: threshold * threshold_multiplier(p),
// rounded to nearest, saturated, and at least 1. A threshold of 0 (disabled) stays 0.
[[nodiscard]] std::uint64_t scaled_threshold(std::uint64_t threshold, Priority p) noexcept;

// The budgets one poll of a task of priority p at tier t gets (priority-scaled; divided by
// yield_budget_divisor at Tier::Yield and Tier::Isolate; rounded to nearest, never below
// 1 unit / 1 µs, saturated).
struct PollBudget {
  std::uint32_t units;
  std::int64_t time_ns;
};
[[nodiscard]] PollBudget poll_budget_for(const PulseConfig& c, Priority p, Tier t) noexcept;

// One finished poll, as the runtime measured it.
struct PollSample {
  std::uint64_t poll_ns = 0;  // CPU (wall) time of the poll
  bool waited = false;        // the task suspended to wait (timer, I/O, another task), not to yield
  bool flagged = false;       // the watchdog saw this poll still running past watchdog_threshold
};

// A task's standing, kept by the runtime per task and changed only by apply_poll.
struct TierState {
  Tier tier = Tier::Monitor;
  std::uint32_t violations = 0;     // at this tier
  std::uint32_t slow_polls = 0;     // at this tier
  std::uint32_t good_polls = 0;     // consecutive
  std::uint64_t cpu_streak_ns = 0;  // since the task last waited
  std::int64_t tier_since_ns = 0;   // when the task entered this tier
};

enum class TierChange : std::uint8_t { None, Promoted, Demoted };

// What one poll means for the task. It classifies the poll against the task's current tier:
//   violation: poll_ns > poll_budget_for(c, p, tier).time_ns
//   slow:      poll_ns >= c.slow_poll_threshold
//   good:      poll_ns <= the tier policy's demotion_cpu_threshold_ns, and neither a
//              violation, nor slow, nor flagged (a poll over its budget never counts
//              towards leaving a tier, even where the good threshold is above the budget)
// then counts it (violations and slow polls saturate; a poll that is not good resets
// good_polls; cpu_streak_ns += poll_ns, saturating), then changes the tier at most once:
//   flagged, below Isolate:  straight to Isolate;
//   below Isolate, any enabled promotion threshold of the tier's policy reached (scaled by
//                  scaled_threshold; cpu_streak_ns against promotion_cpu_ms):  one up;
//   above Monitor, good_polls >= demotion_good_polls and now_ns - tier_since_ns >=
//                  demotion_min_duration_ms:  one down.
// Entering a tier resets violations, slow_polls and good_polls and sets tier_since_ns =
// now_ns. cpu_streak_ns is kept across tier changes (a hog that never waits climbs tier by
// tier as its streak reaches each tier's promotion_cpu_ms) and reset after evaluation when
// sample.waited.
struct PollVerdict {
  TierChange change = TierChange::None;
  bool violation = false;
  bool slow = false;
  bool good = false;
};
[[nodiscard]] PollVerdict apply_poll(const PulseConfig& c, TierState& s, Priority p, const PollSample& sample,
                                     std::int64_t now_ns) noexcept;

// The same, with every priority-scaled number worked out once per configuration (what the
// runtime keeps while a configuration is in force): no floating point per poll. The form
// above builds this table and calls this one, so the two cannot disagree.
struct ScaledTier {
  std::uint32_t budget_units = 0;             // poll_budget_for(c, p, t).units
  std::int64_t budget_ns = 0;                 // poll_budget_for(c, p, t).time_ns
  std::uint64_t promotion_violations = 0;     // scaled_threshold of each; 0: disabled
  std::uint64_t promotion_cpu_ns = 0;
  std::uint64_t promotion_slow_polls = 0;
  std::uint32_t demotion_good_polls = 0;
  std::uint64_t demotion_min_ns = 0;
  std::uint64_t good_poll_ns = 0;             // demotion_cpu_threshold_ns
};
struct ScaledPolicies {
  std::array<std::array<ScaledTier, kTierCount>, kPriorityCount> at{};  // [priority][tier]
  std::uint64_t slow_poll_ns = 0;             // 0: slow polls are not counted
  [[nodiscard]] static ScaledPolicies of(const PulseConfig& c) noexcept;
};
// Inline: it runs once per poll of every cooperative task.
[[nodiscard]] inline PollVerdict apply_poll(const ScaledPolicies& table, TierState& s, Priority p,
                                            const PollSample& sample, std::int64_t now_ns) noexcept {
  constexpr std::uint64_t kU64Max = ~std::uint64_t{0};
  constexpr std::uint32_t kU32Max = ~std::uint32_t{0};
  const auto enter = [&s, now_ns](Tier t) {
    s.tier = t;
    s.violations = 0;
    s.slow_polls = 0;
    s.good_polls = 0;
    s.tier_since_ns = now_ns;
  };
  if (static_cast<std::size_t>(s.tier) >= kTierCount) enter(Tier::Monitor);  // a corrupt state starts over
  const std::size_t pi = static_cast<std::size_t>(p) < kPriorityCount ? static_cast<std::size_t>(p) : 1;
  const std::size_t ti = static_cast<std::size_t>(s.tier);
  const ScaledTier& t = table.at[pi][ti];

  PollVerdict v;
  v.violation = sample.poll_ns > static_cast<std::uint64_t>(t.budget_ns);
  v.slow = table.slow_poll_ns > 0 && sample.poll_ns >= table.slow_poll_ns;
  v.good = sample.poll_ns <= t.good_poll_ns && !v.violation && !v.slow && !sample.flagged;

  if (v.violation && s.violations != kU32Max) ++s.violations;
  if (v.slow && s.slow_polls != kU32Max) ++s.slow_polls;
  if (v.good) {
    if (s.good_polls != kU32Max) ++s.good_polls;
  } else {
    s.good_polls = 0;
  }
  s.cpu_streak_ns = s.cpu_streak_ns > kU64Max - sample.poll_ns ? kU64Max : s.cpu_streak_ns + sample.poll_ns;

  const auto hit = [](std::uint64_t count, std::uint64_t scaled) { return scaled != 0 && count >= scaled; };
  if (s.tier != Tier::Isolate) {
    if (sample.flagged) {
      enter(Tier::Isolate);
      v.change = TierChange::Promoted;
    } else if (hit(s.violations, t.promotion_violations) || hit(s.cpu_streak_ns, t.promotion_cpu_ns) ||
               hit(s.slow_polls, t.promotion_slow_polls)) {
      enter(static_cast<Tier>(ti + 1));
      v.change = TierChange::Promoted;
    }
  }
  if (v.change == TierChange::None && s.tier != Tier::Monitor && s.good_polls >= t.demotion_good_polls) {
    // Elapsed time, without overflow; a clock that went backwards counts as no time.
    const std::uint64_t at_tier_ns =
        now_ns > s.tier_since_ns ? static_cast<std::uint64_t>(now_ns) - static_cast<std::uint64_t>(s.tier_since_ns) : 0;
    if (at_tier_ns >= t.demotion_min_ns) {
      enter(static_cast<Tier>(ti - 1));
      v.change = TierChange::Demoted;
    }
  }
  if (sample.waited) s.cpu_streak_ns = 0;
  return v;
}

}  // namespace omega
