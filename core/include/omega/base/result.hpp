#pragma once
// Expected failures are values: Result<T, E> is tl::expected<T, E> (Debian's
// libexpected-dev). C++23 std::expected would do, but Emscripten 3.1.6's libc++ lacks it.
#include <tl/expected.hpp>

#include <utility>

namespace omega {

template <class T, class E>
using Result = tl::expected<T, E>;

template <class E>
using Unexpected = tl::unexpected<E>;

// `return omega::Err(NodeError::QueueFull);` reads like the seed's `Err(...)`.
template <class E>
[[nodiscard]] constexpr auto Err(E&& error) {
  return tl::make_unexpected(std::forward<E>(error));
}

}  // namespace omega
