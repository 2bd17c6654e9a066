#pragma once
// Names the pulse layer (seed 002, Tokio-Pulse) shares between its parts: the four
// intervention tiers, the configuration profiles and the slow lane's algorithms.
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace omega {

// How far Pulse has stepped in for one task. A task starts at Monitor and is promoted one
// tier at a time (a poll the watchdog caught still running goes straight to Isolate) and
// demoted one tier at a time.
//   Monitor: counted only.
//   Warn:    each violation publishes a SystemSignal::SlowPoll and counts.
//   Yield:   budgets are cut and the task requeues behind other work after every poll.
//   Isolate: the task runs from the slow lane (bounded CPU share, fair between priorities).
enum class Tier : std::uint8_t { Monitor, Warn, Yield, Isolate };
inline constexpr std::size_t kTierCount = 4;

// Preset thresholds (PulseConfig::profile): Aggressive steps in early, Permissive late.
// Custom marks a configuration changed after it was built from a profile.
enum class PulseProfile : std::uint8_t { Aggressive, Balanced, Permissive, Custom };

// How the slow lane chooses among Low, Normal and High isolated tasks. Critical ones are
// always served first, in order.
enum class SchedulingAlgorithm : std::uint8_t { CreditBased, Lottery, DeficitRoundRobin };

[[nodiscard]] std::string_view to_string(Tier tier) noexcept;
[[nodiscard]] std::string_view to_string(PulseProfile profile) noexcept;
[[nodiscard]] std::string_view to_string(SchedulingAlgorithm algorithm) noexcept;

}  // namespace omega
