#pragma once
// What the native Linux platform offers. Included through <omega/base/config.hpp>.
namespace omega::platform {
inline constexpr bool kHasThreads = true;
inline constexpr const char* kName = "native-linux";
inline constexpr bool kHasTcp = true;  // the epoll reactor
}  // namespace omega::platform
