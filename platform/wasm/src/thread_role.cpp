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

}  // namespace omega
