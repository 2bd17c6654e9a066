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
}  // namespace omega::platform
