#pragma once
// CircuitBreaker (seed 004, "circuit breaker patterns for stability"): one per agent, so a
// failing agent stops receiving work until probes show it has recovered.
//
//   omega::swarm::CircuitBreaker breaker({.failure_threshold = 5, .open_duration = 1s, .half_open_probes = 3});
//   if (omega::swarm::BreakerPermit permit = breaker.try_acquire()) {
//     ok ? breaker.on_success(permit) : breaker.on_failure(permit);   // exactly one per permit
//   }   // refused: the agent's circuit is open (SwarmError::CircuitOpen)
//
// States (the transitions resilience4j and Hystrix describe):
// - Closed: every call is admitted. failure_threshold consecutive failures open it (a success
//   resets the count). Consecutive rather than a rate over a window: an agent's calls are few
//   and bursty, and a count needs no window length to tune.
// - Open: every call is refused until open_duration has passed since it opened; the first
//   try_acquire after that moves it to Half-Open.
// - Half-Open: exactly half_open_probes permits are granted, however many callers race for
//   them (resilience4j's users report half-open breakers that admit every caller); every
//   other call is refused. All probes succeeding closes it; any probe failing reopens it.
// A permit remembers the state's generation: outcomes of permits granted before the latest
// transition (a slow call from the Closed era finishing while Half-Open) are counted as stale
// and move nothing, so they cannot pose as probes.
//
// Thread-safe: any thread may acquire and report. One small mutex; the critical sections are
// a few comparisons.
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

#include <omega/time/scheduler.hpp>

namespace omega::swarm {

enum class BreakerState : std::uint8_t { Closed, Open, HalfOpen };
[[nodiscard]] std::string_view to_string(BreakerState s) noexcept;

struct BreakerConfig {
  unsigned failure_threshold = 5;                 // consecutive failures that open a closed breaker
  std::chrono::milliseconds open_duration{1000};  // how long it refuses before probing
  unsigned half_open_probes = 3;                  // permits granted while half-open
  [[nodiscard]] std::string validate() const;     // empty when the config can work
};

struct BreakerStats {
  std::uint64_t admitted = 0;         // permits granted (probes included)
  std::uint64_t refused = 0;          // try_acquire calls refused
  std::uint64_t successes = 0;
  std::uint64_t failures = 0;
  std::uint64_t stale_outcomes = 0;   // outcomes of permits from before the latest transition
  std::uint64_t opened = 0;           // transitions to Open (from Closed or Half-Open)
  std::uint64_t half_opened = 0;      // transitions to Half-Open
  std::uint64_t closed = 0;           // transitions Half-Open -> Closed
  std::uint64_t probes = 0;           // permits granted while half-open
  std::uint32_t consecutive_failures = 0;
  BreakerState state = BreakerState::Closed;
};

// What try_acquire grants: true when the call may go ahead.
struct BreakerPermit {
  bool granted = false;
  std::uint64_t generation = 0;  // the breaker's transition count when granted
  explicit operator bool() const noexcept { return granted; }
};

class CircuitBreaker {
 public:
  explicit CircuitBreaker(BreakerConfig config = {}, TimeSource time = TimeSource::system());

  [[nodiscard]] BreakerPermit try_acquire();
  void on_success(BreakerPermit permit);
  void on_failure(BreakerPermit permit);
  // The permitted call never happened (the caller could not start it): a half-open probe is
  // given back so another caller may take it; a Closed-era permit changes nothing.
  void release(BreakerPermit permit);

  [[nodiscard]] BreakerState state() const;  // as of now: an expired Open reads Open until the next try_acquire
  [[nodiscard]] BreakerStats stats() const;
  [[nodiscard]] const BreakerConfig& config() const noexcept { return config_; }

 private:
  void transition(BreakerState to, std::int64_t now_ns);  // caller holds mutex_

  BreakerConfig config_;
  TimeSource time_;
  mutable std::mutex mutex_;
  BreakerState state_ = BreakerState::Closed;
  std::uint64_t generation_ = 0;
  std::int64_t opened_at_ns_ = 0;
  unsigned probes_granted_ = 0;    // Half-Open: permits handed out this generation
  unsigned probe_successes_ = 0;   // Half-Open: of which reported successful
  BreakerStats stats_;
};

}  // namespace omega::swarm
