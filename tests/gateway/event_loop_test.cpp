// native::EventLoop: fd handlers, timers, cross-thread posts, deferred work, removal
// during dispatch.
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <thread>
#include <vector>

#include "event_loop.hpp"

using omega::native::EventLoop;

namespace {

std::unique_ptr<EventLoop> make_loop() {
  auto loop = EventLoop::create();
  REQUIRE(loop.has_value());
  return std::move(*loop);
}

// Runs turns until `done` or a generous bound of turns (never a wall-clock assertion).
template <class F>
void run_until(EventLoop& loop, F done, int max_turns = 10'000) {
  for (int i = 0; i < max_turns && !done(); ++i) loop.run_once(50'000'000);
}

}  // namespace

TEST_CASE("event loop: an fd handler sees readability and can remove itself", "[event_loop]") {
  auto loop = make_loop();
  int sv[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == 0);
  int calls = 0;
  EventLoop::RegistrationId id = 0;
  auto reg = loop->add_fd(sv[0], EPOLLIN, [&](std::uint32_t events) {
    ++calls;
    CHECK((events & EPOLLIN) != 0);
    char buf[8];
    CHECK(::read(sv[0], buf, sizeof buf) == 1);
    loop->remove_fd(id);  // removal from inside its own handler
  });
  REQUIRE(reg.has_value());
  id = *reg;
  CHECK(loop->registrations() == 1);
  REQUIRE(::write(sv[1], "x", 1) == 1);
  run_until(*loop, [&] { return calls > 0; });
  CHECK(calls == 1);
  CHECK(loop->registrations() == 0);
  REQUIRE(::write(sv[1], "y", 1) == 1);
  loop->run_once(0);
  CHECK(calls == 1);  // removed: never called again
  loop->remove_fd(id);  // idempotent
  ::close(sv[0]);
  ::close(sv[1]);
}

TEST_CASE("event loop: an event for a registration removed earlier in the turn is not delivered", "[event_loop]") {
  auto loop = make_loop();
  int a[2], b[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, a) == 0);
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, b) == 0);
  int a_calls = 0, b_calls = 0;
  EventLoop::RegistrationId ra = 0, rb = 0;
  // Whichever runs first removes the other: exactly one of them runs.
  char buf[8];
  ra = *loop->add_fd(a[0], EPOLLIN, [&](std::uint32_t) {
    ++a_calls;
    CHECK(::read(a[0], buf, sizeof buf) == 1);
    loop->remove_fd(rb);
  });
  rb = *loop->add_fd(b[0], EPOLLIN, [&](std::uint32_t) {
    ++b_calls;
    CHECK(::read(b[0], buf, sizeof buf) == 1);
    loop->remove_fd(ra);
  });
  REQUIRE(::write(a[1], "x", 1) == 1);
  REQUIRE(::write(b[1], "x", 1) == 1);
  run_until(*loop, [&] { return a_calls + b_calls > 0; });
  loop->run_once(0);
  CHECK(a_calls + b_calls == 1);
  for (int fd : {a[0], a[1], b[0], b[1]}) ::close(fd);
}

TEST_CASE("event loop: timers fire in deadline order, never early, and cancelled ones never", "[event_loop]") {
  auto loop = make_loop();
  std::vector<int> order;
  const std::int64_t t0 = EventLoop::now_ns();
  std::int64_t fired_at = 0;
  loop->add_timer(3'000'000, [&] {
    order.push_back(3);
    fired_at = EventLoop::now_ns();
  });
  loop->add_timer(1'000'000, [&] { order.push_back(1); });
  const auto cancelled = loop->add_timer(2'000'000, [&] { order.push_back(2); });
  loop->add_timer(1'000'000, [&] { order.push_back(11); });  // same deadline region: creation order
  CHECK(loop->cancel_timer(cancelled));
  CHECK_FALSE(loop->cancel_timer(cancelled));
  run_until(*loop, [&] { return order.size() == 3; });
  REQUIRE(order.size() == 3);
  CHECK(order[2] == 3);
  CHECK(std::find(order.begin(), order.end(), 2) == order.end());
  CHECK(fired_at - t0 >= 3'000'000);
  CHECK(loop->pending_timers() == 0);
}

TEST_CASE("event loop: a timer that re-arms itself with delay 0 does not starve the turn", "[event_loop]") {
  auto loop = make_loop();
  int runs = 0;
  std::function<void()> again = [&] {
    ++runs;
    loop->add_timer(0, again);
  };
  loop->add_timer(0, again);
  loop->run_once(50'000'000);
  loop->run_once(50'000'000);
  CHECK(runs >= 1);
  CHECK(runs <= 2);  // one firing per turn at most
}

TEST_CASE("event loop: post from other threads runs every task on the loop thread, in order", "[event_loop]") {
  auto loop = make_loop();
  const auto loop_thread = std::this_thread::get_id();
  std::vector<int> seen;
  std::atomic<int> wrong_thread{0};
  constexpr int kPerThread = 1000;
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        loop->post([&, t, i] {
          if (std::this_thread::get_id() != loop_thread) wrong_thread.fetch_add(1);
          seen.push_back(t * kPerThread + i);
        });
      }
    });
  }
  for (auto& th : threads) th.join();
  run_until(*loop, [&] { return seen.size() == 2 * kPerThread; });
  REQUIRE(seen.size() == 2 * kPerThread);
  CHECK(wrong_thread.load() == 0);
  // Per posting thread, in posting order.
  int last[2] = {-1, -1};
  for (int v : seen) {
    const int t = v / kPerThread;
    CHECK(v > last[t]);
    last[t] = v;
  }
}

TEST_CASE("event loop: stop from another thread ends run(); deferred work runs after the turn", "[event_loop]") {
  auto loop = make_loop();
  std::vector<std::string> trace;
  loop->post([&] {
    trace.push_back("posted");
    loop->defer([&] {
      trace.push_back("deferred");
      loop->defer([&] { trace.push_back("deferred again"); });
    });
    trace.push_back("posted end");
  });
  std::thread stopper([&] { loop->stop(); });
  loop->run();  // returns: stop() was called (before or during)
  stopper.join();
  run_until(*loop, [&] { return trace.size() == 4; });
  REQUIRE(trace.size() == 4);
  CHECK(trace[0] == "posted");
  CHECK(trace[1] == "posted end");
  CHECK(trace[2] == "deferred");
  CHECK(trace[3] == "deferred again");
}

TEST_CASE("event loop: add_fd on a bad descriptor fails with the reason", "[event_loop]") {
  auto loop = make_loop();
  auto reg = loop->add_fd(-1, EPOLLIN, [](std::uint32_t) {});
  REQUIRE_FALSE(reg.has_value());
  CHECK(reg.error().find("epoll_ctl") != std::string::npos);
  CHECK_FALSE(loop->modify_fd(12345, EPOLLIN).has_value());
}
