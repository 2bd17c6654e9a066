#pragma once
// The built-in C++ workloads JS picks by name: JS cannot hand closures to worker threads (or
// to a C++ timer), so NativeSystem.submit and NativeScheduler.schedule run one of these.
#include <span>
#include <string_view>

#include "js_common.hpp"

namespace omega::js {

// Busy work for `ns` nanoseconds; returns the time actually spent.
double workload_spin(double ns);
// FNV-1a over `bytes` bytes of a generated buffer; returns the low 52 bits.
double workload_hash(double bytes);
// Number of primes below `limit` (sieve of Eratosthenes).
double workload_primes(double limit);
// Nothing; returns 0.
double workload_noop(double);

struct Workload {
  std::string_view name;
  double (*run)(double arg);
  double max_arg;  // arguments lie in [0, max_arg]
};

// The circulation's (NativeSystem.submit), run on the system's nodes.
inline constexpr Workload kSystemWorkloads[] = {
    {"spin", &workload_spin, 1e9},      // up to 1 s
    {"hash", &workload_hash, 1 << 26},  // up to 64 MiB
    {"primes", &workload_primes, 1e8},  // up to 10^8
};
// The scheduler's (NativeScheduler.schedule), run on the ticking thread: in a browser the
// main thread, which must stay responsive.
inline constexpr Workload kSchedulerWorkloads[] = {
    {"noop", &workload_noop, kMaxSafeInteger},
    {"spin", &workload_spin, 1e7},  // up to 10 ms
};

// The workload called `name` in `table`, or nullptr.
const Workload* find_workload(std::span<const Workload> table, std::string_view name);

}  // namespace omega::js
