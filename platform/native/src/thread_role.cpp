#include <omega/base/thread_role.hpp>

#include <cerrno>
#include <pthread.h>
#include <sched.h>
#include <sys/prctl.h>

#include "syscall.hpp"

namespace omega {

std::string apply_thread_role(ThreadRole role) noexcept {
  try {
    switch (role) {
      case ThreadRole::Timer:
        // The default 50 µs slack would make every short sleep up to 50 µs late.
        if (prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL) != 0) return "not applied: " + native::errno_text("prctl PR_SET_TIMERSLACK", errno);
        return "timer slack 1 ns";
      case ThreadRole::Background: {
        sched_param param{};
        param.sched_priority = 0;
        if (const int rc = pthread_setschedparam(pthread_self(), SCHED_IDLE, &param); rc != 0) {
          return "not applied: " + native::errno_text("pthread_setschedparam SCHED_IDLE", rc);
        }
        return "SCHED_IDLE";
      }
    }
    return "not applied: unknown role";
  } catch (...) {
    return {};
  }
}

}  // namespace omega
