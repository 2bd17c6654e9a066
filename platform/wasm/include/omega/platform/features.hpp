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
}  // namespace omega::platform
