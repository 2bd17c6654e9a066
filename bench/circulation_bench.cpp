// The CPU circulation against the pools users would otherwise reach for, same process, same
// worker count, one submitting thread (fewer submitters than workers, as seed 000 advises).
//   1. trivial tasks, fire-and-forget: tasks/s
//   2. trivial tasks with a result each (submit a batch of 1000, then receive each): tasks/s,
//      against the same peers, each with its own idiom for a result
//   3. seed 000's benchmark_throughput: 64 nodes + 32 super nodes, 100k tasks with handles
//      (3b: the same shape at 8 + 4 single-thread nodes, which WASM can run too)
//   4. open loop at 50% load, 2 us tasks: submit-to-start and submit-to-complete percentiles
// Medians of 5 runs; "x" columns are omega / peer (above 1: omega is faster).
//   circulation_bench [workers=2] [tasks=1000000] [sections=1234]   e.g. "14": sections 1 and 4
#include <omega/omega.hpp>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#if defined(__linux__) && !defined(__EMSCRIPTEN__)
#include <sys/resource.h>
#endif

#include "bench_util.hpp"
#include "peers.hpp"

#if OMEGA_BENCH_HAVE_PEERS
#include <tbb/global_control.h>
#include <tbb/task_arena.h>
#include <tbb/task_group.h>

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_future.hpp>
#include <concurrentqueue/blockingconcurrentqueue.h>
#endif

using namespace omega::bench;
using omega::OmegaRng;
using omega::Priority;
using omega::UltraOmegaSystem;

namespace {

constexpr int kRuns = 5;
constexpr std::size_t kBatch = 1000;

void wait_for(const std::atomic<std::uint64_t>& counter, std::uint64_t target) {
  while (counter.load(std::memory_order_acquire) < target) std::this_thread::yield();
}

// omega's submitter, refused because every queue it tried is full or waiting for the last
// tasks, runs queued work itself (run_pending) instead of yielding: the caller-runs pattern,
// as oneTBB's submitting thread helps in task_group::wait(). Yielding is no substitute in
// WASM, where sched_yield gives nothing up (Web Workers cannot yield their CPU).
void help_or_yield(UltraOmegaSystem& system) {
  if (system.run_pending(64) == 0) std::this_thread::yield();
}
void help_until(UltraOmegaSystem& system, const std::atomic<std::uint64_t>& counter, std::uint64_t target) {
  while (counter.load(std::memory_order_acquire) < target) help_or_yield(system);
}

// W workers: W nodes of one thread each, deep queues so the submitter rarely waits.
UltraOmegaSystem make_system(unsigned workers) {
  return UltraOmegaSystem::builder()
      .with_nodes(workers)
      .with_super_nodes(0)
      .with_threads(1, 1, 1, 1)
      .with_queue_capacity(4096, 4096)
      .build();
}

double per_second(std::uint64_t ops, double ns) { return static_cast<double>(ops) * 1e9 / ns; }

void print_rate(const char* name, const Stat& s, double omega_median) {
  std::printf("  %-40s %12.0f tasks/s  (min %12.0f, max %12.0f)  omega x%.2f\n", name, s.median, s.min, s.max,
              omega_median / s.median);
}

// ---- 1. fire-and-forget -------------------------------------------------------------------

Stat omega_fire_and_forget(unsigned workers, std::uint64_t n) {
  auto system = make_system(workers);
  OmegaRng rng(1);
  return repeat(kRuns, [&] {
    std::atomic<std::uint64_t> done{0};
    const double ns = time_ns([&] {
      for (std::uint64_t i = 0; i < n; ++i) {
        while (!system.submit_detached(Priority::Normal, 1, [&done] { done.fetch_add(1, std::memory_order_relaxed); },
                                       rng)) {
          help_or_yield(system);
        }
      }
      help_until(system, done, n);
    });
    return per_second(n, ns);
  });
}

Stat omega_fire_and_forget_batch(unsigned workers, std::uint64_t n) {
  auto system = make_system(workers);
  OmegaRng rng(1);
  return repeat(kRuns, [&] {
    std::atomic<std::uint64_t> done{0};
    const double ns = time_ns([&] {
      std::uint64_t queued = 0;
      while (queued < n) {
        const auto r = system.submit_detached_batch(Priority::Normal, 1, n - queued, [&done](std::size_t) {
          return [&done] { done.fetch_add(1, std::memory_order_relaxed); };
        }, rng);
        queued += r.accepted;
        if (r.error) help_or_yield(system);
      }
      help_until(system, done, n);
    });
    return per_second(n, ns);
  });
}

Stat mutex_fire_and_forget(unsigned workers, std::uint64_t n) {
  MutexPool pool(workers);
  return repeat(kRuns, [&] {
    std::atomic<std::uint64_t> done{0};
    const double ns = time_ns([&] {
      for (std::uint64_t i = 0; i < n; ++i) pool.post([&done] { done.fetch_add(1, std::memory_order_relaxed); });
      wait_for(done, n);
    });
    return per_second(n, ns);
  });
}

#if OMEGA_BENCH_HAVE_PEERS
Stat tbb_fire_and_forget(unsigned workers, std::uint64_t n) {
  // W worker slots plus the submitting thread's reserved slot (which helps in wait()).
  tbb::task_arena arena(static_cast<int>(workers) + 1, 1);
  return repeat(kRuns, [&] {
    std::atomic<std::uint64_t> done{0};
    const double ns = time_ns([&] {
      arena.execute([&] {
        tbb::task_group tg;
        for (std::uint64_t i = 0; i < n; ++i) tg.run([&done] { done.fetch_add(1, std::memory_order_relaxed); });
        tg.wait();
      });
    });
    return per_second(n, ns);
  });
}

Stat asio_fire_and_forget(unsigned workers, std::uint64_t n) {
  boost::asio::thread_pool pool(workers);
  Stat s = repeat(kRuns, [&] {
    std::atomic<std::uint64_t> done{0};
    const double ns = time_ns([&] {
      for (std::uint64_t i = 0; i < n; ++i) {
        boost::asio::post(pool, [&done] { done.fetch_add(1, std::memory_order_relaxed); });
      }
      wait_for(done, n);
    });
    return per_second(n, ns);
  });
  pool.join();
  return s;
}

// W workers blocking in wait_dequeue on moodycamel's lock-free queue (its own semaphore).
struct MoodycamelPool {
  moodycamel::BlockingConcurrentQueue<std::function<void()>> q;
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  explicit MoodycamelPool(unsigned workers) {
    for (unsigned i = 0; i < workers; ++i) {
      threads.emplace_back([this] {
        std::function<void()> f;
        while (!stop.load(std::memory_order_relaxed)) {
          if (q.wait_dequeue_timed(f, 10'000)) f();
        }
      });
    }
  }
  MoodycamelPool(const MoodycamelPool&) = delete;
  MoodycamelPool& operator=(const MoodycamelPool&) = delete;
  ~MoodycamelPool() {
    stop.store(true);
    for (auto& t : threads) t.join();
  }
};

Stat moodycamel_fire_and_forget(unsigned workers, std::uint64_t n) {
  MoodycamelPool pool(workers);
  auto& q = pool.q;
  return repeat(kRuns, [&] {
    std::atomic<std::uint64_t> done{0};
    moodycamel::ProducerToken token(q);
    const double ns = time_ns([&] {
      for (std::uint64_t i = 0; i < n; ++i) q.enqueue(token, [&done] { done.fetch_add(1, std::memory_order_relaxed); });
      // The submitter helps while it waits, as omega's and oneTBB's do.
      std::function<void()> f;
      while (done.load(std::memory_order_acquire) < n) {
        if (q.try_dequeue(f)) {
          f();
        } else {
          std::this_thread::yield();
        }
      }
    });
    return per_second(n, ns);
  });
}
#endif

// ---- 2. with a result per task ------------------------------------------------------------

Stat omega_with_handles(UltraOmegaSystem& system, std::uint64_t n, int runs = kRuns) {
  OmegaRng rng(2);
  std::vector<omega::TaskHandle<std::uint64_t>> handles;
  handles.reserve(kBatch);
  return repeat(runs, [&] {
    std::uint64_t sum = 0;
    const double ns = time_ns([&] {
      for (std::uint64_t base = 0; base < n; base += kBatch) {
        for (std::uint64_t i = base; i < base + kBatch && i < n; ++i) {
          for (;;) {
            auto h = system.submit_cpu_task(Priority::Normal, 1, [i] { return i; }, rng);
            if (h) {
              handles.push_back(std::move(*h));
              break;
            }
            // Backpressure: collect what is out, then retry.
            for (auto& x : handles) sum += x.recv_result().value_or(0);
            handles.clear();
          }
        }
        for (auto& x : handles) sum += x.recv_result().value_or(0);
        handles.clear();
      }
    });
    keep(sum);
    if (sum != n * (n - 1) / 2) std::printf("  !! omega results wrong: %llu\n", static_cast<unsigned long long>(sum));
    return per_second(n, ns);
  });
}

Stat omega_with_handles_batch(UltraOmegaSystem& system, std::uint64_t n) {
  OmegaRng rng(3);
  std::vector<omega::TaskHandle<std::uint64_t>> handles;
  handles.reserve(kBatch);
  return repeat(kRuns, [&] {
    std::uint64_t sum = 0;
    const double ns = time_ns([&] {
      for (std::uint64_t base = 0; base < n; base += kBatch) {
        const std::uint64_t m = std::min<std::uint64_t>(kBatch, n - base);
        std::uint64_t queued = 0;
        while (queued < m) {
          const std::uint64_t from = base + queued;
          const auto r = system.submit_cpu_batch(Priority::Normal, 1, m - queued,
                                                 [from](std::size_t i) { return [v = from + i] { return v; }; },
                                                 handles, rng);
          queued += r.accepted;
          if (r.error) {  // backpressure: collect what is out, then go on
            for (auto& x : handles) sum += x.recv_result().value_or(0);
            handles.clear();
          }
        }
        for (auto& x : handles) sum += x.recv_result().value_or(0);
        handles.clear();
      }
    });
    keep(sum);
    if (sum != n * (n - 1) / 2) std::printf("  !! omega batch results wrong: %llu\n", static_cast<unsigned long long>(sum));
    return per_second(n, ns);
  });
}

// A result-per-task peer: submit(i) queues a task returning i and gives its std::future;
// kBatch are submitted, then each is collected, as omega's rows do with handles.
template <class Submit>
Stat futures_rate(const char* peer, std::uint64_t n, Submit&& submit) {
  std::vector<std::future<std::uint64_t>> futures;
  futures.reserve(kBatch);
  return repeat(kRuns, [&] {
    std::uint64_t sum = 0;
    const double ns = time_ns([&] {
      for (std::uint64_t base = 0; base < n; base += kBatch) {
        for (std::uint64_t i = base; i < base + kBatch && i < n; ++i) futures.push_back(submit(i));
        for (auto& f : futures) sum += f.get();
        futures.clear();
      }
    });
    keep(sum);
    if (sum != n * (n - 1) / 2) std::printf("  !! %s results wrong\n", peer);
    return per_second(n, ns);
  });
}

Stat future_with_results(unsigned workers, std::uint64_t n) {
  MutexPool pool(workers);
  return futures_rate("mutex pool", n, [&](std::uint64_t i) { return pool.submit([i] { return i; }); });
}

#if OMEGA_BENCH_HAVE_PEERS
// oneTBB has no per-task handle: its users write each result to a slot and wait for the
// task_group, here per batch of kBatch as omega's rows collect theirs.
Stat tbb_with_results(unsigned workers, std::uint64_t n) {
  tbb::task_arena arena(static_cast<int>(workers) + 1, 1);
  std::vector<std::uint64_t> results(kBatch);
  return repeat(kRuns, [&] {
    std::uint64_t sum = 0;
    const double ns = time_ns([&] {
      arena.execute([&] {
        tbb::task_group tg;
        for (std::uint64_t base = 0; base < n; base += kBatch) {
          const std::uint64_t m = std::min<std::uint64_t>(kBatch, n - base);
          for (std::uint64_t i = 0; i < m; ++i) tg.run([&results, i, v = base + i] { results[i] = v; });
          tg.wait();
          for (std::uint64_t i = 0; i < m; ++i) sum += results[i];
        }
      });
    });
    keep(sum);
    if (sum != n * (n - 1) / 2) std::printf("  !! oneTBB results wrong\n");
    return per_second(n, ns);
  });
}

// Boost.Asio's own way to a result: post(pool, use_future(f)) returns a std::future.
Stat asio_with_futures(unsigned workers, std::uint64_t n) {
  boost::asio::thread_pool pool(workers);
  Stat s = futures_rate("Boost.Asio", n, [&](std::uint64_t i) {
    return boost::asio::post(pool, boost::asio::use_future([i] { return i; }));
  });
  pool.join();
  return s;
}

// The moodycamel pool of section 1 with a std::packaged_task per task.
Stat moodycamel_with_futures(unsigned workers, std::uint64_t n) {
  MoodycamelPool pool(workers);
  moodycamel::ProducerToken token(pool.q);
  return futures_rate("moodycamel", n, [&](std::uint64_t i) {
    auto task = std::make_shared<std::packaged_task<std::uint64_t()>>([i] { return i; });
    auto future = task->get_future();
    pool.q.enqueue(token, [task] { (*task)(); });
    return future;
  });
}
#endif

// ---- 4. open loop -------------------------------------------------------------------------

void spin_for(std::int64_t ns) {
  const std::int64_t end = omega::now_ns() + ns;
  while (omega::now_ns() < end) {
  }
}

struct OpenLoop {
  omega::HistogramSnapshot to_start;
  omega::HistogramSnapshot to_complete;
  omega::HistogramSnapshot pacer_late;  // how late the pacer itself submitted (the machine's stalls)
  double offered_per_s;
  std::uint64_t refused;
  long preempted;  // involuntary context switches of the process during the run, -1: unknown
};

// How often the kernel took a CPU from one of this process's threads that still wanted it.
// The pacer and the workers are busy threads, so any such switch is a stall of the
// measurement itself (on the 2-CPU VM: the kernel's DAMON thread, 1-3 ms at a time).
long involuntary_switches() {
#if defined(__linux__) && !defined(__EMSCRIPTEN__)
  rusage r{};
  if (getrusage(RUSAGE_SELF, &r) == 0) return r.ru_nivcsw;
#endif
  return -1;
}

// Arrivals every 1/rate seconds (paced on the clock, not on completions); each task spins
// `work_ns` and records its own latencies.
template <class Submit>
OpenLoop open_loop(double rate, std::uint64_t n, std::int64_t work_ns, Submit&& submit) {
  omega::Histogram to_start, to_complete, pacer_late;
  std::atomic<std::uint64_t> done{0};
  std::uint64_t refused = 0;
  const double gap = 1e9 / rate;
  const long switches_before = involuntary_switches();
  const std::int64_t t0 = omega::now_ns();
  for (std::uint64_t i = 0; i < n; ++i) {
    const auto due = t0 + static_cast<std::int64_t>(static_cast<double>(i) * gap);
    while (omega::now_ns() < due) {
    }
    const std::int64_t submitted = omega::now_ns();
    pacer_late.record(static_cast<std::uint64_t>(submitted - due));
    auto task = [&, submitted] {
      to_start.record(static_cast<std::uint64_t>(omega::now_ns() - submitted));
      spin_for(work_ns);
      to_complete.record(static_cast<std::uint64_t>(omega::now_ns() - submitted));
      done.fetch_add(1, std::memory_order_release);
    };
    if (!submit(task)) ++refused;
  }
  wait_for(done, n - refused);
  const long switches_after = involuntary_switches();
  return OpenLoop{to_start.snapshot(), to_complete.snapshot(), pacer_late.snapshot(), rate, refused,
                  switches_before < 0 ? -1 : switches_after - switches_before};
}

void print_latency(const char* name, const OpenLoop& r) {
  const auto s = r.to_start.percentiles();
  const auto c = r.to_complete.percentiles();
  const auto l = r.pacer_late.percentiles();
  std::printf("  %-22s start P50 %7.1f P99 %7.1f P99.9 %8.1f us | complete P50 %7.1f P99 %7.1f P99.9 %8.1f us%s\n",
              name, s.p50 / 1e3, s.p99 / 1e3, s.p999 / 1e3, c.p50 / 1e3, c.p99 / 1e3, c.p999 / 1e3,
              r.refused ? " (some refused)" : "");
  // A pacer that is itself late by milliseconds was stalled by the machine, and its catch-up
  // burst queues behind any pool: read the P99 above together with this line.
  std::printf("  %-22s pacer late P99 %7.1f max %8.1f us", "", l.p99 / 1e3, l.max / 1e3);
  if (r.preempted >= 0) std::printf("; involuntary context switches during the run: %ld", r.preempted);
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
  const unsigned workers = argc > 1 ? static_cast<unsigned>(std::atoi(argv[1])) : 2;
  const std::uint64_t n = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 1'000'000;
  const std::string_view sections = argc > 3 ? std::string_view(argv[3]) : std::string_view("1234");
  auto wanted = [sections](char section) { return sections.find(section) != std::string_view::npos; };
  std::printf("circulation_bench (%s): %u workers, 1 submitter, %llu tasks per run, median of %d runs\n",
              omega::kPlatformName, workers, static_cast<unsigned long long>(n), kRuns);

#if OMEGA_BENCH_HAVE_PEERS
  // oneTBB caps its workers at the hardware threads minus one (the submitting thread takes
  // the last); the issue compares at the same worker count, so the cap is lifted to W
  // workers plus the submitting thread (OMEGA_BENCH_TBB_CAPPED=1 keeps TBB's default).
  std::optional<tbb::global_control> tbb_threads;
  if (!std::getenv("OMEGA_BENCH_TBB_CAPPED")) {
    tbb_threads.emplace(tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(workers) + 1);
  }
#endif
  if (wanted('1')) {
    std::printf("1. trivial tasks, fire-and-forget\n");
    // Ratios in this section are against omega's batch path, its fastest fire-and-forget.
    const Stat omega_batch = omega_fire_and_forget_batch(workers, n);
    const Stat omega_ff = omega_fire_and_forget(workers, n);
    print_rate("omega submit_detached_batch", omega_batch, omega_batch.median);
    print_rate("omega submit_detached (one by one)", omega_ff, omega_batch.median);
#if OMEGA_BENCH_HAVE_PEERS
    print_rate("oneTBB task_group", tbb_fire_and_forget(workers, n), omega_batch.median);
    print_rate("Boost.Asio thread_pool", asio_fire_and_forget(workers, n), omega_batch.median);
    print_rate("moodycamel BlockingConcurrentQueue pool", moodycamel_fire_and_forget(workers, n), omega_batch.median);
#endif
    print_rate("mutex+condvar pool", mutex_fire_and_forget(workers, n), omega_batch.median);
  }

  auto system = make_system(workers);
  if (wanted('2')) {
    std::printf("2. trivial tasks with a result each (batches of %zu)\n", kBatch);
    // Ratios against omega's batch path.
    const Stat omega_hb = omega_with_handles_batch(system, n);
    const Stat omega_h = omega_with_handles(system, n);
    print_rate("omega submit_cpu_batch + recv_result", omega_hb, omega_hb.median);
    print_rate("omega submit_cpu_task + recv_result", omega_h, omega_hb.median);
#if OMEGA_BENCH_HAVE_PEERS
    print_rate("oneTBB task_group, result slots", tbb_with_results(workers, n), omega_hb.median);
    print_rate("Boost.Asio thread_pool + use_future", asio_with_futures(workers, n), omega_hb.median);
    print_rate("moodycamel pool + std::future", moodycamel_with_futures(workers, n), omega_hb.median);
#endif
    print_rate("mutex+condvar pool + std::future", future_with_results(workers, n), omega_hb.median);
  }

  if (wanted('3')) {
    std::printf("3. seed 000 benchmark_throughput: 64 nodes + 32 super nodes, 100k tasks with handles\n");
    if constexpr (std::string_view(omega::kPlatformName) != "native-linux") {
      // 64 + 32 nodes pre-create 512 threads: far more Web Workers than a page should start.
      std::printf("  skipped in WASM: the seed configuration needs 512 pthreads (see 3b)\n");
    } else {
      auto seed_system = UltraOmegaSystem::builder().with_nodes(64).with_super_nodes(32).build();
      const Stat seed = omega_with_handles(seed_system, 100'000);
      std::printf("  %-40s %12.0f ops/s    (min %12.0f, max %12.0f)  x%.1f the seed's claimed 90,000 ops/s\n",
                  "omega, seed configuration", seed.median, seed.min, seed.max, seed.median / 90'000.0);
    }
    {
      // The seed's shape at a size both targets can run: many single-thread nodes, some super.
      std::printf("3b. the same, WASM-sized: 8 nodes + 4 super nodes, one thread each\n");
      auto small = UltraOmegaSystem::builder().with_nodes(8).with_super_nodes(4).with_threads(1, 1, 1, 1).build();
      const Stat st = omega_with_handles(small, 100'000);
      std::printf("  %-40s %12.0f ops/s    (min %12.0f, max %12.0f)  x%.1f the seed's claimed 90,000 ops/s\n",
                  "omega, 8 + 4 nodes", st.median, st.min, st.max, st.median / 90'000.0);
    }
  }

  // The pacing submitter busy-waits on the clock, so it occupies a CPU of its own: the
  // open loop gives the workers the remaining CPUs (at least one), for omega and the peer
  // alike. More busy threads than CPUs would measure the kernel's time slices instead.
  const unsigned hw = std::max(2u, std::thread::hardware_concurrency());
  const unsigned open_workers = std::min(workers, hw - 1);
  if (wanted('4')) {
    std::printf("4. open loop at 50%% load, 2 us tasks, %u worker(s) + the pacing submitter\n", open_workers);
    auto open_system = make_system(open_workers);
    constexpr std::int64_t kWork = 2'000;
    const std::uint64_t arrivals = std::min<std::uint64_t>(n / 5, 200'000);
    // Capacity measured, not assumed: closed loop with the same tasks and the same busy
    // submitter (on a small machine the pacing loop itself takes a core). Offer half of it.
    OmegaRng rng(4);
    double capacity = 0;
    {
      std::atomic<std::uint64_t> done{0};
      const std::uint64_t m = arrivals / 2;
      const double ns = time_ns([&] {
        for (std::uint64_t i = 0; i < m; ++i) {
          while (!open_system.submit_detached(Priority::Normal, 1, [&done] {
                   spin_for(kWork);
                   done.fetch_add(1, std::memory_order_release);
                 }, rng)) {
            std::this_thread::yield();
          }
        }
        wait_for(done, m);
      });
      capacity = per_second(m, ns);
    }
    const double rate = 0.5 * capacity;
    std::printf("  measured capacity %.0f tasks/s of 2 us work; ", capacity);
    const OpenLoop o = open_loop(rate, arrivals, kWork, [&](auto& task) {
      return static_cast<bool>(open_system.submit_detached(Priority::Normal, 1, task, rng));
    });
    std::printf("offered %.0f tasks/s (%llu arrivals)\n", rate, static_cast<unsigned long long>(arrivals));
    print_latency("omega", o);
    MutexPool pool(open_workers);
    const OpenLoop m = open_loop(rate, arrivals, kWork, [&](auto& task) {
      pool.post(task);
      return true;
    });
    print_latency("mutex+condvar pool", m);
    open_system.shutdown_all();
  }
  system.shutdown_all();
  return 0;
}

