#pragma once
// What the OS can do for a thread the runtime starts for itself. Natively: Linux scheduling
// classes and timer slack; in WASM there is nothing to ask for (the browser schedules its
// workers as it likes), and the answer says so.
#include <string>

namespace omega {

enum class ThreadRole : unsigned char {
  Timer,       // wakes at deadlines: as little timer slack as the OS allows
  Background,  // runs only when nothing else wants the CPU (Linux SCHED_IDLE)
};

// Applies `role` to the calling thread. Returns what was applied ("SCHED_IDLE",
// "timer slack 1 ns") or, prefixed "not applied: ", why not. Never fails harder than that.
std::string apply_thread_role(ThreadRole role) noexcept;

}  // namespace omega
