#pragma once
// WASM clock: performance.now() through emscripten_get_now(), in nanoseconds. Emscripten
// corrects each pthread's reading by its worker's start offset, so all threads share one
// timeline. Included through <omega/base/clock.hpp>; use omega::Clock.
#include <chrono>
#include <cstdint>

// performance.now() in milliseconds (platform/wasm/src/now.cpp). Not emscripten_get_now()
// itself: with Emscripten's JS-based exceptions every call that might throw, made from a
// frame with a landing pad (a try block, a destructor to run, a noexcept boundary), goes
// through a JS trampoline (invoke_*) that costs more than the clock read. This wrapper is
// noexcept and calls the import declared nothrow, which a header cannot do: a translation
// unit that included <emscripten.h> first would see two different declarations.
extern "C" double omega_wasm_now_ms() noexcept;

namespace omega::platform {

struct PerfNowClock {
  using rep = std::int64_t;
  using period = std::nano;
  using duration = std::chrono::nanoseconds;
  using time_point = std::chrono::time_point<PerfNowClock>;
  static constexpr bool is_steady = true;

  static time_point now() noexcept {
    return time_point(duration(static_cast<rep>(omega_wasm_now_ms() * 1e6)));
  }
  // The same read: performance.now() has no ordering variant.
  static time_point now_unordered() noexcept { return now(); }
};

using PlatformClock = PerfNowClock;

}  // namespace omega::platform
