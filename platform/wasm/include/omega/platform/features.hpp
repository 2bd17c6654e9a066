#pragma once
// What this WebAssembly build offers. Included through <omega/base/config.hpp>.
namespace omega::platform {
#if defined(__EMSCRIPTEN_PTHREADS__)
inline constexpr bool kHasThreads = true;
inline constexpr const char* kName = "wasm-threaded";
#else
inline constexpr bool kHasThreads = false;
inline constexpr const char* kName = "wasm-single-threaded";
#endif
// Browsers offer no raw TCP (the reactor refuses TCP operations; OVP goes through the gateway).
inline constexpr bool kHasTcp = false;
// NodeConfig::timing_sample_every's default: a clock read here is a call out to JavaScript
// (performance.now, about 57 ns under Node against 8 natively), so 1 task in 64 is timed
// for about what 1 in 8 costs natively.
inline constexpr unsigned kDefaultTimingSampleEvery = 64;
// pulse checkpoint(): units between two looks at the poll's time budget (a clock read is
// performance.now through JavaScript, about 60-100 ns: a read per 256 units adds under half a ns to each, and the time budget is looked at about once per Normal poll).
inline constexpr int kCheckpointClockEvery = 256;
}  // namespace omega::platform
