#pragma once
// Broken invariants abort with file, line and the reason; expected failures are Results.
//   OMEGA_ASSERT(cond, "why")   checked in every build (cheap checks on cold paths)
//   OMEGA_DASSERT(cond, "why")  checked in debug builds only (hot paths)

namespace omega::detail {
[[noreturn]] void assert_fail(const char* file, int line, const char* expr, const char* why) noexcept;
}  // namespace omega::detail

#define OMEGA_ASSERT(cond, why)                                         \
  do {                                                                  \
    if (!(cond)) [[unlikely]]                                           \
      ::omega::detail::assert_fail(__FILE__, __LINE__, #cond, (why));   \
  } while (false)

#ifdef NDEBUG
#define OMEGA_DASSERT(cond, why) \
  do {                           \
  } while (false && (cond))
#else
#define OMEGA_DASSERT(cond, why) OMEGA_ASSERT(cond, why)
#endif
