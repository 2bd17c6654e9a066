#pragma once
// A single-threaded event loop on epoll + eventfd + timerfd: file-descriptor handlers,
// one-shot timers, work posted from other threads, and work deferred to the end of the
// current turn. The native platform's only epoll_wait: omega-gateway runs on it, and so
// does the I/O circulation's reactor (epoll_reactor.cpp: submissions are post()ed, operation
// timeouts are timers, sockets are fd handlers).
//
// Contracts:
// - Everything except post() and stop() is called on the loop's thread (the thread that
//   calls run()/run_once()), or before the loop runs.
// - A handler may add, modify and remove any registration, its own included; an event
//   already collected for a registration that was removed in the same turn is not delivered
//   (registrations are named by a never-reused 64-bit id, not by the fd, whose number the
//   kernel may hand out again at once).
// - Timers fire no earlier than their deadline (CLOCK_MONOTONIC, absolute timerfd), in
//   deadline order, ties in creation order; a cancelled timer never fires.
// - post() is safe from any thread and from signal-free contexts; posted functions run on
//   the loop's thread, in posting order, in a later turn. It writes the eventfd only when
//   the loop sleeps or is about to: a loop that is awake (or polling) sees posts anyway.
// - Options::poll_ns: after a turn that did work (events, timers, posts or deferred work),
//   run() polls (epoll_wait with timeout 0, yielding in between) for this long before it
//   sleeps: a request/response peer usually answers within it, and a polling loop needs no
//   eventfd write and no wake-up to see it. Options::wakeups counts returns from a
//   sleeping epoll_wait (polls are not counted).
// - defer() runs a function after the current turn's events, timers and posts: callers
//   batch work there (flush many queued sends in one syscall each).
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <omega/base/counter.hpp>
#include <omega/base/result.hpp>

namespace omega::native {

class EventLoop {
 public:
  // Receives the epoll event bits (EPOLLIN, EPOLLOUT, EPOLLHUP, EPOLLERR, EPOLLRDHUP).
  using FdHandler = std::function<void(std::uint32_t events)>;
  using Task = std::function<void()>;
  using RegistrationId = std::uint64_t;
  using TimerId = std::uint64_t;

  struct Options {
    std::int64_t poll_ns = 0;    // poll this long after a turn with work before sleeping
    Counter* wakeups = nullptr;  // counts returns from a sleeping epoll_wait; outlives the loop
  };

  // Fails (with errno's text) only when the kernel refuses epoll, eventfd or timerfd.
  static Result<std::unique_ptr<EventLoop>, std::string> create();
  static Result<std::unique_ptr<EventLoop>, std::string> create(Options options);
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Registers fd for `events` (EPOLLIN | EPOLLOUT | EPOLLET ...). The loop does not own fd:
  // remove it before closing it.
  Result<RegistrationId, std::string> add_fd(int fd, std::uint32_t events, FdHandler handler);
  Result<void, std::string> modify_fd(RegistrationId id, std::uint32_t events);
  // Unknown or already removed ids are ignored (removal is idempotent).
  void remove_fd(RegistrationId id);

  // Runs `task` once, `delay_ns` (>= 0) from now.
  TimerId add_timer(std::int64_t delay_ns, Task task);
  // True if the timer was pending and now never fires.
  bool cancel_timer(TimerId id);

  void post(Task task);   // any thread
  void defer(Task task);  // loop thread: after this turn
  void stop();            // any thread: run() returns after the current turn

  // Runs turns until stop(). A turn: wait for events (at most `max_wait_ns`, -1 = until
  // something happens), dispatch them, fire due timers, run posted then deferred tasks.
  // run() polls between turns as Options::poll_ns says; run_once() never polls.
  void run();
  void run_once(std::int64_t max_wait_ns);

  [[nodiscard]] std::size_t registrations() const noexcept { return handlers_.size(); }
  [[nodiscard]] std::size_t pending_timers() const noexcept { return timers_.size(); }
  // CLOCK_MONOTONIC in nanoseconds: the clock timers are measured against.
  [[nodiscard]] static std::int64_t now_ns() noexcept;

 private:
  EventLoop(int epoll_fd, int wake_fd, int timer_fd, Options options) noexcept;
  // One turn; true if it did work (dispatched an event, fired a timer, ran a task).
  bool turn(std::int64_t max_wait_ns);
  void arm_timer();
  bool fire_timers();
  bool run_posted();
  bool run_deferred();
  void signal() noexcept;

  const Options options_;
  int epoll_fd_;
  int wake_fd_;
  int timer_fd_;
  std::int64_t armed_deadline_ = -1;  // what timer_fd_ is set to; -1: disarmed

  RegistrationId next_registration_ = 1;  // 0 and ~0 are the eventfd's and timerfd's keys
  // shared_ptr: a handler that removes itself keeps running to its end.
  std::unordered_map<RegistrationId, std::shared_ptr<FdHandler>> handlers_;
  std::unordered_map<RegistrationId, int> fds_;

  TimerId next_timer_ = 1;
  std::map<std::pair<std::int64_t, TimerId>, Task> timers_;  // (deadline, id): deadline order, ties by id
  std::unordered_map<TimerId, std::int64_t> timer_deadlines_;

  std::vector<Task> deferred_;

  std::mutex post_mutex_;
  std::vector<Task> posted_;  // guarded by post_mutex_
  bool stop_ = false;         // guarded by post_mutex_
  // Guarded by post_mutex_: the eventfd was written, or the loop is awake and will look at
  // posted_ before it sleeps again; false once the loop decided to sleep.
  bool signalled_ = false;
};

}  // namespace omega::native
