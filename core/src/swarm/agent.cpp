// Agent definitions and the seed's built-in agent kinds (AgentFactory).
#include <algorithm>
#include <cstring>
#include <atomic>
#include <exception>
#include <utility>

#include <omega/ovp/crc32c.hpp>
#include <omega/swarm/swarm.hpp>

namespace omega::swarm {

std::string_view to_string(AgentKind k) noexcept {
  switch (k) {
    case AgentKind::Neural: return "Neural";
    case AgentKind::Quantum: return "Quantum";
    case AgentKind::Generic: return "Generic";
  }
  return "Unknown";
}

std::string_view to_string(AgentSelectionStrategy s) noexcept {
  switch (s) {
    case AgentSelectionStrategy::RoundRobin: return "RoundRobin";
    case AgentSelectionStrategy::LeastLoaded: return "LeastLoaded";
    case AgentSelectionStrategy::LoadBalanced: return "LoadBalanced";
    case AgentSelectionStrategy::CapabilityBased: return "CapabilityBased";
  }
  return "Unknown";
}

std::string_view to_string(AgentStatus s) noexcept {
  switch (s) {
    case AgentStatus::Idle: return "Idle";
    case AgentStatus::Busy: return "Busy";
    case AgentStatus::Degraded: return "Degraded";
    case AgentStatus::Restarting: return "Restarting";
    case AgentStatus::Failed: return "Failed";
    case AgentStatus::Stopped: return "Stopped";
  }
  return "Unknown";
}

std::string_view to_string(TaskStatus s) noexcept {
  switch (s) {
    case TaskStatus::Pending: return "Pending";
    case TaskStatus::Ready: return "Ready";
    case TaskStatus::Running: return "Running";
    case TaskStatus::Completed: return "Completed";
    case TaskStatus::Failed: return "Failed";
    case TaskStatus::Cancelled: return "Cancelled";
    case TaskStatus::TimedOut: return "TimedOut";
  }
  return "Unknown";
}

Agent::Agent(std::string name, AgentKind kind, std::vector<std::string> capabilities, AgentWork work)
    : name_(std::move(name)),
      kind_(kind),
      capabilities_(std::move(capabilities)),
      work_(std::make_shared<const AgentWork>(std::move(work))) {}

bool Agent::has_capability(std::string_view c) const noexcept {
  return std::find(capabilities_.begin(), capabilities_.end(), c) != capabilities_.end();
}

Agent& Agent::with_capability(std::string c) {
  if (!has_capability(c)) capabilities_.push_back(std::move(c));
  return *this;
}
Agent& Agent::with_max_concurrent(unsigned n) noexcept {
  max_concurrent_ = n == 0 ? 1 : n;
  return *this;
}
Agent& Agent::with_weight(double w) noexcept {
  weight_ = w > 0 ? w : 1.0;
  return *this;
}
Agent& Agent::with_memory_limit(std::size_t bytes) noexcept {
  memory_limit_ = bytes;
  return *this;
}
Agent& Agent::with_restart_policy(actor::RestartPolicy p) {
  restart_ = std::move(p);
  return *this;
}

Agent Agent::renamed(std::string name) const {
  Agent copy = *this;
  copy.name_ = std::move(name);
  return copy;
}

Result<std::vector<std::byte>, TaskError> Agent::execute(const TaskInput& input) const {
  if (!work_) return Err(TaskError::ExecutionFailed{"agent " + name_ + " has no work function"});
  return run(*work_, input);
}

Result<std::vector<std::byte>, TaskError> Agent::run(const AgentWork& work, const TaskInput& input) {
  if (!work) return Err(TaskError::ExecutionFailed{"agent without a work function"});
  // The one try block of a task's run (WASM's JS-based exceptions make each try a round trip).
  try {
    return work(input);
  } catch (const std::exception& e) {
    return Err(TaskError::Panicked{e.what()});
  } catch (...) {
    return Err(TaskError::Panicked{"unknown exception"});
  }
}

namespace {

Agent neural_agent(std::string name, std::shared_ptr<const NeuralNetwork> net) {
  AgentWork work = [net](const TaskInput& in) -> Result<std::vector<std::byte>, TaskError> {
    auto input = decode_floats(in.payload);
    if (!input) return Err(TaskError::ExecutionFailed{"neural: " + input.error()});
    if (input->size() != net->input_size()) {
      return Err(TaskError::ExecutionFailed{"neural: the network takes " + std::to_string(net->input_size()) +
                                            " inputs, the payload has " + std::to_string(input->size())});
    }
    std::vector<float> out(net->output_size());
    if (auto r = net->infer(*input, out); !r) return Err(TaskError::ExecutionFailed{"neural: " + r.error()});
    return encode_floats(out);
  };
  return Agent(std::move(name), AgentKind::Neural, {"neural_inference"}, std::move(work));
}

}  // namespace

Agent AgentFactory::create_neural(std::string name, std::size_t inputs, std::uint64_t seed) {
  const std::size_t widths[] = {inputs == 0 ? 1 : inputs, 64, 16};
  return neural_agent(std::move(name), std::make_shared<const NeuralNetwork>(NeuralNetwork::random(widths, seed)));
}

Agent AgentFactory::create_neural(std::string name, NeuralNetwork network) {
  return neural_agent(std::move(name), std::make_shared<const NeuralNetwork>(std::move(network)));
}

// A quantum task's cost bound: a valid payload can ask for ~10^12 amplitude updates, and an
// agent must answer in bounded time. 2^32 updates is a few seconds natively.
constexpr std::uint64_t kQuantumWorkBudget = std::uint64_t{1} << 32;

Agent AgentFactory::create_quantum(std::string name, unsigned qubits, std::uint64_t seed) {
  qubits = std::clamp(qubits, 1u, 20u);
  // Each run draws its measurement seed from the agent's seed and a run counter, so two runs
  // of one circuit sample independently while a whole swarm stays reproducible.
  auto runs = std::make_shared<std::atomic<std::uint64_t>>(0);
  AgentWork work = [qubits, seed, runs](const TaskInput& in) -> Result<std::vector<std::byte>, TaskError> {
    const std::uint64_t run_seed = seed * 0x9E3779B97F4A7C15ULL + runs->fetch_add(1, std::memory_order_relaxed);
    if (in.capability == "optimization") {
      auto problem = decode_maxcut(in.payload);
      if (!problem) return Err(TaskError::ExecutionFailed{"maxcut: " + problem.error()});
      if (const std::uint64_t cost = maxcut_work(*problem); cost > kQuantumWorkBudget) {
        return Err(TaskError::ExecutionFailed{"maxcut: " + std::to_string(cost) + " steps, over the agent's budget of " +
                                              std::to_string(kQuantumWorkBudget)});
      }
      return encode_cut(anneal_maxcut(*problem, run_seed));
    }
    auto circuit = decode_circuit(in.payload);
    if (!circuit) return Err(TaskError::ExecutionFailed{"circuit: " + circuit.error()});
    if (circuit->qubits > qubits) {
      return Err(TaskError::ExecutionFailed{"circuit: " + std::to_string(circuit->qubits) + " qubits, the agent has " +
                                            std::to_string(qubits)});
    }
    if (const std::uint64_t cost = circuit_work(*circuit); cost > kQuantumWorkBudget) {
      return Err(TaskError::ExecutionFailed{"circuit: " + std::to_string(cost) +
                                            " amplitude updates, over the agent's budget of " +
                                            std::to_string(kQuantumWorkBudget)});
    }
    auto result = run_circuit(*circuit, run_seed);
    if (!result) return Err(TaskError::ExecutionFailed{"circuit: " + result.error()});
    return encode_result(*result);
  };
  return Agent(std::move(name), AgentKind::Quantum, {"quantum_simulation", "optimization"}, std::move(work));
}

Agent AgentFactory::create_generic(std::string name, GenericWork work, std::vector<std::string> capabilities) {
  if (std::find(capabilities.begin(), capabilities.end(), "generic") == capabilities.end()) {
    capabilities.insert(capabilities.begin(), "generic");
  }
  auto fn = std::make_shared<GenericWork>(std::move(work));
  AgentWork wrapped = [fn](const TaskInput& in) -> Result<std::vector<std::byte>, TaskError> {
    if (!*fn) return Err(TaskError::ExecutionFailed{"generic agent without a function"});
    return (*fn)(in.payload);
  };
  return Agent(std::move(name), AgentKind::Generic, std::move(capabilities), std::move(wrapped));
}

// The default generic agent's work: the payload's CRC32C, little-endian.
std::vector<std::byte> checksum_bytes(std::span<const std::byte> payload) {
  const std::uint32_t crc = ovp::crc32c(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size()));
  std::vector<std::byte> out(4);
  for (int i = 0; i < 4; ++i) out[i] = static_cast<std::byte>((crc >> (8 * i)) & 0xFF);
  return out;
}

}  // namespace omega::swarm
