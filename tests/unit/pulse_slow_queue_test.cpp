#include <omega/pulse/slow_queue.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <vector>

using omega::kPriorityCount;
using omega::OmegaRng;
using omega::Priority;
using omega::SchedulingAlgorithm;
using omega::SlowLaneConfig;
using omega::SlowQueue;

namespace {

constexpr std::array<SchedulingAlgorithm, 3> kAlgorithms{
    SchedulingAlgorithm::CreditBased, SchedulingAlgorithm::Lottery, SchedulingAlgorithm::DeficitRoundRobin};
constexpr std::array<Priority, 3> kFair{Priority::High, Priority::Normal, Priority::Low};

void* item(std::uintptr_t id) { return reinterpret_cast<void*>(id); }
std::uintptr_t id_of(const SlowQueue::Entry& e) { return reinterpret_cast<std::uintptr_t>(e.item); }
std::size_t idx(Priority p) { return static_cast<std::size_t>(p); }

SlowLaneConfig config(SchedulingAlgorithm a, std::array<std::uint32_t, kPriorityCount> weights = {1, 2, 4, 8},
                      std::uint64_t quantum_ns = 100) {
  SlowLaneConfig c;
  c.algorithm = a;
  c.weights = weights;
  c.quantum_ns = quantum_ns;
  return c;
}

// Pops one entry, charges its cost, pushes a fresh entry of the same class back (so every
// class stays queued), and returns the class served.
Priority serve_and_refill(SlowQueue& q, const std::function<std::uint64_t(Priority)>& cost, std::uintptr_t& next_id) {
  const auto e = q.pop();
  REQUIRE(e.has_value());
  q.charge(e->priority, cost(e->priority));
  q.push(item(next_id++), e->priority);
  return e->priority;
}

// With Low, Normal and High kept queued, checks after every pop that each class's charged CPU
// is within weight * quantum + the largest cost of its weighted share of all the CPU served.
void check_fair_share_bound(SlowQueue& q, const std::function<std::uint64_t(Priority)>& cost,
                            std::uint64_t max_cost, int pops) {
  const auto& cfg = q.config();
  const std::uint64_t total_weight = cfg.weights[0] + cfg.weights[1] + cfg.weights[2];
  std::uintptr_t next_id = 1;
  for (Priority p : kFair) {
    for (int i = 0; i < 3; ++i) q.push(item(next_id++), p);
  }
  std::uint64_t worst_slack = 0;
  for (int i = 0; i < pops; ++i) {
    serve_and_refill(q, cost, next_id);
    std::uint64_t total = 0;
    for (Priority p : kFair) total += q.stats(p).served_ns;
    for (Priority p : kFair) {
      const std::uint64_t w = cfg.weights[idx(p)];
      // |served * W - total * w| <= (w * quantum + max_cost) * W, in integers.
      const auto served_scaled = static_cast<std::int64_t>(q.stats(p).served_ns * total_weight);
      const auto fair_scaled = static_cast<std::int64_t>(total * w);
      const auto bound = static_cast<std::int64_t>((w * cfg.quantum_ns + max_cost) * total_weight);
      const auto diff = static_cast<std::uint64_t>(std::llabs(served_scaled - fair_scaled));
      worst_slack = std::max(worst_slack, diff);
      if (diff > static_cast<std::uint64_t>(bound)) {
        INFO("pop " << i << ", class " << omega::to_string(p) << ": served " << q.stats(p).served_ns
                    << " ns of " << total << " ns, weight " << w << " of " << total_weight);
        REQUIRE(diff <= static_cast<std::uint64_t>(bound));
      }
    }
  }
  // The bound is not vacuous: the run did move away from the exact share.
  CHECK(worst_slack > 0);
}

}  // namespace

TEST_CASE("to_string names the algorithms", "[pulse_slow_queue]") {
  CHECK(omega::to_string(SchedulingAlgorithm::CreditBased) == "CreditBased");
  CHECK(omega::to_string(SchedulingAlgorithm::Lottery) == "Lottery");
  CHECK(omega::to_string(SchedulingAlgorithm::DeficitRoundRobin) == "DeficitRoundRobin");
}

TEST_CASE("validate() accepts the defaults and names what is wrong", "[pulse_slow_queue]") {
  CHECK(SlowLaneConfig{}.validate().empty());
  SlowLaneConfig c;
  c.weights[idx(Priority::Critical)] = 0;  // unused: Critical is always first
  CHECK(c.validate().empty());

  for (Priority p : kFair) {
    SlowLaneConfig bad;
    bad.weights[idx(p)] = 0;
    const std::string msg = bad.validate();
    CHECK(msg == "slow lane: the weight of " + std::string(omega::to_string(p)) + " must be > 0");
  }
  SlowLaneConfig no_quantum;
  no_quantum.quantum_ns = 0;
  CHECK(no_quantum.validate() == "slow lane: quantum_ns must be > 0");

  SlowLaneConfig huge;
  huge.weights = {1, 2, 4, 8};
  huge.quantum_ns = std::uint64_t{1} << 61;  // High: 4 * 2^61 = 2^63
  CHECK(huge.validate() == "slow lane: the weight of High times quantum_ns (4 * 2305843009213693952) must not exceed 2^62 ns");
  huge.quantum_ns = std::uint64_t{1} << 60;  // High: exactly 2^62
  CHECK(huge.validate().empty());
}

TEST_CASE("Critical entries come first, in order, whatever the algorithm and weights", "[pulse_slow_queue]") {
  const std::array<std::array<std::uint32_t, kPriorityCount>, 3> weight_sets{{{1, 2, 4, 8}, {100, 1, 1, 1}, {1, 1, 1000, 0}}};
  for (SchedulingAlgorithm a : kAlgorithms) {
    for (const auto& weights : weight_sets) {
      SlowQueue q(config(a, weights));
      std::uintptr_t next_id = 1;
      std::vector<std::uintptr_t> critical_ids;
      // Fair classes queued before and between the Critical ones.
      for (int i = 0; i < 5; ++i) {
        for (Priority p : kFair) q.push(item(next_id++), p);
        critical_ids.push_back(next_id);
        q.push(item(next_id++), Priority::Critical);
      }
      for (std::uintptr_t expected : critical_ids) {
        const auto e = q.pop();
        REQUIRE(e.has_value());
        CHECK(e->priority == Priority::Critical);
        CHECK(id_of(*e) == expected);
        q.charge(Priority::Critical, 1'000'000);
      }
      // A Critical entry pushed mid-run jumps every fair class.
      const auto fair = q.pop();
      REQUIRE(fair.has_value());
      CHECK(fair->priority != Priority::Critical);
      q.charge(fair->priority, 50);
      q.push(item(999), Priority::Critical);
      const auto late = q.pop();
      REQUIRE(late.has_value());
      CHECK(late->priority == Priority::Critical);
      CHECK(id_of(*late) == 999);
      CHECK(q.stats(Priority::Critical).served == 6);
      CHECK(q.stats(Priority::Critical).served_ns == 5'000'000);
    }
  }
}

TEST_CASE("FIFO within every class, and size() counts per class", "[pulse_slow_queue]") {
  for (SchedulingAlgorithm a : kAlgorithms) {
    SlowQueue q(config(a));
    OmegaRng rng(42);
    std::array<std::vector<std::uintptr_t>, kPriorityCount> pushed;
    for (std::uintptr_t id = 1; id <= 400; ++id) {
      const auto p = static_cast<Priority>(rng.gen_range(kPriorityCount));
      q.push(item(id), p);
      pushed[idx(p)].push_back(id);
    }
    CHECK(q.size() == 400);
    for (std::size_t c = 0; c < kPriorityCount; ++c) CHECK(q.size(static_cast<Priority>(c)) == pushed[c].size());
    std::array<std::vector<std::uintptr_t>, kPriorityCount> popped;
    while (auto e = q.pop()) {
      popped[idx(e->priority)].push_back(id_of(*e));
      q.charge(e->priority, 1 + rng.gen_range(300));
    }
    CHECK(q.empty());
    CHECK(q.size() == 0);
    for (std::size_t c = 0; c < kPriorityCount; ++c) {
      CHECK(popped[c] == pushed[c]);
      CHECK(q.stats(static_cast<Priority>(c)).served == pushed[c].size());
    }
    CHECK_FALSE(q.pop().has_value());
  }
}

TEST_CASE("lottery: shares of draws follow the tickets", "[pulse_slow_queue]") {
  const std::array<std::array<std::uint32_t, kPriorityCount>, 2> weight_sets{{{1, 2, 4, 8}, {5, 3, 2, 1}}};
  for (const auto& weights : weight_sets) {
    SlowQueue q(config(SchedulingAlgorithm::Lottery, weights));
    std::uintptr_t next_id = 1;
    for (Priority p : kFair) q.push(item(next_id++), p);
    constexpr int kDraws = 100'000;
    std::array<int, kPriorityCount> wins{};
    for (int i = 0; i < kDraws; ++i) {
      // Costs do not sway the lottery: High pays 10x the others.
      ++wins[idx(serve_and_refill(q, [](Priority p) { return p == Priority::High ? 1000 : 100; }, next_id))];
    }
    const double total_weight = weights[0] + weights[1] + weights[2];
    for (Priority p : kFair) {
      const double share = static_cast<double>(wins[idx(p)]) / kDraws;
      const double expected = weights[idx(p)] / total_weight;
      INFO("weights " << weights[0] << "/" << weights[1] << "/" << weights[2] << ", class " << omega::to_string(p));
      CHECK(std::abs(share - expected) < 0.01);
      CHECK(q.stats(p).served == static_cast<std::uint64_t>(wins[idx(p)]));
    }
    CHECK(wins[idx(Priority::Critical)] == 0);
  }
}

TEST_CASE("lottery: a class queued alone gets every draw", "[pulse_slow_queue]") {
  for (Priority alone : kFair) {
    SlowQueue q(config(SchedulingAlgorithm::Lottery, {1, 1000, 1000, 1}));
    for (std::uintptr_t id = 1; id <= 1000; ++id) {
      q.push(item(id), alone);
      const auto e = q.pop();
      REQUIRE(e.has_value());
      CHECK(e->priority == alone);
      CHECK(id_of(*e) == id);
      q.charge(alone, 10);
      CHECK(q.empty());
    }
  }
}

TEST_CASE("lottery: the same seed draws the same order", "[pulse_slow_queue]") {
  const auto run = [](std::uint64_t seed) {
    auto c = config(SchedulingAlgorithm::Lottery);
    c.seed = seed;
    SlowQueue q(c);
    std::uintptr_t next_id = 1;
    for (Priority p : kFair) q.push(item(next_id++), p);
    std::vector<Priority> order;
    for (int i = 0; i < 200; ++i) order.push_back(serve_and_refill(q, [](Priority) { return 1; }, next_id));
    return order;
  };
  CHECK(run(7) == run(7));
  CHECK(run(7) != run(8));
}

TEST_CASE("DRR: classes are visited round robin, each served weight quanta per visit", "[pulse_slow_queue]") {
  SECTION("weights 1/2/4, every entry one quantum") {
    SlowQueue q(config(SchedulingAlgorithm::DeficitRoundRobin));
    std::uintptr_t next_id = 1;
    for (Priority p : kFair) q.push(item(next_id++), p);
    CHECK_FALSE(q.drr_current().has_value());
    std::vector<Priority> order;
    for (int i = 0; i < 21; ++i) {
      order.push_back(serve_and_refill(q, [](Priority) { return 100; }, next_id));
      CHECK(q.drr_current() == order.back());
    }
    using P = Priority;
    const std::vector<Priority> round{P::High, P::High, P::High, P::High, P::Normal, P::Normal, P::Low};
    std::vector<Priority> expected;
    for (int r = 0; r < 3; ++r) expected.insert(expected.end(), round.begin(), round.end());
    CHECK(order == expected);
    // Each visit's quantum was used up exactly.
    for (Priority p : kFair) CHECK(q.deficit(p) == 0);
  }
  SECTION("equal weights alternate; an empty class is skipped") {
    SlowQueue q(config(SchedulingAlgorithm::DeficitRoundRobin, {1, 1, 1, 1}));
    for (std::uintptr_t id = 1; id <= 4; ++id) {
      q.push(item(10 + id), Priority::High);
      q.push(item(20 + id), Priority::Low);
    }
    std::vector<std::uintptr_t> order;
    while (auto e = q.pop()) {
      order.push_back(id_of(*e));
      q.charge(e->priority, 100);
    }
    CHECK(order == std::vector<std::uintptr_t>{11, 21, 12, 22, 13, 23, 14, 24});
  }
  SECTION("an overrun is debt: a class charged ten quanta sits out nine visits") {
    SlowQueue q(config(SchedulingAlgorithm::DeficitRoundRobin, {1, 1, 1, 1}));
    std::uintptr_t next_id = 1;
    for (Priority p : kFair) q.push(item(next_id++), p);
    bool first_low = true;
    std::vector<Priority> order;
    for (int i = 0; i < 25; ++i) {
      order.push_back(serve_and_refill(
          q,
          [&](Priority p) {
            if (p == Priority::Low && first_low) {
              first_low = false;
              return 1000;
            }
            return 100;
          },
          next_id));
      if (i == 2) CHECK(q.deficit(Priority::Low) == -900);
    }
    // H N L, then nine rounds of H N while Low pays off 900 ns (100 per visit), then L.
    using P = Priority;
    std::vector<Priority> expected{P::High, P::Normal, P::Low};
    for (int r = 0; r < 10; ++r) {
      expected.push_back(P::High);
      expected.push_back(P::Normal);
    }
    expected.push_back(P::Low);
    expected.push_back(P::High);
    CHECK(order == expected);
  }
}

TEST_CASE("DRR: a class found empty loses its leftover deficit but keeps its debt", "[pulse_slow_queue]") {
  SlowQueue q(config(SchedulingAlgorithm::DeficitRoundRobin));
  for (std::uintptr_t id = 1; id <= 8; ++id) q.push(item(id), Priority::High);
  q.push(item(100), Priority::Low);
  // High's visit: 400 ns of deficit, four entries of 100 ns.
  for (std::uintptr_t id = 1; id <= 4; ++id) {
    const auto e = q.pop();
    REQUIRE(e.has_value());
    CHECK(id_of(*e) == id);
    q.charge(Priority::High, 100);
  }
  CHECK(q.deficit(Priority::High) == 0);
  // Normal is empty and skipped; Low's visit grants 100 ns and its only entry empties it.
  const auto low = q.pop();
  REQUIRE(low.has_value());
  CHECK(id_of(*low) == 100);
  CHECK(q.drr_current() == Priority::Low);
  q.charge(Priority::Low, 30);
  CHECK(q.deficit(Priority::Low) == 70);
  // Low is still empty at the next pop: its 70 ns are not banked, and the turn moves on.
  const auto high = q.pop();
  REQUIRE(high.has_value());
  CHECK(high->priority == Priority::High);
  CHECK(q.deficit(Priority::Low) == 0);
  CHECK(q.deficit(Priority::High) == 400);
  q.charge(Priority::High, 450);  // overrun: High's visit ends with 50 ns of debt

  // Low comes back: its visit starts from one fresh quantum, not 170 ns.
  q.push(item(101), Priority::Low);
  q.push(item(102), Priority::Low);
  const auto next = q.pop();
  REQUIRE(next.has_value());
  CHECK(id_of(*next) == 101);
  CHECK(q.deficit(Priority::Low) == 100);
  CHECK(q.deficit(Priority::High) == -50);
  q.charge(Priority::Low, 150);
  // Low's deficit is spent: the turn passes to High, whose debt is paid from its grant.
  const auto after = q.pop();
  REQUIRE(after.has_value());
  CHECK(after->priority == Priority::High);
  CHECK(q.deficit(Priority::High) == 350);
  CHECK(q.deficit(Priority::Low) == -50);
  q.charge(Priority::High, 350);
  // Low pays 50 of its 100 ns grant; its last entry overruns and empties it.
  const auto last_low = q.pop();
  REQUIRE(last_low.has_value());
  CHECK(id_of(*last_low) == 102);
  CHECK(q.deficit(Priority::Low) == 50);
  q.charge(Priority::Low, 200);
  CHECK(q.deficit(Priority::Low) == -150);
  // Found empty, Low keeps the debt: its next entry waits for two more grants.
  const auto h = q.pop();
  REQUIRE(h.has_value());
  CHECK(h->priority == Priority::High);
  CHECK(q.deficit(Priority::Low) == -150);
  CHECK(q.size(Priority::Low) == 0);
}

TEST_CASE("DRR: an entry pushed back before the next pop continues its class's visit", "[pulse_slow_queue]") {
  // One task per class, re-queued after every poll as the slow lane does: High's lone task
  // gets four 100 ns polls per round, as if its class had stayed queued.
  SlowQueue q(config(SchedulingAlgorithm::DeficitRoundRobin));
  q.push(item(1), Priority::High);
  q.push(item(2), Priority::Low);
  std::vector<std::uintptr_t> order;
  for (int i = 0; i < 10; ++i) {
    const auto e = q.pop();
    REQUIRE(e.has_value());
    order.push_back(id_of(*e));
    q.charge(e->priority, 100);
    q.push(e->item, e->priority);
  }
  CHECK(order == std::vector<std::uintptr_t>{1, 1, 1, 1, 2, 1, 1, 1, 1, 2});
}

TEST_CASE("DRR: CPU per class stays within a quantum and a cost of its fair share", "[pulse_slow_queue]") {
  SECTION("equal costs") {
    SlowQueue q(config(SchedulingAlgorithm::DeficitRoundRobin, {1, 2, 4, 8}, 500'000));
    check_fair_share_bound(q, [](Priority) { return 200'000; }, 200'000, 100'000);
  }
  SECTION("High's entries cost 3x") {
    SlowQueue q(config(SchedulingAlgorithm::DeficitRoundRobin, {1, 2, 4, 8}, 500'000));
    check_fair_share_bound(q, [](Priority p) { return p == Priority::High ? 330'000 : 110'000; }, 330'000, 100'000);
  }
  SECTION("costs vary, up to four quanta, weights 3/1/2") {
    SlowQueue q(config(SchedulingAlgorithm::DeficitRoundRobin, {3, 1, 2, 8}, 100'000));
    OmegaRng rng(99);
    check_fair_share_bound(q, [&](Priority) { return 1 + rng.gen_range(400'000); }, 400'000, 100'000);
  }
}

TEST_CASE("credit-based: a scripted scenario pops in the order worked out by hand", "[pulse_slow_queue]") {
  // weights Low 1, Normal 2, High 4; quantum 100: credits start at L 100, N 200, H 400.
  // High entries cost 250, Normal 150, Low 50.
  SlowQueue q(config(SchedulingAlgorithm::CreditBased));
  const auto cost = [](Priority p) -> std::uint64_t {
    switch (p) {
      case Priority::High: return 250;
      case Priority::Normal: return 150;
      case Priority::Low: return 50;
      case Priority::Critical: return 1000;
    }
    return 0;
  };
  q.push(item(11), Priority::High);
  q.push(item(12), Priority::High);
  q.push(item(13), Priority::High);
  q.push(item(21), Priority::Normal);
  q.push(item(22), Priority::Normal);
  q.push(item(31), Priority::Low);
  q.push(item(32), Priority::Low);
  std::vector<std::uintptr_t> order;
  const auto pop_charge = [&] {
    const auto e = q.pop();
    REQUIRE(e.has_value());
    order.push_back(id_of(*e));
    q.charge(e->priority, cost(e->priority));
  };
  // 1: H 400 is richest            -> 11, H 150
  // 2: N 200                       -> 21, N 50
  // 3: H 150 > L 100 > N 50        -> 12, H -100
  // 4: L 100                       -> 31, L 50
  // 5: N 50 = L 50, tie to Normal  -> 22, N -100 (Normal now empty)
  // 6: L 50 (H is in debt)         -> 32, L 0 (Low now empty)
  for (int i = 0; i < 6; ++i) pop_charge();
  CHECK(q.credits(Priority::High) == -100);
  CHECK(q.credits(Priority::Normal) == -100);
  CHECK(q.credits(Priority::Low) == 0);
  // Two Critical entries and one more Normal arrive.
  q.push(item(41), Priority::Critical);
  q.push(item(42), Priority::Critical);
  q.push(item(23), Priority::Normal);
  // 7, 8: Critical first; their cost touches no credits.
  // 9: H -100 and N -100 are out of credits: one refill, H 300, N 100, L 100 (empty, capped)
  //                                -> 13, H 50
  // 10: N 100                      -> 23, N -50
  for (int i = 0; i < 4; ++i) pop_charge();
  CHECK(order == std::vector<std::uintptr_t>{11, 21, 12, 31, 22, 32, 41, 42, 13, 23});
  CHECK(q.empty());
  CHECK(q.credits(Priority::High) == 50);
  CHECK(q.credits(Priority::Normal) == -50);
  CHECK(q.credits(Priority::Low) == 100);
}

TEST_CASE("credit-based: an idle class banks at most one refill; a debt of many refills is paid at once",
          "[pulse_slow_queue]") {
  SlowQueue q(config(SchedulingAlgorithm::CreditBased));
  std::uintptr_t next_id = 1;
  q.push(item(next_id++), Priority::High);
  q.push(item(next_id++), Priority::Normal);
  bool first_high = true;
  int normal_before_second_high = 0;
  for (int i = 0; i < 300; ++i) {
    const Priority p = serve_and_refill(
        q,
        [&](Priority c) -> std::uint64_t {
          if (c == Priority::High && first_high) {
            first_high = false;
            return 40'000;  // 100 of High's refills
          }
          return 100;
        },
        next_id);
    // Low is never queued: many refills later it still holds only one.
    REQUIRE(q.credits(Priority::Low) == 100);
    if (i > 0 && p == Priority::High) break;
    if (p == Priority::Normal) ++normal_before_second_high;
  }
  // Normal runs on its initial 200 ns, then 2 entries per refill for the 99 refills that leave
  // High at or below zero: High's 40,000 ns are matched by Normal's 20,000 ns (weights 4:2).
  CHECK(normal_before_second_high == 200);
  CHECK(q.stats(Priority::Normal).served_ns == 20'000);
  CHECK(q.stats(Priority::High).served_ns == 40'000 + 100);

  // Queued alone, a class in debt of a hundred refills gets them all in one pop.
  SlowQueue alone(config(SchedulingAlgorithm::CreditBased));
  alone.push(item(1), Priority::High);
  alone.push(item(2), Priority::High);
  REQUIRE(alone.pop().has_value());
  alone.charge(Priority::High, 40'000);
  CHECK(alone.credits(Priority::High) == -39'600);
  const auto e = alone.pop();
  REQUIRE(e.has_value());
  CHECK(id_of(*e) == 2);
  CHECK(alone.credits(Priority::High) == 400);   // -39,600 + 100 * 400
  CHECK(alone.credits(Priority::Normal) == 200);  // idle: capped at one refill
  CHECK(alone.credits(Priority::Low) == 100);
}

TEST_CASE("credit-based: CPU shares follow the weights over a long run", "[pulse_slow_queue]") {
  SECTION("equal costs") {
    SlowQueue q(config(SchedulingAlgorithm::CreditBased, {1, 2, 4, 8}, 500'000));
    check_fair_share_bound(q, [](Priority) { return 200'000; }, 200'000, 50'000);
  }
  SECTION("costs vary, weights 5/3/2") {
    SlowQueue q(config(SchedulingAlgorithm::CreditBased, {5, 3, 2, 8}, 100'000));
    OmegaRng rng(5);
    check_fair_share_bound(q, [&](Priority p) { return 1 + rng.gen_range(p == Priority::High ? 300'000 : 100'000); },
                           300'000, 50'000);
  }
}

TEST_CASE("set_algorithm mid-run keeps every entry exactly once, in FIFO order per class", "[pulse_slow_queue]") {
  SlowQueue q(config(SchedulingAlgorithm::CreditBased));
  OmegaRng rng(2024);
  std::uintptr_t next_id = 1;
  std::map<std::uintptr_t, Priority> pushed;
  const auto push_some = [&](int n) {
    for (int i = 0; i < n; ++i) {
      const auto p = static_cast<Priority>(rng.gen_range(kPriorityCount));
      pushed[next_id] = p;
      q.push(item(next_id++), p);
    }
  };
  push_some(500);
  std::set<std::uintptr_t> seen;
  std::array<std::uintptr_t, kPriorityCount> last_of_class{};
  int pops = 0;
  while (auto e = q.pop()) {
    const std::uintptr_t id = id_of(*e);
    REQUIRE(seen.insert(id).second);
    REQUIRE(pushed.at(id) == e->priority);
    REQUIRE(id > last_of_class[idx(e->priority)]);
    last_of_class[idx(e->priority)] = id;
    q.charge(e->priority, 1 + rng.gen_range(1000));
    if (++pops % 37 == 0) {
      const auto a = kAlgorithms[(pops / 37) % kAlgorithms.size()];
      q.set_algorithm(a);
      CHECK(q.algorithm() == a);
      // The new algorithm starts fresh.
      CHECK_FALSE(q.drr_current().has_value());
      for (Priority p : kFair) {
        CHECK(q.deficit(p) == 0);
        CHECK(q.credits(p) == static_cast<std::int64_t>(q.config().weights[idx(p)] * q.config().quantum_ns));
      }
    }
    if (pops == 200) push_some(300);
  }
  CHECK(seen.size() == pushed.size());
  CHECK(seen.size() == 800);
}

TEST_CASE("drain returns every entry once, Critical first, oldest first per class", "[pulse_slow_queue]") {
  for (SchedulingAlgorithm a : kAlgorithms) {
    SlowQueue q(config(a));
    q.push(item(1), Priority::Low);
    q.push(item(2), Priority::Normal);
    q.push(item(3), Priority::High);
    q.push(item(4), Priority::Critical);
    q.push(item(5), Priority::Low);
    q.push(item(6), Priority::High);
    q.push(item(7), Priority::Critical);
    q.push(item(8), Priority::Normal);
    // One popped before shutdown is not drained again.
    const auto first = q.pop();
    REQUIRE(first.has_value());
    CHECK(id_of(*first) == 4);
    q.charge(Priority::Critical, 10);

    std::vector<std::pair<std::uintptr_t, Priority>> drained;
    q.drain([&](SlowQueue::Entry e) {
      drained.emplace_back(id_of(e), e.priority);
      if (id_of(e) == 3) q.push(item(9), Priority::Low);  // pushed during the drain: kept for later
    });
    using P = Priority;
    const std::vector<std::pair<std::uintptr_t, Priority>> expected{
        {7, P::Critical}, {3, P::High}, {6, P::High}, {2, P::Normal}, {8, P::Normal}, {1, P::Low}, {5, P::Low}};
    CHECK(drained == expected);
    CHECK(q.size() == 1);
    CHECK(q.size(Priority::Low) == 1);
    const auto later = q.pop();
    REQUIRE(later.has_value());
    CHECK(id_of(*later) == 9);
    CHECK(q.empty());
    int calls = 0;
    q.drain([&](SlowQueue::Entry) { ++calls; });
    CHECK(calls == 0);
  }
}

TEST_CASE("a huge charge saturates as debt, and a class alone pays it off in one pop", "[pulse_slow_queue]") {
  constexpr std::int64_t kFloor = -(std::int64_t{1} << 62);
  for (SchedulingAlgorithm a : {SchedulingAlgorithm::CreditBased, SchedulingAlgorithm::DeficitRoundRobin}) {
    INFO(omega::to_string(a));
    SlowQueue q(config(a, {1, 1, 1, 1}, 1));
    q.push(item(1), Priority::Low);
    q.push(item(2), Priority::Low);
    q.push(item(3), Priority::High);
    q.push(item(4), Priority::High);
    // Low first: in DRR High's 1 ns visit is spent on entry 3.
    auto e = q.pop();
    REQUIRE(e.has_value());
    if (e->priority == Priority::High) {
      q.charge(Priority::High, 1);
      e = q.pop();
      REQUIRE(e.has_value());
    }
    REQUIRE(id_of(*e) == 1);
    q.charge(Priority::Low, std::numeric_limits<std::uint64_t>::max());
    CHECK((a == SchedulingAlgorithm::CreditBased ? q.credits(Priority::Low) : q.deficit(Priority::Low)) == kFloor);
    CHECK(q.stats(Priority::Low).served_ns == std::numeric_limits<std::uint64_t>::max());
    q.charge(Priority::Low, 5);  // stats saturate too
    CHECK(q.stats(Priority::Low).served_ns == std::numeric_limits<std::uint64_t>::max());
    // Every High entry goes before Low's next one while Low is in debt.
    while (q.size(Priority::High) > 0) {
      e = q.pop();
      REQUIRE(e.has_value());
      CHECK(e->priority == Priority::High);
      q.charge(Priority::High, 1);
    }
    // Low alone: 2^62 + 1 refills or visits at once, and it runs.
    e = q.pop();
    REQUIRE(e.has_value());
    CHECK(id_of(*e) == 2);
    CHECK((a == SchedulingAlgorithm::CreditBased ? q.credits(Priority::Low) : q.deficit(Priority::Low)) == 1);
  }
}
