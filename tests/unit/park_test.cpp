#include <omega/base/config.hpp>
#include <omega/base/park.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <thread>

#include "../support/threads.hpp"

using omega::ParkResult;
using namespace std::chrono_literals;

TEST_CASE("park returns at once when the word already changed", "[park]") {
  std::atomic<std::uint32_t> word{1};
  CHECK(omega::park_wait(word, 0, 1s) == ParkResult::ValueMismatch);
}

TEST_CASE("park never blocks a thread that may not block", "[park]") {
  if (omega::can_park()) {
    SUCCEED("this thread may block; covered by the threaded cases");
  } else {
    std::atomic<std::uint32_t> word{0};
    CHECK(omega::park_wait(word, 0, 10ms) == ParkResult::WouldBlock);
    omega::park_wake_all(word);  // harmless with nobody parked
  }
}

TEST_CASE("park times out", "[park]") {
  if constexpr (!omega::kHasThreads) {
    SUCCEED("single-threaded build");
  } else {
    std::thread([] {
      REQUIRE(omega::can_park());
      std::atomic<std::uint32_t> word{0};
      CHECK(omega::park_wait(word, 0, 0ns) == ParkResult::TimedOut);
      const auto start = omega::Clock::now();
      ParkResult r = ParkResult::Woken;
      // Spurious wake-ups are allowed; a timeout must come eventually.
      for (int i = 0; i < 100 && r == ParkResult::Woken; ++i) r = omega::park_wait(word, 0, 2ms);
      CHECK(r == ParkResult::TimedOut);
      CHECK(omega::Clock::now() - start >= 2ms - 200us);  // 200us: browser clock coarsening
    }).join();
  }
}

TEST_CASE("park_wake_one wakes a parked thread", "[park]") {
  if constexpr (!omega::kHasThreads) {
    SUCCEED("single-threaded build");
  } else {
    std::atomic<std::uint32_t> word{0};
    std::atomic<bool> parked{false};
    std::atomic<int> timeouts{0};
    std::thread waiter([&] {
      parked.store(true);
      while (word.load(std::memory_order_acquire) == 0) {
        if (omega::park_wait(word, 0, 10s) == ParkResult::TimedOut) timeouts.fetch_add(1);
      }
    });
    while (!parked.load()) std::this_thread::yield();
    std::this_thread::sleep_for(5ms);  // let it reach the kernel wait (not required for correctness)
    word.store(1, std::memory_order_release);
    omega::park_wake_one(word);
    waiter.join();
    CHECK(timeouts.load() == 0);
  }
}

TEST_CASE("park_wake_all wakes every parked thread", "[park]") {
  if constexpr (!omega::kHasThreads) {
    SUCCEED("single-threaded build");
  } else {
    constexpr int kThreads = 4;
    std::atomic<std::uint32_t> word{0};
    std::atomic<int> ready{0};
    std::atomic<int> woken{0};
    std::atomic<int> timeouts{0};
    std::thread releaser([&] {
      while (ready.load() < kThreads) std::this_thread::yield();
      std::this_thread::sleep_for(5ms);
      word.store(1, std::memory_order_release);
      omega::park_wake_all(word);
    });
    omega::test::run_threads(kThreads, [&](int) {
      ready.fetch_add(1);
      while (word.load(std::memory_order_acquire) == 0) {
        if (omega::park_wait(word, 0, 10s) == ParkResult::TimedOut) timeouts.fetch_add(1);
      }
      woken.fetch_add(1);
    });
    releaser.join();
    CHECK(woken.load() == kThreads);
    CHECK(timeouts.load() == 0);
  }
}
