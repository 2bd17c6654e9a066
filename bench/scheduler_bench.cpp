// The nanosecond scheduler against the timers users would otherwise reach for, in the same
// process: a std::priority_queue scheduler (binary heap, lazy cancel) and, natively,
// Boost.Asio's steady_timer on an io_context driven by poll().
//   1. tick overhead with nothing due and 0, 1k, 100k pending timers: ns per tick, average
//      (a timed loop of ticks) and P50/P99 (each tick bracketed by clock reads, the brackets'
//      own median cost subtracted);
//   2. schedule and cancel throughput: ops/s;
//   3. memory for 100k pending tasks: live heap bytes (counted by this program's operator new);
//   4. running due tasks: tasks/s through tick().
// Medians of kRuns runs; "x" columns are omega's advantage (above 1: omega is better).
//   scheduler_bench [runs=7]
#include <omega/omega.hpp>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <new>
#include <queue>
#include <string>
#include <vector>

#include "bench_util.hpp"

#if OMEGA_BENCH_HAVE_ASIO
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#endif

// ---- live heap bytes: every allocation carries a header with its size ------------------------

namespace {
std::atomic<std::int64_t> g_live_bytes{0};
constexpr std::size_t kHeader = 16;  // keeps the default new alignment (16)

void* counted_alloc(std::size_t size, std::size_t align) {
  const std::size_t header = align > kHeader ? align : kHeader;
  void* raw = align > kHeader ? std::aligned_alloc(align, (size + header + align - 1) / align * align)
                              : std::malloc(size + header);
  if (raw == nullptr) throw std::bad_alloc();
  auto* user = static_cast<unsigned char*>(raw) + header;
  reinterpret_cast<std::size_t*>(user)[-1] = size;
  reinterpret_cast<std::size_t*>(user)[-2] = header;
  g_live_bytes.fetch_add(static_cast<std::int64_t>(size), std::memory_order_relaxed);
  return user;
}
void counted_free(void* p) noexcept {
  if (p == nullptr) return;
  auto* user = static_cast<unsigned char*>(p);
  const std::size_t size = reinterpret_cast<std::size_t*>(user)[-1];
  const std::size_t header = reinterpret_cast<std::size_t*>(user)[-2];
  g_live_bytes.fetch_sub(static_cast<std::int64_t>(size), std::memory_order_relaxed);
  std::free(user - header);
}
}  // namespace

void* operator new(std::size_t n) { return counted_alloc(n, kHeader); }
void* operator new[](std::size_t n) { return counted_alloc(n, kHeader); }
void* operator new(std::size_t n, std::align_val_t a) { return counted_alloc(n, static_cast<std::size_t>(a)); }
void* operator new[](std::size_t n, std::align_val_t a) { return counted_alloc(n, static_cast<std::size_t>(a)); }
void operator delete(void* p) noexcept { counted_free(p); }
void operator delete[](void* p) noexcept { counted_free(p); }
void operator delete(void* p, std::size_t) noexcept { counted_free(p); }
void operator delete[](void* p, std::size_t) noexcept { counted_free(p); }
void operator delete(void* p, std::align_val_t) noexcept { counted_free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { counted_free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { counted_free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { counted_free(p); }

using namespace omega::bench;
using namespace std::chrono_literals;

namespace {

int g_runs = 7;
constexpr std::size_t kTicks = 1'000'000;
constexpr std::size_t kSampledTicks = 200'000;
constexpr std::uint64_t kTickRateNs = 500;  // the seed's example configuration

// A deadline comfortably in the future (nothing comes due while a tick loop runs).
std::int64_t far_delay(std::uint64_t& lcg) {
  lcg = lcg * 6364136223846793005ULL + 1442695040888963407ULL;
  return 10'000'000'000LL + static_cast<std::int64_t>((lcg >> 20) % 10'000'000'000ULL);  // 10..20 s
}

// ---- the std::priority_queue scheduler: what one writes without a wheel ---------------------

class HeapScheduler {
 public:
  struct Entry {
    std::int64_t deadline;
    std::uint8_t priority;
    std::uint64_t id;
    omega::Task fn;
  };
  struct Later {
    bool operator()(const Entry& a, const Entry& b) const {
      if (a.deadline != b.deadline) return a.deadline > b.deadline;
      if (a.priority != b.priority) return a.priority > b.priority;
      return a.id > b.id;
    }
  };

  std::uint64_t schedule(omega::Task fn, std::int64_t delay_ns, std::uint8_t priority = 2) {
    const std::uint64_t id = next_id_++;
    cancelled_.push_back(0);
    heap_.push(Entry{omega::now_ns() + delay_ns, priority, id, std::move(fn)});
    return id;
  }
  // Lazy: the entry stays in the heap until it surfaces.
  bool cancel(std::uint64_t id) {
    if (id >= cancelled_.size() || cancelled_[id]) return false;
    cancelled_[id] = 1;
    return true;
  }
  std::size_t tick(std::size_t max = ~std::size_t{0}) {
    const std::int64_t now = omega::now_ns();
    std::size_t ran = 0;
    while (!heap_.empty() && heap_.top().deadline <= now && ran < max) {
      Entry e = std::move(const_cast<Entry&>(heap_.top()));
      heap_.pop();
      if (cancelled_[e.id]) continue;
      cancelled_[e.id] = 1;
      e.fn();
      ++ran;
    }
    return ran;
  }
  [[nodiscard]] std::size_t size() const { return heap_.size(); }

 private:
  std::priority_queue<Entry, std::vector<Entry>, Later> heap_;
  std::vector<std::uint8_t> cancelled_;
  std::uint64_t next_id_ = 0;
};

// ---- measurements ---------------------------------------------------------------------------

struct TickFigures {
  double avg = 0, p50 = 0, p99 = 0;
};

// Median cost of an empty bracket (two back-to-back clock reads): subtracted from per-tick samples.
double bracket_cost() {
  std::vector<std::int64_t> v(100'000);
  for (auto& x : v) {
    const std::int64_t a = omega::now_ns();
    const std::int64_t b = omega::now_ns();
    x = b - a;
  }
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
  return static_cast<double>(v[v.size() / 2]);
}

template <class Tick>
TickFigures measure_ticks(Tick&& tick, double bracket) {
  TickFigures f;
  Stat avg = repeat(g_runs, [&] {
    const double ns = time_ns([&] {
      for (std::size_t i = 0; i < kTicks; ++i) keep(tick());
    });
    return ns / static_cast<double>(kTicks);
  });
  f.avg = avg.median;
  std::vector<double> p50s, p99s;
  std::vector<std::int64_t> samples(kSampledTicks);
  for (int r = 0; r < g_runs; ++r) {
    for (auto& s : samples) {
      const std::int64_t a = omega::now_ns();
      keep(tick());
      const std::int64_t b = omega::now_ns();
      s = b - a;
    }
    std::sort(samples.begin(), samples.end());
    p50s.push_back(std::max(0.0, static_cast<double>(samples[samples.size() / 2]) - bracket));
    p99s.push_back(std::max(0.0, static_cast<double>(samples[samples.size() * 99 / 100]) - bracket));
  }
  std::sort(p50s.begin(), p50s.end());
  std::sort(p99s.begin(), p99s.end());
  f.p50 = p50s[p50s.size() / 2];
  f.p99 = p99s[p99s.size() / 2];
  return f;
}

void print_tick_row(const char* who, const TickFigures& f, const TickFigures& omega) {
  std::printf("    %-28s avg %8.1f ns  P50 %8.1f ns  P99 %8.1f ns   omega x%.2f avg, x%.2f P99\n", who, f.avg, f.p50,
              f.p99, f.avg / omega.avg, f.p99 / std::max(1.0, omega.p99));
}

omega::SchedulerConfig bench_config() {
  omega::SchedulerConfig c;
  c.tick_rate_ns = kTickRateNs;
  c.max_tasks_per_tick = 1'000'000;
  return c;
}

void tick_overhead(double bracket) {
  std::printf("\n1. tick overhead, nothing due (tick_rate %llu ns; deadlines 10-20 s ahead)\n",
              static_cast<unsigned long long>(kTickRateNs));
  for (std::size_t pending : {std::size_t{0}, std::size_t{1000}, std::size_t{100'000}}) {
    std::printf("  %zu pending timers\n", pending);
    std::uint64_t lcg = 7;
    omega::Scheduler s(bench_config());
    for (std::size_t i = 0; i < pending; ++i) s.schedule(omega::TimerTask([] {}, omega::Nanos(far_delay(lcg))));
    const TickFigures om = measure_ticks([&] { return s.tick(); }, bracket);
    print_tick_row("omega::Scheduler", om, om);
    const auto m = s.metrics();
    std::printf("    %-28s avg %8.1f ns  P50 %8llu ns  P99 %8llu ns   (its own sampled timing, incl. clock reads)\n",
                "  (metrics())", m.avg_tick_time_ns, static_cast<unsigned long long>(m.p50_tick_time_ns),
                static_cast<unsigned long long>(m.p99_tick_time_ns));

    HeapScheduler heap;
    lcg = 7;
    for (std::size_t i = 0; i < pending; ++i) heap.schedule([] {}, far_delay(lcg));
    print_tick_row("std::priority_queue", measure_ticks([&] { return heap.tick(); }, bracket), om);

#if OMEGA_BENCH_HAVE_ASIO
    boost::asio::io_context io;
    std::vector<boost::asio::steady_timer> timers;
    timers.reserve(pending);
    lcg = 7;
    for (std::size_t i = 0; i < pending; ++i) {
      timers.emplace_back(io, std::chrono::nanoseconds(far_delay(lcg)));
      timers.back().async_wait([](const boost::system::error_code&) {});
    }
    print_tick_row("asio steady_timer + poll()", measure_ticks([&] { return io.poll(); }, bracket), om);
    for (auto& t : timers) t.cancel();
    io.poll();
#endif
  }
}

void schedule_cancel() {
  constexpr std::size_t kOps = 1'000'000;
  std::printf("\n2. schedule and cancel, %zu timers per run (deadlines 10-20 s ahead)\n", kOps);
  omega::Scheduler s(bench_config());
  // Warm the slab once, as a long-running program's would be.
  {
    std::vector<omega::TimerId> ids(kOps);
    for (auto& id : ids) id = s.schedule(omega::TimerTask([] {}, 10s));
    for (auto id : ids) (void)s.cancel(id);
  }
  std::vector<omega::TimerId> ids(kOps);
  double om_schedule = 0, om_pair = 0;
  {
    std::uint64_t lcg = 1;
    std::vector<std::int64_t> delays(kOps);
    for (auto& d : delays) d = far_delay(lcg);
    Stat sched = repeat(g_runs, [&] {
      const double ns = time_ns([&] {
        for (std::size_t i = 0; i < kOps; ++i) ids[i] = s.schedule(omega::TimerTask([] {}, omega::Nanos(delays[i])));
      });
      for (auto id : ids) (void)s.cancel(id);
      return static_cast<double>(kOps) * 1e9 / ns;
    });
    Stat pair = repeat(g_runs, [&] {
      const double ns = time_ns([&] {
        for (std::size_t i = 0; i < kOps; ++i) ids[i] = s.schedule(omega::TimerTask([] {}, omega::Nanos(delays[i])));
        for (auto id : ids) keep(s.cancel(id));
      });
      return static_cast<double>(kOps) * 1e9 / ns;
    });
    om_schedule = sched.median;
    om_pair = pair.median;
    std::printf("    %-28s schedule %7.2f M ops/s   schedule+cancel %7.2f M pairs/s\n", "omega::Scheduler",
                om_schedule / 1e6, om_pair / 1e6);

    Stat hs = repeat(g_runs, [&] {
      HeapScheduler heap;
      const double ns = time_ns([&] {
        for (std::size_t i = 0; i < kOps; ++i) keep(heap.schedule([] {}, delays[i]));
      });
      return static_cast<double>(kOps) * 1e9 / ns;
    });
    Stat hp = repeat(g_runs, [&] {
      HeapScheduler heap;
      std::vector<std::uint64_t> hid(kOps);
      const double ns = time_ns([&] {
        for (std::size_t i = 0; i < kOps; ++i) hid[i] = heap.schedule([] {}, delays[i]);
        for (auto id : hid) keep(heap.cancel(id));
      });
      return static_cast<double>(kOps) * 1e9 / ns;
    });
    std::printf("    %-28s schedule %7.2f M ops/s   schedule+cancel %7.2f M pairs/s   omega x%.2f, x%.2f\n",
                "std::priority_queue", hs.median / 1e6, hp.median / 1e6, om_schedule / hs.median, om_pair / hp.median);
#if OMEGA_BENCH_HAVE_ASIO
    Stat as = repeat(g_runs, [&] {
      boost::asio::io_context io;
      std::vector<boost::asio::steady_timer> timers;
      timers.reserve(kOps);
      const double ns = time_ns([&] {
        for (std::size_t i = 0; i < kOps; ++i) {
          timers.emplace_back(io, std::chrono::nanoseconds(delays[i]));
          timers.back().async_wait([](const boost::system::error_code&) {});
        }
      });
      for (auto& t : timers) t.cancel();
      io.poll();
      return static_cast<double>(kOps) * 1e9 / ns;
    });
    Stat ap = repeat(g_runs, [&] {
      boost::asio::io_context io;
      std::vector<boost::asio::steady_timer> timers;
      timers.reserve(kOps);
      const double ns = time_ns([&] {
        for (std::size_t i = 0; i < kOps; ++i) {
          timers.emplace_back(io, std::chrono::nanoseconds(delays[i]));
          timers.back().async_wait([](const boost::system::error_code&) {});
        }
        for (auto& t : timers) t.cancel();
        io.poll();  // cancelled handlers run with operation_aborted: part of asio's cancel
      });
      return static_cast<double>(kOps) * 1e9 / ns;
    });
    std::printf("    %-28s schedule %7.2f M ops/s   schedule+cancel %7.2f M pairs/s   omega x%.2f, x%.2f\n",
                "asio steady_timer", as.median / 1e6, ap.median / 1e6, om_schedule / as.median, om_pair / ap.median);
#endif
  }
}

void memory() {
  constexpr std::size_t kPending = 100'000;
  std::printf("\n3. memory for %zu pending tasks (live heap bytes, this program's operator new)\n", kPending);
  std::uint64_t lcg = 3;
  std::int64_t before = g_live_bytes.load();
  double om = 0;
  {
    omega::Scheduler s(bench_config());
    for (std::size_t i = 0; i < kPending; ++i) s.schedule(omega::TimerTask([] {}, omega::Nanos(far_delay(lcg))));
    om = static_cast<double>(g_live_bytes.load() - before);
    std::printf("    %-28s %8.2f MB  (%.1f bytes/task; metrics().memory_bytes %.2f MB, histograms excluded)\n",
                "omega::Scheduler", om / 1e6, om / kPending, static_cast<double>(s.metrics().memory_bytes) / 1e6);
  }
  before = g_live_bytes.load();
  {
    HeapScheduler heap;
    lcg = 3;
    for (std::size_t i = 0; i < kPending; ++i) heap.schedule([] {}, far_delay(lcg));
    const double b = static_cast<double>(g_live_bytes.load() - before);
    std::printf("    %-28s %8.2f MB  (%.1f bytes/task)   omega x%.2f\n", "std::priority_queue", b / 1e6, b / kPending,
                b / om);
  }
#if OMEGA_BENCH_HAVE_ASIO
  before = g_live_bytes.load();
  {
    boost::asio::io_context io;
    std::vector<boost::asio::steady_timer> timers;
    timers.reserve(kPending);
    lcg = 3;
    for (std::size_t i = 0; i < kPending; ++i) {
      timers.emplace_back(io, std::chrono::nanoseconds(far_delay(lcg)));
      timers.back().async_wait([](const boost::system::error_code&) {});
    }
    const double b = static_cast<double>(g_live_bytes.load() - before);
    std::printf("    %-28s %8.2f MB  (%.1f bytes/task)   omega x%.2f\n", "asio steady_timer", b / 1e6, b / kPending,
                b / om);
    for (auto& t : timers) t.cancel();
    io.poll();
  }
#endif
}

void run_due() {
  constexpr std::size_t kTasks = 1'000'000;
  std::printf("\n4. running %zu due tasks (trivial callables; deadlines spread over 1 ms, then one tick)\n", kTasks);
  std::uint64_t sink = 0;
  Stat om = repeat(g_runs, [&] {
    omega::Scheduler s(bench_config());
    for (std::size_t i = 0; i < kTasks; ++i) {
      s.schedule(omega::TimerTask([&sink] { ++sink; }, omega::Nanos(static_cast<std::int64_t>(i % 1'000'000))));
    }
    const std::int64_t due = omega::now_ns() + 1'000'000;
    while (omega::now_ns() < due) {
    }
    const double ns = time_ns([&] { keep(s.tick()); });
    return static_cast<double>(kTasks) * 1e9 / ns;
  });
  std::printf("    %-28s %7.2f M tasks/s (each run: a clock read and a lateness record)\n", "omega::Scheduler",
              om.median / 1e6);
  Stat hp = repeat(g_runs, [&] {
    HeapScheduler heap;
    for (std::size_t i = 0; i < kTasks; ++i) heap.schedule([&sink] { ++sink; }, static_cast<std::int64_t>(i % 1'000'000));
    const std::int64_t due = omega::now_ns() + 1'000'000;
    while (omega::now_ns() < due) {
    }
    const double ns = time_ns([&] { keep(heap.tick()); });
    return static_cast<double>(kTasks) * 1e9 / ns;
  });
  std::printf("    %-28s %7.2f M tasks/s   omega x%.2f\n", "std::priority_queue", hp.median / 1e6, om.median / hp.median);
  keep(sink);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1) g_runs = std::max(1, std::atoi(argv[1]));
  const omega::ClockInfo ci = omega::clock_info();
  std::printf("scheduler_bench: %s, clock %s, medians of %d runs\n", omega::kPlatformName, std::string(ci.source).c_str(),
              g_runs);
  const double bracket = bracket_cost();
  std::printf("clock bracket (two reads, subtracted from per-tick P50/P99): %.1f ns\n", bracket);
  tick_overhead(bracket);
  schedule_cancel();
  memory();
  run_due();
  std::printf("\ntargets: avg tick < 50 ns and P99 < 150 ns with nothing due; >= 20 M schedule ops/s; 100k pending < 10 MB\n");
  return 0;
}
