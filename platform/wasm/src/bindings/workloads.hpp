#pragma once
// The built-in C++ workloads JS picks by name: JS cannot hand closures to worker threads (or
// to a C++ timer), so NativeSystem.submit and NativeScheduler.schedule run one of these, and
// NativeSystem.spawn one of the cooperative ones (omega::Coro, under Pulse).
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

// ---- Cooperative workloads (NativeSystem.spawn) ------------------------------------------
// Each is an omega::Coro<double> polled by the system's workers under Pulse; between them
// they show every kind of task Pulse tells apart.

// Polls a hog makes before it finishes: enough to climb to Isolate (11 violating polls under
// Balanced) and then to be seen running from the slow lane for a while.
inline constexpr int kHogPolls = 60;

// Sum of i*i for i < n (mod 2^64), low 52 bits; a checkpoint every 1024 iterations: a
// well-behaved CPU task.
Coro<double> coro_crunch(double n);
// Sleeps `us` microseconds on the system's wheel, then yields once; returns how late it was
// polled after its deadline (wake-to-poll latency), in microseconds.
Coro<double> coro_light(double us);
// Sleeps `ms` milliseconds; returns the milliseconds actually slept.
Coro<double> coro_sleepy(double ms);
// kHogPolls polls, each spinning `ms` milliseconds before it yields: overruns its budget
// every poll when ms exceeds it. Returns the polls made (kHogPolls).
Coro<double> coro_hog(double ms);
// Spins `ms` milliseconds in one poll without ever suspending (the watchdog's case); returns
// the milliseconds spun.
Coro<double> coro_stall(double ms);

struct CoroWorkload {
  std::string_view name;
  Coro<double> (*make)(double arg);
  double max_arg;  // arguments lie in [0, max_arg]
};
inline constexpr CoroWorkload kCoroWorkloads[] = {
    {"crunch", &coro_crunch, 1e9},    // up to 10^9 iterations
    {"light", &coro_light, 1e6},      // up to 1 s asleep
    {"sleepy", &coro_sleepy, 3.6e6},  // up to an hour asleep
    {"hog", &coro_hog, 100},          // up to 100 ms per poll
    {"stall", &coro_stall, 10'000},   // up to 10 s in one poll
};
const CoroWorkload* find_coro_workload(std::string_view name);

}  // namespace omega::js
