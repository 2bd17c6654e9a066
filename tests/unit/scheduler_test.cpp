// The nanosecond scheduler. Time comes from a FakeClock wherever it matters, so every case
// is deterministic and runs the same natively, under sanitizers and as WASM.
#include <omega/base/config.hpp>
#include <omega/base/park.hpp>
#include <omega/exec/system.hpp>
#include <omega/time/scheduler.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <cmath>
#include <limits>
#include <memory>
#include <mutex>
#include <tuple>
#include <type_traits>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "../support/fake_clock.hpp"

using omega::Scheduler;
using omega::SchedulerConfig;
using omega::TimerId;
using omega::TimerPriority;
using omega::TimerTask;
using omega::test::FakeClock;
using namespace std::chrono_literals;

namespace {
SchedulerConfig config_with_rate(std::uint64_t rate_ns, std::size_t max_per_tick = 1'000'000) {
  SchedulerConfig c;
  c.tick_rate_ns = rate_ns;
  c.max_tasks_per_tick = max_per_tick;
  c.tick_sample_shift = 0;
  return c;
}
}  // namespace

TEST_CASE("configuration is validated with a clear error, never clamped", "[scheduler]") {
  FakeClock clock;
  CHECK(SchedulerConfig{}.validate());
  auto error_of = [&](SchedulerConfig c) {
    auto r = Scheduler::try_create(c, clock.source());
    REQUIRE_FALSE(r);
    REQUIRE_FALSE(c.validate());
    CHECK(c.validate().error() == r.error());
    return r.error();
  };
  SchedulerConfig c;
  c.lipschitz_constant = 1.0;
  CHECK_THAT(error_of(c), Catch::Contains("lipschitz_constant") && Catch::Contains("(0, 1)"));
  c.lipschitz_constant = 0.0;
  CHECK_THAT(error_of(c), Catch::Contains("lipschitz_constant"));
  c.lipschitz_constant = -0.5;
  CHECK_THAT(error_of(c), Catch::Contains("lipschitz_constant"));
  c.lipschitz_constant = std::nan("");
  CHECK_THAT(error_of(c), Catch::Contains("lipschitz_constant"));
  c = SchedulerConfig{};
  c.tick_rate_ns = 0;
  CHECK_THAT(error_of(c), Catch::Contains("tick_rate_ns"));
  c = SchedulerConfig{};
  c.window_size = 0;
  CHECK_THAT(error_of(c), Catch::Contains("window_size"));
  c = SchedulerConfig{};
  c.max_tasks_per_tick = 0;
  CHECK_THAT(error_of(c), Catch::Contains("max_tasks_per_tick"));

  // The seed's names, as nested aliases: Scheduler::Task(fn, delay).with_priority(Scheduler::Priority::Critical).
  static_assert(std::is_same_v<Scheduler::Task, TimerTask> && std::is_same_v<Scheduler::Config, SchedulerConfig>);
  CHECK(Scheduler::Task([] {}, 5ns).with_priority(Scheduler::Priority::Critical).priority() == TimerPriority::Critical);

  // The seed's configuration, with designated initialisers, is valid as written.
  SchedulerConfig seed{.tick_rate_ns = 500, .max_tasks_per_tick = 1000, .parallel = true,
                       .lipschitz_constant = 0.9, .window_size = 100};
  auto s = Scheduler::try_create(seed, clock.source());
  REQUIRE(s);
  CHECK(s->config().tick_rate_ns == 500);
}

TEST_CASE("due tasks run in deadline order, then priority, then scheduling order; never early", "[scheduler]") {
  FakeClock clock;
  Scheduler s(config_with_rate(100), clock.source());
  std::vector<std::string> order;
  auto task = [&](std::string name, std::chrono::nanoseconds delay, TimerPriority p) {
    return s.schedule(TimerTask([&order, name] { order.push_back(name); }, delay).with_priority(p));
  };
  // Ticks of 100 ns: 250 and 210 are both due in tick 3; 300 is exactly tick 3 too.
  task("low@250", 250ns, TimerPriority::Low);
  task("normal@210", 210ns, TimerPriority::Normal);
  task("crit@300", 300ns, TimerPriority::Critical);
  task("normal@300", 300ns, TimerPriority::Normal);
  task("low@50", 50ns, TimerPriority::Low);
  task("crit@900", 900ns, TimerPriority::Critical);
  task("high@210", 210ns, TimerPriority::High);

  s.tick();
  CHECK(order.empty());
  clock.advance(49);  // before the first deadline
  s.tick();
  CHECK(order.empty());
  clock.advance(51);  // t = 100: tick 1, "low@50" is due
  s.tick();
  CHECK(order == std::vector<std::string>{"low@50"});
  clock.advance(199);  // t = 299: tick 2, nothing new
  s.tick();
  CHECK(order.size() == 1);
  clock.advance(10'000);  // everything is due; one tick() takes it all, in order
  s.tick();
  CHECK(order == std::vector<std::string>{"low@50", "crit@300", "high@210", "normal@210", "normal@300", "low@250",
                                          "crit@900"});
  CHECK(s.pending() == 0);
  CHECK(s.metrics().executed == 7);
  // Lateness is measured from the requested deadline: non-negative, recorded per run.
  CHECK(s.metrics().lateness.count() == 7);
}

TEST_CASE("cancel before due, while due, after due, twice, and with a stale id", "[scheduler]") {
  FakeClock clock;
  Scheduler s(config_with_rate(10, /*max_per_tick=*/1), clock.source());
  int a = 0, b = 0, c = 0, d = 0;
  const TimerId ia = s.schedule(TimerTask([&] { ++a; }, 100ns));
  const TimerId ib = s.schedule(TimerTask([&] { ++b; }, 100ns));
  const TimerId ic = s.schedule(TimerTask([&] { ++c; }, 50ns));
  CHECK(s.pending() == 3);
  CHECK(s.cancel(ia));  // before due
  CHECK_FALSE(s.cancel(ia));
  CHECK(s.pending() == 2);

  clock.advance(1000);
  s.tick();  // one per tick: c runs, b waits in the ready queue
  CHECK(c == 1);
  CHECK(b == 0);
  CHECK(s.metrics().ready == 1);
  CHECK(s.cancel(ib));  // due, not yet run
  s.tick();
  CHECK(b == 0);
  CHECK_FALSE(s.cancel(ic));  // after it ran
  CHECK(a == 0);

  // A freed slot is reused; the old id must not cancel the new task.
  const TimerId id = s.schedule(TimerTask([&] { ++d; }, 10ns));
  CHECK((id.index == ia.index || id.index == ib.index || id.index == ic.index));
  CHECK_FALSE(s.cancel(ia));
  CHECK_FALSE(s.cancel(ib));
  CHECK_FALSE(s.cancel(ic));
  CHECK_FALSE(s.cancel(TimerId{}));                 // never issued
  CHECK_FALSE(s.cancel(TimerId{1u << 30, 0}));      // out of range
  clock.advance(1000);
  s.tick();
  CHECK(d == 1);
  CHECK(s.metrics().cancelled == 2);
}

TEST_CASE("periodic tasks stay on their grid however late the ticks come", "[scheduler]") {
  FakeClock clock(0);
  Scheduler s(config_with_rate(100), clock.source());
  std::vector<std::int64_t> runs;
  const std::int64_t start = clock.now();
  const TimerId id = s.schedule(TimerTask::periodic([&] { runs.push_back(clock.now()); }, 1000ns));
  // Ticks every 130..430 ns: jittery, never aligned with the period.
  std::uint64_t lcg = 12345;
  while (runs.size() < 2000) {
    lcg = lcg * 6364136223846793005ULL + 1442695040888963407ULL;
    clock.advance(130 + static_cast<std::int64_t>((lcg >> 33) % 300));
    s.tick();
  }
  // Run n (from 1) is at the first tick at or after start + n * 1000: at most one tick
  // interval (< 430 ns) late, whatever the history. With now + period it would drift by the
  // accumulated lateness (hundreds of microseconds by now).
  for (std::size_t n = 0; n < runs.size(); ++n) {
    const std::int64_t grid = start + static_cast<std::int64_t>(n + 1) * 1000;
    REQUIRE(runs[n] >= grid);
    REQUIRE(runs[n] < grid + 430);
  }

  // A stall of five periods: the missed runs are caught up one per tick, then back on the grid.
  runs.clear();
  const std::int64_t next_grid = start + 2001 * 1000;
  clock.set(next_grid + 5 * 1000 + 10);
  for (int i = 0; i < 6; ++i) s.tick();
  CHECK(runs.size() == 6);
  clock.set(next_grid + 6 * 1000);
  s.tick();
  CHECK(runs.size() == 7);
  CHECK(s.cancel(id));
  clock.advance(10'000);
  s.tick();
  CHECK(runs.size() == 7);
  CHECK(s.pending() == 0);
}

TEST_CASE("overload: max_tasks_per_tick is honoured and the rest is carried over, in order, none lost", "[scheduler]") {
  FakeClock clock;
  Scheduler s(config_with_rate(100, /*max_per_tick=*/10), clock.source());
  std::vector<int> order;
  constexpr int kTasks = 1000;
  for (int i = 0; i < kTasks; ++i) {
    // Deadlines spread over 20 ticks, priorities mixed: i % 4 is the rank (0: Critical, 3: Low).
    s.schedule(TimerTask([&order, i] { order.push_back(i); }, std::chrono::nanoseconds(100 * (i % 20)))
                   .with_priority(static_cast<TimerPriority>(3 - i % 4)));
  }
  clock.advance(5'000);
  std::size_t ticks = 0;
  while (s.pending() != 0) {
    const std::size_t ran = s.tick();
    CHECK(ran <= 10);
    if (s.pending() != 0) CHECK(ran == 10);
    ++ticks;
  }
  CHECK(ticks == kTasks / 10);
  REQUIRE(order.size() == kTasks);
  std::vector<int> seen(kTasks, 0);
  for (int i : order) ++seen[static_cast<std::size_t>(i)];
  for (int n : seen) REQUIRE(n == 1);
  // Still deadline, then priority, then scheduling order across the carried-over ticks.
  for (std::size_t j = 1; j < order.size(); ++j) {
    const int p = order[j - 1], q = order[j];
    const auto key = [](int i) { return std::tuple(i % 20, i % 4, i); };
    REQUIRE(key(p) < key(q));
  }
  const auto m = s.metrics();
  CHECK(m.executed == kTasks);
  CHECK(m.carried_over > 0);
}

TEST_CASE("1,000,000 scheduled tasks all run exactly once", "[scheduler]") {
  FakeClock clock;
  Scheduler s(config_with_rate(64), clock.source());
  constexpr std::size_t kTasks = 1'000'000;
  std::vector<std::uint8_t> runs(kTasks, 0);
  std::uint64_t lcg = 42;
  for (std::size_t i = 0; i < kTasks; ++i) {
    lcg = lcg * 6364136223846793005ULL + 1442695040888963407ULL;
    // Up to 2^26 ns ahead: spread over levels 0-3 of the wheel.
    const auto delay = std::chrono::nanoseconds((lcg >> 20) & ((1 << 26) - 1));
    s.schedule(TimerTask([p = &runs[i]] { ++*p; }, delay).with_priority(static_cast<TimerPriority>(i & 3)));
  }
  REQUIRE(s.pending() == kTasks);
  std::size_t ran = 0;
  while (s.pending() != 0) {
    clock.advance(1 << 16);
    ran += s.tick();
  }
  CHECK(ran == kTasks);
  std::size_t wrong = 0;
  for (std::uint8_t r : runs) wrong += r != 1;
  CHECK(wrong == 0);
  CHECK(s.metrics().executed == kTasks);
}

TEST_CASE("far-future deadlines cross every wheel level and fire exactly on their tick", "[scheduler]") {
  FakeClock clock(0);
  Scheduler s(config_with_rate(1), clock.source());
  const std::vector<std::int64_t> delays = {1,        63,           64,           65,           4095,
                                            4096,     4097,         262'143,      (1LL << 24) + 7,
                                            1LL << 30, (1LL << 36) + 1, (1LL << 42) + 3, 1LL << 48,
                                            (1LL << 54) + 5, (1LL << 60) + 11};
  std::vector<int> fired(delays.size(), 0);
  for (std::size_t i = 0; i < delays.size(); ++i) {
    s.schedule(TimerTask([&fired, i] { ++fired[i]; }, std::chrono::nanoseconds(delays[i])));
  }
  std::int64_t last = 0;
  for (std::size_t i = 0; i < delays.size(); ++i) {
    // A tick halfway makes the wheel cascade; then one tick before and one on the deadline.
    if (delays[i] - 1 > last) {
      clock.set(last + (delays[i] - last) / 2);
      s.tick();
      clock.set(delays[i] - 1);
      s.tick();
    }
    INFO("delay " << delays[i]);
    CHECK(fired[i] == 0);
    clock.set(delays[i]);
    s.tick();
    CHECK(fired[i] == 1);
    last = delays[i];
  }
  CHECK(s.pending() == 0);
  for (int f : fired) CHECK(f == 1);

  // One big jump takes everything at once, in deadline order.
  FakeClock clock2(0);
  Scheduler s2(config_with_rate(1), clock2.source());
  std::vector<std::size_t> order;
  for (std::size_t i = delays.size(); i-- > 0;) {
    s2.schedule(TimerTask([&order, i] { order.push_back(i); }, std::chrono::nanoseconds(delays[i])));
  }
  clock2.set(std::numeric_limits<std::int64_t>::max() / 2);
  s2.tick();
  REQUIRE(order.size() == delays.size());
  for (std::size_t i = 0; i < order.size(); ++i) CHECK(order[i] == i);
}

TEST_CASE("the strange loop converges to its fixed point within the Banach bound", "[scheduler]") {
  FakeClock clock(0);
  SchedulerConfig c = config_with_rate(1000);
  c.lipschitz_constant = 0.8;
  Scheduler s(c, clock.source());
  const double k = c.lipschitz_constant;
  CHECK(s.strange_loop_state() == 0.0);
  s.tick();  // the first tick has no interval yet
  CHECK(s.strange_loop_state() == 0.0);

  // Steady ticks at the configured rate: u = 1, the fixed point is x* = 1.
  clock.advance(1000);
  s.tick();
  const double x1 = s.strange_loop_state();
  CHECK(x1 == Approx(1.0 - k));
  const double step0 = std::fabs(x1 - 0.0);
  for (int n = 2; n <= 120; ++n) {
    clock.advance(1000);
    s.tick();
    const double x = s.strange_loop_state();
    // A priori: |x(n) - x*| <= k^n / (1 - k) * |x(1) - x(0)|.
    REQUIRE(std::fabs(x - 1.0) <= std::pow(k, n) / (1 - k) * step0 + 1e-12);
    // A posteriori, as reported: |x(n) - x*| <= k / (1 - k) * |x(n) - x(n-1)|.
    REQUIRE(std::fabs(x - 1.0) <= s.metrics().strange_loop_bound + 1e-12);
  }
  CHECK(s.strange_loop_state() == Approx(1.0).margin(1e-9));

  // Ticks four times slower than configured: u = 1/4, and the loop moves to the new fixed point.
  const double from = s.strange_loop_state();
  for (int n = 1; n <= 150; ++n) {
    clock.advance(4000);
    s.tick();
    const double x = s.strange_loop_state();
    REQUIRE(std::fabs(x - 0.25) <= std::pow(k, n) * std::fabs(from - 0.25) + 1e-12);
  }
  CHECK(s.strange_loop_state() == Approx(0.25).margin(1e-9));
  CHECK(s.metrics().strange_loop_state == s.strange_loop_state());
}

TEST_CASE("temporal windows: even ticking overlaps (w-1)/(w+1), a stall lowers it", "[scheduler]") {
  FakeClock clock(0);
  SchedulerConfig c = config_with_rate(100);
  c.window_size = 10;
  Scheduler s(c, clock.source());
  CHECK(s.temporal_overlap() == 0.0);
  for (int i = 0; i < 50; ++i) {
    s.tick();
    clock.advance(100);
  }
  CHECK(s.temporal_overlap() == Approx(9.0 / 11.0));
  clock.advance(10'000);  // a stall
  s.tick();
  const double stalled = s.temporal_overlap();
  CHECK(stalled < 9.0 / 11.0);
  CHECK(stalled >= 0.0);
  for (int i = 0; i < 50; ++i) {
    clock.advance(100);
    s.tick();
  }
  CHECK(s.temporal_overlap() == Approx(9.0 / 11.0));
  CHECK(s.metrics().temporal_overlap == s.temporal_overlap());
}

TEST_CASE("tasks may schedule and cancel from inside a run; a throw is counted, not propagated", "[scheduler]") {
  FakeClock clock;
  Scheduler s(config_with_rate(10), clock.source());
  int chained = 0, self = 0;
  TimerId self_id;
  s.schedule(TimerTask(
      [&] {
        for (int i = 0; i < 5000; ++i) s.schedule(TimerTask([&] { ++chained; }, 0ns));  // grows the pool mid-run
      },
      0ns));
  self_id = s.schedule(TimerTask::periodic(
      [&] {
        if (++self == 3) CHECK(s.cancel(self_id));
      },
      10ns));
  s.schedule(TimerTask([] { throw std::runtime_error("boom"); }, 0ns));
  for (int i = 0; i < 10; ++i) {
    clock.advance(10);
    s.tick();
  }
  CHECK(chained == 5000);
  CHECK(self == 3);
  CHECK(s.pending() == 0);
  CHECK(s.metrics().panicked == 1);
}

TEST_CASE("metrics: tick times, lateness, throughput, memory", "[scheduler]") {
  FakeClock clock;
  SchedulerConfig c = config_with_rate(100);
  c.tick_sample_shift = 2;  // every 4th tick is timed
  Scheduler s(c, clock.source());
  for (int i = 0; i < 100; ++i) s.schedule(TimerTask([] {}, std::chrono::nanoseconds(i * 10)));
  for (int i = 0; i < 400; ++i) {
    clock.advance(5);
    s.tick();
  }
  const auto m = s.metrics();
  CHECK(m.ticks == 400);
  CHECK(m.timed_ticks == 100);
  CHECK(m.executed == 100);
  CHECK(m.scheduled == 100);
  CHECK(m.lateness.count() == 100);
  CHECK(m.lateness.max() < 100 + 5);  // at most one tick plus one step late
  CHECK(m.min_tick_time_ns <= m.p50_tick_time_ns);
  CHECK(m.p50_tick_time_ns <= m.p95_tick_time_ns);
  CHECK(m.p95_tick_time_ns <= m.p99_tick_time_ns);
  CHECK(m.p99_tick_time_ns <= m.max_tick_time_ns);
  CHECK(m.tasks_per_second == Approx(100 * 1e9 / (399 * 5)));
  CHECK(m.memory_bytes > 0);
  CHECK(m.pending == 0);
}

TEST_CASE("parallel = true dispatches due tasks to a real UltraOmegaSystem", "[scheduler]") {
  auto system = omega::UltraOmegaSystem::builder().with_nodes(2).with_super_nodes(1).build();
  FakeClock clock;
  SchedulerConfig c = config_with_rate(100, 256);
  c.parallel = true;
  std::atomic<int> ran{0};
  std::atomic<int> off_thread{0};
  std::atomic<int> beats{0};  // outlives the scheduler, whose destructor waits for runs in flight
  const auto ticking = std::this_thread::get_id();
  {
    Scheduler s(c, system, clock.source());
    constexpr int kTasks = 2000;
    for (int i = 0; i < kTasks; ++i) {
      s.schedule(TimerTask(
          [&] {
            if (std::this_thread::get_id() != ticking) off_thread.fetch_add(1);
            ran.fetch_add(1);
          },
          std::chrono::nanoseconds(i % 500)));
    }
    const TimerId beat = s.schedule(TimerTask::periodic([&] { beats.fetch_add(1); }, 1000ns));
    clock.advance(10'000);
    while (s.pending() > 1) {  // all but the periodic beat dispatched
      s.tick();  // queues full: refused submissions stay queued and are retried
      if constexpr (!omega::kHasThreads) system.run_pending();
      std::this_thread::yield();
    }
    CHECK(s.cancel(beat));
    while (ran.load() < kTasks) {
      if constexpr (!omega::kHasThreads) system.run_pending();
      std::this_thread::yield();
    }
    const auto m = s.metrics();
    CHECK(m.dispatched >= static_cast<std::uint64_t>(kTasks));
    CHECK(m.pending == 0);
    CHECK(m.lateness.count() >= static_cast<std::uint64_t>(kTasks));
    if constexpr (omega::kHasThreads) CHECK(off_thread.load() == kTasks);
  }  // the destructor waits for runs still in flight
  CHECK(ran.load() == 2000);
  system.shutdown_all();
}

TEST_CASE("a Critical task the scheduler dispatches overtakes High work queued on the node", "[scheduler]") {
  auto system = omega::UltraOmegaSystem::builder().with_nodes(1).with_super_nodes(0).with_queue_capacity(64, 64)
                    .with_threads(1, 1, 1, 1).build();
  omega::OmegaRng rng(9);
  std::atomic<bool> open{false};
  std::atomic<bool> blocked{false};
  if constexpr (omega::kHasThreads) {
    REQUIRE(system.submit_detached(omega::Priority::Low, 1, [&] {
      blocked.store(true);
      while (!open.load()) std::this_thread::yield();
    }, rng));
    while (!blocked.load()) std::this_thread::yield();  // the only worker holds it
  }
  std::mutex m;
  std::vector<std::string> order;
  auto record = [&](std::string name) {
    return [&, name] {
      std::lock_guard lock(m);
      order.push_back(name);
    };
  };
  REQUIRE(system.submit_detached(omega::Priority::High, 1, record("high 1"), rng));
  REQUIRE(system.submit_detached(omega::Priority::High, 1, record("high 2"), rng));
  FakeClock clock;
  SchedulerConfig c = config_with_rate(100);
  c.parallel = true;
  {
    Scheduler s(c, system, clock.source());
    s.schedule(TimerTask(record("critical"), 100ns).with_priority(TimerPriority::Critical));
    s.schedule(TimerTask(record("normal"), 100ns).with_priority(TimerPriority::Normal));
    clock.advance(1'000);
    CHECK(s.tick() == 2);
    CHECK(s.metrics().dispatched == 2);
    open.store(true);
    if constexpr (!omega::kHasThreads) system.run_pending();
  }  // the destructor waits for the dispatched runs
  system.shutdown_all();
  CHECK(order == std::vector<std::string>{"critical", "high 1", "high 2", "normal"});
}

TEST_CASE("run() blocks until stop() where the thread may block, and refuses to where it may not", "[scheduler]") {
  SchedulerConfig c;
  c.tick_rate_ns = 1000;
  Scheduler s(c);
  if (!omega::can_park()) {
    auto r = s.run();
    REQUIRE_FALSE(r);
    CHECK(r.error() == omega::SchedulerError::WouldBlock);
    return;
  }
  int runs = 0;
  s.schedule(TimerTask([&] { ++runs; }, 100us));
  s.schedule(TimerTask([&] { s.stop(); }, 2ms));  // far enough ahead that run() parks first
  auto r = s.run();
  REQUIRE(r);
  CHECK(runs == 1);
  CHECK(s.metrics().executed == 2);

  // stop() from another thread wakes a parked run().
  if constexpr (omega::kHasThreads) {
    std::thread stopper([&] {
      std::this_thread::sleep_for(5ms);
      s.stop();
    });
    CHECK(s.run());
    stopper.join();
  }
}

TEST_CASE("TimerFn stores small callables inline and clones copyable ones", "[scheduler]") {
  int hits = 0;
  omega::TimerFn small([&hits] { ++hits; });
  CHECK(small.is_inline());
  CHECK(small.clonable());
  omega::TimerFn with_double([x = 1.5, &hits] { hits += static_cast<int>(x) - 1; });  // 8-byte alignment, wasm32 too
  CHECK(with_double.is_inline());
  omega::TimerFn copy = small.clone();
  copy();
  small();
  CHECK(hits == 2);
  struct Big {
    char pad[64];
    int* hits;
    void operator()() const { ++*hits; }
  };
  omega::TimerFn big(Big{{}, &hits});
  CHECK_FALSE(big.is_inline());
  big.clone()();
  CHECK(hits == 3);
  auto owned = std::make_unique<int>(7);
  omega::TimerFn move_only([p = std::move(owned)] { (void)*p; });
  CHECK_FALSE(move_only.clonable());
}
