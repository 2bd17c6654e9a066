#pragma once
// Compile-time facts about the platform this build targets.
#include <omega/platform/features.hpp>

namespace omega {
// False in the single-threaded WASM build: there, work runs cooperatively on the event loop
// and nothing may create a thread.
inline constexpr bool kHasThreads = platform::kHasThreads;
// "native-linux", "wasm-threaded" or "wasm-single-threaded".
inline constexpr const char* kPlatformName = platform::kName;
// Whether submit_io_task can run TCP operations (natively yes; in WASM they fail with
// "TCP is not available in the browser; use the OVP gateway").
inline constexpr bool kHasTcp = platform::kHasTcp;
}  // namespace omega
