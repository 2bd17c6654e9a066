#include <omega/pulse/slow_queue.hpp>

#include <algorithm>
#include <limits>

#include <omega/base/assert.hpp>

namespace omega {

namespace {

// Grants (weight * quantum_ns) stay at or below kMaxGrant and balances at or above -kMaxDebt,
// so that a balance plus any number of grants up to the cap never overflows an int64.
constexpr std::uint64_t kMaxGrant = std::uint64_t{1} << 62;
constexpr std::int64_t kMaxDebt = std::int64_t{1} << 62;

// The classes the algorithms choose among, in DRR's visiting order (and the tie order).
constexpr std::array<std::size_t, 3> kFair{static_cast<std::size_t>(Priority::High),
                                           static_cast<std::size_t>(Priority::Normal),
                                           static_cast<std::size_t>(Priority::Low)};

std::int64_t subtract_saturating(std::int64_t balance, std::uint64_t cost) noexcept {
  const auto room = static_cast<std::uint64_t>(balance + kMaxDebt);  // balance >= -kMaxDebt
  return cost >= room ? -kMaxDebt : balance - static_cast<std::int64_t>(cost);
}

// Grants needed (>= 1) for a balance of `balance` to become positive.
std::uint64_t grants_to_positive(std::int64_t balance, std::int64_t grant) noexcept {
  return balance > 0 ? 1 : static_cast<std::uint64_t>(-balance / grant) + 1;
}

// min(balance + k * grant, grant) for k >= 1: k refills, none banked beyond one grant.
std::int64_t refill_capped(std::int64_t balance, std::uint64_t k, std::int64_t grant) noexcept {
  if (balance > 0) return grant;
  // After n grants the balance is in (0, grant]; one more would pass the cap.
  const std::uint64_t n = grants_to_positive(balance, grant);
  if (k > n) return grant;
  return balance + static_cast<std::int64_t>(k - 1) * grant + grant;
}

}  // namespace

std::string_view to_string(SchedulingAlgorithm algorithm) noexcept {
  switch (algorithm) {
    case SchedulingAlgorithm::CreditBased: return "CreditBased";
    case SchedulingAlgorithm::Lottery: return "Lottery";
    case SchedulingAlgorithm::DeficitRoundRobin: return "DeficitRoundRobin";
  }
  return "SchedulingAlgorithm(?)";
}

std::string SlowLaneConfig::validate() const {
  if (quantum_ns == 0) return "slow lane: quantum_ns must be > 0";
  for (std::size_t c : kFair) {
    const auto name = std::string(to_string(static_cast<Priority>(c)));
    if (weights[c] == 0) return "slow lane: the weight of " + name + " must be > 0";
    if (quantum_ns > kMaxGrant / weights[c]) {
      return "slow lane: the weight of " + name + " times quantum_ns (" + std::to_string(weights[c]) + " * " +
             std::to_string(quantum_ns) + ") must not exceed 2^62 ns";
    }
  }
  return {};
}

SlowQueue::SlowQueue(SlowLaneConfig config) : config_(config), rng_(OmegaRng::new_with_seed(config.seed)) {
  OMEGA_ASSERT(config_.validate().empty(), "SlowLaneConfig rejected by validate()");
  reset_algorithm_state();
}

std::int64_t SlowQueue::grant(std::size_t c) const noexcept {
  return static_cast<std::int64_t>(config_.weights[c] * config_.quantum_ns);
}

void SlowQueue::reset_algorithm_state() noexcept {
  for (std::size_t c : kFair) credits_[c] = grant(c);
  deficit_.fill(0);
  drr_pos_ = 0;
  drr_visiting_ = false;
}

void SlowQueue::set_algorithm(SchedulingAlgorithm a) noexcept {
  if (a == config_.algorithm) return;
  config_.algorithm = a;
  reset_algorithm_state();
}

std::optional<Priority> SlowQueue::drr_current() const noexcept {
  if (!drr_visiting_) return std::nullopt;
  return static_cast<Priority>(kFair[drr_pos_]);
}

void SlowQueue::push(void* item, Priority p) {
  queues_[index(p)].push_back(item);
  ++size_;
}

std::optional<SlowQueue::Entry> SlowQueue::pop() {
  if (size_ == 0) return std::nullopt;
  std::size_t c = kCritical;
  if (queues_[kCritical].empty()) {
    switch (config_.algorithm) {
      case SchedulingAlgorithm::CreditBased: c = pick_credit(); break;
      case SchedulingAlgorithm::Lottery: c = pick_lottery(); break;
      case SchedulingAlgorithm::DeficitRoundRobin: c = pick_drr(); break;
    }
  }
  auto& q = queues_[c];
  OMEGA_DASSERT(!q.empty(), "slow lane picked an empty class");
  void* item = q.front();
  q.pop_front();
  --size_;
  ++stats_[c].served;
  return Entry{item, static_cast<Priority>(c)};
}

void SlowQueue::charge(Priority p, std::uint64_t cost_ns) noexcept {
  const std::size_t c = index(p);
  auto& s = stats_[c];
  s.served_ns = cost_ns > std::numeric_limits<std::uint64_t>::max() - s.served_ns
                    ? std::numeric_limits<std::uint64_t>::max()
                    : s.served_ns + cost_ns;
  if (c == kCritical) return;
  switch (config_.algorithm) {
    case SchedulingAlgorithm::CreditBased: credits_[c] = subtract_saturating(credits_[c], cost_ns); break;
    case SchedulingAlgorithm::Lottery: break;
    case SchedulingAlgorithm::DeficitRoundRobin: deficit_[c] = subtract_saturating(deficit_[c], cost_ns); break;
  }
}

std::size_t SlowQueue::pick_credit() noexcept {
  const auto richest = [this] {
    std::size_t best = kCritical;
    for (std::size_t c : kFair) {  // High first: ties go to the higher priority
      if (!queues_[c].empty() && (best == kCritical || credits_[c] > credits_[best])) best = c;
    }
    return best;
  };
  std::size_t best = richest();
  OMEGA_DASSERT(best != kCritical, "credit pick with no fair class queued");
  if (credits_[best] > 0) return best;
  // Every queued class is out of credits: refill as many times as it takes for one of them to
  // have some again, at once (a single large charge may have left debts of many refills).
  std::uint64_t k = std::numeric_limits<std::uint64_t>::max();
  for (std::size_t c : kFair) {
    if (!queues_[c].empty()) k = std::min(k, grants_to_positive(credits_[c], grant(c)));
  }
  for (std::size_t c : kFair) credits_[c] = refill_capped(credits_[c], k, grant(c));
  best = richest();
  OMEGA_DASSERT(credits_[best] > 0, "credit refill left every queued class without credits");
  return best;
}

std::size_t SlowQueue::pick_lottery() noexcept {
  std::uint64_t tickets = 0;
  std::size_t only = kCritical;
  std::size_t classes = 0;
  for (std::size_t c : kFair) {
    if (queues_[c].empty()) continue;
    tickets += config_.weights[c];
    only = c;
    ++classes;
  }
  OMEGA_DASSERT(classes > 0, "lottery with no fair class queued");
  if (classes == 1) return only;
  std::uint64_t draw = rng_.gen_range(tickets);
  for (std::size_t c : kFair) {
    if (queues_[c].empty()) continue;
    if (draw < config_.weights[c]) return c;
    draw -= config_.weights[c];
  }
  return only;  // unreachable: draw < tickets
}

std::size_t SlowQueue::pick_drr() noexcept {
  constexpr std::size_t kClasses = kFair.size();
  if (drr_visiting_) {
    const std::size_t c = kFair[drr_pos_];
    if (!queues_[c].empty() && deficit_[c] > 0) return c;
    if (queues_[c].empty()) deficit_[c] = std::min<std::int64_t>(deficit_[c], 0);
    drr_pos_ = (drr_pos_ + 1) % kClasses;
    drr_visiting_ = false;
  }
  // The next visits, counted from the class at drr_pos_: visit v goes to the class at step
  // v % 3 and grants it one quantum. A queued class at step s whose deficit needs n grants to
  // turn positive is served at visit (n - 1) * 3 + s; the earliest such visit wins. Skipping to
  // it at once keeps pop O(classes) even after a charge of many quanta.
  std::uint64_t best_visit = std::numeric_limits<std::uint64_t>::max();
  std::size_t best_step = 0;
  for (std::size_t s = 0; s < kClasses; ++s) {
    const std::size_t c = kFair[(drr_pos_ + s) % kClasses];
    if (queues_[c].empty()) {
      deficit_[c] = std::min<std::int64_t>(deficit_[c], 0);
      continue;
    }
    const std::uint64_t visit = (grants_to_positive(deficit_[c], grant(c)) - 1) * kClasses + s;
    if (visit < best_visit) {
      best_visit = visit;
      best_step = s;
    }
  }
  OMEGA_DASSERT(best_visit != std::numeric_limits<std::uint64_t>::max(), "DRR with no fair class queued");
  // Every queued class receives the grants of the visits up to and including the winning one;
  // only the winner turns positive.
  for (std::size_t s = 0; s < kClasses; ++s) {
    const std::size_t c = kFair[(drr_pos_ + s) % kClasses];
    if (queues_[c].empty() || s > best_visit) continue;
    const std::uint64_t grants = (best_visit - s) / kClasses + 1;
    deficit_[c] += static_cast<std::int64_t>(grants - 1) * grant(c);
    deficit_[c] += grant(c);
  }
  drr_pos_ = (drr_pos_ + best_step) % kClasses;
  drr_visiting_ = true;
  return kFair[drr_pos_];
}

}  // namespace omega
