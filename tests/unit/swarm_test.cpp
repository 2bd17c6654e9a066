// The swarm orchestrator (seed 004): strategies, DAG order, cycles, cancellation, failure
// cascades, timeouts, agent failure/restart/replacement, circuit breakers, exactly-once.
// Time comes from a FakeClock wherever it matters; runs are inline (deterministic) unless a
// case needs tasks in flight at once, which run on a system's workers (threaded targets).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <omega/base/config.hpp>
#include <omega/base/rng.hpp>
#include <omega/exec/system.hpp>
#include <omega/swarm/swarm.hpp>

#include "../support/fake_clock.hpp"

namespace os = omega::swarm;
using namespace std::chrono_literals;
using omega::Priority;
using omega::TaskError;
using omega::test::FakeClock;

namespace {

using Bytes = std::vector<std::byte>;
using WorkResult = omega::Result<Bytes, TaskError>;

Bytes bytes_of(std::string_view s) {
  Bytes b(s.size());
  std::memcpy(b.data(), s.data(), s.size());
  return b;
}
std::string string_of(const Bytes& b) { return std::string(reinterpret_cast<const char*>(b.data()), b.size()); }

os::SwarmBuilder fake_builder(FakeClock& clock) {
  os::CoordinatorConfig coord;
  coord.heartbeat_interval = 10ms;
  coord.election_timeout_min = 50ms;
  coord.election_timeout_max = 100ms;
  os::SwarmBuilder b;
  b.name("test").max_agents(64).topology(os::SwarmTopology::Mesh).time_source(clock.source()).coordinator_config(coord)
      .memory_config({.total_size = 1 << 20, .region_size = 4096});
  return b;
}

os::SwarmOrchestrator make(os::SwarmBuilder& b) {
  auto built = b.build();
  REQUIRE(built.has_value());
  os::SwarmOrchestrator o = std::move(*built);
  REQUIRE(o.initialize().has_value());
  return o;
}

// A generic agent that records the names of the tasks it runs, in order.
os::Agent recorder(std::string name, std::vector<std::string>* log, std::vector<std::string> caps = {"c"}) {
  return os::AgentFactory::create_generic(
      std::move(name),
      [log](std::span<const std::byte> in) -> WorkResult {
        log->push_back(std::string(reinterpret_cast<const char*>(in.data()), in.size()));
        return Bytes(in.begin(), in.end());
      },
      std::move(caps));
}

// Advances the fake clock in `step` increments, one cycle each.
void run_for(os::SwarmOrchestrator& o, FakeClock& clock, std::chrono::nanoseconds total, std::chrono::nanoseconds step) {
  for (std::chrono::nanoseconds t{0}; t < total; t += step) {
    clock.advance(step.count());
    REQUIRE(o.process_cycle().has_value());
  }
}

}  // namespace

TEST_CASE("swarm: the builder refuses configurations that cannot work, with a reason", "[swarm]") {
  FakeClock clock;
  auto b = fake_builder(clock);
  b.max_agents(0);
  auto r = b.build();
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error() == os::SwarmError::InvalidConfig);
  CHECK(b.last_error().find("max_agents") != std::string::npos);

  auto b2 = fake_builder(clock);
  b2.scheduler_config({.max_concurrent_tasks = 0});
  CHECK_FALSE(b2.build().has_value());
  CHECK(b2.last_error().find("max_concurrent_tasks") != std::string::npos);

  auto b3 = fake_builder(clock);
  b3.memory_config({.total_size = 100, .region_size = 4096});
  CHECK_FALSE(b3.build().has_value());
  CHECK_FALSE(b3.last_error().empty());

  auto b4 = fake_builder(clock);
  auto o = b4.build();
  REQUIRE(o.has_value());
  CHECK(o->submit_task(os::TaskBuilder("x").build()).error() == os::SwarmError::NotInitialized);
  CHECK(o->register_agent(os::AgentFactory::create_neural("n", 4)).error() == os::SwarmError::NotInitialized);
}

TEST_CASE("swarm: the default agents do real work", "[swarm]") {
  FakeClock clock;
  auto b = fake_builder(clock);
  auto o = make(b);
  auto ids = o.bootstrap_default_agents();
  REQUIRE(ids.has_value());
  REQUIRE(ids->size() == 4);

  std::vector<float> input(128);
  for (std::size_t i = 0; i < input.size(); ++i) input[i] = static_cast<float>(i % 7) / 7.0f;
  auto neural = o.submit_task(os::TaskBuilder("infer").payload(os::encode_floats(input)).priority(Priority::High)
                                  .requires_capability("neural_inference").build());
  REQUIRE(neural.has_value());

  os::Circuit bell{.qubits = 2, .gates = {{.kind = os::Gate::Kind::H, .a = 0}, {.kind = os::Gate::Kind::CNOT, .a = 0, .b = 1}}};
  auto quantum = o.submit_task(os::TaskBuilder("bell").payload(os::encode_circuit(bell))
                                   .requires_capability("quantum_simulation").build());
  REQUIRE(quantum.has_value());

  auto sum = o.submit_task(os::TaskBuilder("sum").payload(bytes_of("123456789")).requires_capability("checksum").build());
  REQUIRE(sum.has_value());

  // A circuit wider than the agent: refused by the agent, the task fails with the reason.
  os::Circuit wide{.qubits = 16, .gates = {{.kind = os::Gate::Kind::H, .a = 15}}};
  auto too_wide = o.submit_task(os::TaskBuilder("wide").payload(os::encode_circuit(wide))
                                    .requires_capability("quantum_simulation").build());
  REQUIRE(too_wide.has_value());

  // A valid circuit too costly to answer in bounded time (12 qubits x 2^20 gates): refused.
  os::Circuit costly{.qubits = 12, .gates = {}};
  costly.gates.assign(std::size_t{1} << 20, os::Gate{.kind = os::Gate::Kind::X, .a = 0});
  auto too_costly = o.submit_task(os::TaskBuilder("costly").payload(os::encode_circuit(costly))
                                      .requires_capability("quantum_simulation").build());
  REQUIRE(too_costly.has_value());

  REQUIRE(o.run_until_idle(1s));

  auto rc = o.get_task_result(*too_costly);
  REQUIRE(rc.has_value());
  CHECK(rc->status == os::TaskStatus::Failed);
  CHECK(rc->error->message().find("budget") != std::string::npos);

  auto rn = o.get_task_result(*neural);
  REQUIRE(rn.has_value());
  REQUIRE(rn->status == os::TaskStatus::Completed);
  auto out = os::decode_floats(rn->output);
  REQUIRE(out.has_value());
  CHECK(out->size() == 16);
  CHECK(o.agent_info(rn->agent)->kind == os::AgentKind::Neural);

  auto rq = o.get_task_result(*quantum);
  REQUIRE(rq.has_value());
  REQUIRE(rq->status == os::TaskStatus::Completed);
  auto probs = os::decode_result(rq->output);
  REQUIRE(probs.has_value());
  REQUIRE(probs->probabilities.size() == 4);
  CHECK(probs->probabilities[0] == Approx(0.5).margin(1e-9));
  CHECK(probs->probabilities[1] == Approx(0.0).margin(1e-9));
  CHECK(probs->probabilities[2] == Approx(0.0).margin(1e-9));
  CHECK(probs->probabilities[3] == Approx(0.5).margin(1e-9));

  auto rs = o.get_task_result(*sum);
  REQUIRE(rs.has_value());
  REQUIRE(rs->output.size() == 4);
  std::uint32_t crc = 0;
  for (int i = 0; i < 4; ++i) crc |= static_cast<std::uint32_t>(rs->output[i]) << (8 * i);
  CHECK(crc == 0xE3069283u);  // CRC32C("123456789"), the standard check value

  auto rw = o.get_task_result(*too_wide);
  REQUIRE(rw.has_value());
  CHECK(rw->status == os::TaskStatus::Failed);
  REQUIRE(rw->error.has_value());
  CHECK(rw->error->message().find("qubits") != std::string::npos);

  // Nobody can do it: refused at submit.
  CHECK(o.submit_task(os::TaskBuilder("x").requires_capability("teleportation").build()).error() ==
        os::SwarmError::NoCapableAgent);
}

TEST_CASE("swarm: ready tasks start by priority, FIFO within a priority", "[swarm]") {
  FakeClock clock;
  auto b = fake_builder(clock);
  auto o = make(b);
  std::vector<std::string> log;
  REQUIRE(o.register_agent(recorder("r", &log)).has_value());
  const std::pair<const char*, Priority> tasks[] = {{"low1", Priority::Low},   {"norm1", Priority::Normal},
                                                    {"crit1", Priority::Critical}, {"high1", Priority::High},
                                                    {"low2", Priority::Low},   {"crit2", Priority::Critical}};
  for (auto [name, p] : tasks) REQUIRE(o.submit_task(os::TaskBuilder(name).payload(bytes_of(name)).priority(p).build()));
  REQUIRE(o.process_cycle().has_value());
  CHECK(log == std::vector<std::string>{"crit1", "crit2", "high1", "norm1", "low1", "low2"});
  CHECK(o.scheduler_stats().dispatched_by_priority[static_cast<int>(Priority::Critical)] == 2);
}

TEST_CASE("swarm: RoundRobin visits capable agents in turn", "[swarm]") {
  FakeClock clock;
  auto b = fake_builder(clock);
  b.scheduler_config({.selection_strategy = os::AgentSelectionStrategy::RoundRobin});
  auto o = make(b);
  std::vector<std::string> la, lb, lc, other;
  auto a = *o.register_agent(recorder("a", &la));
  auto bb = *o.register_agent(recorder("b", &lb));
  auto c = *o.register_agent(recorder("c", &lc));
  REQUIRE(o.register_agent(recorder("x", &other, {"other"})).has_value());
  std::vector<os::TaskId> ids;
  for (int i = 0; i < 9; ++i) ids.push_back(*o.submit_task(os::TaskBuilder("t").payload(bytes_of(std::to_string(i))).requires_capability("c").build()));
  REQUIRE(o.run_until_idle(1s));
  CHECK(la == std::vector<std::string>{"0", "3", "6"});
  CHECK(lb == std::vector<std::string>{"1", "4", "7"});
  CHECK(lc == std::vector<std::string>{"2", "5", "8"});
  CHECK(other.empty());
  CHECK(o.get_task_result(ids[4])->agent == bb);
  (void)a;
  (void)c;
}

TEST_CASE("swarm: CapabilityBased prefers the specialist; LoadBalanced avoids a failing agent", "[swarm]") {
  FakeClock clock;
  SECTION("CapabilityBased") {
    auto b = fake_builder(clock);
    b.scheduler_config({.selection_strategy = os::AgentSelectionStrategy::CapabilityBased});
    auto o = make(b);
    std::vector<std::string> general, special;
    REQUIRE(o.register_agent(recorder("general", &general, {"c", "d", "e"})).has_value());
    REQUIRE(o.register_agent(recorder("special", &special, {"c"})).has_value());
    for (int i = 0; i < 5; ++i) REQUIRE(o.submit_task(os::TaskBuilder("t").payload(bytes_of("c")).requires_capability("c").build()));
    for (int i = 0; i < 2; ++i) REQUIRE(o.submit_task(os::TaskBuilder("t").payload(bytes_of("d")).requires_capability("d").build()));
    REQUIRE(o.run_until_idle(1s));
    CHECK(special.size() == 5);
    CHECK(general == std::vector<std::string>{"d", "d"});
  }
  SECTION("LoadBalanced") {
    auto b = fake_builder(clock);
    b.scheduler_config({.selection_strategy = os::AgentSelectionStrategy::LoadBalanced});
    b.breaker_config({.failure_threshold = 1000});  // the breaker stays out of this case
    auto o = make(b);
    std::atomic<int> flaky_runs{0}, good_runs{0};
    REQUIRE(o.register_agent(os::AgentFactory::create_generic("flaky", [&](std::span<const std::byte>) -> WorkResult {
      ++flaky_runs;
      throw std::runtime_error("flaky agent");
    })).has_value());
    REQUIRE(o.register_agent(os::AgentFactory::create_generic("good", [&](std::span<const std::byte>) -> WorkResult {
      ++good_runs;
      return Bytes{};
    })).has_value());
    // Ties go to the lower id (flaky) until its failures weigh on its score.
    for (int i = 0; i < 40; ++i) REQUIRE(o.submit_task(os::TaskBuilder("t").max_retries(5).build()));
    REQUIRE(o.run_until_idle(1s));
    CHECK(o.scheduler_stats().completed == 40);
    CHECK(flaky_runs.load() >= 1);
    CHECK(flaky_runs.load() < 5);
    CHECK(good_runs.load() == 40);
  }
}

TEST_CASE("swarm: tasks in flight at once spread by LeastLoaded and LoadBalanced", "[swarm][threads]") {
  if (!omega::kHasThreads) return;
  auto system = omega::UltraOmegaSystem::builder().with_nodes(2).with_super_nodes(0).with_threads(2, 2, 0, 0).build();
  for (auto strategy : {os::AgentSelectionStrategy::LeastLoaded, os::AgentSelectionStrategy::LoadBalanced}) {
    os::SwarmBuilder b;
    b.name("inflight").system(system).scheduler_config({.selection_strategy = strategy});
    auto o = make(b);
    std::mutex mu;
    std::condition_variable cv;
    bool release = false;
    auto gate = [&](std::span<const std::byte>) -> WorkResult {
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return release; });
      return Bytes{};
    };
    auto a1 = *o.register_agent(os::AgentFactory::create_generic("a1", gate).with_max_concurrent(8));
    auto a2 = *o.register_agent(os::AgentFactory::create_generic("a2", gate).with_max_concurrent(8).with_weight(2.0));
    auto a3 = *o.register_agent(os::AgentFactory::create_generic("a3", gate).with_max_concurrent(8));
    for (int i = 0; i < 12; ++i) REQUIRE(o.submit_task(os::TaskBuilder("t").build()));
    REQUIRE(o.process_cycle().has_value());
    const unsigned r1 = o.agent_info(a1)->running, r2 = o.agent_info(a2)->running, r3 = o.agent_info(a3)->running;
    CHECK(r1 + r2 + r3 == 12);
    if (strategy == os::AgentSelectionStrategy::LeastLoaded) {
      CHECK(r1 == 4);
      CHECK(r2 == 4);
      CHECK(r3 == 4);
    } else {
      CHECK(r2 == 6);  // twice the weight, twice the load: (r + 1) / w balanced
      CHECK(r1 == 3);
      CHECK(r3 == 3);
    }
    {
      std::lock_guard lock(mu);
      release = true;
    }
    cv.notify_all();
    REQUIRE(o.run_until_idle(30s));
    CHECK(o.scheduler_stats().completed == 12);
  }
  system.shutdown_all();
}

TEST_CASE("swarm: max_concurrent_tasks and task_queue_size bound the work", "[swarm]") {
  FakeClock clock;
  auto b = fake_builder(clock);
  b.scheduler_config({.max_concurrent_tasks = 3, .task_queue_size = 5});
  auto o = make(b);
  std::vector<std::string> log;
  REQUIRE(o.register_agent(recorder("r", &log)).has_value());
  for (int i = 0; i < 5; ++i) REQUIRE(o.submit_task(os::TaskBuilder("t").payload(bytes_of("x")).build()));
  CHECK(o.submit_task(os::TaskBuilder("t").build()).error() == os::SwarmError::QueueFull);
  auto c = o.process_cycle();
  REQUIRE(c.has_value());
  CHECK(c->dispatched == 3);  // a cycle dispatches at most max_concurrent_tasks
  CHECK(c->ready == 2);
  REQUIRE(o.process_cycle().has_value());
  CHECK(log.size() == 5);
  CHECK(o.scheduler_stats().refused == 1);
}

TEST_CASE("swarm: a DAG runs every task after its dependencies", "[swarm]") {
  FakeClock clock;
  auto b = fake_builder(clock);
  b.scheduler_config({.max_concurrent_tasks = 7});
  auto o = make(b);
  std::vector<std::string> log;
  for (int i = 0; i < 5; ++i) REQUIRE(o.register_agent(recorder("r" + std::to_string(i), &log)).has_value());
  omega::OmegaRng rng = omega::OmegaRng::new_with_seed(42);
  constexpr int kLayers = 12, kWidth = 25;
  std::vector<std::vector<os::TaskId>> layers;
  std::map<std::string, std::vector<std::string>> deps;
  for (int l = 0; l < kLayers; ++l) {
    layers.emplace_back();
    for (int w = 0; w < kWidth; ++w) {
      const std::string name = std::to_string(l) + "." + std::to_string(w);
      os::TaskBuilder tb(name);
      tb.payload(bytes_of(name)).priority(static_cast<Priority>(rng.next_u64() % 4));
      if (l > 0) {
        const int fan_in = 1 + static_cast<int>(rng.next_u64() % 4);
        for (int k = 0; k < fan_in; ++k) {
          const int pl = static_cast<int>(rng.next_u64() % static_cast<std::uint64_t>(l));
          const int pw = static_cast<int>(rng.next_u64() % kWidth);
          tb.depends_on(layers[pl][pw]);
          deps[name].push_back(std::to_string(pl) + "." + std::to_string(pw));
        }
      }
      layers.back().push_back(*o.submit_task(tb.build()));
    }
  }
  REQUIRE(o.run_until_idle(10s));
  REQUIRE(log.size() == kLayers * kWidth);
  std::map<std::string, std::size_t> at;
  for (std::size_t i = 0; i < log.size(); ++i) at[log[i]] = i;
  CHECK(at.size() == log.size());  // each ran once
  for (auto& [name, ds] : deps) {
    for (auto& d : ds) CHECK(at[d] < at[name]);
  }
  CHECK(o.scheduler_stats().completed == kLayers * kWidth);
}

TEST_CASE("swarm: cycles are refused at submit", "[swarm]") {
  FakeClock clock;
  auto b = fake_builder(clock);
  auto o = make(b);
  std::vector<std::string> log;
  REQUIRE(o.register_agent(recorder("r", &log)).has_value());
  // a -> b -> c -> (reserved r); r depends on a closes a cycle.
  const os::TaskId r = o.reserve_task_id();
  auto c = *o.submit_task(os::TaskBuilder("c").depends_on(r).build());
  auto bb = *o.submit_task(os::TaskBuilder("b").depends_on(c).build());
  auto a = *o.submit_task(os::TaskBuilder("a").depends_on(bb).build());
  CHECK(o.submit_task(os::TaskBuilder("r").with_id(r).depends_on(a).build()).error() == os::SwarmError::CycleDetected);
  const os::TaskId self = o.reserve_task_id();
  CHECK(o.submit_task(os::TaskBuilder("self").with_id(self).depends_on(self).build()).error() == os::SwarmError::CycleDetected);
  CHECK(o.submit_task(os::TaskBuilder("u").depends_on(os::TaskId{999999}).build()).error() == os::SwarmError::UnknownTask);
  CHECK(o.submit_task(os::TaskBuilder("").build()).error() == os::SwarmError::InvalidTask);
  // The refused submission left nothing behind: r can still be submitted without the cycle.
  REQUIRE(o.submit_task(os::TaskBuilder("r").with_id(r).payload(bytes_of("r")).build()).has_value());
  CHECK(o.submit_task(os::TaskBuilder("again").with_id(r).build()).error() == os::SwarmError::InvalidTask);
  REQUIRE(o.run_until_idle(1s));
  CHECK(o.task_status(a).value() == os::TaskStatus::Completed);
  CHECK(o.scheduler_stats().refused == 5);
}

TEST_CASE("swarm: cancel cascades to dependents; a failure cancels its dependents", "[swarm]") {
  FakeClock clock;
  auto b = fake_builder(clock);
  auto o = make(b);
  std::vector<std::string> log;
  REQUIRE(o.register_agent(recorder("r", &log)).has_value());
  REQUIRE(o.register_agent(os::AgentFactory::create_generic("bad", [](std::span<const std::byte>) -> WorkResult {
    return omega::Err(TaskError::ExecutionFailed{"bad input"});
  }, {"bad"})).has_value());

  const os::TaskId gate = o.reserve_task_id();  // holds the chain until cancelled
  auto a = *o.submit_task(os::TaskBuilder("a").depends_on(gate).build());
  auto bb = *o.submit_task(os::TaskBuilder("b").depends_on(a).build());
  auto c = *o.submit_task(os::TaskBuilder("c").depends_on(bb).build());
  auto d = *o.submit_task(os::TaskBuilder("d").depends_on(a).build());
  auto free_task = *o.submit_task(os::TaskBuilder("free").payload(bytes_of("free")).build());
  auto n = o.cancel_task(a);
  REQUIRE(n.has_value());
  CHECK(*n == 4);
  for (auto id : {a, bb, c, d}) CHECK(o.task_status(id).value() == os::TaskStatus::Cancelled);
  CHECK(o.get_task_result(a)->reason == "cancel_task");
  CHECK(o.get_task_result(c)->reason.find("dependency") != std::string::npos);
  CHECK(o.cancel_task(a).error() == os::SwarmError::TaskFinished);
  // A task submitted on a cancelled dependency is accepted and cancelled at once.
  auto late = *o.submit_task(os::TaskBuilder("late").depends_on(c).build());
  CHECK(o.task_status(late).value() == os::TaskStatus::Cancelled);

  auto f = *o.submit_task(os::TaskBuilder("f").requires_capability("bad").build());
  auto g = *o.submit_task(os::TaskBuilder("g").depends_on(f).build());
  auto h = *o.submit_task(os::TaskBuilder("h").depends_on(g).build());
  REQUIRE(o.run_until_idle(1s));  // the gate was never submitted, and nothing waits on it any more
  CHECK(o.task_status(free_task).value() == os::TaskStatus::Completed);
  CHECK(o.task_status(f).value() == os::TaskStatus::Failed);
  CHECK(o.get_task_result(f)->error->message() == "bad input");
  CHECK(o.task_status(g).value() == os::TaskStatus::Cancelled);
  CHECK(o.task_status(h).value() == os::TaskStatus::Cancelled);
  CHECK(o.get_task_result(g)->reason == "dependency " + std::to_string(f.value) + " Failed");
  CHECK(o.scheduler_stats().pending == 0);
  CHECK(log == std::vector<std::string>{"free"});
}

TEST_CASE("swarm: a panicking task is retried up to max_retries", "[swarm]") {
  FakeClock clock;
  auto b = fake_builder(clock);
  b.breaker_config({.failure_threshold = 100});
  auto o = make(b);
  int calls = 0;
  REQUIRE(o.register_agent(os::AgentFactory::create_generic("p", [&](std::span<const std::byte>) -> WorkResult {
    if (++calls < 3) throw std::runtime_error("boom " + std::to_string(calls));
    return bytes_of("ok");
  })).has_value());
  auto t = *o.submit_task(os::TaskBuilder("t").max_retries(2).build());
  REQUIRE(o.run_until_idle(1s));
  auto r = o.get_task_result(t);
  CHECK(r->status == os::TaskStatus::Completed);
  CHECK(r->attempts == 3);
  CHECK(string_of(r->output) == "ok");

  calls = -100;
  auto u = *o.submit_task(os::TaskBuilder("u").max_retries(1).build());
  REQUIRE(o.run_until_idle(1s));
  auto ru = o.get_task_result(u);
  CHECK(ru->status == os::TaskStatus::Failed);
  CHECK(ru->attempts == 2);
  REQUIRE(ru->error.has_value());
  CHECK(ru->error->panicked());
  CHECK(ru->error->message().find("boom") != std::string::npos);
}

TEST_CASE("swarm: deadlines come from the timer wheel on the swarm's clock", "[swarm]") {
  FakeClock clock;
  auto b = fake_builder(clock);
  auto o = make(b);
  std::vector<std::string> log;
  REQUIRE(o.register_agent(recorder("r", &log)).has_value());
  const os::TaskId never = o.reserve_task_id();
  auto t = *o.submit_task(os::TaskBuilder("t").depends_on(never).timeout(50ms).build());
  auto after = *o.submit_task(os::TaskBuilder("after").depends_on(t).build());
  run_for(o, clock, 49ms, 1ms);
  CHECK(o.task_status(t).value() == os::TaskStatus::Pending);
  run_for(o, clock, 2ms, 1ms);
  CHECK(o.task_status(t).value() == os::TaskStatus::TimedOut);
  CHECK(o.get_task_result(t)->error->timed_out());
  CHECK(o.task_status(after).value() == os::TaskStatus::Cancelled);
  CHECK(o.scheduler_stats().timed_out == 1);
}

TEST_CASE("swarm: a killed agent is detected within three heartbeats and restarted", "[swarm]") {
  FakeClock clock;
  auto b = fake_builder(clock);  // 10 ms heartbeats
  auto o = make(b);
  std::vector<std::string> la, lb;
  auto a = *o.register_agent(recorder("a", &la));
  auto bb = *o.register_agent(recorder("b", &lb));
  const std::int64_t joined = o.agent_info(a)->last_heartbeat_ns;
  run_for(o, clock, 20ms, 1ms);
  CHECK(o.agent_info(a)->last_heartbeat_ns > joined);  // peers heard it since it joined
  REQUIRE(o.kill_agent(a).has_value());
  CHECK(o.kill_agent(a).error() == os::SwarmError::AgentUnavailable);
  // While it is down, work goes to the other agent (graceful degradation).
  for (int i = 0; i < 4; ++i) REQUIRE(o.submit_task(os::TaskBuilder("t").payload(bytes_of("x")).build()));
  REQUIRE(o.process_cycle().has_value());
  CHECK(la.empty());
  CHECK(lb.size() == 4);
  int waited_ms = 0;
  while (o.agent_info(a)->restarts == 0 && waited_ms < 200) {
    run_for(o, clock, 1ms, 1ms);
    ++waited_ms;
  }
  CHECK(o.agent_info(a)->restarts == 1);
  CHECK(waited_ms <= 3 * 10 + 2);  // failure_threshold (3) heartbeat intervals, plus tick granularity
  CHECK(o.agent_info(a)->status == os::AgentStatus::Idle);
  CHECK(o.coordination_stats().failures_detected >= 1);
  (void)bb;
}

TEST_CASE("swarm: an agent whose restarts are exhausted is replaced", "[swarm]") {
  FakeClock clock;
  auto b = fake_builder(clock);
  auto o = make(b);
  std::vector<std::string> la;
  omega::actor::RestartPolicy once;
  once.max_restarts = 1;
  once.window = std::chrono::milliseconds(10'000);
  once.max_backoff_restarts = 0;
  auto a = *o.register_agent(recorder("a", &la).with_restart_policy(once));
  // Failures are detected by peers missing heartbeats: a lone agent has nobody to notice.
  std::vector<std::string> lw;
  REQUIRE(o.register_agent(recorder("witness", &lw, {"w"})).has_value());
  for (int round = 0; round < 2; ++round) {
    REQUIRE(o.kill_agent(a).has_value());
    run_for(o, clock, 60ms, 1ms);
  }
  auto info = o.agent_info(a);
  REQUIRE(info.has_value());
  CHECK(info->status == os::AgentStatus::Failed);
  REQUIRE(info->replaced_by.valid());
  auto repl = o.agent_info(info->replaced_by);
  REQUIRE(repl.has_value());
  CHECK(repl->name.rfind("a~", 0) == 0);
  CHECK(repl->capabilities == info->capabilities);
  auto t = *o.submit_task(os::TaskBuilder("t").payload(bytes_of("after")).requires_capability("c").build());
  REQUIRE(o.run_until_idle(1s));
  CHECK(o.get_task_result(t)->agent == info->replaced_by);
  CHECK(la.back() == "after");  // the replacement runs the same work function
}

TEST_CASE("swarm: without fault tolerance a failed agent stays failed and its work waits", "[swarm]") {
  FakeClock clock;
  auto b = fake_builder(clock);
  b.fault_tolerance(false);
  auto o = make(b);
  std::vector<std::string> la;
  auto a = *o.register_agent(recorder("a", &la));
  std::vector<std::string> lw;
  REQUIRE(o.register_agent(recorder("witness", &lw, {"w"})).has_value());
  REQUIRE(o.kill_agent(a).has_value());
  run_for(o, clock, 50ms, 1ms);
  CHECK(o.agent_info(a)->status == os::AgentStatus::Failed);
  CHECK(o.metrics().failed_agents == 1);
  // Its capability has no live agent now: new work for it is refused, the rest goes on.
  CHECK(o.submit_task(os::TaskBuilder("t").requires_capability("c").build()).error() == os::SwarmError::NoCapableAgent);
  auto w = *o.submit_task(os::TaskBuilder("w").payload(bytes_of("w")).requires_capability("w").build());
  REQUIRE(o.run_until_idle(1s));
  CHECK(o.task_status(w).value() == os::TaskStatus::Completed);
}

TEST_CASE("swarm: an open circuit breaker sends work elsewhere, then admits probes", "[swarm]") {
  FakeClock clock;
  auto b = fake_builder(clock);
  b.scheduler_config({.selection_strategy = os::AgentSelectionStrategy::RoundRobin});
  b.breaker_config({.failure_threshold = 2, .open_duration = 100ms, .half_open_probes = 1});
  auto o = make(b);
  bool healthy = false;
  int bad_runs = 0;
  std::vector<std::string> lg;
  auto bad = *o.register_agent(os::AgentFactory::create_generic("bad", [&](std::span<const std::byte>) -> WorkResult {
    ++bad_runs;
    if (!healthy) throw std::runtime_error("down");
    return Bytes{};
  }, {"c"}));
  REQUIRE(o.register_agent(recorder("good", &lg)).has_value());
  for (int i = 0; i < 10; ++i) REQUIRE(o.submit_task(os::TaskBuilder("t").payload(bytes_of("x")).requires_capability("c").max_retries(3).build()));
  REQUIRE(o.run_until_idle(1s));
  CHECK(bad_runs == 2);  // two failures open it; afterwards nothing reaches it
  CHECK(o.agent_info(bad)->breaker == os::BreakerState::Open);
  CHECK(o.agent_info(bad)->status == os::AgentStatus::Degraded);
  CHECK(o.scheduler_stats().completed == 10);
  healthy = true;
  run_for(o, clock, 101ms, 1ms);
  for (int i = 0; i < 4; ++i) REQUIRE(o.submit_task(os::TaskBuilder("t").payload(bytes_of("x")).requires_capability("c").build()));
  REQUIRE(o.run_until_idle(1s));
  CHECK(bad_runs == 2 + 1 + 1);  // one probe closes it, then round robin resumes
  CHECK(o.agent_info(bad)->breaker == os::BreakerState::Closed);
}

TEST_CASE("swarm: coordinator, leader and memory through the orchestrator", "[swarm]") {
  FakeClock clock;
  auto b = fake_builder(clock);
  auto o = make(b);
  auto ids = *o.bootstrap_default_agents();
  run_for(o, clock, 300ms, 1ms);
  const os::LeaderInfo leader = o.coordinator().leader();
  REQUIRE(leader.valid());
  REQUIRE(o.kill_agent(leader.agent).has_value());
  run_for(o, clock, 400ms, 1ms);
  const os::LeaderInfo next = o.coordinator().leader();
  REQUIRE(next.valid());
  CHECK(next.term > leader.term);
  CHECK(o.metrics().leader.term == next.term);

  auto p = o.coordinator().submit_proposal(ids[0], os::ProposalType::TaskAssignment, bytes_of("assign"));
  REQUIRE(p.has_value());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    auto st = o.coordinator().cast_vote(*p, ids[i], os::VoteDecision::Approve, "Resource allocation approved");
    if (!st) break;  // decided: later votes are refused as closed
  }
  CHECK(o.coordinator().status(*p) == os::ProposalStatus::Accepted);

  auto region = o.memory_manager().allocate(ids[0], 4096);
  REQUIRE(region.has_value());
  REQUIRE(o.memory_manager().write(*region, bytes_of("zero copy")).has_value());
  REQUIRE(o.memory_manager().transfer(*region, ids[1]).has_value());
  CHECK(o.memory_manager().owner(*region) == ids[1]);
  CHECK(o.agent_info(ids[1])->memory_bytes > 0);
  // An agent's own limit (Agent::with_memory_limit) replaces the pool's per-agent one.
  auto small = *o.register_agent(os::AgentFactory::create_generic("small", [](std::span<const std::byte>) -> WorkResult {
    return Bytes{};
  }).with_memory_limit(4096));
  REQUIRE(o.memory_manager().allocate(small, 100).has_value());
  CHECK(o.memory_manager().allocate(small, 100).error() == os::SwarmError::QuotaExceeded);
  CHECK(o.metrics().memory_utilization > 0);
}

TEST_CASE("swarm: metrics and export_status describe every component", "[swarm]") {
  FakeClock clock;
  auto b = fake_builder(clock);
  auto o = make(b);
  REQUIRE(o.bootstrap_default_agents().has_value());
  for (int i = 0; i < 10; ++i) REQUIRE(o.submit_task(os::TaskBuilder("t").payload(bytes_of("abc")).requires_capability("checksum").build()));
  clock.advance(1'000'000'000);
  REQUIRE(o.run_until_idle(1s));
  auto m = o.metrics();
  CHECK(m.total_agents == 4);
  CHECK(m.active_agents == 4);
  CHECK(m.tasks_completed == 10);
  CHECK(m.throughput > 0);
  auto status = nlohmann::json::parse(o.export_status());
  CHECK(status["name"] == "test");
  CHECK(status["agents"].size() == 4);
  CHECK(status["scheduler"]["completed"] == 10);
  CHECK(status["config"]["topology"] == "Mesh");
  const std::string prom = o.metrics_snapshot().to_prometheus();
  CHECK(prom.find("hub=\"data\"") != std::string::npos);
  CHECK(prom.find("hub=\"control\"") != std::string::npos);
  for (const char* family : {"swarm_tasks_completed_total", "swarm_agent_up", "swarm_hub_", "swarm_memory_", "swarm_coordination_"}) {
    CHECK(prom.find(family) != std::string::npos);
  }
}

TEST_CASE("swarm: every task finishes exactly once under kills, cancels and panics", "[swarm]") {
  FakeClock clock;
  auto b = fake_builder(clock);
  b.breaker_config({.failure_threshold = 3, .open_duration = 20ms, .half_open_probes = 2});
  auto o = make(b);
  omega::OmegaRng rng = omega::OmegaRng::new_with_seed(7);
  std::map<std::uint64_t, int> runs_of;  // by payload (the task's own id)
  std::vector<os::AgentId> agents;
  for (int i = 0; i < 6; ++i) {
    agents.push_back(*o.register_agent(os::AgentFactory::create_generic("g" + std::to_string(i),
        [&rng, &runs_of](std::span<const std::byte> in) -> WorkResult {
          std::uint64_t tag = 0;
          std::memcpy(&tag, in.data(), sizeof tag);
          ++runs_of[tag];
          if (rng.next_u64() % 10 == 0) throw std::runtime_error("chaos");
          return Bytes(in.begin(), in.end());
        })));
  }
  std::vector<os::TaskId> ids;
  for (int round = 0; round < 200; ++round) {
    for (int k = 0; k < 5; ++k) {
      os::TaskBuilder tb("t");
      const os::TaskId id = o.reserve_task_id();
      Bytes tag(sizeof(std::uint64_t));
      std::memcpy(tag.data(), &id.value, sizeof id.value);
      tb.with_id(id).payload(tag).max_retries(static_cast<std::uint32_t>(rng.next_u64() % 3));
      if (!ids.empty() && rng.next_u64() % 2 == 0) tb.depends_on(ids[rng.next_u64() % ids.size()]);
      if (rng.next_u64() % 8 == 0) tb.timeout(std::chrono::milliseconds(1 + rng.next_u64() % 20));
      REQUIRE(o.submit_task(tb.build()).has_value());
      ids.push_back(id);
    }
    if (rng.next_u64() % 7 == 0) (void)o.cancel_task(ids[rng.next_u64() % ids.size()]);
    if (rng.next_u64() % 15 == 0) (void)o.kill_agent(agents[rng.next_u64() % agents.size()]);
    clock.advance(2'000'000);
    REQUIRE(o.process_cycle().has_value());
  }
  for (int i = 0; i < 5000 && !o.run_until_idle(0ns); ++i) clock.advance(1'000'000);
  auto s = o.scheduler_stats();
  CHECK(s.pending + s.ready + s.running == 0);
  CHECK(s.submitted == ids.size());
  CHECK(s.completed + s.failed + s.cancelled + s.timed_out == s.submitted);
  std::size_t final_count = 0;
  for (auto id : ids) {
    auto r = o.get_task_result(id);
    REQUIRE(r.has_value());
    ++final_count;
    if (r->status == os::TaskStatus::Completed) {
      CHECK(runs_of[id.value] >= 1);
      CHECK(r->output.size() == sizeof(std::uint64_t));
    }
    if (r->status == os::TaskStatus::Cancelled) CHECK_FALSE(r->reason.empty());
  }
  CHECK(final_count == ids.size());
}

TEST_CASE("swarm: a run lost with its agent is reassigned and its result counts once", "[swarm][threads]") {
  if (!omega::kHasThreads) return;
  auto system = omega::UltraOmegaSystem::builder().with_nodes(2).with_super_nodes(0).with_threads(2, 2, 0, 0).build();
  FakeClock clock;
  auto b = fake_builder(clock);
  b.system(system);
  auto o = make(b);
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  std::atomic<int> slow_runs{0}, fast_runs{0};
  auto slow = *o.register_agent(os::AgentFactory::create_generic("slow", [&](std::span<const std::byte>) -> WorkResult {
    ++slow_runs;
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return release; });
    return bytes_of("slow");
  }));
  REQUIRE(o.process_cycle().has_value());
  auto t = *o.submit_task(os::TaskBuilder("t").build());
  REQUIRE(o.process_cycle().has_value());
  CHECK(o.task_status(t).value() == os::TaskStatus::Running);
  // Twice the weight: LoadBalanced prefers it to the restarted slow agent.
  REQUIRE(o.register_agent(os::AgentFactory::create_generic("fast", [&](std::span<const std::byte>) -> WorkResult {
    ++fast_runs;
    return bytes_of("fast");
  }).with_weight(2.0)).has_value());
  REQUIRE(o.kill_agent(slow).has_value());
  for (int i = 0; i < 100 && o.task_status(t).value() != os::TaskStatus::Completed; ++i) {
    clock.advance(1'000'000);
    REQUIRE(o.process_cycle().has_value());
    std::this_thread::sleep_for(1ms);
  }
  REQUIRE(o.task_status(t).value() == os::TaskStatus::Completed);
  CHECK(string_of(o.get_task_result(t)->output) == "fast");
  {
    std::lock_guard lock(mu);
    release = true;
  }
  cv.notify_all();
  REQUIRE(o.run_until_idle(30s));
  CHECK(string_of(o.get_task_result(t)->output) == "fast");  // the late run did not overwrite it
  CHECK(o.scheduler_stats().duplicate_results == 1);
  CHECK(o.scheduler_stats().reassigned == 1);
  CHECK(slow_runs.load() == 1);
  CHECK(fast_runs.load() == 1);
  o.shutdown();
  system.shutdown_all();
}

TEST_CASE("swarm: agents' messages and the coordinator's travel on separate hubs", "[swarm]") {
  FakeClock clock;
  auto b = fake_builder(clock);
  auto o = make(b);
  auto ids = *o.bootstrap_default_agents();
  REQUIRE(o.hub().send(ids[0], ids[1], 7, bytes_of("hello"), clock.now()).has_value());
  run_for(o, clock, 50ms, 1ms);  // heartbeats and an election run meanwhile
  std::vector<os::Message> in;
  REQUIRE(o.hub().receive(ids[1], in) == 1);
  CHECK(in[0].kind == 7);
  CHECK(string_of(in[0].payload) == "hello");
  CHECK(o.hub().stats().sent == 1);
  CHECK(o.coordination_stats().heartbeats_sent > 0);
  // A killed agent is cut off on the data plane too.
  REQUIRE(o.kill_agent(ids[2]).has_value());
  (void)o.hub().send(ids[0], ids[2], 7, bytes_of("x"), clock.now());
  CHECK(o.hub().stats().dropped_dead == 1);
}

TEST_CASE("swarm: a pause between cycles blames no agent", "[swarm]") {
  FakeClock clock;
  auto b = fake_builder(clock);  // 10 ms heartbeats, failure after 3 missed
  auto o = make(b);
  auto ids = *o.bootstrap_default_agents();
  run_for(o, clock, 50ms, 1ms);
  clock.advance(std::chrono::nanoseconds(1s).count());  // the owner stalled for a second
  run_for(o, clock, 50ms, 1ms);
  for (auto id : ids) CHECK(o.agent_info(id)->restarts == 0);
  CHECK(o.coordination_stats().failures_detected == 0);
  CHECK(o.coordination_stats().tick_gaps >= 1);
  // A real failure is still found after the pause.
  REQUIRE(o.kill_agent(ids[0]).has_value());
  run_for(o, clock, 40ms, 1ms);
  CHECK(o.agent_info(ids[0])->restarts == 1);
}

TEST_CASE("swarm: runs the system refuses wait for the next cycle, and every task still runs once", "[swarm][threads]") {
  if (!omega::kHasThreads) return;
  // Tiny node queues: most spawns of a cycle are refused (SystemMaxedOut).
  auto system = omega::UltraOmegaSystem::builder().with_nodes(2).with_super_nodes(0).with_threads(1, 1, 0, 0)
                    .with_queue_capacity(4, 4).build();
  os::SwarmBuilder b;
  b.name("refusals").system(system).scheduler_config({.max_concurrent_tasks = 64});
  auto o = make(b);
  std::atomic<int> runs{0};
  for (int i = 0; i < 4; ++i) {
    REQUIRE(o.register_agent(os::AgentFactory::create_generic("g" + std::to_string(i), [&](std::span<const std::byte>) -> WorkResult {
      ++runs;
      return Bytes{};
    }).with_max_concurrent(64)).has_value());
  }
  std::vector<os::TaskId> ids;
  for (int i = 0; i < 500; ++i) ids.push_back(*o.submit_task(os::TaskBuilder("t").priority(static_cast<Priority>(i % 4)).build()));
  auto first = o.process_cycle();
  REQUIRE(first.has_value());
  CHECK(first->dispatched <= 64);
  REQUIRE(o.run_until_idle(60s));
  CHECK(system.maxed_out() > 0);  // the refusal path ran
  auto s = o.scheduler_stats();
  CHECK(s.completed == 500);
  CHECK(s.dispatched == 500);  // refused attempts are not dispatches
  CHECK(s.ready_to_start_ns.count() == 500);
  CHECK(runs.load() == 500);
  o.shutdown();
  system.shutdown_all();
}

TEST_CASE("swarm: a long wait before the first cycle blames no agent", "[swarm]") {
  FakeClock clock;
  auto b = fake_builder(clock);
  auto o = make(b);
  auto ids = *o.bootstrap_default_agents();
  clock.advance(std::chrono::nanoseconds(2s).count());  // e.g. a large submission before cycling
  run_for(o, clock, 50ms, 1ms);
  CHECK(o.coordination_stats().failures_detected == 0);
  for (auto id : ids) CHECK(o.agent_info(id)->restarts == 0);
}
