#include <omega/base/assert.hpp>

#include <cstdio>
#include <cstdlib>

namespace omega::detail {

void assert_fail(const char* file, int line, const char* expr, const char* why) noexcept {
  std::fprintf(stderr, "%s:%d: omega invariant broken: %s (%s)\n", file, line, why, expr);
  std::fflush(stderr);
  std::abort();
}

}  // namespace omega::detail
