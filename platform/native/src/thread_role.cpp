#include <omega/base/thread_role.hpp>

#include <cerrno>
#include <pthread.h>
#include <sched.h>
#include <sys/prctl.h>
#include <time.h>

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

std::uint64_t this_thread_cpu_clock() noexcept {
  clockid_t id;
  if (pthread_getcpuclockid(pthread_self(), &id) != 0) return 0;
  // Linux's thread CPU clock ids are negative numbers: carried as their bits, plus a flag bit
  // so that no valid handle is 0.
  return (std::uint64_t{1} << 32) | static_cast<std::uint32_t>(id);
}

std::int64_t thread_cpu_ns(std::uint64_t clock) noexcept {
  if (clock == 0) return -1;
  const auto id = static_cast<clockid_t>(static_cast<std::int32_t>(static_cast<std::uint32_t>(clock)));
  timespec ts{};
  if (clock_gettime(id, &ts) != 0) return -1;
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace omega
