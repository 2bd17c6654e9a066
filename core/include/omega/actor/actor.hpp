#pragma once
// Actors (seed 003, steady_state's "performant" lesson): a Graph of actors joined by bounded
// channels (omega/actor/channel.hpp). An actor's behaviour is a coroutine (Behavior, the pulse
// layer's Coro<void>) that waits for conditions on its channels and moves data in batches.
// Lightweight actors share one thread as a Team; heavy ones get a thread of their own. An
// actor that throws is restarted with the same state object; a Graph shuts down by letting
// every actor finish what its inputs hold.
//
//   oa::Graph graph = oa::Graph::builder().with_telemetry_period(std::chrono::milliseconds(100)).build();
//   auto [tx, rx] = graph.channel<std::uint64_t>("values", 8192);
//   oa::Team team = graph.team("light");
//   graph.actor("generator", oa::Threading::Join(team), GeneratorState{},
//       [tx = std::move(tx)](oa::Context& ctx, GeneratorState& s) mutable -> oa::Behavior {
//         while (ctx.is_running()) {
//           co_await ctx.wait_for_all(tx.vacant(256));
//           ...
//         }
//       });
//   graph.start();
//   graph.request_shutdown();
//   graph.block_until_stopped(std::chrono::seconds(5));
//
// Contracts:
// - A team's actors are polled by one thread, one poll at a time, under pulse budgets
//   (omega/pulse/policy.hpp: units per poll, time per poll, scaled by the actor's priority;
//   tiers from Monitor to Isolate). A poll lasts until the behaviour waits or its budget is
//   spent at a wait or checkpoint(): the team then polls its next runnable actor, so actors
//   sharing a thread take turns. Actors at Yield and Isolate run after the others (one poll
//   in kBackLaneEvery at least, so that none starves).
// - Threading::Spawn gives the actor a team (and a thread) of its own. Where the platform has
//   no threads (the single-threaded WASM build), or a team's thread cannot start, its actors
//   are polled by whoever calls run_pending() or block_until_stopped(): every team then shares
//   the caller's thread, served round-robin.
// - Waits (Context::wait_for_all and friends) never poll: the channel end that changes wakes
//   the waiter, periodic conditions wake from the team's timer. A wait whose conditions
//   already hold costs one budget unit and suspends only when the budget is spent. Inside a
//   behaviour one may also co_await what a Coro may (checkpoint, sleep_for, another Coro, a
//   TaskHandle, UltraOmegaSystem::io).
// - Supervision: a behaviour that throws is restarted (a new coroutine from the same
//   function, with the same state object) by its Supervisor: at once for RestartPolicy::
//   max_restarts restarts within RestartPolicy::window, then after an exponential backoff,
//   and after max_backoff_restarts such restarts in a row the actor is Failed.
//   SupervisorStrategy::OneForOne restarts (and fails) only the actor concerned; AllForOne
//   restarts every actor of that supervisor when one throws (each reports its own Restarted
//   event), and fails them all together.
//   Restarts and failures are counted (telemetry) and reported to on_event subscribers.
// - A behaviour that returns has Stopped: the channels it sent on are closed (their receivers
//   drain them, then see is_closed_and_empty()), the channels it received on refuse senders.
//   A Failed actor's channels are closed the same way.
// - request_shutdown() asks every actor to stop: Context::is_running() turns false; a wait in
//   progress that includes a vacant or periodic condition ends once (co_await yields false)
//   so that a producer can look; waits that include a periodic condition end at once from
//   then on; waits for input go on until it holds or its sender closes. Senders that no
//   actor holds and nobody has used are closed. An actor that loops on is_running(rx...)
//   keeps going until those inputs are closed and drained (their senders stopped): nothing
//   accepted is lost.
// - Telemetry: every period a sampler takes a frame (per actor: polls, CPU %, restarts, state,
//   tier; per channel: fill, messages per second, sent, taken, drops, latency by Little's law)
//   from counters the actors and channels keep anyway; telemetry() returns the latest one.
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <omega/actor/channel.hpp>
#include <omega/base/clock.hpp>
#include <omega/base/metrics.hpp>
#include <omega/base/priority.hpp>
#include <omega/pulse/coro.hpp>
#include <omega/pulse/policy.hpp>
#include <omega/pulse/types.hpp>

namespace omega::actor {

// An actor's behaviour: a pulse coroutine.
using Behavior = omega::Coro<void>;

class Graph;
class Context;

namespace detail {
class GraphImpl;
class TeamRecord;
class SupervisorRecord;

// What the Graph keeps of an actor: its state object and the function that makes a
// behaviour from it (called again at each restart).
struct ActorBodyBase {
  virtual ~ActorBodyBase() = default;
  virtual Behavior make(Context& ctx) = 0;
  // Where the behaviour's function (its captures) lives: channel ends inside it are the actor's.
  [[nodiscard]] virtual std::pair<const void*, std::size_t> captures() const noexcept = 0;
};
template <class S, class F>
struct ActorBody final : ActorBodyBase {
  ActorBody(S s, F f) : state(std::move(s)), fn(std::move(f)) {}
  Behavior make(Context& ctx) override { return fn(ctx, state); }
  std::pair<const void*, std::size_t> captures() const noexcept override { return {&fn, sizeof(F)}; }
  S state;
  F fn;
};
}  // namespace detail

// Actors that share one thread (served cooperatively).
class Team {
 public:
  Team() noexcept = default;
  [[nodiscard]] std::string_view name() const noexcept;
  [[nodiscard]] bool valid() const noexcept { return rec_ != nullptr; }

 private:
  friend class Graph;
  friend class Threading;
  explicit Team(detail::TeamRecord* rec) noexcept : rec_(rec) {}
  detail::TeamRecord* rec_ = nullptr;
};

// Where an actor runs: a thread of its own (Spawn) or a team's (Join(team)).
class Threading {
 public:
  static const Threading Spawn;
  static Threading Join(Team& team) noexcept { return Threading(team.rec_); }
  [[nodiscard]] bool spawns() const noexcept { return team_ == nullptr; }

 private:
  friend class Graph;
  constexpr explicit Threading(detail::TeamRecord* team) noexcept : team_(team) {}
  detail::TeamRecord* team_ = nullptr;
};
inline const Threading Threading::Spawn{nullptr};

enum class SupervisorStrategy : std::uint8_t { OneForOne, AllForOne };

// Restart intensity (Erlang/Akka style) and the backoff after it.
struct RestartPolicy {
  std::uint32_t max_restarts = 10;                       // immediate restarts allowed within `window`
  std::chrono::milliseconds window{1000};
  std::chrono::milliseconds backoff_initial{10};         // the first delayed restart waits this long,
  std::chrono::milliseconds backoff_max{1000};           // each next one twice as long, up to this
  std::uint32_t max_backoff_restarts = 5;                // delayed restarts in a row before Failed
  // Why this policy is unusable, or empty (each reason names the field).
  [[nodiscard]] std::string validate() const;
};

// A supervisor: the restart policy and strategy for the actors placed under it.
class Supervisor {
 public:
  Supervisor() noexcept = default;
  [[nodiscard]] std::string_view name() const noexcept;
  [[nodiscard]] bool valid() const noexcept { return rec_ != nullptr; }

 private:
  friend class Graph;
  friend struct ActorOptions;
  explicit Supervisor(detail::SupervisorRecord* rec) noexcept : rec_(rec) {}
  detail::SupervisorRecord* rec_ = nullptr;
};

struct ActorOptions {
  Priority priority = Priority::Normal;  // scales the actor's pulse budgets
  Supervisor supervisor;                 // none: the graph's (OneForOne, the builder's policy)
  ActorOptions& with_priority(Priority p) noexcept {
    priority = p;
    return *this;
  }
  ActorOptions& with_supervisor(Supervisor s) noexcept {
    supervisor = s;
    return *this;
  }
};

enum class ActorState : std::uint8_t {
  Starting,    // added, not yet polled
  Running,     // runnable or being polled
  Waiting,     // suspended on a wait, a sleep or a result
  BackingOff,  // thrown past its restart intensity: restarts when the backoff ends
  Stopped,     // the behaviour returned
  Failed,      // restarts exhausted (or its AllForOne group failed)
};
[[nodiscard]] std::string_view to_string(ActorState s) noexcept;

// A supervision event, reported to on_event subscribers on the actor's team thread.
struct ActorEvent {
  enum class Kind : std::uint8_t { Restarted, BackingOff, Failed, Stopped, GroupRestart };
  Kind kind = Kind::Restarted;
  std::string actor;
  std::string what;             // the exception's message (Restarted, BackingOff, Failed)
  std::uint64_t restarts = 0;   // the actor's restarts so far
  std::int64_t backoff_ns = 0;  // BackingOff: how long until the restart
  std::int64_t at_ns = 0;
};
[[nodiscard]] std::string_view to_string(ActorEvent::Kind k) noexcept;

// What a wait resumes with (co_await ctx.wait_for_all(...) yields a bool: true when the
// conditions hold, false when it returned because shutdown was asked).
struct WaitAwaiter : omega::detail::PulseAwaitable {
  enum Mode : std::uint8_t { kAll, kAllOrUpon, kAny };
  static constexpr std::size_t kMaxConds = 8;
  Context* ctx = nullptr;
  Mode mode = kAll;
  std::uint8_t n = 0;
  bool spent = false;   // the conditions held but the budget is spent: the suspension is a yield
  bool result = false;  // what await_resume gives
  std::array<detail::Cond, kMaxConds> conds{};

  bool await_ready() noexcept;
  bool await_suspend(coro::coroutine_handle<> h) noexcept;
  bool await_resume() noexcept { return result; }
};

// An actor's view of the graph, passed to its behaviour (the same object across restarts).
class Context {
 public:
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  // False once shutdown was asked (or the actor must restart for its AllForOne group).
  [[nodiscard]] bool is_running() noexcept;
  // False once every given input is closed and drained (its sender stopped), and, before
  // shutdown, true while any of them is open.
  template <class... R>
  [[nodiscard]] bool is_running(R&... inputs) noexcept {
    static_assert(sizeof...(R) > 0);
    flush();
    if (restart_requested()) return false;
    return !(inputs.is_closed_and_empty() && ...);
  }

  // Waits until every condition holds.
  template <class... C>
  [[nodiscard]] WaitAwaiter wait_for_all(C... conds) noexcept {
    return make_wait(WaitAwaiter::kAll, conds...);
  }
  // Waits until every condition holds, or `upon` (typically periodic(d)) does.
  template <class... C>
  [[nodiscard]] WaitAwaiter wait_for_all_or_proceed_upon(detail::Cond upon, C... conds) noexcept {
    return make_wait(WaitAwaiter::kAllOrUpon, upon, conds...);
  }
  // Waits until any condition holds.
  template <class... C>
  [[nodiscard]] WaitAwaiter wait_for_any(C... conds) noexcept {
    return make_wait(WaitAwaiter::kAny, conds...);
  }
  // A condition that holds once `period` has passed since the last wait it ended (the
  // first time: since the actor started); it then counts from its previous deadline, so a
  // periodic actor keeps its rate rather than drifting.
  template <class Rep, class Period>
  [[nodiscard]] detail::Cond periodic(std::chrono::duration<Rep, Period> period) const noexcept {
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(period).count();
    return detail::Cond{detail::Cond::kPeriodic, nullptr, static_cast<std::uint64_t>(ns > 0 ? ns : 1)};
  }

  // Asks the whole graph to shut down (as Graph::request_shutdown).
  void request_shutdown() noexcept;
  [[nodiscard]] std::string_view name() const noexcept;
  [[nodiscard]] std::uint64_t restarts() const noexcept;
  [[nodiscard]] Graph& graph() noexcept;

 private:
  friend class detail::GraphImpl;
  friend struct WaitAwaiter;
  friend class detail::ActorRecord;
  explicit Context(detail::ActorRecord* actor) noexcept : actor_(actor) {}
  void flush() noexcept {
    if (detail::PollScope* s = detail::t_scope; s != nullptr && s->n > 0) detail::flush_scope(*s);
  }
  [[nodiscard]] bool restart_requested() const noexcept;
  template <class... C>
  WaitAwaiter make_wait(WaitAwaiter::Mode mode, C... conds) noexcept {
    static_assert(sizeof...(C) <= WaitAwaiter::kMaxConds, "at most 8 conditions per wait");
    static_assert((std::is_same_v<C, detail::Cond> && ...), "conditions come from avail(n), vacant(n), periodic(d)");
    WaitAwaiter w;
    w.ctx = this;
    w.mode = mode;
    ((w.conds[w.n++] = conds), ...);
    return w;
  }

  detail::ActorRecord* actor_;
  std::int64_t periodic_anchor_ns_ = 0;  // the periodic condition's last deadline
};

// A handle to an actor, for its name and standing.
class ActorRef {
 public:
  ActorRef() noexcept = default;
  [[nodiscard]] std::string_view name() const noexcept;
  [[nodiscard]] ActorState state() const noexcept;
  [[nodiscard]] std::uint64_t restarts() const noexcept;
  [[nodiscard]] bool valid() const noexcept { return rec_ != nullptr; }

 private:
  friend class Graph;
  explicit ActorRef(detail::ActorRecord* rec) noexcept : rec_(rec) {}
  detail::ActorRecord* rec_ = nullptr;
};

// ---- telemetry ----------------------------------------------------------------------------

struct ActorTelemetry {
  std::string name;
  std::string team;
  bool own_thread = false;   // Threading::Spawn
  ActorState state = ActorState::Starting;
  Tier tier = Tier::Monitor;
  std::uint64_t polls = 0;
  std::uint64_t cpu_ns = 0;  // time in polls since start
  double cpu_percent = 0;    // of one core, over the last period
  std::uint64_t restarts = 0;
  std::uint64_t wakes = 0;   // times it was woken from a wait
};

struct ChannelTelemetry {
  std::string name;
  std::string from;          // the sending actor ("" until it first used its end; "(outside)": not an actor)
  std::string to;            // the receiving actor (the same)
  std::size_t capacity = 0;
  std::size_t len = 0;
  double fill_percent = 0;
  double msgs_per_sec = 0;   // taken per second over the last period
  double latency_ms = 0;     // Little's law: len / rate (0 when idle)
  Overflow overflow = Overflow::Block;
  ChannelCounters counters;
  bool closed = false;
};

struct Telemetry {
  std::uint64_t seq = 0;     // frames taken so far (0: computed on demand, no rates yet)
  std::int64_t at_ns = 0;
  double period_s = 0;       // the span the rates cover
  bool shutting_down = false;
  bool stopped = false;
  std::vector<ActorTelemetry> actors;
  std::vector<ChannelTelemetry> channels;

  [[nodiscard]] std::string to_json() const;
  // Prometheus text exposition 0.0.4 (omega_actor_*, omega_channel_*).
  [[nodiscard]] std::string to_prometheus() const;
  // Graphviz: actors as nodes (clustered by team), channels as edges labelled with their rate
  // and fill, coloured green / orange / red by fill.
  [[nodiscard]] std::string to_dot() const;
  [[nodiscard]] MetricsSnapshot to_metrics() const;
  [[nodiscard]] const ActorTelemetry* actor(std::string_view name) const noexcept;
  [[nodiscard]] const ChannelTelemetry* channel(std::string_view name) const noexcept;
};

// ---- the graph ----------------------------------------------------------------------------

class Graph {
 public:
  class Builder {
   public:
    // 0 disables the sampler: telemetry() then takes a frame when asked (rates since the last ask).
    Builder& with_telemetry_period(std::chrono::milliseconds period) noexcept {
      telemetry_period_ = period;
      return *this;
    }
    // Budgets and tiers for the actors' polls (default: PulseProfile::Balanced).
    Builder& with_pulse(PulseConfig config) {
      pulse_ = std::move(config);
      return *this;
    }
    // The graph's own supervisor (OneForOne) uses this policy.
    Builder& with_restart_policy(RestartPolicy policy) {
      restart_ = std::move(policy);
      return *this;
    }
    // How long ~Graph waits for actors to stop after asking them to, before it stops their
    // threads and destroys what is left.
    Builder& with_shutdown_grace(std::chrono::milliseconds grace) noexcept {
      grace_ = grace;
      return *this;
    }
    // Throws std::invalid_argument naming the bad field (a negative period, an invalid
    // PulseConfig or RestartPolicy).
    [[nodiscard]] Graph build();

   private:
    std::chrono::milliseconds telemetry_period_{100};
    PulseConfig pulse_ = PulseConfig::profile(PulseProfile::Balanced);
    RestartPolicy restart_;
    std::chrono::milliseconds grace_{5000};
  };
  [[nodiscard]] static Builder builder() { return Builder{}; }

  Graph(Graph&&) noexcept;
  Graph& operator=(Graph&&) noexcept;
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;
  // Asks for shutdown, waits up to the grace period, then stops the threads and destroys
  // the actors and channels.
  ~Graph();

  // A bounded channel of `capacity` items (1 to 2^30) with one sender and one receiver.
  // Names are unique within the graph. Throws std::invalid_argument (bad capacity, empty or
  // duplicate name) or std::logic_error (the graph has started).
  template <class T>
  [[nodiscard]] std::pair<Tx<T>, Rx<T>> channel(std::string name, std::size_t capacity,
                                                Overflow overflow = Overflow::Block) {
    auto ch = std::make_unique<detail::Channel<T>>(checked_channel_name(name, capacity), capacity, overflow);
    auto* raw = ch.get();
    add_channel(std::move(ch));
    return {Tx<T>(raw), Rx<T>(raw)};
  }
  // A team: its actors share one thread. Throws as channel() does for a bad name.
  [[nodiscard]] Team team(std::string name);
  [[nodiscard]] Supervisor supervisor(std::string name, SupervisorStrategy strategy, RestartPolicy policy = {});

  // Adds an actor: `behavior(ctx, state)` makes its coroutine, again at each restart, with
  // the same `state` (which the graph keeps). Throws as channel() does.
  template <class S, class F>
  ActorRef actor(std::string name, Threading threading, S state, F behavior, ActorOptions options = {}) {
    static_assert(std::is_invocable_r_v<Behavior, F&, Context&, S&>,
                  "an actor's behaviour is callable as (omega::actor::Context&, State&) -> omega::actor::Behavior");
    return add_actor(std::move(name), threading,
                     std::make_unique<detail::ActorBody<S, F>>(std::move(state), std::move(behavior)), options);
  }

  // Starts the teams' threads (once).
  void start();
  void request_shutdown() noexcept;
  [[nodiscard]] bool shutdown_requested() const noexcept;
  // Waits until every actor has Stopped or Failed (true), or the timeout passed (false).
  // Serves the teams that have no thread meanwhile.
  bool block_until_stopped(std::chrono::nanoseconds timeout);
  [[nodiscard]] bool stopped() const noexcept;
  // Polls the actors of teams without a thread (the single-threaded build's event loop
  // calls this), and takes a telemetry frame when one is due. Returns the polls it ran.
  std::size_t run_pending(std::size_t max_polls = 1024);
  // The next time something without a thread is due (a timer), or -1: for event loops.
  [[nodiscard]] std::int64_t next_deadline_ns() const noexcept;

  [[nodiscard]] Telemetry telemetry() const;
  [[nodiscard]] std::string to_dot() const { return telemetry().to_dot(); }
  [[nodiscard]] MetricsSnapshot metrics() const { return telemetry().to_metrics(); }
  // Called for every supervision event, on the team's thread (or the thread serving it), one
  // call at a time; set before start().
  void on_event(std::function<void(const ActorEvent&)> subscriber);
  [[nodiscard]] std::vector<ActorEvent> recent_events() const;  // the last 64

  [[nodiscard]] std::size_t actor_count() const noexcept;
  [[nodiscard]] std::size_t team_count() const noexcept;
  // Teams whose thread runs (the others are served by run_pending).
  [[nodiscard]] std::size_t threaded_teams() const noexcept;

 private:
  explicit Graph(std::unique_ptr<detail::GraphImpl> impl) noexcept;
  std::string checked_channel_name(std::string& name, std::size_t capacity) const;
  void add_channel(std::unique_ptr<detail::ChannelCore> ch);
  ActorRef add_actor(std::string name, Threading threading, std::unique_ptr<detail::ActorBodyBase> body,
                     ActorOptions options);
  std::unique_ptr<detail::GraphImpl> impl_;
};

}  // namespace omega::actor
