#pragma once
// What the native Linux platform offers. Included through <omega/base/config.hpp>.
namespace omega::platform {
inline constexpr bool kHasThreads = true;
inline constexpr const char* kName = "native-linux";
inline constexpr bool kHasTcp = true;  // the epoll reactor
// NodeConfig::timing_sample_every's default (a clock read is an rdtsc, about 8 ns).
inline constexpr unsigned kDefaultTimingSampleEvery = 8;
// pulse checkpoint(): units between two looks at the poll's time budget (a clock read is
// an rdtsc, about 8 ns: a read per 32 units adds a quarter of a ns to each).
inline constexpr int kCheckpointClockEvery = 32;
}  // namespace omega::platform
