#include <omega/pulse/policy.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <utility>
#include <vector>

using omega::apply_poll;
using omega::poll_budget_for;
using omega::PollSample;
using omega::Priority;
using omega::PulseConfig;
using omega::PulseProfile;
using omega::Tier;
using omega::TierChange;
using omega::TierPolicy;
using omega::TierState;
using namespace std::chrono_literals;

namespace {

constexpr std::int64_t kMs = 1'000'000;
constexpr std::uint64_t kUs = 1'000;

// A config whose Monitor, Warn and Yield promote only by what `policy` enables (the same
// policy at each, renamed), so that each threshold kind can be driven alone.
PulseConfig only(const TierPolicy::Builder& policy) {
  PulseConfig c = PulseConfig::profile(PulseProfile::Balanced);
  for (Tier t : {Tier::Monitor, Tier::Warn, Tier::Yield}) {
    TierPolicy p = policy.build();
    p.name = std::string(omega::to_string(t));
    p.demotion_good_polls = 1'000'000;  // no demotion in promotion tests
    c.with_tier(t, p);
  }
  REQUIRE(c.validate().empty());
  return c;
}

PollSample poll(std::uint64_t ns, bool waited = false, bool flagged = false) { return PollSample{ns, waited, flagged}; }

// Polls with `sample` until the tier changes or `max` polls were made; returns how many polls it took
// (max + 1 when it did not change).
int polls_until_change(const PulseConfig& c, TierState& s, Priority p, const PollSample& sample, int max,
                       std::int64_t now = 0) {
  for (int i = 1; i <= max; ++i) {
    if (apply_poll(c, s, p, sample, now).change != TierChange::None) return i;
  }
  return max + 1;
}

}  // namespace

TEST_CASE("names of tiers and profiles", "[pulse_policy]") {
  CHECK(omega::to_string(Tier::Monitor) == "Monitor");
  CHECK(omega::to_string(Tier::Warn) == "Warn");
  CHECK(omega::to_string(Tier::Yield) == "Yield");
  CHECK(omega::to_string(Tier::Isolate) == "Isolate");
  CHECK(omega::to_string(PulseProfile::Aggressive) == "Aggressive");
  CHECK(omega::to_string(PulseProfile::Balanced) == "Balanced");
  CHECK(omega::to_string(PulseProfile::Permissive) == "Permissive");
  CHECK(omega::to_string(PulseProfile::Custom) == "Custom");
}

TEST_CASE("every profile validates, and Aggressive steps in before Balanced before Permissive", "[pulse_policy]") {
  const PulseConfig a = PulseConfig::profile(PulseProfile::Aggressive);
  const PulseConfig b = PulseConfig::profile(PulseProfile::Balanced);
  const PulseConfig p = PulseConfig::profile(PulseProfile::Permissive);
  const PulseConfig c = PulseConfig::profile(PulseProfile::Custom);
  CHECK(a.validate().empty());
  CHECK(b.validate().empty());
  CHECK(p.validate().empty());
  CHECK(c.validate().empty());
  CHECK(PulseConfig{}.validate().empty());
  CHECK(PulseConfig{} == b);

  CHECK(a.profile_kind == PulseProfile::Aggressive);
  CHECK(b.profile_kind == PulseProfile::Balanced);
  CHECK(p.profile_kind == PulseProfile::Permissive);
  // Custom is Balanced's values, marked Custom.
  CHECK(c.profile_kind == PulseProfile::Custom);
  PulseConfig c_as_b = c;
  c_as_b.profile_kind = PulseProfile::Balanced;
  CHECK(c_as_b == b);

  CHECK(b.unit_budget == 128);
  CHECK(b.poll_budget == 1ms);
  CHECK(a.unit_budget == 64);
  CHECK(a.poll_budget == 500us);
  CHECK(a.watchdog_threshold == 2ms);
  CHECK(p.unit_budget == 256);
  CHECK(p.poll_budget == 2ms);
  CHECK(p.watchdog_threshold == 10ms);
  CHECK(a.slow_poll_threshold < b.slow_poll_threshold);
  CHECK(b.slow_poll_threshold < p.slow_poll_threshold);

  // Balanced's tiers as seed 002's plan and the issue list them.
  const TierPolicy& bm = b.tier(Tier::Monitor);
  CHECK((bm.promotion_violations == 3 && bm.promotion_cpu_ms == 10 && bm.promotion_slow_polls == 2));
  const TierPolicy& bw = b.tier(Tier::Warn);
  CHECK((bw.promotion_violations == 3 && bw.promotion_cpu_ms == 25 && bw.promotion_slow_polls == 3));
  CHECK((bw.demotion_good_polls == 50 && bw.demotion_min_duration_ms == 10 && bw.demotion_cpu_threshold_ns == 200 * kUs));
  const TierPolicy& by = b.tier(Tier::Yield);
  CHECK((by.promotion_violations == 5 && by.promotion_cpu_ms == 50 && by.promotion_slow_polls == 3));
  CHECK((by.demotion_good_polls == 100 && by.demotion_min_duration_ms == 50 && by.demotion_cpu_threshold_ns == 200 * kUs));
  const TierPolicy& bi = b.tier(Tier::Isolate);
  CHECK((bi.demotion_good_polls == 200 && bi.demotion_min_duration_ms == 100 && bi.demotion_cpu_threshold_ns == 200 * kUs));

  for (Tier t : {Tier::Monitor, Tier::Warn, Tier::Yield}) {
    INFO(omega::to_string(t));
    CHECK(a.tier(t).promotion_violations <= b.tier(t).promotion_violations);
    CHECK(b.tier(t).promotion_violations <= p.tier(t).promotion_violations);
    CHECK(a.tier(t).promotion_cpu_ms < b.tier(t).promotion_cpu_ms);
    CHECK(b.tier(t).promotion_cpu_ms < p.tier(t).promotion_cpu_ms);
    CHECK(a.tier(t).promotion_slow_polls < p.tier(t).promotion_slow_polls);
  }
  for (Tier t : {Tier::Warn, Tier::Yield, Tier::Isolate}) {
    INFO(omega::to_string(t));
    CHECK(a.tier(t).demotion_good_polls < b.tier(t).demotion_good_polls);
    CHECK(b.tier(t).demotion_good_polls < p.tier(t).demotion_good_polls);
  }
}

TEST_CASE("the tier policy builder round-trips every field", "[pulse_policy]") {
  const TierPolicy p = TierPolicy::builder("hot")
                           .promotion_violations(7)
                           .promotion_cpu_ms(42)
                           .promotion_slow_polls(9)
                           .demotion_good_polls(77)
                           .demotion_min_duration_ms(1234)
                           .demotion_cpu_threshold_ns(5678)
                           .build();
  CHECK(p.name == "hot");
  CHECK(p.promotion_violations == 7);
  CHECK(p.promotion_cpu_ms == 42);
  CHECK(p.promotion_slow_polls == 9);
  CHECK(p.demotion_good_polls == 77);
  CHECK(p.demotion_min_duration_ms == 1234);
  CHECK(p.demotion_cpu_threshold_ns == 5678);

  // Unset fields: promotion disabled, no demotion counts, the default good-poll line.
  const TierPolicy d = TierPolicy::builder("plain").build();
  CHECK(d.promotion_violations == 0);
  CHECK(d.promotion_cpu_ms == 0);
  CHECK(d.promotion_slow_polls == 0);
  CHECK(d.demotion_good_polls == 0);
  CHECK(d.demotion_min_duration_ms == 0);
  CHECK(d.demotion_cpu_threshold_ns == omega::kDefaultGoodPollNs);

  // The issue's example is a valid Yield policy.
  const TierPolicy issue =
      TierPolicy::builder("yield").promotion_violations(3).promotion_cpu_ms(5).demotion_good_polls(100).build();
  CHECK(issue.validate(Tier::Yield).empty());
  PulseConfig c = PulseConfig::profile(PulseProfile::Balanced).with_tier(Tier::Yield, issue);
  CHECK(c.validate().empty());
  CHECK(c.tier(Tier::Yield) == issue);
}

TEST_CASE("promotion by violations over the time budget", "[pulse_policy]") {
  const PulseConfig c = only(TierPolicy::builder("v").promotion_violations(3));
  TierState s;
  // 1.5 ms is over Normal's 1 ms budget but not slow (5 ms).
  auto v = apply_poll(c, s, Priority::Normal, poll(1500 * kUs, true), 0);
  CHECK(v.violation);
  CHECK_FALSE(v.slow);
  CHECK_FALSE(v.good);
  CHECK(s.violations == 1);
  // A poll exactly at the budget is not a violation.
  v = apply_poll(c, s, Priority::Normal, poll(1000 * kUs, true), 0);
  CHECK_FALSE(v.violation);
  CHECK(s.violations == 1);
  CHECK(apply_poll(c, s, Priority::Normal, poll(1500 * kUs, true), 0).change == TierChange::None);
  v = apply_poll(c, s, Priority::Normal, poll(1500 * kUs, true), 5 * kMs);
  CHECK(v.change == TierChange::Promoted);
  CHECK(s.tier == Tier::Warn);
  CHECK(s.violations == 0);  // counted afresh at the new tier
  CHECK(s.tier_since_ns == 5 * kMs);
}

TEST_CASE("promotion by CPU streak: yields do not reset it, waits do", "[pulse_policy]") {
  const PulseConfig c = only(TierPolicy::builder("cpu").promotion_cpu_ms(10));
  const std::uint64_t small = 100 * kUs;  // a good poll, far under the budget

  SECTION("a task that only yields is promoted at 10 ms of CPU") {
    TierState s;
    for (int i = 0; i < 99; ++i) {
      const auto v = apply_poll(c, s, Priority::Normal, poll(small, /*waited=*/false), 0);
      REQUIRE(v.change == TierChange::None);
      REQUIRE(v.good);
    }
    CHECK(s.cpu_streak_ns == 99 * small);
    CHECK(apply_poll(c, s, Priority::Normal, poll(small), 0).change == TierChange::Promoted);
    CHECK(s.tier == Tier::Warn);
    CHECK(s.cpu_streak_ns == 100 * small);  // kept across the tier change
  }
  SECTION("a wait resets the streak, after the poll that waited is counted") {
    TierState s;
    for (int i = 0; i < 99; ++i) REQUIRE(apply_poll(c, s, Priority::Normal, poll(small), 0).change == TierChange::None);
    // The waiting poll still completes 10 ms of CPU: it is evaluated before the reset.
    CHECK(apply_poll(c, s, Priority::Normal, poll(small, /*waited=*/true), 0).change == TierChange::Promoted);
    CHECK(s.cpu_streak_ns == 0);
  }
  SECTION("waiting in between keeps a task under the threshold forever") {
    TierState s;
    for (int i = 0; i < 10'000; ++i) {
      REQUIRE(apply_poll(c, s, Priority::Normal, poll(small, /*waited=*/i % 50 == 49), 0).change ==
              TierChange::None);
    }
    CHECK(s.tier == Tier::Monitor);
    CHECK(s.cpu_streak_ns == 0);
  }
  SECTION("a streak carried into the next tier promotes at that tier's own threshold") {
    PulseConfig c2 = c;
    c2.tiers[1].promotion_cpu_ms = 25;
    TierState s;
    CHECK(polls_until_change(c2, s, Priority::Normal, poll(small), 1000) == 100);  // 10 ms
    CHECK(s.tier == Tier::Warn);
    CHECK(polls_until_change(c2, s, Priority::Normal, poll(small), 1000) == 150);  // 25 ms in all
    CHECK(s.tier == Tier::Yield);
  }
}

TEST_CASE("promotion by slow polls", "[pulse_policy]") {
  const PulseConfig c = only(TierPolicy::builder("slow").promotion_slow_polls(2));
  const std::uint64_t slow_ns = static_cast<std::uint64_t>(c.slow_poll_threshold.count());
  TierState s;
  // Just under the threshold is not slow; at it, it is.
  auto v = apply_poll(c, s, Priority::Normal, poll(slow_ns - 1, true), 0);
  CHECK_FALSE(v.slow);
  CHECK(s.slow_polls == 0);
  v = apply_poll(c, s, Priority::Normal, poll(slow_ns, true), 0);
  CHECK(v.slow);
  CHECK(v.change == TierChange::None);
  CHECK(s.slow_polls == 1);
  v = apply_poll(c, s, Priority::Normal, poll(slow_ns, true), 0);
  CHECK(v.change == TierChange::Promoted);
  CHECK(s.tier == Tier::Warn);
  CHECK(s.slow_polls == 0);
}

TEST_CASE("a policy with every promotion threshold 0 never promotes", "[pulse_policy]") {
  const PulseConfig c = only(TierPolicy::builder("stay"));
  TierState s;
  CHECK(polls_until_change(c, s, Priority::Critical, poll(60 * kMs), 1000) == 1001);
  CHECK(s.tier == Tier::Monitor);
  CHECK(s.violations == 1000);
  CHECK(s.slow_polls == 1000);
}

TEST_CASE("demotion needs both the good polls and the time at the tier", "[pulse_policy]") {
  const PulseConfig c = PulseConfig::profile(PulseProfile::Balanced);  // Warn: 50 good polls, 10 ms
  const std::uint64_t good = 100 * kUs;
  const std::int64_t t0 = 1'000 * kMs;

  auto at_warn = [&] {
    TierState s;
    s.tier = Tier::Warn;
    s.tier_since_ns = t0;
    return s;
  };

  SECTION("enough good polls, too early") {
    TierState s = at_warn();
    for (int i = 0; i < 200; ++i) {
      REQUIRE(apply_poll(c, s, Priority::Normal, poll(good, true), t0 + 9 * kMs).change == TierChange::None);
    }
    CHECK(s.good_polls == 200);
    const auto v = apply_poll(c, s, Priority::Normal, poll(good, true), t0 + 10 * kMs);
    CHECK(v.change == TierChange::Demoted);
    CHECK(s.tier == Tier::Monitor);
    CHECK(s.good_polls == 0);
    CHECK(s.tier_since_ns == t0 + 10 * kMs);
  }
  SECTION("long enough, too few good polls") {
    TierState s = at_warn();
    const std::int64_t late = t0 + 1'000 * kMs;
    CHECK(polls_until_change(c, s, Priority::Normal, poll(good, true), 100, late) == 50);
    CHECK(s.tier == Tier::Monitor);
  }
  SECTION("a poll that is not good restarts the count") {
    TierState s = at_warn();
    const std::int64_t late = t0 + 1'000 * kMs;
    for (int i = 0; i < 49; ++i) REQUIRE(apply_poll(c, s, Priority::Normal, poll(good, true), late).good);
    // 300 µs: under the budget (no violation), over the 200 µs good line.
    const auto v = apply_poll(c, s, Priority::Normal, poll(300 * kUs, true), late);
    CHECK_FALSE(v.good);
    CHECK_FALSE(v.violation);
    CHECK(s.good_polls == 0);
    CHECK(polls_until_change(c, s, Priority::Normal, poll(good, true), 100, late) == 50);
    CHECK(s.tier == Tier::Monitor);
  }
  SECTION("a poll at the good line is good") {
    TierState s = at_warn();
    CHECK(apply_poll(c, s, Priority::Normal, poll(200 * kUs, true), t0).good);
    CHECK_FALSE(apply_poll(c, s, Priority::Normal, poll(200 * kUs + 1, true), t0).good);
  }
}

TEST_CASE("a poll over its budget is never good, even under the good line", "[pulse_policy]") {
  const PulseConfig c = PulseConfig::profile(PulseProfile::Balanced);
  TierState s;
  s.tier = Tier::Yield;
  // Low at Yield: 1 ms * 0.5 / 4 = 125 µs budget; 150 µs is under the 200 µs good line.
  REQUIRE(poll_budget_for(c, Priority::Low, Tier::Yield).time_ns == 125 * static_cast<std::int64_t>(kUs));
  const auto v = apply_poll(c, s, Priority::Low, poll(150 * kUs, true), 0);
  CHECK(v.violation);
  CHECK_FALSE(v.good);
  CHECK(s.good_polls == 0);
}

TEST_CASE("a flagged poll goes straight to Isolate from any tier", "[pulse_policy]") {
  const PulseConfig c = PulseConfig::profile(PulseProfile::Balanced);
  for (Tier from : {Tier::Monitor, Tier::Warn, Tier::Yield}) {
    INFO(omega::to_string(from));
    TierState s;
    s.tier = from;
    s.violations = 1;
    s.cpu_streak_ns = 7;
    // Even a short poll: the watchdog saw it running past its threshold before it ended.
    const auto v = apply_poll(c, s, Priority::Critical, poll(10 * kUs, false, /*flagged=*/true), 42);
    CHECK(v.change == TierChange::Promoted);
    CHECK_FALSE(v.good);
    CHECK(s.tier == Tier::Isolate);
    CHECK(s.violations == 0);
    CHECK(s.tier_since_ns == 42);
    CHECK(s.cpu_streak_ns == 7 + 10 * kUs);
  }
  TierState s;
  s.tier = Tier::Isolate;
  s.tier_since_ns = 1;
  s.good_polls = 10;
  const auto v = apply_poll(c, s, Priority::Normal, poll(10 * kUs, false, true), 99);
  CHECK(v.change == TierChange::None);
  CHECK(s.tier == Tier::Isolate);
  CHECK(s.good_polls == 0);  // a flagged poll breaks the good streak
  CHECK(s.tier_since_ns == 1);
}

TEST_CASE("at most one tier per poll, Isolate never promotes, Monitor never demotes", "[pulse_policy]") {
  PulseConfig c = PulseConfig::profile(PulseProfile::Balanced);
  // Isolate's promotion fields are ignored, whatever they say.
  c.tiers[3].promotion_violations = 1;
  c.tiers[3].promotion_slow_polls = 1;
  c.tiers[3].promotion_cpu_ms = 1;
  REQUIRE(c.validate().empty());
  TierState s;
  // One poll that breaks every threshold of every tier at once.
  const PollSample hog = poll(3'000 * kMs);
  auto v = apply_poll(c, s, Priority::Critical, hog, 1);
  CHECK(v.change == TierChange::Promoted);
  CHECK(s.tier == Tier::Warn);
  v = apply_poll(c, s, Priority::Critical, hog, 2);
  CHECK(s.tier == Tier::Yield);
  v = apply_poll(c, s, Priority::Critical, hog, 3);
  CHECK(s.tier == Tier::Isolate);
  for (int i = 0; i < 100; ++i) {
    v = apply_poll(c, s, Priority::Critical, hog, 4 + i);
    REQUIRE(v.change == TierChange::None);
    REQUIRE(s.tier == Tier::Isolate);
  }
  CHECK(s.tier_since_ns == 3);

  // Monitor: good polls for ever, however long, never demote (there is nothing below).
  PulseConfig m = PulseConfig::profile(PulseProfile::Balanced);
  m.tiers[0].demotion_good_polls = 1;
  TierState t;
  for (int i = 0; i < 1000; ++i) {
    v = apply_poll(m, t, Priority::Normal, poll(10 * kUs, true), i * kMs);
    REQUIRE(v.good);
    REQUIRE(v.change == TierChange::None);
  }
  CHECK(t.tier == Tier::Monitor);
  CHECK(t.good_polls == 1000);

  // Demotion is one tier per poll too.
  TierState d;
  d.tier = Tier::Isolate;
  const std::int64_t late = 1'000'000 * kMs;
  CHECK(polls_until_change(c, d, Priority::Normal, poll(10 * kUs, true), 1000, late) == 200);
  CHECK(d.tier == Tier::Yield);
  CHECK(polls_until_change(c, d, Priority::Normal, poll(10 * kUs, true), 1000, late + 50 * kMs) == 100);
  CHECK(d.tier == Tier::Warn);
}

TEST_CASE("priority multipliers scale budgets and escalation thresholds", "[pulse_policy]") {
  CHECK(omega::budget_multiplier(Priority::Critical) == 4.0);
  CHECK(omega::budget_multiplier(Priority::High) == 2.0);
  CHECK(omega::budget_multiplier(Priority::Normal) == 1.0);
  CHECK(omega::budget_multiplier(Priority::Low) == 0.5);
  CHECK(omega::threshold_multiplier(Priority::Critical) == 0.25);
  CHECK(omega::threshold_multiplier(Priority::High) == 0.5);
  CHECK(omega::threshold_multiplier(Priority::Normal) == 1.0);
  CHECK(omega::threshold_multiplier(Priority::Low) == 2.0);

  const PulseConfig c = PulseConfig::profile(PulseProfile::Balanced);
  for (Tier t : {Tier::Monitor, Tier::Warn, Tier::Yield, Tier::Isolate}) {
    INFO(omega::to_string(t));
    const auto crit = poll_budget_for(c, Priority::Critical, t);
    const auto low = poll_budget_for(c, Priority::Low, t);
    CHECK(crit.units == 8 * low.units);
    CHECK(crit.time_ns == 8 * low.time_ns);
  }
  CHECK(poll_budget_for(c, Priority::Critical, Tier::Monitor).units == 512);
  CHECK(poll_budget_for(c, Priority::High, Tier::Monitor).units == 256);
  CHECK(poll_budget_for(c, Priority::Normal, Tier::Monitor).units == 128);
  CHECK(poll_budget_for(c, Priority::Low, Tier::Monitor).units == 64);
  CHECK(poll_budget_for(c, Priority::Critical, Tier::Monitor).time_ns == 4 * kMs);
  CHECK(poll_budget_for(c, Priority::Low, Tier::Monitor).time_ns == kMs / 2);

  // The same poll is a violation for Normal but within Critical's budget.
  {
    TierState n;
    TierState k;
    CHECK(apply_poll(c, n, Priority::Normal, poll(2 * kMs, true), 0).violation);
    CHECK_FALSE(apply_poll(c, k, Priority::Critical, poll(2 * kMs, true), 0).violation);
  }

  // Escalation: 8 violations at Normal, a quarter (2) at Critical, half at High, twice at Low.
  const PulseConfig v = only(TierPolicy::builder("v").promotion_violations(8));
  const PollSample over_all = poll(5 * kMs, true);  // over even Critical's 4 ms budget
  const auto polls_to_promote = [&](Priority p) {
    TierState s;
    return polls_until_change(v, s, p, over_all, 100);
  };
  CHECK(polls_to_promote(Priority::Normal) == 8);
  CHECK(polls_to_promote(Priority::Critical) == 2);
  CHECK(polls_to_promote(Priority::High) == 4);
  CHECK(polls_to_promote(Priority::Low) == 16);

  // The CPU streak threshold scales the same way: 10 ms at Normal is 2.5 ms at Critical.
  const PulseConfig cpu = only(TierPolicy::builder("cpu").promotion_cpu_ms(10));
  TierState s;
  CHECK(polls_until_change(cpu, s, Priority::Critical, poll(100 * kUs), 1000) == 25);
  TierState l;
  CHECK(polls_until_change(cpu, l, Priority::Low, poll(100 * kUs), 1000) == 200);
}

TEST_CASE("scaled thresholds round, saturate, and never disable an enabled threshold", "[pulse_policy]") {
  using omega::scaled_threshold;
  CHECK(scaled_threshold(0, Priority::Low) == 0);
  CHECK(scaled_threshold(0, Priority::Critical) == 0);
  CHECK(scaled_threshold(1, Priority::Critical) == 1);  // 0.25 would disable it
  CHECK(scaled_threshold(1, Priority::High) == 1);
  CHECK(scaled_threshold(3, Priority::Critical) == 1);  // 0.75 rounds to 1
  CHECK(scaled_threshold(3, Priority::High) == 2);      // 1.5 rounds up
  CHECK(scaled_threshold(5, Priority::Critical) == 1);  // 1.25 rounds down
  CHECK(scaled_threshold(3, Priority::Low) == 6);
  constexpr auto kMax = std::numeric_limits<std::uint64_t>::max();
  CHECK(scaled_threshold(kMax, Priority::Low) == kMax);
  CHECK(scaled_threshold(kMax, Priority::Normal) == kMax);
  CHECK(scaled_threshold(kMax - 1, Priority::Normal) == kMax - 1);

  // A threshold of 1 at Critical still needs one violation, not zero.
  const PulseConfig c = only(TierPolicy::builder("one").promotion_violations(1));
  TierState s;
  CHECK(apply_poll(c, s, Priority::Critical, poll(1 * kUs, true), 0).change == TierChange::None);
  CHECK(apply_poll(c, s, Priority::Critical, poll(5 * kMs, true), 0).change == TierChange::Promoted);
}

TEST_CASE("Yield and Isolate divide both budgets by the yield divisor", "[pulse_policy]") {
  PulseConfig c = PulseConfig::profile(PulseProfile::Balanced);
  CHECK(poll_budget_for(c, Priority::Normal, Tier::Monitor).units == 128);
  CHECK(poll_budget_for(c, Priority::Normal, Tier::Warn).units == 128);
  CHECK(poll_budget_for(c, Priority::Normal, Tier::Warn).time_ns == kMs);
  CHECK(poll_budget_for(c, Priority::Normal, Tier::Yield).units == 32);
  CHECK(poll_budget_for(c, Priority::Normal, Tier::Yield).time_ns == kMs / 4);
  CHECK(poll_budget_for(c, Priority::Normal, Tier::Isolate).units == 32);
  CHECK(poll_budget_for(c, Priority::Normal, Tier::Isolate).time_ns == kMs / 4);

  c.with_yield_budget_divisor(8);
  CHECK(poll_budget_for(c, Priority::Normal, Tier::Yield).units == 16);
  CHECK(poll_budget_for(c, Priority::Normal, Tier::Yield).time_ns == kMs / 8);

  // The same 300 µs poll: within the budget at Warn, a violation at Yield.
  c = PulseConfig::profile(PulseProfile::Balanced);
  TierState w;
  w.tier = Tier::Warn;
  TierState y;
  y.tier = Tier::Yield;
  CHECK_FALSE(apply_poll(c, w, Priority::Normal, poll(300 * kUs, true), 0).violation);
  CHECK(apply_poll(c, y, Priority::Normal, poll(300 * kUs, true), 0).violation);

  // Floors: at least one unit and one microsecond.
  c.with_unit_budget(1).with_poll_budget(1us).with_yield_budget_divisor(1024);
  REQUIRE(c.validate().empty());
  CHECK(poll_budget_for(c, Priority::Low, Tier::Yield).units == 1);
  CHECK(poll_budget_for(c, Priority::Low, Tier::Yield).time_ns == 1'000);
  // Saturation: the largest unit budget at Critical stays in range.
  c.with_unit_budget(std::numeric_limits<std::uint32_t>::max());
  CHECK(poll_budget_for(c, Priority::Critical, Tier::Monitor).units == std::numeric_limits<std::uint32_t>::max());
}

TEST_CASE("counters saturate instead of wrapping", "[pulse_policy]") {
  const PulseConfig c = only(TierPolicy::builder("stay"));
  TierState s;
  s.violations = std::numeric_limits<std::uint32_t>::max();
  s.slow_polls = std::numeric_limits<std::uint32_t>::max();
  s.cpu_streak_ns = std::numeric_limits<std::uint64_t>::max() - 1;
  (void)apply_poll(c, s, Priority::Normal, poll(10 * kMs), 0);
  CHECK(s.violations == std::numeric_limits<std::uint32_t>::max());
  CHECK(s.slow_polls == std::numeric_limits<std::uint32_t>::max());
  CHECK(s.cpu_streak_ns == std::numeric_limits<std::uint64_t>::max());
  CHECK(s.tier == Tier::Monitor);
}

TEST_CASE("tier policy validation names the tier and the field", "[pulse_policy]") {
  const TierPolicy ok = PulseConfig::profile(PulseProfile::Balanced).tier(Tier::Warn);
  REQUIRE(ok.validate(Tier::Warn).empty());

  struct Case {
    const char* field;
    Tier tier;
    std::function<void(TierPolicy&)> breaks;
  };
  const std::vector<Case> cases{
      {"name", Tier::Warn, [](TierPolicy& p) { p.name.clear(); }},
      {"demotion_good_polls", Tier::Warn, [](TierPolicy& p) { p.demotion_good_polls = 0; }},
      {"demotion_good_polls", Tier::Isolate, [](TierPolicy& p) { p.demotion_good_polls = 0; }},
      {"demotion_cpu_threshold_ns", Tier::Yield, [](TierPolicy& p) { p.demotion_cpu_threshold_ns = 0; }},
      {"promotion_cpu_ms", Tier::Monitor, [](TierPolicy& p) { p.promotion_cpu_ms = omega::kPulseMaxCpuMs + 1; }},
      {"promotion_violations", Tier::Warn, [](TierPolicy& p) { p.promotion_violations = 1'000'000'001; }},
      {"promotion_slow_polls", Tier::Warn, [](TierPolicy& p) { p.promotion_slow_polls = 2'000'000'000; }},
      {"demotion_good_polls", Tier::Warn, [](TierPolicy& p) { p.demotion_good_polls = 1'000'000'001; }},
      {"demotion_min_duration_ms", Tier::Warn,
       [](TierPolicy& p) { p.demotion_min_duration_ms = omega::kPulseMaxDurationMs + 1; }},
      {"demotion_cpu_threshold_ns", Tier::Warn,
       [](TierPolicy& p) { p.demotion_cpu_threshold_ns = static_cast<std::uint64_t>(omega::kPulseMaxTimeNs) + 1; }},
  };
  for (const Case& k : cases) {
    TierPolicy p = ok;
    k.breaks(p);
    const std::string why = p.validate(k.tier);
    INFO(k.field << " at " << omega::to_string(k.tier) << ": " << why);
    CHECK_THAT(why, Catch::Contains(k.field));
    CHECK_THAT(why, Catch::Contains(std::string(omega::to_string(k.tier))));
  }

  // Allowed: no promotion at all below Isolate ("stay"); no demotion fields at Monitor;
  // promotion fields at Isolate (ignored).
  CHECK(TierPolicy::builder("stay").demotion_good_polls(5).build().validate(Tier::Warn).empty());
  CHECK(TierPolicy{"monitor"}.validate(Tier::Monitor).empty());
  CHECK(TierPolicy::builder("iso").promotion_violations(3).demotion_good_polls(1).build().validate(Tier::Isolate).empty());
  // Limits are inclusive.
  TierPolicy edge = ok;
  edge.promotion_cpu_ms = omega::kPulseMaxCpuMs;
  edge.promotion_violations = 1'000'000'000;
  CHECK(edge.validate(Tier::Warn).empty());
}

TEST_CASE("config validation names each broken field", "[pulse_policy]") {
  const PulseConfig ok = PulseConfig::profile(PulseProfile::Balanced);
  struct Case {
    const char* field;
    std::function<void(PulseConfig&)> breaks;
  };
  const std::vector<Case> cases{
      {"unit_budget", [](PulseConfig& c) { c.with_unit_budget(0); }},
      {"unit_budget", [](PulseConfig& c) { c.with_unit_budget(1'000'000'001); }},
      {"poll_budget", [](PulseConfig& c) { c.with_poll_budget(0ns); }},
      {"poll_budget", [](PulseConfig& c) { c.with_poll_budget(-1ms); }},
      {"poll_budget", [](PulseConfig& c) { c.with_poll_budget(std::chrono::hours(2)); }},
      {"slow_poll_threshold", [](PulseConfig& c) { c.with_slow_poll_threshold(0ns); }},
      {"yield_budget_divisor", [](PulseConfig& c) { c.with_yield_budget_divisor(0); }},
      {"yield_budget_divisor", [](PulseConfig& c) { c.with_yield_budget_divisor(1025); }},
      {"watchdog_threshold", [](PulseConfig& c) { c.with_watchdog(0ns, 0ns); }},
      {"watchdog_period", [](PulseConfig& c) { c.with_watchdog(5ms, 0ns); }},
      {"watchdog_period", [](PulseConfig& c) { c.with_watchdog(5ms, 6ms); }},
      {"algorithm", [](PulseConfig& c) { c.with_algorithm(static_cast<omega::SchedulingAlgorithm>(9)); }},
      {"profile_kind", [](PulseConfig& c) { c.profile_kind = static_cast<PulseProfile>(9); }},
      {"slow_lane_share", [](PulseConfig& c) { c.with_slow_lane_share(0.0); }},
      {"slow_lane_share", [](PulseConfig& c) { c.with_slow_lane_share(1.01); }},
      {"slow_lane_share", [](PulseConfig& c) { c.with_slow_lane_share(std::numeric_limits<double>::quiet_NaN()); }},
      {"slow_lane_weights[Low]", [](PulseConfig& c) { c.with_slow_lane_weight(Priority::Low, 0); }},
      {"slow_lane_weights[Normal]", [](PulseConfig& c) { c.with_slow_lane_weight(Priority::Normal, 0); }},
      {"slow_lane_weights[High]", [](PulseConfig& c) { c.with_slow_lane_weight(Priority::High, 2'000'000); }},
      {"drr_quantum", [](PulseConfig& c) { c.with_drr_quantum(0ns); }},
      {"Yield policy \"yield\": demotion_good_polls",
       [](PulseConfig& c) { c.with_tier(Tier::Yield, TierPolicy::builder("yield").build()); }},
  };
  for (const Case& k : cases) {
    PulseConfig c = ok;
    k.breaks(c);
    const std::string why = c.validate();
    INFO(k.field << ": " << why);
    CHECK_THAT(why, Catch::Contains(k.field));
  }

  // Critical's weight is unused (always first): 0 is fine there.
  PulseConfig crit = ok;
  crit.with_slow_lane_weight(Priority::Critical, 0);
  CHECK(crit.validate().empty());
  // Period equal to the threshold, and a share of exactly 1, are allowed.
  PulseConfig edge = ok;
  edge.with_watchdog(2ms, 2ms).with_slow_lane_share(1.0);
  CHECK(edge.validate().empty());

  // Every reason is reported, not just the first.
  PulseConfig many = ok;
  many.with_unit_budget(0).with_slow_lane_share(2.0);
  many.tiers[2].demotion_cpu_threshold_ns = 0;
  const std::string why = many.validate();
  CHECK_THAT(why, Catch::Contains("unit_budget"));
  CHECK_THAT(why, Catch::Contains("slow_lane_share"));
  CHECK_THAT(why, Catch::Contains("Yield policy \"yield\": demotion_cpu_threshold_ns"));
}

TEST_CASE("every setter marks the config Custom", "[pulse_policy]") {
  const std::vector<std::pair<const char*, std::function<void(PulseConfig&)>>> setters{
      {"with_unit_budget", [](PulseConfig& c) { c.with_unit_budget(128); }},
      {"with_poll_budget", [](PulseConfig& c) { c.with_poll_budget(1ms); }},
      {"with_slow_poll_threshold", [](PulseConfig& c) { c.with_slow_poll_threshold(5ms); }},
      {"with_yield_budget_divisor", [](PulseConfig& c) { c.with_yield_budget_divisor(4); }},
      {"with_watchdog", [](PulseConfig& c) { c.with_watchdog(5ms, 1ms); }},
      {"with_algorithm", [](PulseConfig& c) { c.with_algorithm(omega::SchedulingAlgorithm::Lottery); }},
      {"with_slow_lane_share", [](PulseConfig& c) { c.with_slow_lane_share(0.5); }},
      {"with_slow_lane_weight", [](PulseConfig& c) { c.with_slow_lane_weight(Priority::High, 5); }},
      {"with_drr_quantum", [](PulseConfig& c) { c.with_drr_quantum(1ms); }},
      {"with_tier", [](PulseConfig& c) { c.with_tier(Tier::Warn, c.tier(Tier::Warn)); }},
  };
  for (PulseProfile from : {PulseProfile::Aggressive, PulseProfile::Balanced, PulseProfile::Permissive}) {
    for (const auto& [name, set] : setters) {
      INFO(name << " from " << omega::to_string(from));
      PulseConfig c = PulseConfig::profile(from);
      set(c);
      CHECK(c.profile_kind == PulseProfile::Custom);
      CHECK(c.validate().empty());
    }
  }
  // Chained on a preset, each setter's value lands.
  const PulseConfig c = PulseConfig::profile(PulseProfile::Aggressive)
                            .with_unit_budget(99)
                            .with_poll_budget(3ms)
                            .with_watchdog(7ms, 2ms)
                            .with_algorithm(omega::SchedulingAlgorithm::DeficitRoundRobin)
                            .with_slow_lane_weight(Priority::Low, 3);
  CHECK(c.profile_kind == PulseProfile::Custom);
  CHECK(c.unit_budget == 99);
  CHECK(c.poll_budget == 3ms);
  CHECK(c.watchdog_threshold == 7ms);
  CHECK(c.watchdog_period == 2ms);
  CHECK(c.algorithm == omega::SchedulingAlgorithm::DeficitRoundRobin);
  CHECK(c.slow_lane_weights[0] == 3);
  CHECK(c.tier(Tier::Warn) == PulseConfig::profile(PulseProfile::Aggressive).tier(Tier::Warn));
}
