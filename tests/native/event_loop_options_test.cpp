// native::EventLoop's options the reactor runs with (epoll_reactor.cpp): polling before it
// sleeps, and the wake-ups counter, which counts returns from a sleeping epoll_wait only.
// The loop's other contracts are tests/gateway/event_loop_test.cpp's.
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <thread>
#include <vector>

#include "event_loop.hpp"

using omega::native::EventLoop;
using namespace std::chrono_literals;

namespace {

struct Running {
  explicit Running(EventLoop::Options options) {
    auto created = EventLoop::create(options);
    REQUIRE(created.has_value());
    loop = std::move(*created);
    thread = std::thread([this] { loop->run(); });
  }
  ~Running() {
    loop->stop();
    thread.join();
  }
  // Posts a task and waits until it ran.
  void post_and_wait(std::vector<int>& order, int value) {
    std::atomic<bool> ran{false};
    loop->post([&] {
      order.push_back(value);
      ran.store(true);
    });
    while (!ran.load()) std::this_thread::yield();
  }
  std::unique_ptr<EventLoop> loop;
  std::thread thread;
};

}  // namespace

TEST_CASE("event loop: a sleeping loop counts each wake-up; a polling one needs none", "[event_loop_options]") {
  omega::Counter wakeups;
  std::vector<int> order;
  SECTION("no polling: posts to a sleeping loop wake it") {
    Running r(EventLoop::Options{.poll_ns = 0, .wakeups = &wakeups});
    for (int i = 0; i < 5; ++i) {
      std::this_thread::sleep_for(5ms);  // it went back to sleep (if it did not yet, it sees the post anyway)
      const std::uint64_t before = wakeups.value();
      r.post_and_wait(order, i);
      CHECK(wakeups.value() <= before + 1);
    }
    CHECK(wakeups.value() >= 1);
  }
  SECTION("polling: after a turn with work, posts within the window are seen without a wake-up") {
    Running r(EventLoop::Options{.poll_ns = 10'000'000'000, .wakeups = &wakeups});
    r.post_and_wait(order, 0);  // from here on the loop polls (each task extends the window)
    const std::uint64_t after_first = wakeups.value();
    for (int i = 1; i < 20; ++i) {
      std::this_thread::sleep_for(1ms);
      r.post_and_wait(order, i);
    }
    CHECK(wakeups.value() == after_first);
  }
  for (std::size_t i = 0; i < order.size(); ++i) CHECK(order[i] == static_cast<int>(i));
}
