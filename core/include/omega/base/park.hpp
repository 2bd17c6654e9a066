#pragma once
// Thread parking: block a thread on a 32-bit word until another thread changes the word and
// wakes it. Natively a futex; in WASM, Atomics.wait/notify through Emscripten's futex API.
// Higher layers (node workers, channels) spin briefly and then park here, so idle threads
// burn no CPU.
//
// The browser's main thread must never block, and a single-threaded WASM build has nobody
// who could wake it: there park_wait returns ParkResult::WouldBlock at once, and the caller
// yields to the event loop instead. can_park() says which case the calling thread is in.
#include <atomic>
#include <cstdint>

#include <omega/base/clock.hpp>

namespace omega {

enum class ParkResult : std::uint8_t {
  Woken,          // woken by park_wake_* (or spuriously: callers re-check their condition)
  TimedOut,       // the timeout elapsed
  ValueMismatch,  // word != expected on entry; nothing was waited for
  WouldBlock,     // this thread may not block (browser main thread, single-threaded build)
};

// Blocks while word == expected, for at most `timeout` (negative or zero: do not wait;
// Nanos::max(): no limit).
ParkResult park_wait(const std::atomic<std::uint32_t>& word, std::uint32_t expected,
                     Nanos timeout = Nanos::max()) noexcept;
// Wake at most one / all threads parked on `word`. Cheap when nobody waits.
void park_wake_one(const std::atomic<std::uint32_t>& word) noexcept;
void park_wake_all(const std::atomic<std::uint32_t>& word) noexcept;
// Whether park_wait may block on the calling thread.
[[nodiscard]] bool can_park() noexcept;

}  // namespace omega
