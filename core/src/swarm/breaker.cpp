#include <omega/swarm/breaker.hpp>

namespace omega::swarm {

std::string_view to_string(BreakerState s) noexcept {
  switch (s) {
    case BreakerState::Closed: return "closed";
    case BreakerState::Open: return "open";
    case BreakerState::HalfOpen: return "half_open";
  }
  return "unknown";
}

std::string BreakerConfig::validate() const {
  if (failure_threshold == 0) return "failure_threshold must be at least 1";
  if (half_open_probes == 0) return "half_open_probes must be at least 1";
  if (open_duration.count() < 0) return "open_duration must not be negative";
  return {};
}

CircuitBreaker::CircuitBreaker(BreakerConfig config, TimeSource time) : config_(config), time_(time) {
  if (config_.failure_threshold == 0) config_.failure_threshold = 1;
  if (config_.half_open_probes == 0) config_.half_open_probes = 1;
}

void CircuitBreaker::transition(BreakerState to, std::int64_t now_ns) {
  state_ = to;
  ++generation_;
  stats_.consecutive_failures = 0;
  probes_granted_ = 0;
  probe_successes_ = 0;
  switch (to) {
    case BreakerState::Open:
      opened_at_ns_ = now_ns;
      ++stats_.opened;
      break;
    case BreakerState::HalfOpen: ++stats_.half_opened; break;
    case BreakerState::Closed: ++stats_.closed; break;
  }
}

BreakerPermit CircuitBreaker::try_acquire() {
  const std::int64_t now = time_.read();
  std::lock_guard lock(mutex_);
  if (state_ == BreakerState::Open) {
    const auto open_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(config_.open_duration).count();
    if (now - opened_at_ns_ < open_ns) {
      ++stats_.refused;
      return {};
    }
    transition(BreakerState::HalfOpen, now);
  }
  if (state_ == BreakerState::HalfOpen) {
    if (probes_granted_ >= config_.half_open_probes) {
      ++stats_.refused;
      return {};
    }
    ++probes_granted_;
    ++stats_.probes;
  }
  ++stats_.admitted;
  return BreakerPermit{true, generation_};
}

void CircuitBreaker::on_success(BreakerPermit permit) {
  if (!permit.granted) return;
  std::lock_guard lock(mutex_);
  ++stats_.successes;
  if (permit.generation != generation_) {
    ++stats_.stale_outcomes;
    return;
  }
  if (state_ == BreakerState::Closed) {
    stats_.consecutive_failures = 0;
  } else if (state_ == BreakerState::HalfOpen && ++probe_successes_ >= config_.half_open_probes) {
    transition(BreakerState::Closed, time_.read());
  }
}

void CircuitBreaker::release(BreakerPermit permit) {
  if (!permit.granted) return;
  std::lock_guard lock(mutex_);
  --stats_.admitted;
  if (permit.generation != generation_) return;
  if (state_ == BreakerState::HalfOpen && probes_granted_ > 0) {
    --probes_granted_;
    --stats_.probes;
  }
}

void CircuitBreaker::on_failure(BreakerPermit permit) {
  if (!permit.granted) return;
  const std::int64_t now = time_.read();
  std::lock_guard lock(mutex_);
  ++stats_.failures;
  if (permit.generation != generation_) {
    ++stats_.stale_outcomes;
    return;
  }
  if (state_ == BreakerState::Closed) {
    if (++stats_.consecutive_failures >= config_.failure_threshold) transition(BreakerState::Open, now);
  } else if (state_ == BreakerState::HalfOpen) {
    transition(BreakerState::Open, now);
  }
}

BreakerState CircuitBreaker::state() const {
  std::lock_guard lock(mutex_);
  return state_;
}

BreakerStats CircuitBreaker::stats() const {
  std::lock_guard lock(mutex_);
  BreakerStats s = stats_;
  s.state = state_;
  return s;
}

}  // namespace omega::swarm
