#include "event_loop.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <thread>

#include <omega/base/assert.hpp>

#include "syscall.hpp"

namespace omega::native {
namespace {

constexpr std::uint64_t kWakeKey = 0;
constexpr std::uint64_t kTimerKey = ~std::uint64_t{0};

}  // namespace

std::int64_t EventLoop::now_ns() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

Result<std::unique_ptr<EventLoop>, std::string> EventLoop::create() { return create(Options{}); }

Result<std::unique_ptr<EventLoop>, std::string> EventLoop::create(Options options) {
  const int ep = ::epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) return Err(errno_text("epoll_create1", errno));
  const int wake = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake < 0) {
    const int e = errno;
    ::close(ep);
    return Err(errno_text("eventfd", e));
  }
  const int timer = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (timer < 0) {
    const int e = errno;
    ::close(ep);
    ::close(wake);
    return Err(errno_text("timerfd_create", e));
  }
  epoll_event ev{};
  ev.events = EPOLLIN;  // level-triggered: both are drained on every report
  ev.data.u64 = kWakeKey;
  bool ok = ::epoll_ctl(ep, EPOLL_CTL_ADD, wake, &ev) == 0;
  ev.data.u64 = kTimerKey;
  ok = ok && ::epoll_ctl(ep, EPOLL_CTL_ADD, timer, &ev) == 0;
  if (!ok) {
    const int e = errno;
    ::close(ep);
    ::close(wake);
    ::close(timer);
    return Err(errno_text("epoll_ctl", e));
  }
  return std::unique_ptr<EventLoop>(new EventLoop(ep, wake, timer, options));
}

EventLoop::EventLoop(int epoll_fd, int wake_fd, int timer_fd, Options options) noexcept
    : options_(options), epoll_fd_(epoll_fd), wake_fd_(wake_fd), timer_fd_(timer_fd) {}

EventLoop::~EventLoop() {
  ::close(timer_fd_);
  ::close(wake_fd_);
  ::close(epoll_fd_);
}

Result<EventLoop::RegistrationId, std::string> EventLoop::add_fd(int fd, std::uint32_t events, FdHandler handler) {
  const RegistrationId id = next_registration_++;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = id;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) return Err(errno_text("epoll_ctl(ADD)", errno));
  handlers_.emplace(id, std::make_shared<FdHandler>(std::move(handler)));
  fds_.emplace(id, fd);
  return id;
}

Result<void, std::string> EventLoop::modify_fd(RegistrationId id, std::uint32_t events) {
  auto it = fds_.find(id);
  if (it == fds_.end()) return Err(std::string("modify_fd: unknown registration"));
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = id;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, it->second, &ev) != 0) return Err(errno_text("epoll_ctl(MOD)", errno));
  return {};
}

void EventLoop::remove_fd(RegistrationId id) {
  auto it = fds_.find(id);
  if (it == fds_.end()) return;
  // The fd may already be closed by a careless caller; EBADF then changes nothing.
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, it->second, nullptr);
  fds_.erase(it);
  handlers_.erase(id);
}

EventLoop::TimerId EventLoop::add_timer(std::int64_t delay_ns, Task task) {
  const TimerId id = next_timer_++;
  const std::int64_t deadline = now_ns() + (delay_ns > 0 ? delay_ns : 0);
  timers_.emplace(std::make_pair(deadline, id), std::move(task));
  timer_deadlines_.emplace(id, deadline);
  arm_timer();
  return id;
}

bool EventLoop::cancel_timer(TimerId id) {
  auto it = timer_deadlines_.find(id);
  if (it == timer_deadlines_.end()) return false;
  timers_.erase(std::make_pair(it->second, id));
  timer_deadlines_.erase(it);
  // The timerfd may stay armed for the cancelled deadline: one spurious wake-up at most.
  return true;
}

void EventLoop::arm_timer() {
  const std::int64_t want = timers_.empty() ? -1 : timers_.begin()->first.first;
  if (want == armed_deadline_) return;
  itimerspec spec{};
  if (want >= 0) {
    // An absolute deadline of 0 would disarm the timerfd; 1 ns is long past anyway.
    const std::int64_t at = want > 0 ? want : 1;
    spec.it_value.tv_sec = at / 1'000'000'000;
    spec.it_value.tv_nsec = at % 1'000'000'000;
  }
  OMEGA_ASSERT(::timerfd_settime(timer_fd_, TFD_TIMER_ABSTIME, &spec, nullptr) == 0, "timerfd_settime failed");
  armed_deadline_ = want;
}

bool EventLoop::fire_timers() {
  const std::int64_t now = now_ns();
  // Fire only what was due when we looked: a timer added by a firing timer with delay 0
  // runs in the next turn, so a self-re-arming timer cannot starve the loop.
  std::vector<Task> due;
  while (!timers_.empty() && timers_.begin()->first.first <= now) {
    auto node = timers_.extract(timers_.begin());
    timer_deadlines_.erase(node.key().second);
    due.push_back(std::move(node.mapped()));
  }
  for (auto& task : due) task();
  return !due.empty();
}

void EventLoop::signal() noexcept {
  const std::uint64_t one = 1;
  // EAGAIN only when the counter is near overflow: the loop is being woken anyway.
  [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
}

void EventLoop::post(Task task) {
  bool wake;
  {
    std::lock_guard lock(post_mutex_);
    posted_.push_back(std::move(task));
    wake = !std::exchange(signalled_, true);
  }
  if (wake) signal();
}

void EventLoop::defer(Task task) { deferred_.push_back(std::move(task)); }

void EventLoop::stop() {
  {
    std::lock_guard lock(post_mutex_);
    stop_ = true;
    signalled_ = true;
  }
  signal();
}

bool EventLoop::run_posted() {
  std::vector<Task> batch;
  {
    std::lock_guard lock(post_mutex_);
    batch.swap(posted_);
    signalled_ = true;  // awake: posts need not write the eventfd until the loop sleeps again
  }
  for (auto& task : batch) task();
  return !batch.empty();
}

bool EventLoop::run_deferred() {
  // Deferred tasks may defer more (a flush that queues another flush): run until none is
  // left, each round with what the previous one added.
  bool ran = false;
  while (!deferred_.empty()) {
    std::vector<Task> batch;
    batch.swap(deferred_);
    for (auto& task : batch) task();
    ran = true;
  }
  return ran;
}

void EventLoop::run_once(std::int64_t max_wait_ns) { (void)turn(max_wait_ns); }

bool EventLoop::turn(std::int64_t max_wait_ns) {
  std::array<epoll_event, 256> events;
  if (max_wait_ns != 0) {
    // About to sleep: from now on a post must write the eventfd. Decided under the lock, so
    // a post either is seen here or finds signalled_ false and writes.
    std::lock_guard lock(post_mutex_);
    if (!posted_.empty() || stop_ || !deferred_.empty()) {
      max_wait_ns = 0;
    } else {
      signalled_ = false;
    }
  }
  int timeout_ms = -1;
  if (max_wait_ns >= 0) {
    timeout_ms = static_cast<int>(std::min<std::int64_t>((max_wait_ns + 999'999) / 1'000'000, INT_MAX));
  }
  const int n = ::epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), timeout_ms);
  if (n < 0) OMEGA_ASSERT(errno == EINTR, "epoll_wait failed");
  if (timeout_ms != 0 && options_.wakeups) options_.wakeups->add();
  bool work = false;
  bool timer_due = false;
  for (int i = 0; i < n; ++i) {
    const epoll_event& ev = events[static_cast<std::size_t>(i)];
    if (ev.data.u64 == kWakeKey) {
      std::uint64_t value;
      [[maybe_unused]] auto r = ::read(wake_fd_, &value, sizeof value);
      continue;
    }
    if (ev.data.u64 == kTimerKey) {
      std::uint64_t expirations;
      [[maybe_unused]] auto r = ::read(timer_fd_, &expirations, sizeof expirations);
      armed_deadline_ = -1;  // a fired absolute timerfd is disarmed
      timer_due = true;
      continue;
    }
    auto it = handlers_.find(ev.data.u64);
    if (it == handlers_.end()) continue;  // removed earlier in this turn
    std::shared_ptr<FdHandler> handler = it->second;
    (*handler)(ev.events);
    work = true;
  }
  if (timer_due || (!timers_.empty() && timers_.begin()->first.first <= now_ns())) work = fire_timers() || work;
  work = run_posted() || work;
  work = run_deferred() || work;
  arm_timer();
  return work;
}

void EventLoop::run() {
  std::int64_t poll_until = 0;
  for (;;) {
    {
      std::lock_guard lock(post_mutex_);
      if (stop_) {
        stop_ = false;  // the loop may be run again
        return;
      }
    }
    const bool sleep = options_.poll_ns <= 0 || now_ns() >= poll_until;
    const bool work = turn(sleep ? -1 : 0);
    if (work && options_.poll_ns > 0) {
      poll_until = now_ns() + options_.poll_ns;
    } else if (!sleep) {
      std::this_thread::yield();  // polling and idle: leave the CPU to the threads we serve
    }
  }
}

}  // namespace omega::native
