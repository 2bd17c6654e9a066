// The pulse layer running for real: coroutines polled by the system's workers, sleeping on
// the system's wheel, awaiting each other and I/O, climbing tiers, isolated in the slow
// lane, caught by the watchdog, and cancelled by shutdown. Pure policy and slow-lane
// arithmetic are tested on synthetic time in pulse_policy_test and pulse_slow_queue_test.
#include <omega/base/config.hpp>
#include <omega/exec/system.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using omega::Coro;
using omega::NodeError;
using omega::OmegaRng;
using omega::Priority;
using omega::PulseConfig;
using omega::PulseProfile;
using omega::TaskError;
using omega::Tier;
using omega::UltraOmegaSystem;
using namespace std::chrono_literals;

namespace {

UltraOmegaSystem pulse_system(std::size_t nodes = 2, PulseConfig pulse = PulseConfig::profile(PulseProfile::Balanced)) {
  return UltraOmegaSystem::builder()
      .with_nodes(nodes)
      .with_super_nodes(0)
      .with_queue_capacity(4096, 4096)
      .with_pulse(std::move(pulse))
      .build();
}

// Waits for a handle while keeping a system without threads moving (recv_result does that
// itself: it runs the system's queued work where it may not block).
template <class T>
omega::Result<T, TaskError> wait(omega::TaskHandle<T>& h) {
  return h.recv_result();
}

void spin_for(std::chrono::nanoseconds d) {
  const std::int64_t until = omega::now_ns() + d.count();
  while (omega::now_ns() < until) {
  }
}

Coro<std::uint64_t> crunch(std::uint64_t n) {
  std::uint64_t acc = 0;
  for (std::uint64_t i = 0; i < n; ++i) {
    acc += i * i;
    if ((i & 1023) == 0) co_await omega::checkpoint();
  }
  co_return acc;
}

std::uint64_t crunch_expected(std::uint64_t n) {
  std::uint64_t acc = 0;
  for (std::uint64_t i = 0; i < n; ++i) acc += i * i;
  return acc;
}

Coro<int> light() {
  co_await omega::sleep_for(100us);
  co_await omega::yield_now();
  co_return 1;
}

}  // namespace

TEST_CASE("a spawned coroutine runs to its value; its id names it until it finishes", "[pulse]") {
  auto system = pulse_system();
  OmegaRng rng = OmegaRng::new_with_seed(7);
  auto h = system.spawn(Priority::Normal, crunch(200'000), rng);
  REQUIRE(h);
  CHECK(h->id().value != 0);
  auto l = system.spawn(Priority::High, light(), rng);
  REQUIRE(l);
  CHECK(l->id() != h->id());
  auto r = wait(*h);
  REQUIRE(r);
  CHECK(*r == crunch_expected(200'000));
  auto lr = wait(*l);
  REQUIRE(lr);
  CHECK(*lr == 1);
  CHECK(system.pulse().tier_of(h->id()) == Tier::Monitor);  // finished: Monitor
  const omega::PulseStats s = system.pulse().stats();
  CHECK(s.spawned == 2);
  CHECK(s.completed == 2);
  CHECK(s.live == 0);
}

TEST_CASE("checkpoint suspends only when the unit budget is spent", "[pulse]") {
  auto system = pulse_system(1, PulseConfig::profile(PulseProfile::Balanced).with_unit_budget(16));
  OmegaRng rng = OmegaRng::new_with_seed(1);
  auto task = []() -> Coro<int> {
    for (int i = 0; i < 16 * 10; ++i) co_await omega::checkpoint();
    co_return 0;
  };
  auto h = system.spawn(Priority::Normal, task(), rng);
  REQUIRE(h);
  REQUIRE(wait(*h));
  std::uint64_t polls = 0;
  std::uint64_t yields = 0;
  for (const auto& w : system.pulse().all_worker_metrics()) {
    polls += w.polls;
    yields += w.yields;
  }
  // 160 units at 16 per poll: 10 polls, 9 or 10 of which ended in a yield (a checkpoint
  // that spends the last unit suspends; the last poll runs to co_return).
  CHECK(polls >= 10);
  CHECK(polls <= 11);
  CHECK(yields >= 9);
}

TEST_CASE("yield_now lets other queued work run first", "[pulse]") {
  // One node, one worker: strict order.
  auto system = UltraOmegaSystem::builder()
                    .with_nodes(1)
                    .with_super_nodes(0)
                    .with_queue_capacity(64, 64)
                    .with_threads(1, 1, 1, 1)
                    .build();
  OmegaRng rng = OmegaRng::new_with_seed(2);
  std::mutex m;
  std::vector<std::string> order;
  auto note = [&](std::string s) {
    std::lock_guard lock(m);
    order.push_back(std::move(s));
  };
  auto yielder = [&]() -> Coro<void> {
    note("a1");
    co_await omega::yield_now();
    note("a2");
  };
  auto other = [&]() -> Coro<void> {
    note("b");
    co_return;
  };
  // Hold the worker so both are queued before either runs.
  std::atomic<bool> release{false};
  auto gate = system.submit_cpu_task(Priority::Critical, 1, [&] {
    while (!release.load()) std::this_thread::yield();
    return 0;
  }, rng);
  REQUIRE(gate);
  auto a = system.spawn(Priority::Normal, yielder(), rng);
  auto b = system.spawn(Priority::Normal, other(), rng);
  REQUIRE(a);
  REQUIRE(b);
  release.store(true);
  // Timed waits: an untimed recv_result would help run the queue on this thread, a second
  // runner that could take b while the worker takes a.
  REQUIRE(gate->recv_result_for(10s));
  REQUIRE(a->recv_result_for(10s));
  REQUIRE(b->recv_result_for(10s));
  CHECK(order == std::vector<std::string>{"a1", "b", "a2"});
}

TEST_CASE("sleeps wake in deadline order, never early, from the system's wheel", "[pulse]") {
  auto system = pulse_system();
  OmegaRng rng = OmegaRng::new_with_seed(3);
  std::mutex m;
  std::vector<int> order;
  auto sleeper = [&](int ms) -> Coro<std::int64_t> {
    const std::int64_t start = omega::now_ns();
    co_await omega::sleep_for(std::chrono::milliseconds(ms));
    const std::int64_t slept = omega::now_ns() - start;
    {
      std::lock_guard lock(m);
      order.push_back(ms);
    }
    co_return slept;
  };
  std::vector<omega::TaskHandle<std::int64_t>> hs;
  for (int ms : {30, 10, 50, 20, 40}) {
    auto h = system.spawn(Priority::Normal, sleeper(ms), rng);
    REQUIRE(h);
    hs.push_back(std::move(*h));
  }
  const int expected_ms[] = {30, 10, 50, 20, 40};
  for (std::size_t i = 0; i < hs.size(); ++i) {
    auto r = wait(hs[i]);
    REQUIRE(r);
    CHECK(*r >= expected_ms[i] * 1'000'000LL);
  }
  CHECK(order == std::vector<int>{10, 20, 30, 40, 50});
  // A sleep until a time already past does not suspend.
  auto past = []() -> Coro<int> {
    co_await omega::sleep_until(omega::Clock::now() - 1ms);
    co_await omega::sleep_for(0ms);
    co_return 5;
  };
  auto p = system.spawn(Priority::Normal, past(), rng);
  REQUIRE(p);
  auto pr = wait(*p);
  REQUIRE(pr);
  CHECK(*pr == 5);
}

TEST_CASE("a coroutine awaits another task's handle and a nested Coro", "[pulse]") {
  auto system = pulse_system();
  OmegaRng rng = OmegaRng::new_with_seed(4);
  auto inner = system.spawn(Priority::Normal, crunch(50'000), rng);
  REQUIRE(inner);
  auto cpu = system.submit_cpu_task(Priority::Normal, 1, [] { return 40; }, rng);
  REQUIRE(cpu);
  auto child = [](int x) -> Coro<int> {
    co_await omega::sleep_for(1ms);
    if (x < 0) throw std::runtime_error("negative");
    co_return x * 2;
  };
  auto outer = [&](omega::TaskHandle<std::uint64_t>& a, omega::TaskHandle<int>& b) -> Coro<std::uint64_t> {
    omega::Result<std::uint64_t, TaskError> ra = co_await a;
    omega::Result<int, TaskError> rb = co_await b;
    const int doubled = co_await child(21);
    int caught = 0;
    try {
      (void)co_await child(-1);
    } catch (const std::runtime_error& e) {
      caught = std::string(e.what()) == "negative" ? 1 : 0;
    }
    co_return *ra + static_cast<std::uint64_t>(*rb + doubled + caught);
  };
  auto h = system.spawn(Priority::Normal, outer(*inner, *cpu), rng);
  REQUIRE(h);
  auto r = wait(*h);
  REQUIRE(r);
  CHECK(*r == crunch_expected(50'000) + 40 + 42 + 1);
}

TEST_CASE("what a coroutine throws reaches its handle as Panicked; an empty Coro fails", "[pulse]") {
  auto system = pulse_system();
  OmegaRng rng = OmegaRng::new_with_seed(5);
  auto boom = []() -> Coro<int> {
    co_await omega::yield_now();
    throw std::runtime_error("boom");
  };
  auto h = system.spawn(Priority::Normal, boom(), rng);
  REQUIRE(h);
  auto r = wait(*h);
  REQUIRE_FALSE(r);
  CHECK(r.error().panicked());
  CHECK(r.error().message() == "boom");
  CHECK(system.pulse().stats().panicked == 1);
  // The node that polled it counts it too, as for a throwing submit_cpu_task: once the poll
  // has returned to the node, which may be just after the handle saw the result.
  std::uint64_t node_panics = 0;
  for (int i = 0; i < 1000 && node_panics == 0; ++i) {
    node_panics = 0;
    for (const auto& node : system.nodes()) node_panics += node.stats().panicked;
    if (node_panics == 0) std::this_thread::sleep_for(1ms);
  }
  CHECK(node_panics == 1);
  Coro<int> empty;
  auto e = system.spawn(Priority::Normal, std::move(empty), rng);
  REQUIRE(e);
  auto er = wait(*e);
  REQUIRE_FALSE(er);
  CHECK(er.error().execution_failed());
}

TEST_CASE("I/O operations are awaitables", "[pulse]") {
  auto system = pulse_system();
  OmegaRng rng = OmegaRng::new_with_seed(6);
  auto task = [&]() -> Coro<std::string> {
    // Named, not a temporary inside the co_await: GCC 12 destroys a temporary with a
    // non-trivial destructor (the op's std::string) twice there (docs/pulse.md).
    omega::IoOp listen = omega::IoOp::TcpListen{"127.0.0.1", 0, 4};
    omega::Result<omega::IoOutput, TaskError> l = co_await system.io(std::move(listen));
    if (!l) co_return "error: " + l.error().message();
    if (!l->socket || !l->local) co_return std::string("no socket or address");
    omega::IoOp close = omega::IoOp::TcpClose{*l->socket};
    auto c = co_await system.io(std::move(close));
    co_return c ? "listened on " + std::to_string(l->local->port) : "close failed";
  };
  auto h = system.spawn(Priority::Normal, task(), rng);
  REQUIRE(h);
  auto r = wait(*h);
  REQUIRE(r);
  if constexpr (omega::kHasTcp) {
    CHECK(r->rfind("listened on ", 0) == 0);
    CHECK(*r != "listened on 0");
  } else {
    CHECK(r->find("TCP") != std::string::npos);
  }
}

TEST_CASE("a task that overruns its budget climbs to Isolate and runs from the slow lane", "[pulse]") {
  auto system = pulse_system(2);
  OmegaRng rng = OmegaRng::new_with_seed(8);
  auto sub = system.subscribe();
  std::atomic<int> tier_seen{0};
  std::atomic<std::uint64_t> my_id{0};
  // Each poll spins 2 ms, twice Balanced's 1 ms budget: a violation every poll.
  auto hog = [&]() -> Coro<int> {
    for (int i = 0; i < 200; ++i) {
      spin_for(2ms);
      co_await omega::yield_now();
      const Tier t = system.pulse().tier_of(omega::TaskId{my_id.load()});
      tier_seen.store(std::max(tier_seen.load(), static_cast<int>(t)));
      if (t == Tier::Isolate && i > 40) break;
    }
    co_return 0;
  };
  auto h = system.spawn(Priority::Normal, hog(), rng);
  REQUIRE(h);
  my_id.store(h->id().value);
  REQUIRE(wait(*h));
  CHECK(tier_seen.load() == static_cast<int>(Tier::Isolate));
  const omega::PulseStats s = system.pulse().stats();
  // Three promotions, one tier at a time; fewer only if a poll (preempted on a loaded machine)
  // outlived the watchdog's threshold, which jumps straight to Isolate.
  CHECK(s.promotions >= 1);
  CHECK((s.promotions >= 3 || s.watchdog_flags >= 1));
  CHECK(s.isolated_polls > 0);
  CHECK(s.warnings > 0);
  std::uint64_t violations = 0;
  for (const auto& w : system.pulse().all_worker_metrics()) violations += w.violations;
  CHECK(violations >= 9);
  // Natively the slow lane's thread really is at SCHED_IDLE (lowering one's own policy needs
  // no privilege); the browser has no such thing and says so.
  if (std::string(omega::kPlatformName) == "native-linux") {
    CHECK(s.slow_lane_isolation == "SCHED_IDLE");
  } else if (omega::kHasThreads) {
    CHECK(s.slow_lane_isolation.rfind("not applied: ", 0) == 0);
  }
  // The slow lane's polls are counted on its own worker.
  const auto lane = system.pulse().worker_metrics(system.pulse().worker_count() - 2);
  CHECK(lane.polls > 0);
  bool slow_signal = false;
  while (auto sig = sub.try_next()) {
    if (sig->kind == omega::SystemSignal::Kind::SlowPoll && sig->task == h->id().value) slow_signal = true;
  }
  CHECK(slow_signal);
  // The Prometheus rendering carries the pulse's series.
  const std::string prom = system.pulse().metrics().to_prometheus();
  CHECK(prom.find("omega_pulse_promotions_total") != std::string::npos);
  CHECK(prom.find("omega_pulse_worker_poll_time_ns") != std::string::npos);
  CHECK(system.metrics().to_prometheus().find("omega_pulse_isolated_polls_total") != std::string::npos);
}

TEST_CASE("pulse off: accounting goes on, no task is isolated", "[pulse]") {
  auto system = pulse_system(2);
  system.pulse().set_enabled(false);
  OmegaRng rng = OmegaRng::new_with_seed(9);
  auto hog = []() -> Coro<int> {
    for (int i = 0; i < 30; ++i) {
      spin_for(2ms);
      co_await omega::yield_now();
    }
    co_return 0;
  };
  auto h = system.spawn(Priority::Normal, hog(), rng);
  REQUIRE(h);
  REQUIRE(wait(*h));
  const omega::PulseStats s = system.pulse().stats();
  CHECK_FALSE(s.enabled);
  CHECK(s.isolated_polls == 0);
  std::uint64_t violations = 0;
  for (const auto& w : system.pulse().all_worker_metrics()) violations += w.violations;
  CHECK(violations >= 25);
}

TEST_CASE("policy updates are validated and applied at runtime", "[pulse]") {
  auto system = pulse_system();
  omega::Pulse& pulse = system.pulse();
  auto bad = pulse.update_tier_policy(Tier::Yield, omega::TierPolicy::builder("").promotion_violations(3).build());
  REQUIRE_FALSE(bad);
  CHECK_FALSE(bad.error().empty());
  CHECK(pulse.stats().policy_rejections == 1);
  auto good = pulse.update_tier_policy(
      Tier::Yield, omega::TierPolicy::builder("yield").promotion_violations(3).promotion_cpu_ms(5).demotion_good_polls(100)
                       .demotion_min_duration_ms(10).demotion_cpu_threshold_ns(100'000).build());
  REQUIRE(good);
  CHECK(pulse.config().tier(Tier::Yield).promotion_violations == 3);
  CHECK(pulse.config().tier(Tier::Yield).promotion_cpu_ms == 5);
  CHECK(pulse.config().profile_kind == PulseProfile::Custom);
  pulse.set_algorithm(omega::SchedulingAlgorithm::DeficitRoundRobin);
  CHECK(pulse.config().algorithm == omega::SchedulingAlgorithm::DeficitRoundRobin);
  CHECK(pulse.stats().algorithm == omega::SchedulingAlgorithm::DeficitRoundRobin);
  CHECK(pulse.stats().policy_updates == 1);
  // The slow lane takes new weights too (a fresh queue, nothing lost).
  auto reweighted = pulse.update_config(pulse.config().with_slow_lane_weight(Priority::High, 9));
  REQUIRE(reweighted);
  CHECK(pulse.config().slow_lane_weights[static_cast<std::size_t>(Priority::High)] == 9);
  CHECK(pulse.config().algorithm == omega::SchedulingAlgorithm::DeficitRoundRobin);
  CHECK(pulse.stats().policy_updates == 2);
  // A bad system configuration is refused by the builder with the pulse's reason.
  auto refused = UltraOmegaSystem::builder()
                     .with_nodes(1)
                     .with_super_nodes(0)
                     .with_pulse(PulseConfig::profile(PulseProfile::Balanced).with_slow_lane_share(0.0))
                     .try_build();
  REQUIRE_FALSE(refused);
  CHECK(refused.error().find("pulse") != std::string::npos);
}

TEST_CASE("worker statistics: per worker, resettable", "[pulse]") {
  auto system = pulse_system(1);
  OmegaRng rng = OmegaRng::new_with_seed(10);
  auto h = system.spawn(Priority::Normal, crunch(100'000), rng);
  REQUIRE(h);
  REQUIRE(wait(*h));
  omega::Pulse& pulse = system.pulse();
  std::uint64_t polls = 0;
  std::uint64_t tasks = 0;
  std::size_t busy = pulse.worker_count();
  for (const auto& w : pulse.all_worker_metrics()) {
    polls += w.polls;
    tasks += w.tasks;
    if (w.polls > 0) busy = w.worker;
  }
  CHECK(polls > 0);
  CHECK(tasks == 1);
  REQUIRE(busy < pulse.worker_count());
  CHECK(pulse.worker_metrics(busy).cpu_ns > 0);
  pulse.reset_worker_stats(busy);
  CHECK(pulse.worker_metrics(busy).polls == 0);
  CHECK(pulse.worker_metrics(busy).cpu_ns == 0);
  CHECK(pulse.worker_metrics(pulse.worker_count() + 5).polls == 0);
}

TEST_CASE("shutdown cancels suspended and sleeping coroutines; frames are destroyed", "[pulse]") {
  auto system = pulse_system();
  OmegaRng rng = OmegaRng::new_with_seed(11);
  auto destroyed = std::make_shared<std::atomic<int>>(0);
  struct Guard {
    std::shared_ptr<std::atomic<int>> n;
    ~Guard() { n->fetch_add(1); }
  };
  auto sleeper = [](std::shared_ptr<std::atomic<int>> n) -> Coro<int> {
    Guard g{std::move(n)};
    co_await omega::sleep_for(10s);
    co_return 1;
  };
  auto s1 = system.spawn(Priority::Normal, sleeper(destroyed), rng);
  REQUIRE(s1);
  auto waiter = [](std::shared_ptr<std::atomic<int>> n, omega::TaskHandle<int>& on) -> Coro<int> {
    Guard g{std::move(n)};
    auto r = co_await on;
    co_return r ? *r : -1;
  };
  auto w1 = system.spawn(Priority::Normal, waiter(destroyed, *s1), rng);
  REQUIRE(w1);
  auto done = system.spawn(Priority::Normal, crunch(1000), rng);
  REQUIRE(done);
  REQUIRE(wait(*done));
  // Let the sleeper and the waiter reach their suspension points.
  for (int i = 0; i < 50; ++i) {
    (void)system.run_pending(16);
    if constexpr (omega::kHasThreads) std::this_thread::sleep_for(1ms);
  }
  CHECK(destroyed->load() == 0);
  system.shutdown_all();
  auto r1 = s1->recv_result();
  REQUIRE_FALSE(r1);
  CHECK(r1.error().execution_failed());
  CHECK(r1.error().message().find("NodeShuttingDown") != std::string::npos);
  auto r2 = w1->recv_result();
  // The waiter is cancelled itself, or resumed by the sleeper's cancellation and then
  // cancelled when it tries to requeue: either way its frame is gone and it says why.
  REQUIRE_FALSE(r2);
  CHECK(r2.error().message().find("NodeShuttingDown") != std::string::npos);
  CHECK(destroyed->load() == 2);
  const omega::PulseStats s = system.pulse().stats();
  CHECK(s.cancelled == 2);
  CHECK(s.live == 0);
  auto late = system.spawn(Priority::Normal, crunch(10), rng);
  REQUIRE_FALSE(late);
  CHECK(late.error() == NodeError::NodeShuttingDown);
}

TEST_CASE("the watchdog flags a poll that never yields while it runs and frees its queue", "[pulse][watchdog]") {
  if constexpr (!omega::kHasThreads) {
    WARN("SKIPPED: without threads nothing runs beside a poll to watch it");
    return;
  }
  // Two nodes of one worker each, at most one awake: without a rescue, work queued behind
  // the hog waits for it (the cap keeps the other worker parked).
  auto system = UltraOmegaSystem::builder()
                    .with_nodes(2)
                    .with_super_nodes(0)
                    .with_queue_capacity(256, 256)
                    .with_threads(1, 1, 1, 1)
                    .with_max_awake_workers(1)
                    .with_pulse(PulseConfig::profile(PulseProfile::Balanced).with_watchdog(5ms, 1ms))
                    .build();
  OmegaRng rng = OmegaRng::new_with_seed(12);
  auto sub = system.subscribe();
  std::atomic<bool> hog_running{false};
  std::atomic<bool> hog_done{false};
  std::atomic<bool> release{false};
  auto hog = [&]() -> Coro<int> {
    hog_running.store(true);
    const std::int64_t limit = omega::now_ns() + 5'000'000'000LL;
    while (!release.load() && omega::now_ns() < limit) {
    }
    hog_done.store(true);
    co_return 0;
  };
  auto h = system.spawn(Priority::Normal, hog(), rng);
  REQUIRE(h);
  while (!hog_running.load()) std::this_thread::yield();
  const std::int64_t started = omega::now_ns();
  // The flag arrives while the hog still runs.
  bool flagged = false;
  std::uint64_t flagged_after_ns = 0;
  while (!flagged && omega::now_ns() - started < 3'000'000'000LL) {
    while (auto sig = sub.try_next()) {
      if (sig->kind == omega::SystemSignal::Kind::SlowPoll && sig->running && sig->task == h->id().value) {
        flagged = true;
        flagged_after_ns = sig->poll_ns;
      }
    }
    std::this_thread::sleep_for(100us);
  }
  REQUIRE(flagged);
  CHECK_FALSE(hog_done.load());
  CHECK(flagged_after_ns >= 5'000'000);
  // Light work queued now completes while the hog still holds its worker.
  std::vector<omega::TaskHandle<int>> lights;
  for (int i = 0; i < 20; ++i) {
    auto l = system.submit_cpu_task(Priority::Normal, 1, [i] { return i; }, rng);
    REQUIRE(l);
    lights.push_back(std::move(*l));
  }
  for (auto& l : lights) {
    auto r = l.recv_result_for(2s);
    REQUIRE(r);
  }
  CHECK_FALSE(hog_done.load());
  release.store(true);
  REQUIRE(wait(*h));
  const omega::PulseStats s = system.pulse().stats();
  CHECK(s.watchdog_flags >= 1);
  CHECK(s.rescues >= 1);
}

TEST_CASE("thousands of coroutines, each finishing exactly once", "[pulse][stress]") {
  auto system = pulse_system(4);
  OmegaRng rng = OmegaRng::new_with_seed(13);
  constexpr int kTasks = 3000;
  auto finished = std::make_unique<std::atomic<int>[]>(kTasks);
  for (int i = 0; i < kTasks; ++i) finished[i].store(0);
  auto leaf = [](int i) -> Coro<int> {
    if (i % 3 == 0) co_await omega::sleep_for(std::chrono::microseconds(50 + i % 200));
    co_await omega::yield_now();
    co_return i;
  };
  auto task = [&](int i, omega::TaskHandle<int>* prev) -> Coro<int> {
    int sum = co_await leaf(i);
    for (int k = 0; k < 3; ++k) {
      co_await omega::checkpoint();
      co_await omega::yield_now();
    }
    if (prev != nullptr) {
      auto r = co_await *prev;
      if (r) sum += 0 * *r;
    }
    finished[i].fetch_add(1);
    co_return sum;
  };
  std::vector<omega::TaskHandle<int>> hs;
  hs.reserve(kTasks);
  // Every tenth task awaits the one spawned before it (handles live in hs, reserved: stable).
  for (int i = 0; i < kTasks; ++i) {
    omega::TaskHandle<int>* prev = (i % 10 == 9) ? &hs.back() : nullptr;
    for (;;) {
      auto h = system.spawn(Priority::Normal, task(i, prev), rng);
      if (h) {
        hs.push_back(std::move(*h));
        break;
      }
      REQUIRE(h.error() == NodeError::SystemMaxedOut);
      system.run_pending(64);
      std::this_thread::yield();
    }
  }
  // The awaited handles are consumed by their awaiters; the rest are collected here.
  for (int i = 0; i < kTasks; ++i) {
    if (i % 10 == 8) continue;
    auto r = wait(hs[static_cast<std::size_t>(i)]);
    REQUIRE(r);
    CHECK(*r == i);
  }
  for (int i = 0; i < kTasks; ++i) REQUIRE(finished[i].load() == 1);
  const omega::PulseStats s = system.pulse().stats();
  CHECK(s.completed == static_cast<std::uint64_t>(kTasks));
  CHECK(s.live == 0);
}
