#include <omega/base/thread_role.hpp>

namespace omega {

std::string apply_thread_role(ThreadRole role) noexcept {
  try {
    switch (role) {
      case ThreadRole::Timer: return "not applied: the browser sets its workers' timer resolution";
      case ThreadRole::Background: return "not applied: the browser has no thread priorities (a worker of its own)";
    }
    return "not applied: unknown role";
  } catch (...) {
    return {};
  }
}

// The browser exposes no per-thread CPU time: callers fall back to wall time.
std::uint64_t this_thread_cpu_clock() noexcept { return 0; }
std::int64_t thread_cpu_ns(std::uint64_t) noexcept { return -1; }

}  // namespace omega
