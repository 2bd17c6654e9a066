#pragma once
// UltraOmegaSystem: the CPU circulation (seed 000). A set of OmegaNodes (regular and super),
// power-of-K routing with the caller's OmegaRng, task handles, graceful shutdown.
//
//   auto system = omega::UltraOmegaSystem::builder().with_nodes(64).with_super_nodes(32).build();
//   omega::OmegaRng rng = omega::OmegaRng::new_with_seed(12345);
//   auto handle = system.submit_cpu_task(omega::Priority::High, 10, [] { return 42; }, rng);
//   if (handle) { omega::Result<int, omega::TaskError> r = handle->recv_result(); }
//   system.shutdown_all();
//
// Contracts: a submission is either accepted (the task runs exactly once, shutdown included)
// or refused with a NodeError and nothing runs: SystemMaxedOut when every node tried was
// full, NodeShuttingDown after shutdown began, NoNodesAvailable for a system without nodes.
// A work function returns T or Result<T, TaskError>; one that throws yields
// TaskError::Panicked with the exception's message.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <omega/base/error.hpp>
#include <omega/base/metrics.hpp>
#include <omega/base/result.hpp>
#include <omega/base/rng.hpp>
#include <omega/exec/handle.hpp>
#include <omega/exec/node.hpp>
#include <omega/exec/signals.hpp>
#include <omega/exec/task.hpp>
#include <omega/io/io_op.hpp>
#include <omega/pulse/coro.hpp>
#include <omega/pulse/policy.hpp>
#include <omega/pulse/pulse.hpp>

namespace omega {

struct SystemConfig {
  std::size_t nodes = 16;       // total, super nodes included
  std::size_t super_nodes = 8;  // of which high-capacity
  NodeConfig regular = NodeConfig::regular();
  NodeConfig super = NodeConfig::super_node();
  // Pushes stop waking parked workers once this many are awake (they find the work before
  // they park). 0: the hardware thread count.
  unsigned max_awake_workers = 0;
  // Budgets, tiers, watchdog and slow lane for cooperative tasks (spawn).
  PulseConfig pulse = PulseConfig::profile(PulseProfile::Balanced);
  // A clear reason when the configuration cannot work, empty when it can.
  [[nodiscard]] std::string validate() const;
};

struct MemoryStats {
  std::size_t nodes = 0;
  std::size_t threads = 0;         // created up front, active or parked
  std::size_t queue_capacity = 0;  // tasks, all nodes
  std::size_t queue_bytes = 0;     // ring slots, all lanes
  std::size_t metrics_bytes = 0;   // histograms
  std::size_t total_bytes = 0;     // the above plus node bookkeeping (thread stacks excluded)
};

class NodesView {
 public:
  class iterator {
   public:
    using value_type = OmegaNode;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    explicit iterator(const std::unique_ptr<OmegaNode>* p) : p_(p) {}
    OmegaNode& operator*() const { return **p_; }
    OmegaNode* operator->() const { return p_->get(); }
    iterator& operator++() {
      ++p_;
      return *this;
    }
    iterator operator++(int) { return iterator(p_++); }
    bool operator==(const iterator&) const = default;

   private:
    const std::unique_ptr<OmegaNode>* p_ = nullptr;
  };
  explicit NodesView(const std::vector<std::unique_ptr<OmegaNode>>& nodes) : nodes_(&nodes) {}
  [[nodiscard]] iterator begin() const { return iterator(nodes_->data()); }
  [[nodiscard]] iterator end() const { return iterator(nodes_->data() + nodes_->size()); }
  [[nodiscard]] std::size_t size() const { return nodes_->size(); }
  OmegaNode& operator[](std::size_t i) const { return *(*nodes_)[i]; }

 private:
  const std::vector<std::unique_ptr<OmegaNode>>* nodes_;
};

class UltraOmegaSystem {
 public:
  class Builder {
   public:
    Builder& with_nodes(std::size_t total) { config_.nodes = total; return *this; }
    Builder& with_super_nodes(std::size_t count) { config_.super_nodes = count; return *this; }
    Builder& with_regular_node(NodeConfig c) { config_.regular = std::move(c); return *this; }
    Builder& with_super_node(NodeConfig c) { config_.super = std::move(c); return *this; }
    Builder& with_queue_capacity(std::size_t regular, std::size_t super) {
      config_.regular.queue_capacity = regular;
      config_.super.queue_capacity = super;
      return *this;
    }
    Builder& with_threads(unsigned regular_min, unsigned regular_max, unsigned super_min, unsigned super_max) {
      config_.regular.min_threads = regular_min;
      config_.regular.max_threads = regular_max;
      config_.super.min_threads = super_min;
      config_.super.max_threads = super_max;
      return *this;
    }
    Builder& with_max_awake_workers(unsigned n) { config_.max_awake_workers = n; return *this; }
    Builder& with_pulse(PulseConfig c) { config_.pulse = std::move(c); return *this; }
    Builder& with_timing_sample_every(unsigned n) {
      config_.regular.timing_sample_every = n;
      config_.super.timing_sample_every = n;
      return *this;
    }
    Builder& with_spin(unsigned iterations) {
      config_.regular.spin_iterations = iterations;
      config_.super.spin_iterations = iterations;
      return *this;
    }
    [[nodiscard]] const SystemConfig& config() const { return config_; }
    // The system, or why the configuration cannot work.
    [[nodiscard]] Result<UltraOmegaSystem, std::string> try_build() const;
    // The system; an invalid configuration aborts with the reason (use try_build for input
    // that comes from outside the program).
    [[nodiscard]] UltraOmegaSystem build() const;

   private:
    SystemConfig config_;
  };

  [[nodiscard]] static Builder builder() { return Builder{}; }

  UltraOmegaSystem(UltraOmegaSystem&&) noexcept;
  UltraOmegaSystem& operator=(UltraOmegaSystem&&) noexcept;
  ~UltraOmegaSystem();  // shutdown_all()

  // Routes and queues `work`; the handle yields its result.
  template <class F, class R = std::invoke_result_t<F&>, class T = typename detail::TaskValue<R>::type>
  [[nodiscard]] Result<TaskHandle<T>, NodeError> submit_cpu_task(Priority priority, std::uint32_t cost, F&& work,
                                                                 OmegaRng& rng);
  // Fire-and-forget: no handle, no shared state. A throw is counted as panicked.
  template <class F>
  Result<void, NodeError> submit_detached(Priority priority, std::uint32_t cost, F&& work, OmegaRng& rng) {
    Task task(std::forward<F>(work));
    auto node = route(task, priority, cost, rng);
    if (!node) return Err(node.error());
    return {};
  }

  // Fire-and-forget in bulk: queues make(0), make(1), ... make(n-1) in order, routing once
  // per chunk of up to OmegaNode::kBulkMax tasks. Returns how many were accepted (always a
  // prefix: tasks [accepted, n) were not made or were refused) and, when not all were, why.
  struct BatchResult {
    std::size_t accepted = 0;
    std::optional<NodeError> error;
  };
  template <class Make>
  BatchResult submit_detached_batch(Priority priority, std::uint32_t cost, std::size_t n, Make&& make, OmegaRng& rng) {
    BatchResult result;
    std::array<Task, OmegaNode::kBulkMax> chunk;
    while (result.accepted < n) {
      const std::size_t m = std::min(OmegaNode::kBulkMax, n - result.accepted);
      for (std::size_t i = 0; i < m; ++i) chunk[i].emplace(make(result.accepted + i));
      const auto r = route_bulk(chunk.data(), m, priority, cost, rng);
      result.accepted += r.accepted;
      if (r.error) {
        result.error = r.error;
        for (auto& t : chunk) t.reset();
        break;
      }
    }
    return result;
  }

  // submit_cpu_task in bulk: make(i) gives task i's work function; a handle per accepted
  // task is appended to `handles` (accepted tasks are a prefix, as above). Routing, capacity
  // reservation, clock read and wake-up happen once per chunk of OmegaNode::kBulkMax.
  template <class Make, class F = std::invoke_result_t<Make&, std::size_t>, class R = std::invoke_result_t<F&>,
            class T = typename detail::TaskValue<R>::type>
  BatchResult submit_cpu_batch(Priority priority, std::uint32_t cost, std::size_t n, Make&& make,
                               std::vector<TaskHandle<T>>& handles, OmegaRng& rng) {
    BatchResult result;
    std::array<Task, OmegaNode::kBulkMax> chunk;
    std::array<detail::TaskState<T>*, OmegaNode::kBulkMax> states{};
    std::array<std::size_t, OmegaNode::kBulkMax> placed{};
    while (result.accepted < n) {
      const std::size_t m = std::min(OmegaNode::kBulkMax, n - result.accepted);
      for (std::size_t i = 0; i < m; ++i) {
        states[i] = detail::TaskState<T>::acquire(&UltraOmegaSystem::drive, impl_.get());
        chunk[i].emplace(Job<T, F>(states[i], make(result.accepted + i)));
      }
      const auto r = route_bulk(chunk.data(), m, priority, cost, rng, placed.data());
      for (std::size_t i = 0; i < m; ++i) {
        TaskHandle<T> handle(states[i]);  // takes the handle's reference either way
        if (i < r.accepted) {
          states[i]->set_node(placed[i]);
          handles.push_back(std::move(handle));
        }
      }
      result.accepted += r.accepted;
      if (r.error) {
        result.error = r.error;
        for (auto& t : chunk) t.reset();  // refused jobs drop their references
        break;
      }
    }
    return result;
  }

  // The I/O circulation (seed 000): runs `op` on the platform reactor, separate from the
  // CPU nodes (natively an epoll thread started by the first I/O submission). The handle
  // resolves like a CPU task's: with the IoOutput, TaskError::ExecutionFailed (the reason,
  // with errno text natively), or TaskError::TimedOut when `timeout` elapses first, in which
  // case the operation is cancelled and what it held is freed (docs/io.md). Refused only
  // with NodeShuttingDown. `rng` is the seed's signature: one reactor thread leaves nothing
  // to route yet, so it is not drawn from.
  [[nodiscard]] Result<TaskHandle<IoOutput>, NodeError> submit_io_task(IoOp op, std::optional<Nanos> timeout,
                                                                      OmegaRng& rng);

  // Queues a cooperative task (omega/pulse/coro.hpp): its polls run on the nodes' workers
  // under Pulse (budgets, tiers, watchdog, slow lane). Accepted or refused exactly as
  // submit_cpu_task; the handle yields what the coroutine returns, or Panicked with what it
  // threw. Shutdown cancels a task at its next suspension (or where it is suspended): its
  // frame is destroyed and the handle yields ExecutionFailed("NodeShuttingDown: ...").
  template <class T>
  [[nodiscard]] Result<TaskHandle<T>, NodeError> spawn(Priority priority, Coro<T> coro, OmegaRng& rng);
  // The pulse layer's queries and controls.
  [[nodiscard]] Pulse& pulse() noexcept;
  // An I/O operation as an awaitable for a Coro: co_await system.io(op) yields the
  // Result<IoOutput, TaskError> that submit_io_task's handle would (a refusal, after
  // shutdown, as ExecutionFailed("NodeShuttingDown")).
  class IoAwaiter;
  [[nodiscard]] IoAwaiter io(IoOp op, std::optional<Nanos> timeout = std::nullopt);
  // Stops accepting (NodeShuttingDown), resolves pending I/O with ExecutionFailed
  // ("shutting down"), runs everything accepted, joins all workers.
  void shutdown_all();
  // shutdown_all() for a thread that must not wait (the browser's main thread): begin_shutdown
  // stops accepting and tells every worker to drain the queues and exit, without joining;
  // once shutdown_finished() says every worker has exited and the queues are empty,
  // shutdown_all() joins without waiting (and runs the rare task whose push raced the close).
  // Without threads nothing drains by itself: run_pending() or shutdown_all() runs the work.
  void begin_shutdown() noexcept;
  [[nodiscard]] bool shutdown_finished() const noexcept;
  // Runs up to max_tasks queued tasks on the calling thread (how a single-threaded build
  // makes progress from the event loop); returns how many ran.
  std::size_t run_pending(std::size_t max_tasks = ~std::size_t{0});

  [[nodiscard]] NodesView nodes() const;
  [[nodiscard]] const SystemConfig& config() const;
  [[nodiscard]] MemoryStats memory_stats() const;
  // Per-node and system metrics: submitted, completed, rejected, panicked, pressure, threads,
  // queue-wait and run-time histograms (labels node, kind).
  [[nodiscard]] MetricsSnapshot metrics() const;
  [[nodiscard]] std::uint64_t maxed_out() const noexcept;  // SystemMaxedOut refusals

  // A stream of SystemSignal: thread scaling per node, SystemMaxedOut incidents, and the
  // completion rates that publish_completion_rate() measures. Each subscription has its own
  // bounded queue (`capacity` signals; overflow is dropped and counted).
  [[nodiscard]] SignalSubscription subscribe(std::size_t capacity = 1024);
  // Tasks completed per second since the previous call (or since build), published to
  // subscribers as a CompletionRate signal and returned. Call it on your own cadence.
  double publish_completion_rate();

 private:
  struct Impl;
  explicit UltraOmegaSystem(std::unique_ptr<Impl> impl);
  // Queues `task` on a node chosen by power-of-K; returns the node index.
  Result<std::size_t, NodeError> route(Task& task, Priority priority, std::uint32_t cost, OmegaRng& rng) noexcept;
  // Queues a prefix of tasks[0..n) on one node per routing attempt (n <= kBulkMax).
  // nodes_out[i] receives the node of accepted task i, when given.
  BatchResult route_bulk(Task* tasks, std::size_t n, Priority priority, std::uint32_t cost, OmegaRng& rng,
                         std::size_t* nodes_out = nullptr) noexcept;
  static bool drive(void* impl, std::size_t node, bool help) noexcept;
  // submit_io_task's body (io() has no rng to pass, and submit_io_task draws none).
  Result<TaskHandle<IoOutput>, NodeError> submit_io(IoOp op, std::optional<Nanos> timeout);
  // Registers a root frame with Pulse and routes its first poll; on refusal the frame is
  // destroyed and the state's task reference released.
  Result<std::size_t, NodeError> spawn_root(Priority priority, coro::coroutine_handle<> root, void* state, TaskId id,
                                            const detail::PulseTaskOps* ops, OmegaRng& rng);
  std::unique_ptr<Impl> impl_;

  template <class T, class Fn>
  struct Job;
};

// The queued form of a submit_cpu_task call: runs the work function, turns its outcome into
// the handle's Result, and gives up its reference to the shared state.
template <class T, class Fn>
struct UltraOmegaSystem::Job {
  detail::TaskState<T>* state;
  Fn fn;

  Job(detail::TaskState<T>* s, Fn&& f) noexcept(std::is_nothrow_move_constructible_v<Fn>)
      : state(s), fn(std::move(f)) {}
  Job(Job&& o) noexcept(std::is_nothrow_move_constructible_v<Fn>)
      : state(std::exchange(o.state, nullptr)), fn(std::move(o.fn)) {}
  Job(const Job&) = delete;
  ~Job() {
    if (state) state->release();  // destroyed without running (refused): drop our reference
  }

  // noexcept: the job catches what the work function throws itself (so the node runs it
  // without a try block of its own) and tells the node through note_panic().
  void operator()() noexcept {
    detail::TaskState<T>* s = std::exchange(state, nullptr);
    using R = std::invoke_result_t<Fn&>;
    try {
      if constexpr (std::is_same_v<R, Result<T, TaskError>>) {
        s->set(fn());
      } else if constexpr (std::is_void_v<R>) {
        fn();
        s->set(Result<void, TaskError>{});
      } else {
        s->set(Result<T, TaskError>(fn()));
      }
    } catch (const std::exception& e) {
      set_panicked(s, e.what());
    } catch (...) {
      set_panicked(s, "non-standard exception");
    }
    s->release();
  }

 private:
  static void set_panicked(detail::TaskState<T>* s, const char* what) noexcept {
    try {
      s->set(Err(TaskError::Panicked{what}));
    } catch (...) {
      // Out of memory for the message: the handle still learns that the task panicked.
      s->set(Err(TaskError::Panicked{std::string()}));
    }
    OmegaNode::note_panic();
  }
};

class UltraOmegaSystem::IoAwaiter : public detail::PulseAwaitable {
 public:
  explicit IoAwaiter(Result<TaskHandle<IoOutput>, NodeError> handle) noexcept : handle_(std::move(handle)) {}
  bool await_ready() noexcept {
    if (!handle_) return true;
    inner_.emplace(handle_->state());
    return inner_->await_ready();
  }
  bool await_suspend(coro::coroutine_handle<> h) noexcept { return inner_->await_suspend(h); }
  Result<IoOutput, TaskError> await_resume() {
    if (!handle_) return Err(TaskError::ExecutionFailed{std::string(to_string(handle_.error()))});
    return inner_->await_resume();
  }

 private:
  Result<TaskHandle<IoOutput>, NodeError> handle_;
  std::optional<detail::HandleAwaiter<IoOutput>> inner_;
};

template <class T>
Result<TaskHandle<T>, NodeError> UltraOmegaSystem::spawn(Priority priority, Coro<T> coro, OmegaRng& rng) {
  auto* state = detail::TaskState<T>::acquire(&UltraOmegaSystem::drive, impl_.get());
  TaskHandle<T> handle(state);
  auto root = coro.release();
  if (!root) {
    state->set(Err(TaskError::ExecutionFailed{"spawn: the Coro is empty (moved from or already spawned)"}));
    state->release();
    return handle;
  }
  auto node = spawn_root(priority, root, state, state->id(), &detail::CoroOps<T>::ops, rng);
  if (!node) return Err(node.error());
  state->set_node(*node);
  return handle;
}

template <class F, class R, class T>
Result<TaskHandle<T>, NodeError> UltraOmegaSystem::submit_cpu_task(Priority priority, std::uint32_t cost, F&& work,
                                                                    OmegaRng& rng) {
  static_assert(std::is_void_v<T> || std::is_move_constructible_v<T>, "task results are moved to the handle");
  auto* state = detail::TaskState<T>::acquire(&UltraOmegaSystem::drive, impl_.get());
  TaskHandle<T> handle(state);
  Task task(Job<T, std::decay_t<F>>(state, std::decay_t<F>(std::forward<F>(work))));
  auto node = route(task, priority, cost, rng);
  if (!node) return Err(node.error());  // task and handle drop their references
  state->set_node(*node);
  return handle;
}

}  // namespace omega
