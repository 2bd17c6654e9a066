// Thread parking on Linux futexes (private: the words never cross processes).
#include <omega/base/park.hpp>

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <climits>

namespace omega {
namespace {

static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t) &&
                  std::atomic<std::uint32_t>::is_always_lock_free,
              "futex needs the atomic to be a plain 32-bit word");

long futex(const std::atomic<std::uint32_t>& word, int op, std::uint32_t val, const timespec* timeout) noexcept {
  // The kernel only reads the word; the const_cast is for the syscall's signature.
  auto* addr = const_cast<std::uint32_t*>(reinterpret_cast<const std::uint32_t*>(&word));
  return syscall(SYS_futex, addr, op | FUTEX_PRIVATE_FLAG, val, timeout, nullptr, 0);
}

}  // namespace

ParkResult park_wait(const std::atomic<std::uint32_t>& word, std::uint32_t expected, Nanos timeout) noexcept {
  if (word.load(std::memory_order_acquire) != expected) return ParkResult::ValueMismatch;
  if (timeout <= Nanos::zero()) return ParkResult::TimedOut;
  timespec ts{};
  const timespec* ts_ptr = nullptr;
  if (timeout != Nanos::max()) {
    ts.tv_sec = static_cast<time_t>(timeout.count() / 1'000'000'000);
    ts.tv_nsec = static_cast<long>(timeout.count() % 1'000'000'000);
    ts_ptr = &ts;
  }
  if (futex(word, FUTEX_WAIT, expected, ts_ptr) == 0) return ParkResult::Woken;
  switch (errno) {
    case ETIMEDOUT: return ParkResult::TimedOut;
    case EAGAIN: return ParkResult::ValueMismatch;
    default: return ParkResult::Woken;  // EINTR: spurious, callers re-check
  }
}

void park_wake_one(const std::atomic<std::uint32_t>& word) noexcept { futex(word, FUTEX_WAKE, 1, nullptr); }

void park_wake_all(const std::atomic<std::uint32_t>& word) noexcept { futex(word, FUTEX_WAKE, INT_MAX, nullptr); }

bool can_park() noexcept { return true; }

}  // namespace omega
