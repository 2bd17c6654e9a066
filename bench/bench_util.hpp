#pragma once
// Shared helpers for benchmarks: repeat a measurement, report the median and the spread.
// These machines are small and noisy; medians of many short runs are what we compare.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

namespace omega::bench {

struct Stat {
  double median;
  double min;
  double max;
};

// Runs `once` (which returns a figure, e.g. ns per op) `runs` times.
inline Stat repeat(int runs, const std::function<double()>& once) {
  std::vector<double> v;
  v.reserve(static_cast<std::size_t>(runs));
  for (int i = 0; i < runs; ++i) v.push_back(once());
  std::sort(v.begin(), v.end());
  return Stat{v[v.size() / 2], v.front(), v.back()};
}

// Wall time of f() in ns, on the standard steady clock (the one clock every peer shares).
template <class F>
double time_ns(F&& f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  const auto t1 = std::chrono::steady_clock::now();
  return static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count());
}

// Keeps a value alive so the optimiser cannot drop the work that made it.
template <class T>
inline void keep(const T& value) {
  asm volatile("" : : "r,m"(value) : "memory");
}

inline void row(const char* name, const Stat& s, const char* unit, double baseline_median) {
  std::printf("  %-44s %10.2f %-8s (min %8.2f, max %8.2f)  x%.2f vs baseline\n", name, s.median, unit, s.min, s.max,
              baseline_median / s.median);
}

// The machine's load average, natively ("n/a" in WASM): figures mean little on a busy
// machine, so the output says how busy it was.
inline std::string load_average() {
#ifdef __EMSCRIPTEN__
  return "n/a";
#else
  char buf[64] = {};
  std::FILE* f = std::fopen("/proc/loadavg", "r");
  if (f == nullptr) return "n/a";
  const std::size_t n = std::fread(buf, 1, sizeof(buf) - 1, f);
  std::fclose(f);
  std::string s(buf, n);
  // "1m 5m 15m running/total last-pid": keep the three averages.
  std::size_t cut = 0;
  for (int spaces = 0; cut < s.size() && spaces < 3; ++cut) {
    if (s[cut] == ' ') ++spaces;
  }
  return s.substr(0, cut > 0 ? cut - 1 : 0);
#endif
}

}  // namespace omega::bench
