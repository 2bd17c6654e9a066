#include <omega/pulse/policy.hpp>

#include <cmath>
#include <cstddef>
#include <limits>
#include <string_view>
#include <utility>

namespace omega {

std::string_view to_string(Tier tier) noexcept {
  switch (tier) {
    case Tier::Monitor: return "Monitor";
    case Tier::Warn: return "Warn";
    case Tier::Yield: return "Yield";
    case Tier::Isolate: return "Isolate";
  }
  return "Tier(?)";
}

std::string_view to_string(PulseProfile profile) noexcept {
  switch (profile) {
    case PulseProfile::Aggressive: return "Aggressive";
    case PulseProfile::Balanced: return "Balanced";
    case PulseProfile::Permissive: return "Permissive";
    case PulseProfile::Custom: return "Custom";
  }
  return "PulseProfile(?)";
}

namespace {

constexpr std::uint64_t kU64Max = std::numeric_limits<std::uint64_t>::max();
constexpr std::uint32_t kU32Max = std::numeric_limits<std::uint32_t>::max();
constexpr std::int64_t kI64Max = std::numeric_limits<std::int64_t>::max();
constexpr std::uint64_t kNsPerMs = 1'000'000;
constexpr std::int64_t kMinPollTimeNs = 1'000;  // 1 µs: below it a budget is only clock noise
constexpr std::uint32_t kMaxYieldDivisor = 1024;
constexpr std::uint32_t kMaxWeight = 1'000'000;

constexpr bool valid_tier(Tier t) noexcept { return static_cast<std::size_t>(t) < kTierCount; }
constexpr std::size_t index(Tier t) noexcept { return static_cast<std::size_t>(t); }

std::uint64_t sat_mul(std::uint64_t a, std::uint64_t b) noexcept {
  return (b != 0 && a > kU64Max / b) ? kU64Max : a * b;
}

// x rounded to nearest and clamped to [lo, hi]. 2^64 and 2^63 are exact doubles, so the
// comparisons against hi are made before a cast that would overflow.
std::uint64_t round_clamp_u64(double x, std::uint64_t lo, std::uint64_t hi) noexcept {
  if (!(x >= static_cast<double>(lo))) return lo;  // also NaN
  const double r = std::round(x);
  if (r >= static_cast<double>(hi)) return hi;
  const auto v = static_cast<std::uint64_t>(r);
  return v < lo ? lo : v;
}



void add_reason(std::string& out, const std::string& reason) {
  if (!out.empty()) out += "; ";
  out += reason;
}

std::string num(std::uint64_t v) { return std::to_string(v); }
std::string num(std::int64_t v) { return std::to_string(v); }

}  // namespace

// ---- TierPolicy ---------------------------------------------------------------------------

TierPolicy::Builder::Builder(std::string name) {
  policy_.name = std::move(name);
  policy_.demotion_cpu_threshold_ns = kDefaultGoodPollNs;
}
TierPolicy::Builder& TierPolicy::Builder::promotion_violations(std::uint32_t n) noexcept {
  policy_.promotion_violations = n;
  return *this;
}
TierPolicy::Builder& TierPolicy::Builder::promotion_cpu_ms(std::uint64_t ms) noexcept {
  policy_.promotion_cpu_ms = ms;
  return *this;
}
TierPolicy::Builder& TierPolicy::Builder::promotion_slow_polls(std::uint32_t n) noexcept {
  policy_.promotion_slow_polls = n;
  return *this;
}
TierPolicy::Builder& TierPolicy::Builder::demotion_good_polls(std::uint32_t n) noexcept {
  policy_.demotion_good_polls = n;
  return *this;
}
TierPolicy::Builder& TierPolicy::Builder::demotion_min_duration_ms(std::uint64_t ms) noexcept {
  policy_.demotion_min_duration_ms = ms;
  return *this;
}
TierPolicy::Builder& TierPolicy::Builder::demotion_cpu_threshold_ns(std::uint64_t ns) noexcept {
  policy_.demotion_cpu_threshold_ns = ns;
  return *this;
}
TierPolicy TierPolicy::Builder::build() const { return policy_; }

TierPolicy::Builder TierPolicy::builder(std::string name) { return Builder(std::move(name)); }

std::string TierPolicy::validate(Tier tier) const {
  if (!valid_tier(tier)) return "tier " + num(std::uint64_t{index(tier)}) + " is not a Tier (Monitor..Isolate)";
  const std::string where = std::string(to_string(tier)) + " policy \"" + name + "\": ";
  std::string out;
  if (name.empty()) add_reason(out, where + "name is empty");
  const auto count_in_range = [&](std::string_view field, std::uint64_t v) {
    if (v > kPulseMaxCount) {
      add_reason(out, where + std::string(field) + " " + num(v) + " is over " + num(kPulseMaxCount));
    }
  };
  count_in_range("promotion_violations", promotion_violations);
  count_in_range("promotion_slow_polls", promotion_slow_polls);
  count_in_range("demotion_good_polls", demotion_good_polls);
  if (promotion_cpu_ms > kPulseMaxCpuMs) {
    add_reason(out, where + "promotion_cpu_ms " + num(promotion_cpu_ms) + " is over one hour (" + num(kPulseMaxCpuMs) +
                        " ms)");
  }
  if (demotion_min_duration_ms > kPulseMaxDurationMs) {
    add_reason(out, where + "demotion_min_duration_ms " + num(demotion_min_duration_ms) + " is over one day (" +
                        num(kPulseMaxDurationMs) + " ms)");
  }
  if (demotion_cpu_threshold_ns > static_cast<std::uint64_t>(kPulseMaxTimeNs)) {
    add_reason(out, where + "demotion_cpu_threshold_ns " + num(demotion_cpu_threshold_ns) + " is over one hour (" +
                        num(kPulseMaxTimeNs) + " ns)");
  }
  if (tier != Tier::Monitor) {
    if (demotion_good_polls == 0) {
      add_reason(out, where + "demotion_good_polls is 0; above Monitor it must be at least 1, or time alone would "
                              "demote a task however it behaves");
    }
    if (demotion_cpu_threshold_ns == 0) {
      add_reason(out, where + "demotion_cpu_threshold_ns is 0; above Monitor it must be at least 1, or no poll "
                              "could be good and the task could never be demoted");
    }
  }
  return out;
}

// ---- Profiles -----------------------------------------------------------------------------
//
// Why these numbers (Balanced; Aggressive is about half of each count and time, Permissive
// about double):
// - Monitor -> Warn after 3 violations, 10 ms of CPU without waiting (Go preempts a goroutine
//   after 10 ms), or 2 slow polls: Warn only publishes signals, so it may come early; two
//   polls of 5 ms already cost light tasks on that worker 10 ms.
// - Warn -> Yield after 3 violations, 25 ms streak or 3 slow polls: the task was warned and
//   kept going; cutting its budget is cheap for a well-meaning task.
// - Yield -> Isolate after 5 violations, 50 ms streak or 3 slow polls: at Yield the budget
//   is a quarter, so violations come faster; 5 gives a task that is merely bursty a chance.
//   The slow-poll count stays 3: a 5 ms poll hurts as much at Yield as at Warn.
// - Demotion is slower the higher the tier (50, 100, 200 good polls; 10, 50, 100 ms at the
//   tier): a task must show sustained good behaviour before it is trusted again, and the
//   asymmetry stops a task from oscillating between tiers every few polls.
// - A poll is good at 200 µs or less: a fifth of the 1 ms poll budget, well clear of the
//   violation line even at Yield's quarter budget (250 µs at Normal priority). Monitor keeps
//   the same threshold so that PollVerdict::good means the same at every tier.
// - Isolate never promotes, so its promotion fields stay 0.

namespace {

struct TierNumbers {
  std::uint32_t violations;
  std::uint64_t cpu_ms;
  std::uint32_t slow;
  std::uint32_t good;
  std::uint64_t min_ms;
  std::uint64_t good_ns;
};

std::array<TierPolicy, kTierCount> make_tiers(const std::array<TierNumbers, kTierCount>& n) {
  static constexpr std::array<const char*, kTierCount> kNames{"monitor", "warn", "yield", "isolate"};
  std::array<TierPolicy, kTierCount> tiers;
  for (std::size_t i = 0; i < kTierCount; ++i) {
    tiers[i] = TierPolicy::builder(kNames[i])
                   .promotion_violations(n[i].violations)
                   .promotion_cpu_ms(n[i].cpu_ms)
                   .promotion_slow_polls(n[i].slow)
                   .demotion_good_polls(n[i].good)
                   .demotion_min_duration_ms(n[i].min_ms)
                   .demotion_cpu_threshold_ns(n[i].good_ns)
                   .build();
  }
  return tiers;
}

// {promote: violations, cpu ms, slow polls; demote: good polls, min ms at tier, good poll ns}
constexpr std::array<TierNumbers, kTierCount> kBalanced{{
    {3, 10, 2, 0, 0, 200'000},
    {3, 25, 3, 50, 10, 200'000},
    {5, 50, 3, 100, 50, 200'000},
    {0, 0, 0, 200, 100, 200'000},
}};
// Half, rounded so that no count falls to 1 where Balanced's is 3 or more (one unlucky
// poll should not be enough). The good line halves with the poll budget (500 µs).
constexpr std::array<TierNumbers, kTierCount> kAggressive{{
    {2, 5, 1, 0, 0, 100'000},
    {2, 12, 2, 25, 5, 100'000},
    {3, 25, 2, 50, 25, 100'000},
    {0, 0, 0, 100, 50, 100'000},
}};
// Double; the good line doubles with the poll budget (2 ms).
constexpr std::array<TierNumbers, kTierCount> kPermissive{{
    {6, 20, 4, 0, 0, 400'000},
    {6, 50, 6, 100, 20, 400'000},
    {10, 100, 6, 200, 100, 400'000},
    {0, 0, 0, 400, 200, 400'000},
}};

}  // namespace

std::array<TierPolicy, kTierCount> PulseConfig::balanced_tiers() { return make_tiers(kBalanced); }

PulseConfig PulseConfig::profile(PulseProfile p) {
  PulseConfig c;  // Balanced's values
  using std::chrono::microseconds;
  using std::chrono::milliseconds;
  switch (p) {
    case PulseProfile::Aggressive:
      c.profile_kind = PulseProfile::Aggressive;
      c.unit_budget = 64;                          // half of Tokio's 128: more, shorter polls
      c.poll_budget = microseconds(500);
      c.slow_poll_threshold = milliseconds(2);     // = the watchdog threshold, as in Balanced: a flagged poll is slow
      c.watchdog_threshold = milliseconds(2);      // a stuck poll is flagged within 2.5 ms
      c.watchdog_period = microseconds(500);
      c.slow_lane_share = 0.1;                     // isolated work gets little
      c.drr_quantum = microseconds(250);           // half the poll budget, as in Balanced
      c.tiers = make_tiers(kAggressive);
      break;
    case PulseProfile::Permissive:
      c.profile_kind = PulseProfile::Permissive;
      c.unit_budget = 256;
      c.poll_budget = milliseconds(2);
      c.slow_poll_threshold = milliseconds(10);
      c.watchdog_threshold = milliseconds(10);     // Go's preemption interval; flagged within 12 ms
      c.watchdog_period = milliseconds(2);
      c.slow_lane_share = 0.5;
      c.drr_quantum = milliseconds(1);
      c.tiers = make_tiers(kPermissive);
      break;
    case PulseProfile::Custom: c.profile_kind = PulseProfile::Custom; break;
    case PulseProfile::Balanced: break;
  }
  return c;
}

PulseConfig& PulseConfig::with_unit_budget(std::uint32_t units) noexcept {
  unit_budget = units;
  profile_kind = PulseProfile::Custom;
  return *this;
}
PulseConfig& PulseConfig::with_poll_budget(Nanos budget) noexcept {
  poll_budget = budget;
  profile_kind = PulseProfile::Custom;
  return *this;
}
PulseConfig& PulseConfig::with_slow_poll_threshold(Nanos threshold) noexcept {
  slow_poll_threshold = threshold;
  profile_kind = PulseProfile::Custom;
  return *this;
}
PulseConfig& PulseConfig::with_yield_budget_divisor(std::uint32_t divisor) noexcept {
  yield_budget_divisor = divisor;
  profile_kind = PulseProfile::Custom;
  return *this;
}
PulseConfig& PulseConfig::with_watchdog(Nanos threshold, Nanos period) noexcept {
  watchdog_threshold = threshold;
  watchdog_period = period;
  profile_kind = PulseProfile::Custom;
  return *this;
}
PulseConfig& PulseConfig::with_algorithm(SchedulingAlgorithm a) noexcept {
  algorithm = a;
  profile_kind = PulseProfile::Custom;
  return *this;
}
PulseConfig& PulseConfig::with_slow_lane_share(double share) noexcept {
  slow_lane_share = share;
  profile_kind = PulseProfile::Custom;
  return *this;
}
PulseConfig& PulseConfig::with_slow_lane_weight(Priority p, std::uint32_t weight) noexcept {
  if (static_cast<std::size_t>(p) < kPriorityCount) slow_lane_weights[static_cast<std::size_t>(p)] = weight;
  profile_kind = PulseProfile::Custom;
  return *this;
}
PulseConfig& PulseConfig::with_drr_quantum(Nanos quantum) noexcept {
  drr_quantum = quantum;
  profile_kind = PulseProfile::Custom;
  return *this;
}
PulseConfig& PulseConfig::with_tier(Tier t, TierPolicy policy) {
  if (valid_tier(t)) tiers[index(t)] = std::move(policy);
  profile_kind = PulseProfile::Custom;
  return *this;
}

std::string PulseConfig::validate() const {
  std::string out;
  if (static_cast<std::size_t>(profile_kind) > static_cast<std::size_t>(PulseProfile::Custom)) {
    add_reason(out, "profile_kind " + num(std::uint64_t{static_cast<std::size_t>(profile_kind)}) + " is not a PulseProfile");
  }
  if (unit_budget == 0 || unit_budget > kPulseMaxCount) {
    add_reason(out, "unit_budget " + num(std::uint64_t{unit_budget}) + " is not in [1, " + num(kPulseMaxCount) + "]");
  }
  const auto time_in_range = [&](std::string_view field, Nanos v) {
    if (v.count() <= 0 || v.count() > kPulseMaxTimeNs) {
      add_reason(out, std::string(field) + " " + num(std::int64_t{v.count()}) + " ns is not in (0, one hour]");
    }
  };
  time_in_range("poll_budget", poll_budget);
  time_in_range("slow_poll_threshold", slow_poll_threshold);
  time_in_range("watchdog_threshold", watchdog_threshold);
  time_in_range("watchdog_period", watchdog_period);
  time_in_range("drr_quantum", drr_quantum);
  if (yield_budget_divisor == 0 || yield_budget_divisor > kMaxYieldDivisor) {
    add_reason(out, "yield_budget_divisor " + num(std::uint64_t{yield_budget_divisor}) + " is not in [1, " +
                        num(std::uint64_t{kMaxYieldDivisor}) + "]");
  }
  if (watchdog_period > watchdog_threshold) {
    add_reason(out, "watchdog_period " + num(std::int64_t{watchdog_period.count()}) +
                        " ns is over watchdog_threshold " + num(std::int64_t{watchdog_threshold.count()}) +
                        " ns; the watchdog would look less often than the delay it promises");
  }
  if (static_cast<std::size_t>(algorithm) > static_cast<std::size_t>(SchedulingAlgorithm::DeficitRoundRobin)) {
    add_reason(out, "algorithm " + num(std::uint64_t{static_cast<std::size_t>(algorithm)}) +
                        " is not a SchedulingAlgorithm");
  }
  if (!(slow_lane_share > 0.0 && slow_lane_share <= 1.0)) {  // NaN fails too
    add_reason(out, "slow_lane_share " + std::to_string(slow_lane_share) + " is not in (0, 1]");
  }
  for (Priority p : {Priority::Low, Priority::Normal, Priority::High}) {
    const std::uint32_t w = slow_lane_weights[static_cast<std::size_t>(p)];
    if (w == 0 || w > kMaxWeight) {
      add_reason(out, "slow_lane_weights[" + std::string(to_string(p)) + "] " + num(std::uint64_t{w}) +
                          " is not in [1, " + num(std::uint64_t{kMaxWeight}) + "]");
    }
  }
  for (std::size_t i = 0; i < kTierCount; ++i) {
    if (std::string why = tiers[i].validate(static_cast<Tier>(i)); !why.empty()) add_reason(out, why);
  }
  return out;
}

// ---- Scaling ------------------------------------------------------------------------------

double budget_multiplier(Priority p) noexcept {
  switch (p) {
    case Priority::Critical: return 4.0;
    case Priority::High: return 2.0;
    case Priority::Normal: return 1.0;
    case Priority::Low: return 0.5;
  }
  return 1.0;
}

double threshold_multiplier(Priority p) noexcept {
  switch (p) {
    case Priority::Critical: return 0.25;
    case Priority::High: return 0.5;
    case Priority::Normal: return 1.0;
    case Priority::Low: return 2.0;
  }
  return 1.0;
}

std::uint64_t scaled_threshold(std::uint64_t threshold, Priority p) noexcept {
  if (threshold == 0) return 0;
  const double m = threshold_multiplier(p);
  if (m == 1.0) return threshold;  // exact, even past 2^53
  return round_clamp_u64(static_cast<double>(threshold) * m, 1, kU64Max);
}

PollBudget poll_budget_for(const PulseConfig& c, Priority p, Tier t) noexcept {
  double scale = budget_multiplier(p);
  if (t == Tier::Yield || t == Tier::Isolate) scale /= static_cast<double>(c.yield_budget_divisor == 0 ? 1 : c.yield_budget_divisor);
  const std::uint64_t units = round_clamp_u64(static_cast<double>(c.unit_budget) * scale, 1, kU32Max);
  const std::uint64_t time_ns = round_clamp_u64(static_cast<double>(c.poll_budget.count()) * scale,
                                                kMinPollTimeNs, static_cast<std::uint64_t>(kI64Max));
  return PollBudget{static_cast<std::uint32_t>(units), static_cast<std::int64_t>(time_ns)};
}

// ---- One poll -----------------------------------------------------------------------------

ScaledPolicies ScaledPolicies::of(const PulseConfig& c) noexcept {
  ScaledPolicies t;
  t.slow_poll_ns = c.slow_poll_threshold.count() > 0 ? static_cast<std::uint64_t>(c.slow_poll_threshold.count()) : 0;
  for (std::size_t pi = 0; pi < kPriorityCount; ++pi) {
    const auto p = static_cast<Priority>(pi);
    for (std::size_t ti = 0; ti < kTierCount; ++ti) {
      const TierPolicy& policy = c.tiers[ti];
      ScaledTier& st = t.at[pi][ti];
      const PollBudget budget = poll_budget_for(c, p, static_cast<Tier>(ti));
      st.budget_units = budget.units;
      st.budget_ns = budget.time_ns;
      st.promotion_violations = scaled_threshold(policy.promotion_violations, p);
      st.promotion_cpu_ns = scaled_threshold(sat_mul(policy.promotion_cpu_ms, kNsPerMs), p);
      st.promotion_slow_polls = scaled_threshold(policy.promotion_slow_polls, p);
      st.demotion_good_polls = policy.demotion_good_polls;
      st.demotion_min_ns = sat_mul(policy.demotion_min_duration_ms, kNsPerMs);
      st.good_poll_ns = policy.demotion_cpu_threshold_ns;
    }
  }
  return t;
}

PollVerdict apply_poll(const PulseConfig& c, TierState& s, Priority p, const PollSample& sample,
                       std::int64_t now_ns) noexcept {
  return apply_poll(ScaledPolicies::of(c), s, p, sample, now_ns);
}

}  // namespace omega
