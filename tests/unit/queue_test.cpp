#include <omega/base/config.hpp>
#include <omega/exec/queue.hpp>
#include <omega/exec/task.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "../support/threads.hpp"

using omega::OmegaQueue;
using omega::PressureLevel;
using omega::Priority;

TEST_CASE("queue is bounded and refuses without taking the item", "[queue]") {
  OmegaQueue<std::unique_ptr<int>> q(3);
  for (int i = 0; i < 3; ++i) REQUIRE(q.try_push(std::make_unique<int>(i), Priority::Normal));
  auto extra = std::make_unique<int>(99);
  CHECK_FALSE(q.try_push(extra, Priority::High));
  REQUIRE(extra);  // still ours
  CHECK(*extra == 99);
  CHECK(q.size() == 3);
  CHECK(q.pressure() == 100);
  CHECK(q.pressure_level() == PressureLevel::Full);
  std::unique_ptr<int> out;
  REQUIRE(q.try_pop(out));
  CHECK(*out == 0);
  CHECK(q.try_push(extra, Priority::High));
  CHECK_FALSE(extra);
}

TEST_CASE("critical before high before normal before low, FIFO within a priority", "[queue]") {
  OmegaQueue<int> q(16);
  int v = 0;
  for (int i = 0; i < 3; ++i) {
    v = 100 + i;
    REQUIRE(q.try_push(v, Priority::Low));
    v = 200 + i;
    REQUIRE(q.try_push(v, Priority::Normal));
    v = 300 + i;
    REQUIRE(q.try_push(v, Priority::High));
    v = 400 + i;
    REQUIRE(q.try_push(v, Priority::Critical));
  }
  std::vector<int> order;
  int out = 0;
  while (q.try_pop(out)) order.push_back(out);
  CHECK(order == std::vector<int>{400, 401, 402, 300, 301, 302, 200, 201, 202, 100, 101, 102});
  CHECK(q.empty());
  CHECK(q.pressure_level() == PressureLevel::Empty);
}

TEST_CASE("pressure levels follow the watermarks", "[queue]") {
  OmegaQueue<int> q(20, {.low_pct = 25, .high_pct = 75});
  CHECK(q.pressure_level() == PressureLevel::Empty);
  std::vector<PressureLevel> seen;
  for (int i = 1; i <= 20; ++i) {
    int v = i;
    REQUIRE(q.try_push(v, Priority::Normal));
    seen.push_back(q.pressure_level());
  }
  // 1..4 of 20 (5..20%) Low; 5..14 (25..70%) Normal; 15..19 (75..95%) High; 20 Full.
  for (int i = 0; i < 4; ++i) CHECK(seen[i] == PressureLevel::Low);
  for (int i = 4; i < 14; ++i) CHECK(seen[i] == PressureLevel::Normal);
  for (int i = 14; i < 19; ++i) CHECK(seen[i] == PressureLevel::High);
  CHECK(seen[19] == PressureLevel::Full);
  CHECK(omega::to_string(PressureLevel::High) == "High");
  CHECK(omega::to_string(Priority::Low) == "Low");
  CHECK(omega::to_string(Priority::Critical) == "Critical");
  CHECK_FALSE(omega::Watermarks{.low_pct = 80, .high_pct = 50}.valid());
  CHECK_FALSE(omega::Watermarks{.low_pct = 0, .high_pct = 50}.valid());
}

TEST_CASE("pressure is size * 100 / capacity exactly, for every fill of many capacities", "[queue]") {
  // pressure() multiplies by a reciprocal instead of dividing; it must never differ.
  for (std::size_t cap : {1, 2, 3, 7, 10, 20, 33, 97, 100, 999, 4096, 65535, 65536, 70001}) {
    OmegaQueue<int> q(cap);
    std::size_t mismatches = 0;
    const std::size_t step = cap > 5000 ? 97 : 1;
    std::size_t size = 0;
    for (std::size_t target = 0; target <= cap; target += step) {
      for (; size < target; ++size) {
        int v = 0;
        REQUIRE(q.try_push(v, Priority::Low));
      }
      mismatches += q.pressure() != size * 100 / cap;
    }
    INFO("capacity " << cap);
    CHECK(mismatches == 0);
  }
}

TEST_CASE("a closed queue refuses every push and still drains", "[queue]") {
  OmegaQueue<int> q(4);
  int v = 1;
  REQUIRE(q.push(v, Priority::High) == omega::PushStatus::Pushed);
  q.close();
  CHECK(q.closed());
  v = 2;
  CHECK(q.push(v, Priority::High) == omega::PushStatus::Closed);
  int items[2] = {3, 4};
  omega::PushStatus status{};
  CHECK(q.try_push_bulk(items, 2, Priority::Low, &status) == 0);
  CHECK(status == omega::PushStatus::Closed);
  CHECK(q.reserved() == 1);
  CHECK(q.size() == 1);
  int out = 0;
  REQUIRE(q.try_pop(out));
  CHECK(out == 1);
  CHECK(q.reserved() == 0);
  CHECK(q.pushed_total() == 1);
  CHECK_FALSE(q.try_pop(out));
}

TEST_CASE("queued tasks are destroyed with the queue", "[queue]") {
  auto token = std::make_shared<int>(1);
  std::weak_ptr<int> watch = token;
  {
    OmegaQueue<omega::Task> q(8);
    for (int i = 0; i < 5; ++i) {
      omega::Task t = [token] { (void)*token; };
      REQUIRE(q.try_push(t, static_cast<Priority>(i % omega::kPriorityCount)));
    }
    omega::Task out;
    REQUIRE(q.try_pop(out));
    out();
    token.reset();
    CHECK_FALSE(watch.expired());
  }
  CHECK(watch.expired());
}

TEST_CASE("ring wrap-around keeps order and count", "[queue]") {
  OmegaQueue<int> q(5);  // lanes round up to 8 slots
  int next = 0;
  int expect = 0;
  for (int round = 0; round < 1000; ++round) {
    for (int i = 0; i < 1 + round % 5; ++i) {
      int v = next;
      if (q.try_push(v, Priority::Normal)) ++next;
    }
    int out = 0;
    for (int i = 0; i < 1 + (round * 7) % 5 && q.try_pop(out); ++i) REQUIRE(out == expect++);
  }
  int out = 0;
  while (q.try_pop(out)) REQUIRE(out == expect++);
  CHECK(expect == next);
}

TEST_CASE("concurrent producers and consumers: every item exactly once", "[queue][concurrency]") {
  if constexpr (!omega::kHasThreads) {
    SUCCEED("single-threaded build");
  } else {
    constexpr int kProducers = 2;
    constexpr int kConsumers = 3;  // more consumers than producers, as the seed advises
    constexpr int kPerProducer = 100'000;
    OmegaQueue<int> q(64);
    std::vector<std::atomic<std::uint8_t>> seen(kProducers * kPerProducer);
    std::atomic<int> consumed{0};
    std::atomic<int> duplicates{0};
    std::atomic<int> refused{0};
    omega::test::run_threads(kProducers + kConsumers, [&](int id) {
      if (id < kProducers) {
        for (int i = 0; i < kPerProducer; ++i) {
          int v = id * kPerProducer + i;
          while (!q.try_push(v, static_cast<Priority>(i % omega::kPriorityCount))) {
            refused.fetch_add(1, std::memory_order_relaxed);
            std::this_thread::yield();
          }
        }
      } else {
        int out = 0;
        while (consumed.load(std::memory_order_relaxed) < kProducers * kPerProducer) {
          if (q.try_pop(out)) {
            if (seen[static_cast<std::size_t>(out)].fetch_add(1) != 0) duplicates.fetch_add(1);
            consumed.fetch_add(1, std::memory_order_relaxed);
          } else {
            std::this_thread::yield();
          }
        }
      }
    });
    CHECK(consumed.load() == kProducers * kPerProducer);
    CHECK(duplicates.load() == 0);
    int missing = 0;
    for (auto& s : seen) missing += s.load() == 0;
    CHECK(missing == 0);
    CHECK(q.empty());
    INFO("full-queue refusals (backpressure) during the run: " << refused.load());
  }
}

TEST_CASE("try_emplace_bulk builds only the items that fit, in order, in place", "[queue]") {
  OmegaQueue<std::unique_ptr<int>> q(5);
  std::unique_ptr<int> first = std::make_unique<int>(-1);
  REQUIRE(q.try_push(first, Priority::Normal));
  std::vector<std::size_t> built;
  omega::PushStatus status{};
  const std::size_t in = q.try_emplace_bulk(6, Priority::Normal, [&](std::size_t i, void* where) noexcept {
    built.push_back(i);
    ::new (where) std::unique_ptr<int>(std::make_unique<int>(static_cast<int>(i)));
  }, &status);
  CHECK(in == 4);
  CHECK(status == omega::PushStatus::Full);
  CHECK(built == std::vector<std::size_t>{0, 1, 2, 3});  // the two refused were never built
  CHECK(q.size() == 5);
  std::unique_ptr<int> out;
  for (int expect = -1; expect < 4; ++expect) {
    REQUIRE(q.try_pop(out));
    CHECK(*out == expect);
  }
  CHECK_FALSE(q.try_pop(out));

  q.close();
  built.clear();
  CHECK(q.try_emplace_bulk(2, Priority::High, [&](std::size_t i, void* where) noexcept {
    built.push_back(i);
    ::new (where) std::unique_ptr<int>();
  }, &status) == 0);
  CHECK(status == omega::PushStatus::Closed);
  CHECK(built.empty());
  CHECK(q.reserved() == 0);
}

TEST_CASE("capacity is exact across many fill and drain cycles, single and bulk", "[queue]") {
  // Producers and consumers each cache the other side's counter: a stale copy must never
  // refuse a push that fits, nor grant one that does not.
  for (std::size_t cap : {1u, 2u, 3u, 7u, 64u}) {
    OmegaQueue<int> q(cap);
    int next = 0;
    int expect = 0;
    for (int cycle = 0; cycle < 50; ++cycle) {
      // Fill to capacity, alternating single and bulk pushes.
      while (q.size() < cap) {
        if ((next & 1) != 0) {
          int v = next;
          REQUIRE(q.push(v, Priority::Normal) == omega::PushStatus::Pushed);
          ++next;
        } else {
          int items[3] = {next, next + 1, next + 2};
          const std::size_t want = std::min<std::size_t>(3, cap - q.size());
          omega::PushStatus status{};
          const std::size_t in = q.try_push_bulk(items, 3, Priority::Normal, &status);
          REQUIRE(in == want);
          CHECK(status == (in == 3 ? omega::PushStatus::Pushed : omega::PushStatus::Full));
          next += static_cast<int>(in);
        }
      }
      CHECK(q.size() == cap);
      CHECK(q.reserved() == cap);
      int v = -1;
      CHECK(q.push(v, Priority::High) == omega::PushStatus::Full);
      // Drain a varying amount, then the freed room is usable at once.
      const std::size_t drain = 1 + static_cast<std::size_t>(cycle) % cap;
      int out = 0;
      for (std::size_t i = 0; i < drain; ++i) {
        REQUIRE(q.try_pop(out));
        CHECK(out == expect++);
      }
      CHECK(q.size() == cap - drain);
    }
    int out = 0;
    while (q.try_pop(out)) CHECK(out == expect++);
    CHECK(expect == next);
    CHECK(q.size() == 0);
    CHECK(q.reserved() == 0);
    CHECK(q.pushed_total() == static_cast<std::uint64_t>(next));
  }
}

TEST_CASE("refused pushes leave every count unchanged", "[queue]") {
  OmegaQueue<int> q(2);
  int a = 1;
  int b = 2;
  REQUIRE(q.push(a, Priority::Low) == omega::PushStatus::Pushed);
  REQUIRE(q.push(b, Priority::Low) == omega::PushStatus::Pushed);
  int items[4] = {3, 4, 5, 6};
  for (int i = 0; i < 10; ++i) {
    int v = 9;
    CHECK(q.push(v, Priority::High) == omega::PushStatus::Full);
    omega::PushStatus status{};
    CHECK(q.try_push_bulk(items, 4, Priority::Normal, &status) == 0);
    CHECK(status == omega::PushStatus::Full);
    CHECK(q.size() == 2);
    CHECK(q.reserved() == 2);
    CHECK(q.pushed_total() == 2);
  }
  q.close();
  for (int i = 0; i < 10; ++i) {
    int v = 9;
    CHECK(q.push(v, Priority::High) == omega::PushStatus::Closed);
    CHECK(q.size() == 2);
    CHECK(q.reserved() == 2);
  }
  int out = 0;
  REQUIRE(q.try_pop(out));
  // Room now, but closed: still refused, still uncounted.
  int v = 9;
  CHECK(q.push(v, Priority::High) == omega::PushStatus::Closed);
  CHECK(q.reserved() == 1);
  CHECK(q.pushed_total() == 2);
  REQUIRE(q.try_pop(out));
  CHECK(q.reserved() == 0);
  CHECK(q.closed());
}

TEST_CASE("reserved() never under-reports while pushes and pops run", "[queue][concurrency]") {
  // What a parking worker relies on: pushes completed before the look, less pops that may
  // have happened up to the end of it, is at most what reserved() says.
  if constexpr (!omega::kHasThreads) {
    SUCCEED("single-threaded build");
  } else {
    constexpr int kItems = 200'000;
    OmegaQueue<int> q(8);
    std::atomic<int> pushed{0};      // pushes that returned Pushed
    std::atomic<int> pop_claims{0};  // pops completed or in progress (>= pops completed)
    std::atomic<bool> done{false};
    std::atomic<int> under{0};
    std::atomic<int> looks{0};
    omega::test::run_threads(3, [&](int id) {
      if (id == 0) {
        for (int i = 0; i < kItems; ++i) {
          int v = i;
          while (!q.try_push(v, static_cast<Priority>(i % omega::kPriorityCount))) std::this_thread::yield();
          pushed.fetch_add(1, std::memory_order_seq_cst);
        }
      } else if (id == 1) {
        int out = 0;
        for (int got = 0; got < kItems;) {
          pop_claims.fetch_add(1, std::memory_order_seq_cst);
          if (q.try_pop(out)) {
            ++got;
          } else {
            pop_claims.fetch_sub(1, std::memory_order_seq_cst);
            std::this_thread::yield();
          }
        }
        done.store(true);
      } else {
        while (!done.load()) {
          const int before = pushed.load(std::memory_order_seq_cst);
          const std::size_t r = q.reserved();
          const int after = pop_claims.load(std::memory_order_seq_cst);
          if (static_cast<long>(r) < static_cast<long>(before) - after) under.fetch_add(1);
          looks.fetch_add(1, std::memory_order_relaxed);
        }
      }
    });
    CHECK(under.load() == 0);
    CHECK(q.reserved() == 0);
    INFO("looks: " << looks.load());
  }
}
