#pragma once
#include <cstddef>

namespace omega {

// x86-64 and the WASM engines we target use 64-byte lines. std::hardware_destructive_
// interference_size is not in Emscripten 3.1.6's libc++ and warns under GCC, so it is fixed.
inline constexpr std::size_t kCacheLine = 64;

// A value alone on its cache line(s), so writers of neighbouring values never share it.
template <class T>
struct alignas(kCacheLine) CachePadded {
  T value{};
  T* operator->() noexcept { return &value; }
  const T* operator->() const noexcept { return &value; }
  T& operator*() noexcept { return value; }
  const T& operator*() const noexcept { return value; }
};

}  // namespace omega
