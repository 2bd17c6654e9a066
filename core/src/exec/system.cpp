#include <algorithm>
#include <omega/base/assert.hpp>
#include <omega/base/config.hpp>
#include <omega/exec/router.hpp>
#include <omega/exec/system.hpp>

#include "exec/worker_group.hpp"
#include "io/io_circulation.hpp"
#include "pulse/runtime.hpp"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <system_error>

namespace omega {

namespace {
constexpr unsigned kRouteAttempts = 4;  // Power(pi), Stepped, Weighted, Exponential
}

std::string SystemConfig::validate() const {
  if (super_nodes > nodes) return "super_nodes must not exceed nodes (the total)";
  if (nodes > 4096) return "nodes must be at most 4096";
  if (nodes > super_nodes) {
    if (auto why = regular.validate(); !why.empty()) return "regular node: " + why;
  }
  if (super_nodes > 0) {
    if (auto why = super.validate(); !why.empty()) return "super node: " + why;
  }
  if (auto why = pulse.validate(); !why.empty()) return "pulse: " + why;
  return {};
}

struct UltraOmegaSystem::Impl {
  std::shared_ptr<SignalHub> signals = std::make_shared<SignalHub>();  // outlives the nodes
  SystemConfig config;
  std::unique_ptr<detail::WorkerGroup> group;  // outlives the nodes
  std::vector<std::unique_ptr<OmegaNode>> nodes;
  std::vector<char> is_super;
  std::atomic<bool> stopping{false};
  Counter maxed_out;
  std::mutex rate_mutex;
  std::uint64_t rate_completed = 0;
  std::int64_t rate_at_ns = now_ns();
  detail::IoCirculation io;  // its reactor starts with the first I/O submission
  std::unique_ptr<detail::PulseRuntime> pulse;  // its threads start with the first spawn
  Pulse pulse_facade{nullptr};

  ~Impl() {
    if (pulse) pulse->begin_shutdown();
    stop_nodes();
    pulse.reset();
  }
  // Closes every node before joining any: workers take work from other nodes' queues, so
  // no node may go away while another's workers still run.
  void stop_nodes() {
    for (auto& node : nodes) node->begin_shutdown();
    for (auto& node : nodes) node->shutdown();
  }

  // What the router sees of node i.
  NodeLoad load_of(std::size_t i) const noexcept {
    const OmegaNode& node = *nodes[i];
    return NodeLoad{node.get_pressure(), is_super[i] != 0, !kHasThreads || node.awake()};
  }
  // Every routing attempt was refused: count it and tell subscribers.
  void note_maxed_out() noexcept {
    maxed_out.add();
    if (!signals->has_subscribers()) return;
    SystemSignal signal;
    signal.kind = SystemSignal::Kind::Backpressure;
    signal.at_ns = now_ns();
    signal.error = NodeError::SystemMaxedOut;
    signals->publish(signal);
  }
};

UltraOmegaSystem::UltraOmegaSystem(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
UltraOmegaSystem::UltraOmegaSystem(UltraOmegaSystem&&) noexcept = default;
UltraOmegaSystem& UltraOmegaSystem::operator=(UltraOmegaSystem&& other) noexcept {
  if (this != &other) {
    if (impl_) shutdown_all();
    impl_ = std::move(other.impl_);
  }
  return *this;
}
UltraOmegaSystem::~UltraOmegaSystem() {
  if (impl_) shutdown_all();
}

Result<UltraOmegaSystem, std::string> UltraOmegaSystem::Builder::try_build() const {
  if (auto why = config_.validate(); !why.empty()) return Err(std::move(why));
  auto impl = std::make_unique<Impl>();
  impl->config = config_;
  impl->group = std::make_unique<detail::WorkerGroup>(config_.nodes, config_.max_awake_workers);
  impl->nodes.reserve(config_.nodes);
  // Super nodes first, then regular ones: indices are stable and documented by metrics.
  try {
    for (std::size_t i = 0; i < config_.nodes; ++i) {
      const bool super = i < config_.super_nodes;
      impl->nodes.push_back(
          std::make_unique<OmegaNode>(i, super ? config_.super : config_.regular, impl->signals.get(), impl->group.get()));
      impl->is_super.push_back(super ? 1 : 0);
    }
    detail::PulseRuntime::Host host;
    host.group = impl->group.get();
    host.signals = impl->signals.get();
    for (auto& node : impl->nodes) {
      host.nodes.push_back(node.get());
      host.worker_threads += kHasThreads ? node->config().max_threads : 0;
    }
    impl->pulse = std::make_unique<detail::PulseRuntime>(config_.pulse, std::move(host));
    impl->pulse_facade = Pulse(impl->pulse.get());
  } catch (const std::system_error& e) {
    // Nodes already built shut down as `impl` goes; no thread is left behind.
    return Err("could not start the worker threads (" + std::string(e.what()) +
               "); in WASM the threaded build has a fixed pthread pool: use fewer nodes or threads");
  }
  return UltraOmegaSystem(std::move(impl));
}

UltraOmegaSystem UltraOmegaSystem::Builder::build() const {
  auto built = try_build();
  if (!built) {
    std::fprintf(stderr, "UltraOmegaSystem::build: invalid configuration: %s\n", built.error().c_str());
    OMEGA_ASSERT(false, "invalid UltraOmegaSystem configuration (see the message above)");
  }
  return std::move(*built);
}

Result<std::size_t, NodeError> UltraOmegaSystem::route(Task& task, Priority priority, std::uint32_t cost,
                                                      OmegaRng& rng) noexcept {
  Impl& s = *impl_;
  if (s.nodes.empty()) return Err(NodeError::NoNodesAvailable);
  if (s.stopping.load(std::memory_order_acquire)) return Err(NodeError::NodeShuttingDown);
  const std::size_t n = s.nodes.size();
  // Each attempt samples afresh: nodes keep changing underneath, so a refused try leads to
  // a new draw rather than a retry of the same node.
  auto load_of = [&s](std::size_t i) { return s.load_of(i); };
  for (unsigned attempt = 0; attempt < kRouteAttempts; ++attempt) {
    const std::size_t chosen = Router::select_from(n, load_of, cost, attempt, rng);
    auto r = s.nodes[chosen]->try_submit(task, priority);
    if (r) return chosen;
    if (r.error() == NodeError::NodeShuttingDown) return Err(NodeError::NodeShuttingDown);
  }
  s.note_maxed_out();
  return Err(NodeError::SystemMaxedOut);
}

UltraOmegaSystem::BatchResult UltraOmegaSystem::route_bulk(Task* tasks, std::size_t n, Priority priority,
                                                         std::uint32_t cost, OmegaRng& rng, std::size_t* nodes_out) noexcept {
  Impl& s = *impl_;
  if (s.nodes.empty()) return {0, NodeError::NoNodesAvailable};
  if (s.stopping.load(std::memory_order_acquire)) return {0, NodeError::NodeShuttingDown};
  auto load_of = [&s](std::size_t i) { return s.load_of(i); };
  std::size_t done = 0;
  for (unsigned attempt = 0; attempt < kRouteAttempts && done < n; ++attempt) {
    const std::size_t chosen = Router::select_from(s.nodes.size(), load_of, cost, attempt, rng);
    OmegaNode& node = *s.nodes[chosen];
    const std::size_t pushed = node.try_submit_bulk(tasks + done, n - done, priority);
    if (nodes_out) std::fill_n(nodes_out + done, pushed, chosen);
    done += pushed;
    if (done < n && node.shutting_down()) return {done, NodeError::NodeShuttingDown};
  }
  if (done == n) return {done, std::nullopt};
  s.note_maxed_out();
  return {done, NodeError::SystemMaxedOut};
}

bool UltraOmegaSystem::drive(void* impl, std::size_t node, bool help) noexcept {
  auto* s = static_cast<Impl*>(impl);
  if (help) return node < s->nodes.size() && s->nodes[node]->help_one();
  std::size_t ran = s->pulse->run_service();
  for (auto& n : s->nodes) ran += n->run_pending(16);
  return ran != 0;
}

std::size_t UltraOmegaSystem::run_pending(std::size_t max_tasks) {
  std::size_t ran = impl_->pulse->run_service();
  for (auto& node : impl_->nodes) {
    if (ran >= max_tasks) break;
    ran += node->run_pending(max_tasks - ran);
  }
  return ran;
}

Result<TaskHandle<IoOutput>, NodeError> UltraOmegaSystem::submit_io_task(IoOp op, std::optional<Nanos> timeout,
                                                                        OmegaRng& rng) {
  (void)rng;
  return submit_io(std::move(op), timeout);
}

Result<TaskHandle<IoOutput>, NodeError> UltraOmegaSystem::submit_io(IoOp op, std::optional<Nanos> timeout) {
  if (impl_->stopping.load(std::memory_order_acquire)) return Err(NodeError::NodeShuttingDown);
  return impl_->io.submit(std::move(op), timeout, &UltraOmegaSystem::drive, impl_.get());
}

void UltraOmegaSystem::shutdown_all() {
  begin_shutdown();
  for (auto& node : impl_->nodes) node->shutdown();  // joins (each node's close is idempotent)
  impl_->pulse->finish_shutdown();  // after the drain: cancels what is still suspended
}

Result<std::size_t, NodeError> UltraOmegaSystem::spawn_root(Priority priority, coro::coroutine_handle<> root,
                                                           void* state, TaskId id, const detail::PulseTaskOps* ops,
                                                           OmegaRng& rng) {
  detail::PulseRuntime& rt = *impl_->pulse;
  detail::PulseTask* task = rt.create(priority, root, state, id, ops);
  // Requeues start from a node of their own (the first poll goes where the router says; the
  // task may be finished before route() returns, so nothing here may touch it afterwards).
  rt.prepare(task, impl_->nodes.empty() ? 0 : static_cast<std::size_t>(rng.next_u64() % impl_->nodes.size()));
  Task job([&rt, task] { rt.poll(task); });
  auto node = route(job, priority, 1, rng);
  if (!node) {
    rt.discard(task);
    return Err(node.error());
  }
  return *node;
}

Pulse& UltraOmegaSystem::pulse() noexcept { return impl_->pulse_facade; }

UltraOmegaSystem::IoAwaiter UltraOmegaSystem::io(IoOp op, std::optional<Nanos> timeout) {
  return IoAwaiter(submit_io(std::move(op), timeout));
}

void UltraOmegaSystem::begin_shutdown() noexcept {
  impl_->stopping.store(true, std::memory_order_release);
  impl_->io.shutdown();  // first: I/O completions never wait on the nodes
  impl_->pulse->begin_shutdown();  // timers and the slow lane stop; nothing blocks here
  // Every node closes before any is joined: workers take work from other nodes' queues.
  for (auto& node : impl_->nodes) node->begin_shutdown();
}

bool UltraOmegaSystem::shutdown_finished() const noexcept {
  if (!impl_->stopping.load(std::memory_order_acquire)) return false;
  return std::all_of(impl_->nodes.begin(), impl_->nodes.end(),
                     [](const auto& node) { return node->workers_exited() && node->queued() == 0; });
}

NodesView UltraOmegaSystem::nodes() const { return NodesView(impl_->nodes); }
const SystemConfig& UltraOmegaSystem::config() const { return impl_->config; }
std::uint64_t UltraOmegaSystem::maxed_out() const noexcept { return impl_->maxed_out.value(); }

SignalSubscription UltraOmegaSystem::subscribe(std::size_t capacity) { return impl_->signals->subscribe(capacity); }

double UltraOmegaSystem::publish_completion_rate() {
  std::uint64_t completed = 0;
  for (const auto& node : impl_->nodes) completed += node->stats().completed;
  const std::int64_t now = now_ns();
  double rate = 0;
  {
    std::lock_guard lock(impl_->rate_mutex);
    const std::int64_t dt = now - impl_->rate_at_ns;
    if (dt > 0) rate = static_cast<double>(completed - impl_->rate_completed) * 1e9 / static_cast<double>(dt);
    impl_->rate_completed = completed;
    impl_->rate_at_ns = now;
  }
  SystemSignal signal;
  signal.kind = SystemSignal::Kind::CompletionRate;
  signal.at_ns = now;
  signal.tasks_per_second = rate;
  impl_->signals->publish(signal);
  return rate;
}

MemoryStats UltraOmegaSystem::memory_stats() const {
  MemoryStats m;
  m.nodes = impl_->nodes.size();
  for (const auto& node : impl_->nodes) {
    const NodeConfig& c = node->config();
    m.threads += kHasThreads ? c.max_threads : 0;
    m.queue_capacity += c.queue_capacity;
    std::size_t slots = 1;
    while (slots < c.queue_capacity) slots <<= 1;
    m.queue_bytes += kPriorityCount * slots * (sizeof(Task) + sizeof(std::int64_t) + sizeof(std::size_t));
    m.metrics_bytes += 2 * HistogramLayout::kBucketCount * sizeof(std::uint64_t);
  }
  m.total_bytes = m.queue_bytes + m.metrics_bytes + m.nodes * sizeof(OmegaNode);
  return m;
}

MetricsSnapshot UltraOmegaSystem::metrics() const {
  MetricsSnapshot snap;
  for (std::size_t i = 0; i < impl_->nodes.size(); ++i) {
    const OmegaNode& node = *impl_->nodes[i];
    const MetricLabels labels{{"node", std::to_string(i)}, {"kind", impl_->is_super[i] ? "super" : "regular"}};
    const NodeStats st = node.stats();
    (void)snap.add_counter("omega_node_submitted_total", "Tasks accepted by the node", labels, st.submitted);
    (void)snap.add_counter("omega_node_completed_total", "Tasks the node ran (panicked included)", labels,
                           st.completed);
    (void)snap.add_counter("omega_node_rejected_total", "Submissions the node refused", labels, st.rejected);
    (void)snap.add_counter("omega_node_panicked_total", "Tasks that threw", labels, st.panicked);
    (void)snap.add_gauge("omega_node_pressure_percent", "Queue fill, percent of capacity", labels,
                         node.get_pressure());
    (void)snap.add_gauge("omega_node_active_threads", "Worker threads currently active", labels,
                         node.active_threads());
    (void)snap.add_histogram("omega_node_queue_wait_ns", "Submit to start", labels, node.queue_wait());
    (void)snap.add_histogram("omega_node_run_time_ns", "Start to end", labels, node.run_time());
  }
  (void)snap.add_counter("omega_system_maxed_out_total", "Submissions refused with SystemMaxedOut", {},
                         impl_->maxed_out.value());
  impl_->io.add_metrics(snap);
  impl_->pulse->add_metrics(snap);
  return snap;
}

}  // namespace omega
