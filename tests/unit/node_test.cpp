#include <omega/base/config.hpp>
#include <omega/base/spin.hpp>
#include <omega/exec/node.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "../support/threads.hpp"

using omega::NodeConfig;
using omega::NodeError;
using omega::OmegaNode;
using omega::Priority;
using namespace std::chrono_literals;

namespace {

// A latch the test opens to let blocked tasks finish (threads only).
struct Gate {
  std::atomic<bool> open{false};
  std::atomic<int> waiting{0};
  void wait() {
    waiting.fetch_add(1);
    while (!open.load(std::memory_order_acquire)) std::this_thread::yield();
  }
};

// Waits for cond() up to a generous bound; the bound only stops a broken build from hanging.
template <class Cond>
bool eventually(Cond cond) {
  for (int i = 0; i < 10'000; ++i) {
    if (cond()) return true;
    std::this_thread::sleep_for(1ms);
  }
  return cond();
}

// Makes progress on the node the way the platform does: workers, or the caller.
void drive(OmegaNode& node) {
  if constexpr (!omega::kHasThreads) node.run_pending();
}

}  // namespace

TEST_CASE("node config is validated with a reason", "[node]") {
  CHECK(NodeConfig::regular().validate().empty());
  CHECK(NodeConfig::super_node().validate().empty());
  CHECK(NodeConfig::super_node().queue_capacity == 20);
  CHECK(NodeConfig::super_node().max_threads == 8);
  NodeConfig bad;
  bad.queue_capacity = 0;
  CHECK(bad.validate() == "queue_capacity must be at least 1");
  bad = {};
  bad.min_threads = 5;
  CHECK(bad.validate() == "max_threads must be at least min_threads");
  bad = {};
  bad.watermarks = {.low_pct = 90, .high_pct = 10};
  CHECK_FALSE(bad.validate().empty());
}

TEST_CASE("accepted tasks run exactly once, including across shutdown", "[node]") {
  NodeConfig cfg;
  cfg.queue_capacity = 64;
  cfg.timing_sample_every = 1;
  OmegaNode node(0, cfg);
  std::atomic<int> ran{0};
  int accepted = 0;
  for (int i = 0; i < 1000; ++i) {
    omega::Task t = [&ran] { ran.fetch_add(1); };
    if (node.try_submit(t, Priority::Normal)) {
      ++accepted;
    } else {
      REQUIRE(t);  // refused work is handed back
      drive(node);
      std::this_thread::yield();
    }
  }
  node.shutdown();
  CHECK(ran.load() == accepted);
  const auto s = node.stats();
  CHECK(s.submitted == static_cast<std::uint64_t>(accepted));
  CHECK(s.completed == s.submitted);
  CHECK(node.queue_wait().count() == s.completed);
  CHECK(node.run_time().count() == s.completed);
  omega::Task late = [] {};
  CHECK(node.try_submit(late, Priority::High).error() == NodeError::NodeShuttingDown);
  CHECK(late);
  CHECK(node.shutting_down());
  node.shutdown();  // idempotent
}

TEST_CASE("timing is sampled: 1 task in timing_sample_every per submitting thread", "[node]") {
  NodeConfig cfg;
  cfg.queue_capacity = 256;
  cfg.min_threads = cfg.max_threads = 2;
  cfg.timing_sample_every = 4;
  OmegaNode node(6, cfg);
  std::atomic<int> ran{0};
  int accepted = 0;
  while (accepted < 4000) {
    if (node.try_submit([&ran] { ran.fetch_add(1); }, Priority::Normal)) {
      ++accepted;
    } else {
      drive(node);
      std::this_thread::yield();
    }
  }
  node.shutdown();
  REQUIRE(ran.load() == accepted);
  const auto timed = node.queue_wait().count();
  CHECK(node.run_time().count() == timed);
  // The one submitting thread marks every 4th of its accepted submissions (a refused one
  // passes its mark on), wherever its count stood before.
  const auto share = static_cast<std::uint64_t>(accepted / 4);
  CHECK(timed >= share);
  CHECK(timed <= share + 1);
  NodeConfig bad;
  bad.timing_sample_every = 0;
  CHECK_FALSE(bad.validate().empty());
}

TEST_CASE("a full node refuses with QueueFull and keeps the task", "[node]") {
  NodeConfig cfg;
  cfg.queue_capacity = 2;
  cfg.min_threads = cfg.max_threads = 1;
  OmegaNode node(1, cfg);
  Gate gate;
  std::atomic<int> ran{0};
  if constexpr (omega::kHasThreads) {
    REQUIRE(node.try_submit([&] { gate.wait(); ran.fetch_add(1); }, Priority::Normal));
    REQUIRE(eventually([&] { return gate.waiting.load() == 1; }));  // the one worker is busy
  }
  REQUIRE(node.try_submit([&] { ran.fetch_add(1); }, Priority::Normal));
  REQUIRE(node.try_submit([&] { ran.fetch_add(1); }, Priority::Normal));
  CHECK(node.get_pressure() == 100);
  CHECK(node.get_pressure_level() == omega::PressureLevel::Full);
  omega::Task extra = [&] { ran.fetch_add(100); };
  CHECK(node.try_submit(extra, Priority::High).error() == NodeError::QueueFull);
  REQUIRE(extra);
  CHECK(node.stats().rejected == 1);
  gate.open.store(true);
  node.shutdown();
  CHECK(ran.load() == (omega::kHasThreads ? 3 : 2));
  extra();
  CHECK(ran.load() == (omega::kHasThreads ? 103 : 102));
}

// One worker held by a Low task at a gate, so what is submitted next waits in the lanes;
// record(v) makes a task that appends v to order when it runs.
struct HeldNode {
  explicit HeldNode(std::size_t capacity) : node(2, config(capacity)) {
    if constexpr (omega::kHasThreads) {
      REQUIRE(node.try_submit([this] { gate.wait(); }, Priority::Low));
      REQUIRE(eventually([this] { return gate.waiting.load() == 1; }));
    }
  }
  static NodeConfig config(std::size_t capacity) {
    NodeConfig cfg;
    cfg.queue_capacity = capacity;
    cfg.min_threads = cfg.max_threads = 1;
    return cfg;
  }
  omega::Task record(int v) {
    return [this, v] {
      std::lock_guard lock(m);
      order.push_back(v);
    };
  }
  // Lets the worker go and waits for every queued task.
  std::vector<int> run() {
    gate.open.store(true);
    node.shutdown();
    return order;
  }
  // A failed REQUIRE leaves before run(): the node (declared last, destroyed first) drains
  // its queue while what the tasks touch still exists.
  ~HeldNode() { gate.open.store(true); }
  Gate gate;
  std::mutex m;
  std::vector<int> order;
  OmegaNode node;
};

TEST_CASE("high-priority work runs before queued normal and low work", "[node]") {
  HeldNode held(16);
  REQUIRE(held.node.try_submit(held.record(1), Priority::Low));
  REQUIRE(held.node.try_submit(held.record(2), Priority::Normal));
  REQUIRE(held.node.try_submit(held.record(3), Priority::High));
  REQUIRE(held.node.try_submit(held.record(4), Priority::High));
  CHECK(held.run() == std::vector<int>{3, 4, 2, 1});
}

TEST_CASE("critical work runs before every other queued priority, whenever it was queued", "[node]") {
  HeldNode held(64);
  // Every other lane is busy before the Critical tasks arrive, singly and in bulk.
  for (int i = 0; i < 4; ++i) {
    REQUIRE(held.node.try_submit(held.record(30 + i), Priority::High));
    REQUIRE(held.node.try_submit(held.record(20 + i), Priority::Normal));
    REQUIRE(held.node.try_submit(held.record(10 + i), Priority::Low));
  }
  REQUIRE(held.node.try_submit(held.record(40), Priority::Critical));
  omega::Task bulk[2] = {held.record(41), held.record(42)};
  REQUIRE(held.node.try_submit_bulk(bulk, 2, Priority::Critical) == 2);
  CHECK(held.run() == std::vector<int>{40, 41, 42, 30, 31, 32, 33, 20, 21, 22, 23, 10, 11, 12, 13});
}

TEST_CASE("a task that throws is counted as panicked and the worker lives on", "[node]") {
  OmegaNode node(3, NodeConfig::regular());
  std::atomic<int> ran{0};
  REQUIRE(node.try_submit([] { throw std::runtime_error("boom"); }, Priority::Normal));
  REQUIRE(node.try_submit([] { throw 42; }, Priority::Normal));
  REQUIRE(node.try_submit([&] { ran.fetch_add(1); }, Priority::Normal));
  node.shutdown();
  CHECK(ran.load() == 1);
  CHECK(node.stats().panicked == 2);
  CHECK(node.stats().completed == 3);
}

TEST_CASE("threads scale up under pressure and back down when idle", "[node][scaling]") {
  if constexpr (!omega::kHasThreads) {
    OmegaNode node(4, NodeConfig::regular());
    CHECK(node.active_threads() == 0);
    CHECK(node.desired_threads() == 0);
  } else {
    NodeConfig cfg;
    cfg.queue_capacity = 8;
    cfg.min_threads = 1;
    cfg.max_threads = 4;
    cfg.scale_down_after = 5ms;
    OmegaNode node(4, cfg);
    CHECK(node.active_threads() == 1);
    Gate gate;
    // Fill the queue behind blocked tasks: pressure reaches the high watermark and beyond.
    int accepted = 0;
    for (int i = 0; i < 12; ++i) accepted += node.try_submit([&] { gate.wait(); }, Priority::Normal) ? 1 : 0;
    CHECK(node.desired_threads() > 1);
    CHECK(eventually([&] { return node.active_threads() == 4; }));
    CHECK(eventually([&] { return gate.waiting.load() == 4; }));  // all four are running tasks
    gate.open.store(true);
    CHECK(eventually([&] { return node.stats().completed == static_cast<std::uint64_t>(accepted); }));
    // Idle now: extra threads retire one by one after scale_down_after each.
    CHECK(eventually([&] { return node.active_threads() == 1; }));
    CHECK(node.stats().scale_ups >= 1);
    CHECK(node.stats().scale_downs == 3);
    CHECK(node.desired_threads() == 1);
    node.shutdown();
  }
}

TEST_CASE("concurrent submitters: every accepted task runs exactly once", "[node][concurrency]") {
  if constexpr (!omega::kHasThreads) {
    SUCCEED("single-threaded build");
  } else {
    NodeConfig cfg;
    cfg.queue_capacity = 32;
    cfg.min_threads = 2;
    cfg.max_threads = 4;
    cfg.spin_iterations = 100;
    cfg.scale_down_after = 1ms;  // exercise activation and retirement while running
    OmegaNode node(5, cfg);
    constexpr int kSubmitters = 2;
    constexpr int kPerSubmitter = 30'000;
    std::vector<std::atomic<std::uint8_t>> runs(kSubmitters * kPerSubmitter);
    std::atomic<int> refused{0};
    omega::test::run_threads(kSubmitters, [&](int id) {
      for (int i = 0; i < kPerSubmitter; ++i) {
        const int slot = id * kPerSubmitter + i;
        omega::Task t = [&runs, slot] { runs[static_cast<std::size_t>(slot)].fetch_add(1); };
        while (!node.try_submit(t, static_cast<Priority>(i % omega::kPriorityCount))) {
          refused.fetch_add(1, std::memory_order_relaxed);
          std::this_thread::yield();
        }
        if (i % 5000 == 0) std::this_thread::sleep_for(2ms);  // let threads retire, then wake them
      }
    });
    node.shutdown();
    int wrong = 0;
    for (auto& r : runs) wrong += r.load() != 1;
    CHECK(wrong == 0);
    CHECK(node.stats().completed == kSubmitters * kPerSubmitter);
    INFO("refusals (backpressure): " << refused.load());
  }
}
