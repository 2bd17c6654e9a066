// The swarm layer (issue 14) against oneTBB's flow graph and its own targets, in one process:
//   1. a layered random DAG (default 100,000 tasks, layers of ~1,000, each task with 1-4
//      dependencies on earlier layers, trivial payloads) run by a swarm of 256 generic agents,
//      inline (no system: process_cycle runs the work on the calling thread) and on an
//      UltraOmegaSystem of 2 nodes of 1 worker; the same DAG, edge for edge, as a oneTBB flow
//      graph of continue_nodes with empty bodies, on 1 thread (against inline) and on 2 (against
//      the system). Both sides are timed twice: the whole job (swarm: submit every task, then
//      run_until_idle; TBB: construct the nodes and edges, then try_put to the sources and
//      wait_for_all) and the run alone. Scheduling overhead per task is the swarm's wall time
//      per task minus the work itself (Agent::execute of the trivial function, timed alone);
//   2. ready-to-start latency (ready -> dispatched, the scheduler's own histogram): independent
//      tasks submitted in waves of 64 and run to idle after each wave, and the DAG of (1);
//   3. the component benchmarks the other parts of the layer ship (memory manager, coordinator,
//      hub), each printed by its own header, with their headline figures in the table.
// Swarm and TBB runs alternate in ABBA order; medians of the runs. The "figures" table at the
// end holds every headline figure against its target; the "summary" line holds them as
// key=value so that a WASM run's can be divided by a native one's (bench/swarm_wasm_ratio.py).
// TBB is a native peer: the WASM build runs the swarm side only and says so.
// Every swarm runs the default configuration (fault tolerance on: heartbeats, failure detection
// and restarts run beside the DAG) unless --no-fault-tolerance; each DAG section also prints
// what that machinery did, since nothing in a trivial DAG should make an agent fail.
//   swarm_bench [--quick] [--tasks N] [--width W] [--runs R] [--part 1|2|3] [--mode inline|system]
//               [--no-fault-tolerance]
#include <omega/omega.hpp>
#include <omega/swarm/swarm.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.hpp"

#if OMEGA_BENCH_HAVE_SWARM_MEMORY
#include "swarm_memory_bench.hpp"
#endif
#if OMEGA_BENCH_HAVE_SWARM_COORD
#include "swarm_coord_bench.hpp"
#endif
#if OMEGA_BENCH_HAVE_SWARM_HUB
#include "swarm_hub_bench.hpp"
#endif
#if OMEGA_BENCH_HAVE_SWARM_KERNELS
#include "swarm_kernels_bench.hpp"
#endif
#if OMEGA_BENCH_HAVE_TBB
#include <tbb/flow_graph.h>
#include <tbb/task_arena.h>
#endif

using namespace omega::bench;
namespace os = omega::swarm;
using omega::UltraOmegaSystem;

namespace {

#ifdef __EMSCRIPTEN__
constexpr const char* kTarget = "wasm";
#else
constexpr const char* kTarget = "native";
#endif

constexpr std::size_t kAgents = 256;
constexpr std::uint32_t kMaxFanIn = 4;

bool g_quick = false;
int g_runs = 5;
int g_part = 0;  // 0: all
int g_mode = 0;  // 0: both, 1: inline only, 2: on the system only
bool g_fault_tolerance = true;
std::uint32_t g_tasks = 100000;
std::uint32_t g_width = 1000;

// ---- the DAG ----------------------------------------------------------------------------------

// A layered DAG in compressed form: task i depends on deps[dep_begin[i] .. dep_begin[i+1]).
// Tasks are numbered layer by layer, so every dependency has a smaller number than its task
// and submitting in number order never names a task not yet submitted.
struct Dag {
  std::uint32_t tasks = 0;
  std::uint32_t layers = 0;
  std::uint32_t sources = 0;  // the first layer: no dependencies
  std::vector<std::uint32_t> dep_begin;
  std::vector<std::uint32_t> deps;
  [[nodiscard]] std::span<const std::uint32_t> deps_of(std::uint32_t i) const {
    return {deps.data() + dep_begin[i], deps.data() + dep_begin[i + 1]};
  }
};

// Layers of width/2 .. 3*width/2 tasks (uniform). A task outside the first layer has 1..4
// distinct dependencies (uniform count): the first in the layer just before (so it belongs to
// its layer), the others anywhere earlier.
Dag make_layered_dag(std::uint32_t n, std::uint32_t width, std::uint64_t seed) {
  omega::OmegaRng rng(seed);
  Dag d;
  d.tasks = n;
  d.dep_begin.reserve(n + 1);
  d.dep_begin.push_back(0);
  d.deps.reserve(static_cast<std::size_t>(n) * (kMaxFanIn + 1) / 2);
  auto layer_size = [&] { return static_cast<std::uint32_t>(width / 2 + rng.gen_range(width + 1)); };
  std::uint32_t prev_begin = 0;
  std::uint32_t begin = 0;
  while (begin < n) {
    const std::uint32_t end = std::min(n, begin + std::max<std::uint32_t>(1, layer_size()));
    for (std::uint32_t i = begin; i < end; ++i) {
      if (d.layers > 0) {
        const auto k = static_cast<std::uint32_t>(1 + rng.gen_range(kMaxFanIn));
        const std::size_t first = d.deps.size();
        d.deps.push_back(prev_begin + static_cast<std::uint32_t>(rng.gen_range(begin - prev_begin)));
        for (std::uint32_t j = 1; j < k; ++j) {
          const auto dep = static_cast<std::uint32_t>(rng.gen_range(begin));
          if (std::find(d.deps.begin() + static_cast<std::ptrdiff_t>(first), d.deps.end(), dep) == d.deps.end()) {
            d.deps.push_back(dep);
          }
        }
      }
      d.dep_begin.push_back(static_cast<std::uint32_t>(d.deps.size()));
    }
    if (d.layers == 0) d.sources = end;
    prev_begin = begin;
    begin = end;
    ++d.layers;
  }
  return d;
}

// ---- the swarm side ---------------------------------------------------------------------------

// The work of every task: nothing, as a generic agent's function must (an empty output).
omega::Result<std::vector<std::byte>, omega::TaskError> trivial_work(std::span<const std::byte>) {
  return std::vector<std::byte>{};
}

UltraOmegaSystem two_worker_system() {
  return UltraOmegaSystem::builder().with_nodes(2).with_super_nodes(0).with_threads(1, 1, 1, 1).build();
}

[[noreturn]] void die(const char* what, std::string_view why) {
  std::fprintf(stderr, "swarm_bench: %s: %.*s\n", what, static_cast<int>(why.size()), why.data());
  std::exit(1);
}

// A swarm of 256 generic agents with the default configuration, but room for `tasks`
// unfinished tasks and their results.
os::SwarmOrchestrator make_swarm(UltraOmegaSystem* system, std::size_t tasks) {
  os::SchedulerConfig sc;
  sc.task_queue_size = std::max(sc.task_queue_size, tasks);
  sc.result_retention = std::max(sc.result_retention, tasks);
  os::SwarmBuilder builder;
  builder.name("swarm_bench").max_agents(kAgents).scheduler_config(sc).fault_tolerance(g_fault_tolerance).seed(42);
  if (system != nullptr) builder.system(*system);
  auto built = builder.build();
  if (!built) die("build", builder.last_error());
  os::SwarmOrchestrator swarm = std::move(*built);
  if (auto r = swarm.initialize(); !r) die("initialize", os::to_string(r.error()));
  for (std::size_t i = 0; i < kAgents; ++i) {
    std::string name = "g";
    name += std::to_string(i);  // not "g" + ...: GCC 12 warns wrongly (-Wrestrict) on that
    auto id = swarm.register_agent(os::AgentFactory::create_generic(std::move(name), trivial_work));
    if (!id) die("register_agent", os::to_string(id.error()));
  }
  return swarm;
}

struct SwarmRun {
  double total_ns = 0;  // submit + run
  double run_ns = 0;    // run_until_idle alone
  os::SchedulerStats stats;
  // What the fault tolerance did meanwhile: with trivial work nothing fails, so any of these
  // means the swarm's own machinery (heartbeats, failure detection) misfired under load.
  std::uint64_t failures_detected = 0, heartbeats_missed = 0, restarts = 0;
};

void note_fault_tolerance(os::SwarmOrchestrator& swarm, SwarmRun& out) {
  const os::CoordinationStats c = swarm.coordination_stats();
  out.failures_detected = c.failures_detected;
  out.heartbeats_missed = c.heartbeats_missed;
  for (const os::AgentInfo& a : swarm.agents()) out.restarts += a.restarts;
}

SwarmRun swarm_dag_once(const Dag& dag, UltraOmegaSystem* system) {
  os::SwarmOrchestrator swarm = make_swarm(system, dag.tasks);
  std::vector<os::TaskId> ids(dag.tasks);
  SwarmRun out;
  const auto t0 = std::chrono::steady_clock::now();
  for (std::uint32_t i = 0; i < dag.tasks; ++i) {
    os::TaskBuilder b("t");
    for (const std::uint32_t d : dag.deps_of(i)) b.depends_on(ids[d]);
    auto id = swarm.submit_task(std::move(b).build());
    if (!id) die("submit_task", os::to_string(id.error()));
    ids[i] = *id;
  }
  const auto t1 = std::chrono::steady_clock::now();
  const bool idle = swarm.run_until_idle(std::chrono::seconds(300));
  const auto t2 = std::chrono::steady_clock::now();
  out.total_ns = std::chrono::duration<double, std::nano>(t2 - t0).count();
  out.run_ns = std::chrono::duration<double, std::nano>(t2 - t1).count();
  out.stats = swarm.scheduler_stats();
  note_fault_tolerance(swarm, out);
  if (!idle || out.stats.completed != dag.tasks) {
    std::fprintf(stderr, "swarm_bench: DAG run did not finish: %llu of %u completed (%llu failed, %llu cancelled)\n",
                 static_cast<unsigned long long>(out.stats.completed), dag.tasks,
                 static_cast<unsigned long long>(out.stats.failed),
                 static_cast<unsigned long long>(out.stats.cancelled));
    std::exit(1);
  }
  return out;
}

// Ready-to-start in a steady trickle: `waves` waves of `wave` independent tasks, each run to
// idle before the next is submitted (so no wave waits behind a backlog of the previous ones).
os::SchedulerStats swarm_waves_once(UltraOmegaSystem* system, std::uint32_t waves, std::uint32_t wave) {
  os::SwarmOrchestrator swarm = make_swarm(system, static_cast<std::size_t>(waves) * wave);
  for (std::uint32_t w = 0; w < waves; ++w) {
    for (std::uint32_t i = 0; i < wave; ++i) {
      if (auto id = swarm.submit_task(os::TaskBuilder("t").build()); !id) die("submit_task", os::to_string(id.error()));
    }
    if (!swarm.run_until_idle(std::chrono::seconds(30))) die("run_until_idle", "a wave did not finish in 30 s");
  }
  return swarm.scheduler_stats();
}

// What one task's work costs by itself: Agent::execute of the trivial function, as the
// orchestrator calls it, in a plain loop.
double work_ns_per_task() {
  const os::Agent agent = os::AgentFactory::create_generic("w", trivial_work);
  const os::TaskInput input{"t", "", {}};
  constexpr int kCalls = 200000;
  return repeat(5, [&] {
           return time_ns([&] {
                    for (int i = 0; i < kCalls; ++i) {
                      auto r = agent.execute(input);
                      keep(r);
                    }
                  }) /
                  kCalls;
         }).median;
}

// ---- the oneTBB side --------------------------------------------------------------------------

#if OMEGA_BENCH_HAVE_TBB
struct TbbRun {
  double total_ns = 0;  // construct + run
  double run_ns = 0;
};

// The DAG as its users write it: a continue_node per task, make_edge per dependency, a
// continue_msg to each source, wait_for_all. `threads` counts the calling thread.
TbbRun tbb_dag_once(const Dag& dag, unsigned threads) {
  using tbb::flow::continue_msg;
  using Node = tbb::flow::continue_node<continue_msg>;
  TbbRun out;
  tbb::task_arena arena(static_cast<int>(threads), 1);
  arena.execute([&] {
    tbb::flow::graph g;
    std::deque<Node> nodes;  // nodes do not move; a deque grows without moving them
    const auto t0 = std::chrono::steady_clock::now();
    for (std::uint32_t i = 0; i < dag.tasks; ++i) {
      Node& n = nodes.emplace_back(g, [](const continue_msg&) { return continue_msg(); });
      for (const std::uint32_t d : dag.deps_of(i)) tbb::flow::make_edge(nodes[d], n);
    }
    const auto t1 = std::chrono::steady_clock::now();
    for (std::uint32_t i = 0; i < dag.sources; ++i) nodes[i].try_put(continue_msg());
    g.wait_for_all();
    const auto t2 = std::chrono::steady_clock::now();
    out.total_ns = std::chrono::duration<double, std::nano>(t2 - t0).count();
    out.run_ns = std::chrono::duration<double, std::nano>(t2 - t1).count();
  });
  return out;
}
#endif

// ---- reporting --------------------------------------------------------------------------------

struct Row {
  std::string metric;
  std::string ours;
  std::string peer;
  std::string ratio;
  std::string target;
  std::string met;
};
std::vector<Row> g_rows;
std::vector<std::string> g_summary;

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), f, v);
  return buf;
}

void summary(const char* key, double value) { g_summary.push_back(std::string(key) + "=" + fmt("%.4g", value)); }

double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

double quantile_us(const omega::HistogramSnapshot& h, double q) {
  return static_cast<double>(h.value_at_quantile(q)) / 1e3;
}

// ---- part 1 and 2: the DAG, ready-to-start ----------------------------------------------------

struct DagFigures {
  double swarm_total = 0, swarm_run = 0;  // median ns per run
  double tbb_total = 0, tbb_run = 0;
  bool have_tbb = false;
  omega::HistogramSnapshot ready;  // ready-to-start over every swarm run
  std::uint64_t dispatched = 0, reassigned = 0, retried = 0, duplicates = 0;  // summed over the runs
  std::uint64_t failures_detected = 0, heartbeats_missed = 0, restarts = 0;
};

// ABBA: swarm first in runs 0, 3, 4, 7, ...; TBB first in the others.
DagFigures dag_compare(const Dag& dag, UltraOmegaSystem* system, [[maybe_unused]] unsigned tbb_threads) {
  DagFigures f;
  std::vector<double> st, sr, tt, tr;
  for (int r = 0; r < g_runs; ++r) {
    const bool swarm_first = (r % 4 == 0) || (r % 4 == 3);
    for (int side = 0; side < 2; ++side) {
      if ((side == 0) == swarm_first) {
        const SwarmRun s = swarm_dag_once(dag, system);
        st.push_back(s.total_ns);
        sr.push_back(s.run_ns);
        f.ready.merge(s.stats.ready_to_start_ns);
        f.dispatched += s.stats.dispatched;
        f.reassigned += s.stats.reassigned;
        f.retried += s.stats.retried;
        f.duplicates += s.stats.duplicate_results;
        f.failures_detected += s.failures_detected;
        f.heartbeats_missed += s.heartbeats_missed;
        f.restarts += s.restarts;
      } else {
#if OMEGA_BENCH_HAVE_TBB
        const TbbRun t = tbb_dag_once(dag, tbb_threads);
        tt.push_back(t.total_ns);
        tr.push_back(t.run_ns);
        f.have_tbb = true;
#endif
      }
    }
  }
  f.swarm_total = median_of(st);
  f.swarm_run = median_of(sr);
  f.tbb_total = median_of(tt);
  f.tbb_run = median_of(tr);
  return f;
}

void print_dag(const char* label, const char* tbb_label, const Dag& dag, const DagFigures& f, double work_ns,
               const char* key) {
  const double n = dag.tasks;
  auto rate = [n](double ns) { return n / (ns / 1e9); };
  std::printf("  %s\n", label);
  std::printf("    %-40s %12.0f tasks/s %9.1f ns/task\n", "swarm: submit + run_until_idle", rate(f.swarm_total),
              f.swarm_total / n);
  std::printf("    %-40s %12.0f tasks/s %9.1f ns/task\n", "swarm: run_until_idle only", rate(f.swarm_run),
              f.swarm_run / n);
  const double overhead = f.swarm_total / n - work_ns;
  std::printf("    %-40s %12.1f ns/task (%.1f ns of it in run_until_idle)\n", "swarm: scheduling overhead", overhead,
              f.swarm_run / n - work_ns);
  if (f.have_tbb) {
    std::printf("    %-40s %12.0f tasks/s %9.1f ns/task  x%.2f (TBB time / swarm time)\n",
                (std::string(tbb_label) + ": construct + run").c_str(), rate(f.tbb_total), f.tbb_total / n,
                f.tbb_total / f.swarm_total);
    std::printf("    %-40s %12.0f tasks/s %9.1f ns/task  x%.2f\n", (std::string(tbb_label) + ": run only").c_str(),
                rate(f.tbb_run), f.tbb_run / n, f.tbb_run / f.swarm_run);
  } else {
    std::printf("    %-40s skipped (oneTBB is a native peer; not in this build)\n", tbb_label);
  }
  std::printf("    ready-to-start (every run): P50 %.1f us, P99 %.1f us, max %.1f us over %llu tasks\n",
              quantile_us(f.ready, 0.5), quantile_us(f.ready, 0.99), static_cast<double>(f.ready.max()) / 1e3,
              static_cast<unsigned long long>(f.ready.count()));
  using ull = unsigned long long;
  std::printf("    over the runs: %llu dispatches for %llu tasks, %llu reassigned, %llu retried, %llu duplicate"
              " results;\n    %llu agent failures detected, %llu heartbeats missed, %llu restarts\n",
              static_cast<ull>(f.dispatched), static_cast<ull>(dag.tasks) * static_cast<ull>(g_runs),
              static_cast<unsigned long long>(f.reassigned), static_cast<unsigned long long>(f.retried),
              static_cast<unsigned long long>(f.duplicates), static_cast<unsigned long long>(f.failures_detected),
              static_cast<unsigned long long>(f.heartbeats_missed), static_cast<unsigned long long>(f.restarts));

  const std::string k(key);
  const std::string peer_total = f.have_tbb ? fmt("%.0f", rate(f.tbb_total)) : "n/a";
  const std::string peer_run = f.have_tbb ? fmt("%.0f", rate(f.tbb_run)) : "n/a";
  const std::string ratio_total = f.have_tbb ? fmt("%.2f", f.tbb_total / f.swarm_total) : "n/a";
  const std::string ratio_run = f.have_tbb ? fmt("%.2f", f.tbb_run / f.swarm_run) : "n/a";
  auto met_ge = [&](double ours_time, double peer_time) {
    return f.have_tbb ? (ours_time <= peer_time ? "yes" : "no") : "n/a";
  };
  g_rows.push_back({std::string("DAG ") + key + ", submit+run (tasks/s) vs " + tbb_label + " construct+run",
                    fmt("%.0f", rate(f.swarm_total)), peer_total, ratio_total, ">= 1",
                    met_ge(f.swarm_total, f.tbb_total)});
  g_rows.push_back({std::string("DAG ") + key + ", run only (tasks/s) vs " + tbb_label, fmt("%.0f", rate(f.swarm_run)),
                    peer_run, ratio_run, ">= 1", met_ge(f.swarm_run, f.tbb_run)});
  g_rows.push_back({std::string("scheduling overhead per task, ") + key + " (ns)", fmt("%.0f", overhead), "", "",
                    "< 1000", overhead < 1000 ? "yes" : "no"});
  g_rows.push_back({std::string("ready-to-start P99 in the DAG, ") + key + " (us)",
                    fmt("%.1f", quantile_us(f.ready, 0.99)), "", "", "(backlog; see text)", ""});
  summary(("dag_" + k + "_tasks_per_s").c_str(), rate(f.swarm_total));
  summary(("dag_" + k + "_run_tasks_per_s").c_str(), rate(f.swarm_run));
  summary(("overhead_" + k + "_ns").c_str(), overhead);
  summary(("dag_" + k + "_ready_p99_us").c_str(), quantile_us(f.ready, 0.99));
}

void part1(const Dag& dag, double work_ns) {
  std::printf("1. layered random DAG: %u tasks in %u layers (~%u wide), %zu edges, fan-in 1-%u; %zu agents;\n"
              "   median of %d runs, swarm and TBB in ABBA order; work alone (Agent::execute, trivial) %.1f ns\n",
              dag.tasks, dag.layers, g_width, dag.deps.size(), kMaxFanIn, kAgents, g_runs, work_ns);
  if (g_mode != 2) {
    const DagFigures f = dag_compare(dag, nullptr, 1);
    print_dag("inline (no system; the caller runs every task) vs oneTBB flow graph on 1 thread", "TBB 1 thread", dag,
              f, work_ns, "inline");
  }
  if (g_mode != 1) {
    UltraOmegaSystem system = two_worker_system();
    const DagFigures f = dag_compare(dag, &system, 2);
    print_dag("on UltraOmegaSystem (2 nodes x 1 worker) vs oneTBB flow graph on 2 threads", "TBB 2 threads", dag, f,
              work_ns, "system");
  }
}

void part2() {
  const std::uint32_t wave = 64;
  const std::uint32_t waves = g_quick ? 50 : 300;
  std::printf("\n2. ready-to-start (ready -> dispatched), %u waves of %u independent tasks, each run to idle;"
              " %d runs\n",
              waves, wave, g_runs);
  for (int mode = 0; mode < 2; ++mode) {
    if (g_mode == 2 - mode) continue;
    std::optional<UltraOmegaSystem> system;
    if (mode == 1) system.emplace(two_worker_system());
    omega::HistogramSnapshot h;
    for (int r = 0; r < g_runs; ++r) {
      h.merge(swarm_waves_once(system ? &*system : nullptr, waves, wave).ready_to_start_ns);
    }
    const char* key = mode == 0 ? "inline" : "system";
    const double p99 = quantile_us(h, 0.99);
    std::printf("  %-8s P50 %8.1f us  P99 %8.1f us  max %8.1f us  (%llu tasks)\n", key, quantile_us(h, 0.5), p99,
                static_cast<double>(h.max()) / 1e3, static_cast<unsigned long long>(h.count()));
    g_rows.push_back({std::string("ready-to-start P99, independent tasks, ") + key + " (us)", fmt("%.1f", p99), "", "",
                      "< 100", p99 < 100 ? "yes" : "no"});
    summary((std::string("ready_") + key + "_p99_us").c_str(), p99);
  }
}

// ---- part 3: the components' own benchmarks ---------------------------------------------------

void part3() {
  std::printf("\n3. the components' benchmarks\n");
#if OMEGA_BENCH_HAVE_SWARM_MEMORY
  {
    SwarmMemoryBenchOptions o;
    o.runs = g_runs;
    run_swarm_memory_bench(o);
  }
#else
  std::printf("memory manager: not in this build (no bench/swarm_memory_bench.cpp)\n");
#endif
#if OMEGA_BENCH_HAVE_SWARM_COORD
  {
    const SwarmCoordFigures c = run_swarm_coord_bench(g_quick);
    auto yes_no = [](bool met) { return met ? "yes" : "no"; };
    g_rows.push_back({"proposals/s, Majority, 4 members", fmt("%.0f", c.proposals_per_s_majority), "", "", ">= 100000",
                      yes_no(c.proposals_per_s_majority >= 100000)});
    g_rows.push_back({"proposals/s, Byzantine, 4 members", fmt("%.0f", c.proposals_per_s_byzantine), "", "",
                      ">= 100000", yes_no(c.proposals_per_s_byzantine >= 100000)});
    g_rows.push_back({"leader failover P99, fake clock, " + std::to_string(c.fake_failovers) + " kills (ms)",
                      fmt("%.1f", c.fake_p99_ms), "", "", "< 250", yes_no(c.fake_p99_ms < 250)});
    g_rows.push_back({"leader failover P99, fake clock, 10% loss (ms)", fmt("%.1f", c.fake_lossy_p99_ms), "", "",
                      "< 250", yes_no(c.fake_lossy_p99_ms < 250)});
    g_rows.push_back({"leader failover P99, real time, " + std::to_string(c.real_failovers) + " kills (ms)",
                      fmt("%.1f", c.real_p99_ms), "", "", "< 250", yes_no(c.real_p99_ms < 250)});
    summary("proposals_majority_per_s", c.proposals_per_s_majority);
    summary("proposals_byzantine_per_s", c.proposals_per_s_byzantine);
    summary("failover_real_p99_ms", c.real_p99_ms);
  }
#else
  std::printf("coordinator: not in this build (no bench/swarm_coord_bench.cpp)\n");
#endif
#if OMEGA_BENCH_HAVE_SWARM_HUB
  {
    SwarmHubBenchOptions o;
    o.agents = kAgents;
    o.runs = g_runs;
    const SwarmHubFigures h = run_swarm_hub_bench(o);
    g_rows.push_back({"hub point-to-point, 256 agents, Mesh (messages/s) vs mutex + deque per receiver",
                      fmt("%.0f", h.p2p_per_s), fmt("%.0f", h.baseline_per_s),
                      fmt("%.2f", h.baseline_per_s > 0 ? h.p2p_per_s / h.baseline_per_s : 0.0), "", ""});
    summary("hub_p2p_per_s", h.p2p_per_s);
    summary("hub_broadcast_copies_per_s", h.broadcast_copies_per_s);
  }
#else
  std::printf("communication hub: not in this build (no bench/swarm_hub_bench.cpp)\n");
#endif
#if OMEGA_BENCH_HAVE_SWARM_KERNELS
  run_swarm_kernels_bench(g_runs);
#else
  std::printf("agent kernels: not in this build (no bench/swarm_kernels_bench.cpp)\n");
#endif
}

void print_table() {
  std::printf("\nfigures (%s, load average %s)\n", kTarget, load_average().c_str());
  std::printf("| metric | ours | peer | ratio | target | met? |\n|---|---|---|---|---|---|\n");
  for (const Row& r : g_rows) {
    std::printf("| %s | %s | %s | %s | %s | %s |\n", r.metric.c_str(), r.ours.c_str(), r.peer.c_str(), r.ratio.c_str(),
                r.target.c_str(), r.met.c_str());
  }
  std::printf("\nsummary %s:", kTarget);
  for (const std::string& s : g_summary) std::printf(" %s", s.c_str());
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // lines as they come, into a file or a pipe too
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) {
      g_quick = true;
      g_runs = 3;
    } else if (std::strcmp(argv[i], "--tasks") == 0 && i + 1 < argc) {
      g_tasks = static_cast<std::uint32_t>(std::strtoul(argv[++i], nullptr, 10));
    } else if (std::strcmp(argv[i], "--width") == 0 && i + 1 < argc) {
      g_width = static_cast<std::uint32_t>(std::strtoul(argv[++i], nullptr, 10));
    } else if (std::strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
      g_runs = std::max(1, std::atoi(argv[++i]));
    } else if (std::strcmp(argv[i], "--part") == 0 && i + 1 < argc) {
      g_part = std::atoi(argv[++i]);
    } else if (std::strcmp(argv[i], "--no-fault-tolerance") == 0) {
      g_fault_tolerance = false;
    } else if (std::strcmp(argv[i], "--mode") == 0 && i + 1 < argc) {
      const std::string_view m = argv[++i];
      g_mode = m == "inline" ? 1 : m == "system" ? 2 : 0;
    } else {
      std::fprintf(stderr,
                   "usage: swarm_bench [--quick] [--tasks N] [--width W] [--runs R] [--part 1|2|3]"
                   " [--mode inline|system] [--no-fault-tolerance]\n");
      return 2;
    }
  }
  if (g_tasks == 0 || g_width == 0) {
    std::fprintf(stderr, "swarm_bench: --tasks and --width must be positive\n");
    return 2;
  }
  std::printf("swarm_bench (%s%s, %u hardware threads, load average %s): tasks/s and ns per task (1), us (2)\n",
              kTarget, g_quick ? ", --quick" : "", std::thread::hardware_concurrency(), load_average().c_str());
#if !OMEGA_BENCH_HAVE_TBB
  std::printf("oneTBB flow graph: skipped (a native peer; this build has none)\n");
#endif
  std::printf("\n");
  if (g_part == 0 || g_part == 1) {
    const Dag dag = make_layered_dag(g_tasks, g_width, 2026);
    part1(dag, work_ns_per_task());
  }
  if (g_part == 0 || g_part == 2) part2();
  if (g_part == 0 || g_part == 3) part3();
  print_table();
  std::printf("load average at the end: %s\n", load_average().c_str());
  return 0;
}
