#pragma once
// A clock the test moves by hand, for the scheduler and anything else that takes a
// TimeSource. Reads are atomic, so workers may read it while the test thread moves it.
#include <omega/time/scheduler.hpp>

#include <atomic>
#include <cstdint>

namespace omega::test {

class FakeClock {
 public:
  explicit FakeClock(std::int64_t start_ns = 1'000'000) : now_(start_ns) {}
  [[nodiscard]] std::int64_t now() const noexcept { return now_.load(std::memory_order_acquire); }
  void set(std::int64_t ns) noexcept { now_.store(ns, std::memory_order_release); }
  void advance(std::int64_t ns) noexcept { now_.fetch_add(ns, std::memory_order_acq_rel); }
  [[nodiscard]] TimeSource source() const noexcept {
    return TimeSource{[](const void* self) { return static_cast<const FakeClock*>(self)->now(); }, this};
  }

 private:
  std::atomic<std::int64_t> now_;
};

}  // namespace omega::test
