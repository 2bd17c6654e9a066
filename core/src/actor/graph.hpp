#pragma once
// Internal to the actor layer: the records behind Graph, Team, Supervisor and ActorRef, and
// the team that polls its actors (a PulseDriver, so a Behavior's suspension points reach it).
//
// Threads: everything about an actor (its frame, wait, timers, restart bookkeeping) belongs to
// its team's thread; other threads reach it only through the team's inbox (wake-ups, via
// wake_task) and its control requests (shutdown, group restarts), which the team carries out
// between polls. Counters read by telemetry are single-writer atomics.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <omega/actor/actor.hpp>
#include <omega/actor/channel.hpp>
#include <omega/pulse/policy.hpp>

#include "pulse/runtime.hpp"

namespace omega::actor::detail {

using omega::detail::PulseTask;

class GraphImpl;
class TeamRecord;

class SupervisorRecord {
 public:
  SupervisorRecord(std::string n, SupervisorStrategy s, RestartPolicy p)
      : name(std::move(n)), strategy(s), policy(std::move(p)) {}
  std::string name;
  SupervisorStrategy strategy;
  RestartPolicy policy;
  std::vector<ActorRecord*> members;
};

class ActorRecord {
 public:
  ActorRecord(GraphImpl& g, std::string n, TeamRecord& t, bool own, std::unique_ptr<ActorBodyBase> b, Priority p,
              SupervisorRecord& s);

  GraphImpl& graph;
  const std::string name;
  TeamRecord& team;
  const bool own_thread;
  std::unique_ptr<ActorBodyBase> body;
  Context ctx;
  const Priority priority;
  SupervisorRecord& sup;

  // driver: the team; state: this record; root: the running frame, owned by this record.
  PulseTask task;

  // Team thread only.
  WaitAwaiter* wait = nullptr;     // the wait it is suspended in, if any
  std::uint64_t gen = 0;           // bumped at every resumption: older timers are stale
  bool started = false;
  bool finished = false;           // Stopped or Failed
  bool backing_off = false;
  bool sleeping = false;           // suspended in sleep_for/sleep_until (the team's timer wakes it)
  bool shutdown_seen = false;      // the team has told it of the shutdown request
  bool kick_wait = false;          // its current wait ends at once (returns false): shutdown
  std::int64_t sleep_until_ns = 0;
  std::int64_t armed_timer_at = -1;  // the periodic timer armed for this gen, if any
  std::uint64_t armed_timer_gen = 0;
  omega::TierState tier_state;
  std::vector<std::int64_t> recent_restarts;  // immediate restarts within the window
  std::uint32_t backoff_streak = 0;
  std::int64_t last_restart_ns = 0;
  std::vector<ChannelCore*> sends_on, receives_on;

  // Control from other threads, carried out by the team between polls.
  std::atomic<bool> restart_requested{false};  // an AllForOne sibling threw
  std::atomic<bool> fail_requested{false};     // an AllForOne sibling failed

  // Telemetry (single writer: the team thread).
  std::atomic<ActorState> state{ActorState::Starting};
  std::atomic<Tier> tier{Tier::Monitor};
  std::atomic<std::uint64_t> polls{0}, cpu_ns{0}, restarts{0}, wakes{0};

  ~ActorRecord();
  ActorRecord(const ActorRecord&) = delete;
  ActorRecord& operator=(const ActorRecord&) = delete;
  std::int64_t& periodic_anchor() noexcept { return ctx.periodic_anchor_ns_; }
  static void bump(std::atomic<std::uint64_t>& c, std::uint64_t k = 1) noexcept {
    c.store(c.load(std::memory_order_relaxed) + k, std::memory_order_relaxed);
  }
};

// Actors sharing one thread. Also the PulseDriver of their tasks.
class TeamRecord final : public omega::detail::PulseDriver {
 public:
  TeamRecord(GraphImpl& g, std::string n, bool spawned) : graph(g), name(std::move(n)), spawned_for_one(spawned) {}
  ~TeamRecord();

  GraphImpl& graph;
  const std::string name;
  const bool spawned_for_one;  // made by Threading::Spawn for one actor
  std::vector<ActorRecord*> actors;

  // PulseDriver.
  void push(PulseTask* task) noexcept override;
  void sleep_until(PulseTask* task, std::int64_t deadline_ns) noexcept override;

  // Starts the thread (false: it could not start, or the platform has none).
  bool start_thread();
  void stop_thread() noexcept;
  [[nodiscard]] bool threaded() const noexcept { return threaded_; }
  // One round on the calling thread: inbox, timers, control, then up to max_polls polls.
  std::size_t turn(std::size_t max_polls) noexcept;
  // A control request for the team thread (shutdown, group restart): carried out at its next turn.
  void post_control() noexcept;
  // The earliest timer (for inline serving), or -1.
  [[nodiscard]] std::int64_t next_deadline() const noexcept;
  // Team thread: a timer for `a` (wakes it if it has not resumed since).
  void add_timer(ActorRecord& a, std::int64_t deadline_ns, bool restart) noexcept;
  // Team thread: queue a poll of a runnable actor.
  void enqueue(PulseTask* task) noexcept;
  // Team thread: the actor's Behavior ended (returned or threw) or its group asks it to
  // restart or fail.
  void restart(ActorRecord& a) noexcept;
  void finish(ActorRecord& a, ActorState how, std::string what) noexcept;
  void on_throw(ActorRecord& a, std::string what) noexcept;

 private:
  struct Timer {
    std::int64_t at;
    ActorRecord* actor;
    std::uint64_t gen;
    bool restart;  // a backoff ended: restart rather than wake
    bool operator>(const Timer& o) const noexcept { return at > o.at; }
  };
  void loop() noexcept;
  void poll(ActorRecord& a) noexcept;
  void drain_inbox() noexcept;
  void fire_timers(std::int64_t now) noexcept;
  void run_control() noexcept;
  bool pick(PulseTask*& out) noexcept;
  void idle_wait() noexcept;

  // Team thread.
  std::deque<PulseTask*> front_, back_;
  std::vector<Timer> timers_;  // a min-heap
  std::uint32_t picks_ = 0;
  std::vector<PulseTask*> drained_;

  // Other threads.
  std::mutex inbox_mutex_;
  std::vector<PulseTask*> inbox_;
  std::atomic<bool> inbox_nonempty_{false};
  std::atomic<bool> control_{false};
  std::atomic<std::uint32_t> word_{0};
  std::atomic<bool> parked_{false};
  std::atomic<bool> stop_{false};
  std::atomic<std::int64_t> next_deadline_{-1};
  std::thread thread_;
  bool threaded_ = false;
};

// The team whose thread is running (null elsewhere).
inline thread_local constinit TeamRecord* t_team = nullptr;

class GraphImpl {
 public:
  GraphImpl(std::chrono::milliseconds period, omega::PulseConfig pulse, RestartPolicy restart,
            std::chrono::milliseconds grace);
  ~GraphImpl();

  Graph* facade = nullptr;  // for Context::graph()
  const std::chrono::milliseconds telemetry_period;
  const omega::PulseConfig pulse;
  const omega::ScaledPolicies budgets;
  const std::chrono::milliseconds grace;

  std::vector<std::unique_ptr<ChannelCore>> channels;
  std::vector<std::unique_ptr<TeamRecord>> teams;
  std::vector<std::unique_ptr<SupervisorRecord>> supervisors;
  std::vector<std::unique_ptr<ActorRecord>> actors;
  SupervisorRecord* root_supervisor = nullptr;

  std::atomic<bool> started{false};
  std::atomic<bool> shutdown{false};
  std::atomic<std::size_t> live{0};         // actors neither Stopped nor Failed
  std::atomic<std::uint32_t> stop_word{0};  // bumped when an actor finishes
  std::int64_t started_ns = 0;

  // Supervision events.
  void emit(ActorEvent e);
  std::function<void(const ActorEvent&)> subscriber;
  std::mutex subscriber_mutex;  // teams report concurrently; the subscriber sees one at a time
  mutable std::mutex events_mutex;
  std::deque<ActorEvent> recent;

  // Telemetry.
  Telemetry sample_now(const Telemetry* previous) const;
  // A frame against the latest one, stored as the latest (the sampler's and the inline step).
  void take_frame();
  void sampler_loop() noexcept;
  void maybe_sample_inline() noexcept;
  mutable std::mutex frame_mutex;
  std::shared_ptr<const Telemetry> frame;
  std::thread sampler;
  std::atomic<bool> sampler_stop{false};
  std::atomic<std::uint32_t> sampler_word{0};
  std::int64_t next_inline_sample_ns = 0;

  // An actor finished (Stopped or Failed): wake whoever waits for the graph to stop.
  void actor_finished() noexcept;
  void stop_all_threads() noexcept;
  void check_name(const std::string& kind, const std::string& name) const;
};


}  // namespace omega::actor::detail
