#pragma once
// Whether this test binary runs under AddressSanitizer or ThreadSanitizer (GCC says so with
// __SANITIZE_*__, clang with __has_feature): tests shrink their work there, never their checks.

namespace omega::test {

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
inline constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
inline constexpr bool kSanitized = true;
#else
inline constexpr bool kSanitized = false;
#endif
#else
inline constexpr bool kSanitized = false;
#endif

}  // namespace omega::test
