#pragma once
// What the OS can do for a thread the runtime starts for itself, and tell about one: natively
// Linux scheduling classes, timer slack and per-thread CPU clocks; in WASM there is nothing
// to ask for (the browser schedules its workers as it likes), and the answers say so.
#include <cstdint>
#include <string>

namespace omega {

enum class ThreadRole : unsigned char {
  Timer,       // wakes at deadlines: as little timer slack as the OS allows
  Background,  // runs only when nothing else wants the CPU (Linux SCHED_IDLE)
};

// Applies `role` to the calling thread. Returns what was applied ("SCHED_IDLE",
// "timer slack 1 ns") or, prefixed "not applied: ", why not. Never fails harder than that.
std::string apply_thread_role(ThreadRole role) noexcept;

// A handle to the calling thread's CPU-time clock that other threads may read while the
// thread lives, or 0 where the platform has none (WASM).
[[nodiscard]] std::uint64_t this_thread_cpu_clock() noexcept;
// CPU time, in ns, used so far by the thread behind `clock`; -1 when unknown (no clock, or
// the thread has exited).
[[nodiscard]] std::int64_t thread_cpu_ns(std::uint64_t clock) noexcept;

}  // namespace omega
