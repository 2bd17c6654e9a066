#pragma once
// Pulse (seed 002, Tokio-Pulse): every poll of every cooperative task is timed and charged
// against budgets scaled by the task's priority; tasks that keep overrunning climb the tiers
// Monitor -> Warn -> Yield -> Isolate (omega/pulse/types.hpp), and isolated tasks run from a
// slow lane with a bounded share of the CPU, served fairly. A watchdog sees polls that are
// still running past their threshold (a task that never yields), flags them at once and
// lets another worker take over the blocked worker's queue.
//
//   auto system = omega::UltraOmegaSystem::builder()
//       .with_pulse(omega::PulseConfig::profile(omega::PulseProfile::Balanced)).build();
//   auto h = system.spawn(omega::Priority::Normal, crunch(1'000'000), rng);
//   omega::Pulse& pulse = system.pulse();
//   omega::Tier tier = pulse.tier_of(h->id());
//   omega::WorkerMetrics w = pulse.worker_metrics(0);
//   pulse.update_tier_policy(omega::Tier::Yield, omega::TierPolicy::builder("yield").promotion_violations(3).build());
//   pulse.set_algorithm(omega::SchedulingAlgorithm::DeficitRoundRobin);
//
// Contracts:
// - Workers are the threads that poll: index i < worker_count() names one. Index
//   worker_count() - 2 is the slow lane's thread, worker_count() - 1 every other thread that
//   polls (a thread that helps while it waits for a result, the event loop of a build
//   without threads). Each worker's statistics are written by that worker only (the shared
//   last slot excepted), so recording contends with nothing.
// - Policy updates and algorithm changes are validated, then apply from the next poll on,
//   without a restart. A refused update changes nothing and says why.
// - Without with_pulse the system polls coroutines all the same, with the Balanced profile:
//   Pulse cannot be switched off for a coroutine, only made permissive (set_enabled(false)
//   keeps the accounting and stops the interventions: the benchmark's "pulse off").
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <omega/base/histogram.hpp>
#include <omega/base/metrics.hpp>
#include <omega/base/result.hpp>
#include <omega/exec/handle.hpp>
#include <omega/pulse/policy.hpp>
#include <omega/pulse/types.hpp>

namespace omega {

// One worker's counters since start (or since reset_worker_stats).
struct WorkerMetrics {
  std::size_t worker = 0;
  std::uint64_t polls = 0;
  std::uint64_t violations = 0;    // polls over their time budget
  std::uint64_t yields = 0;        // polls that ended in a yield (budget spent, yield_now, or forced at Yield)
  std::uint64_t cpu_ns = 0;        // time spent in polls
  std::uint64_t tasks = 0;         // cooperative tasks that finished here
  std::uint64_t slow_polls = 0;    // polls at or over slow_poll_threshold
  HistogramSnapshot poll_time;     // ns per poll
};

// System-wide counts.
struct PulseStats {
  std::uint64_t spawned = 0;
  std::uint64_t completed = 0;     // finished (value or panic)
  std::uint64_t panicked = 0;      // of which ended by throwing
  std::uint64_t cancelled = 0;     // destroyed by shutdown
  std::uint64_t promotions = 0;
  std::uint64_t demotions = 0;
  std::uint64_t warnings = 0;      // SlowPoll signals published (Warn tier and above, and watchdog flags)
  std::uint64_t watchdog_flags = 0;  // polls flagged while still running
  std::uint64_t rescues = 0;       // parked workers woken to take over a blocked worker's queue
  std::uint64_t isolated_polls = 0;  // polls run by the slow lane
  std::uint64_t policy_updates = 0;
  std::uint64_t policy_rejections = 0;
  std::size_t live = 0;            // spawned and not yet finished or cancelled
  std::array<std::size_t, kTierCount> tasks_at_tier{};  // of the live tasks
  std::size_t slow_lane_queued = 0;
  SchedulingAlgorithm algorithm = SchedulingAlgorithm::CreditBased;
  bool enabled = true;
  std::string slow_lane_isolation;  // what the slow lane's thread got from the OS ("SCHED_IDLE", ...)
};

namespace detail {
class PulseRuntime;
}

class Pulse {
 public:
  explicit Pulse(detail::PulseRuntime* runtime) noexcept : rt_(runtime) {}
  // The task's tier; Monitor once it has finished, or for an id Pulse does not know.
  [[nodiscard]] Tier tier_of(TaskId id) const;
  [[nodiscard]] std::size_t worker_count() const noexcept;
  // worker >= worker_count() gives zeros with that index.
  [[nodiscard]] WorkerMetrics worker_metrics(std::size_t worker) const;
  [[nodiscard]] std::vector<WorkerMetrics> all_worker_metrics() const;
  // Zeroes one worker's counters. Safe while it polls: a poll in flight may be counted on
  // either side of the reset.
  void reset_worker_stats(std::size_t worker);
  // Validates `policy` for `tier` (TierPolicy::validate) and applies it from the next poll on.
  Result<void, std::string> update_tier_policy(Tier tier, TierPolicy policy);
  // Replaces the whole configuration (validated): budgets, thresholds, watchdog, slow lane.
  Result<void, std::string> update_config(PulseConfig config);
  void set_algorithm(SchedulingAlgorithm algorithm);
  // Interventions on (default) or off; accounting, statistics and tiers' counts go on.
  void set_enabled(bool enabled) noexcept;
  [[nodiscard]] bool enabled() const noexcept;
  [[nodiscard]] PulseConfig config() const;
  [[nodiscard]] PulseStats stats() const;
  // omega_pulse_* counters, gauges and per-worker poll-time histograms (label worker).
  [[nodiscard]] MetricsSnapshot metrics() const;

 private:
  detail::PulseRuntime* rt_;
};

}  // namespace omega
