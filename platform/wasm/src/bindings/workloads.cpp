#include "workloads.hpp"

#include <omega/omega.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <vector>

namespace omega::js {

double workload_spin(double ns) {
  const auto start = Clock::now();
  const auto until = start + Nanos(static_cast<std::int64_t>(ns));
  auto now = start;
  while (now < until) now = Clock::now();
  return static_cast<double>((now - start).count());
}

double workload_hash(double bytes) {
  std::uint64_t h = 1469598103934665603ULL;
  unsigned char block[256];
  for (std::size_t i = 0; i < sizeof(block); ++i) block[i] = static_cast<unsigned char>(i * 31 + 7);
  auto left = static_cast<std::uint64_t>(bytes);
  while (left > 0) {
    const std::size_t n = left < sizeof(block) ? static_cast<std::size_t>(left) : sizeof(block);
    for (std::size_t i = 0; i < n; ++i) h = (h ^ block[i]) * 1099511628211ULL;
    left -= n;
  }
  return static_cast<double>(h & ((std::uint64_t{1} << 52) - 1));
}

double workload_primes(double limit) {
  const auto n = static_cast<std::size_t>(limit);
  if (n < 3) return 0;
  std::vector<bool> composite(n, false);
  std::size_t count = 0;
  for (std::size_t i = 2; i < n; ++i) {
    if (composite[i]) continue;
    ++count;
    for (std::size_t j = i * i; j < n; j += i) composite[j] = true;
  }
  return static_cast<double>(count);
}

double workload_noop(double) { return 0; }

const Workload* find_workload(std::span<const Workload> table, std::string_view name) {
  for (const auto& w : table) {
    if (w.name == name) return &w;
  }
  return nullptr;
}

namespace {

// Busy until `until_ns` on omega's clock (never suspends).
void spin_until(std::int64_t until_ns) {
  while (now_ns() < until_ns) {
  }
}

constexpr std::uint64_t kLow52 = (std::uint64_t{1} << 52) - 1;

}  // namespace

Coro<double> coro_crunch(double n) {
  const auto count = static_cast<std::uint64_t>(n);
  std::uint64_t acc = 0;
  for (std::uint64_t i = 0; i < count; ++i) {
    acc += i * i;
    if ((i & 1023) == 0) co_await checkpoint();
  }
  co_return static_cast<double>(acc & kLow52);
}

Coro<double> coro_light(double us) {
  const std::int64_t deadline = now_ns() + static_cast<std::int64_t>(us * 1e3);
  co_await sleep_until(Clock::time_point(Nanos(deadline)));
  const double late_us = static_cast<double>(std::max<std::int64_t>(now_ns() - deadline, 0)) / 1e3;
  co_await yield_now();  // the tiny work: one more short poll, as Tokio's experiment's light task
  co_return late_us;
}

Coro<double> coro_sleepy(double ms) {
  const std::int64_t start = now_ns();
  co_await sleep_for(std::chrono::nanoseconds(static_cast<std::int64_t>(ms * 1e6)));
  co_return static_cast<double>(now_ns() - start) / 1e6;
}

Coro<double> coro_hog(double ms) {
  const auto per_poll = static_cast<std::int64_t>(ms * 1e6);
  for (int i = 0; i < kHogPolls; ++i) {
    spin_until(now_ns() + per_poll);
    co_await yield_now();
  }
  co_return static_cast<double>(kHogPolls);
}

Coro<double> coro_stall(double ms) {
  const std::int64_t start = now_ns();
  spin_until(start + static_cast<std::int64_t>(ms * 1e6));
  co_return static_cast<double>(now_ns() - start) / 1e6;
}

const CoroWorkload* find_coro_workload(std::string_view name) {
  for (const auto& w : kCoroWorkloads) {
    if (w.name == name) return &w;
  }
  return nullptr;
}

}  // namespace omega::js
