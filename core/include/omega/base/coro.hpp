#pragma once
// The one place that knows where the C++20 coroutine library lives. g++ 12 and clang 14
// natively ship <coroutine>; Emscripten 3.1.6's libc++ only ships <experimental/coroutine>
// (std::experimental names). Everything else names omega::coro::*.
#if __has_include(<coroutine>) && !defined(__EMSCRIPTEN__)
#include <coroutine>
namespace omega::coro {
using std::coroutine_handle;
using std::noop_coroutine;
using std::suspend_always;
using std::suspend_never;
}  // namespace omega::coro
#elif __has_include(<experimental/coroutine>)
// clang 14 warns that the experimental header is deprecated; it is the only one there is.
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wdeprecated-experimental-coroutine"
#pragma clang diagnostic ignored "-Wunknown-warning-option"
#include <experimental/coroutine>
#pragma clang diagnostic pop
namespace omega::coro {
using std::experimental::coroutine_handle;
using std::experimental::noop_coroutine;
using std::experimental::suspend_always;
using std::experimental::suspend_never;
}  // namespace omega::coro
#else
#error "omega needs C++20 coroutines: <coroutine> or <experimental/coroutine>"
#endif
