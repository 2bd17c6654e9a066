#include "workloads.hpp"

#include <omega/omega.hpp>

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

}  // namespace omega::js
