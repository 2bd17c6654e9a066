// Thread parking in WASM: Atomics.wait/notify through Emscripten's futex API. The browser
// main thread may not block (Atomics.wait throws there, and blocking it would freeze the
// page), and a single-threaded build has no other thread to wake it: both get WouldBlock.
#include <omega/base/park.hpp>

#include <cerrno>
#include <climits>
#include <cmath>
#if defined(__EMSCRIPTEN_PTHREADS__)
// Declared here, as in <emscripten/threading.h> but nothrow (JS imports that never throw a
// C++ exception): otherwise each call from these noexcept functions goes through a JS
// exception trampoline (invoke_*), which costs more than the wake itself when nobody waits.
extern "C" {
int emscripten_futex_wait(volatile void* addr, uint32_t val, double max_wait_ms) __attribute__((nothrow));
int emscripten_futex_wake(volatile void* addr, int count) __attribute__((nothrow));
int emscripten_is_main_browser_thread(void) __attribute__((nothrow));
}
#endif

namespace omega {

#if defined(__EMSCRIPTEN_PTHREADS__)

bool can_park() noexcept { return !emscripten_is_main_browser_thread(); }

ParkResult park_wait(const std::atomic<std::uint32_t>& word, std::uint32_t expected, Nanos timeout) noexcept {
  if (word.load(std::memory_order_acquire) != expected) return ParkResult::ValueMismatch;
  if (!can_park()) return ParkResult::WouldBlock;
  if (timeout <= Nanos::zero()) return ParkResult::TimedOut;
  const double ms = timeout == Nanos::max() ? INFINITY : static_cast<double>(timeout.count()) / 1e6;
  const int rc = emscripten_futex_wait(const_cast<std::atomic<std::uint32_t>*>(&word), expected, ms);
  if (rc == 0) return ParkResult::Woken;
  if (rc == -ETIMEDOUT) return ParkResult::TimedOut;
  if (rc == -EWOULDBLOCK) return ParkResult::ValueMismatch;
  return ParkResult::Woken;
}

void park_wake_one(const std::atomic<std::uint32_t>& word) noexcept {
  emscripten_futex_wake(const_cast<std::atomic<std::uint32_t>*>(&word), 1);
}

void park_wake_all(const std::atomic<std::uint32_t>& word) noexcept {
  emscripten_futex_wake(const_cast<std::atomic<std::uint32_t>*>(&word), INT_MAX);
}

#else  // single-threaded build

bool can_park() noexcept { return false; }

ParkResult park_wait(const std::atomic<std::uint32_t>& word, std::uint32_t expected, Nanos) noexcept {
  if (word.load(std::memory_order_acquire) != expected) return ParkResult::ValueMismatch;
  return ParkResult::WouldBlock;
}

void park_wake_one(const std::atomic<std::uint32_t>&) noexcept {}
void park_wake_all(const std::atomic<std::uint32_t>&) noexcept {}

#endif

}  // namespace omega
