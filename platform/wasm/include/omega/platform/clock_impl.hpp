#pragma once
// WASM clock: performance.now() through emscripten_get_now(), in nanoseconds. Emscripten
// corrects each pthread's reading by its worker's start offset, so all threads share one
// timeline. Included through <omega/base/clock.hpp>; use omega::Clock.
#include <chrono>
#include <cstdint>

// Declared here rather than through <emscripten.h> so public headers stay free of it, and
// nothrow: with Emscripten's JS-based exceptions every call that might throw from a frame
// with a landing pad (a try block, a destructor to run, a noexcept boundary) goes through
// a JS trampoline (invoke_*), which costs more than the clock read itself.
extern "C" double emscripten_get_now(void) __attribute__((nothrow));

namespace omega::platform {

struct PerfNowClock {
  using rep = std::int64_t;
  using period = std::nano;
  using duration = std::chrono::nanoseconds;
  using time_point = std::chrono::time_point<PerfNowClock>;
  static constexpr bool is_steady = true;

  static time_point now() noexcept {
    return time_point(duration(static_cast<rep>(emscripten_get_now() * 1e6)));
  }
  // The same read: performance.now() has no ordering variant.
  static time_point now_unordered() noexcept { return now(); }
};

using PlatformClock = PerfNowClock;

}  // namespace omega::platform
