// Example: time a piece of work with omega::Clock, keep the latencies in an
// omega::Histogram, and print them as a Prometheus exposition and as JSON.
#include <omega/omega.hpp>

#include <cmath>
#include <cstdio>

int main() {
  omega::MetricsRegistry registry;
  omega::Histogram& latency = registry.histogram("example_work_ns", "Time to sum a range of square roots").value();
  omega::Counter& runs = registry.counter("example_runs_total", "Work items completed").value();

  for (int i = 0; i < 10'000; ++i) {
    const auto start = omega::Clock::now();
    double acc = 0;
    for (int k = 0; k < 100 + i % 400; ++k) acc += std::sqrt(static_cast<double>(k));
    const auto elapsed = omega::Clock::now() - start;
    latency.record(static_cast<std::uint64_t>(elapsed.count()));
    runs.add();
    if (acc < 0) return 1;  // keeps the work observable
  }

  const auto snapshot = registry.snapshot();
  std::printf("%s\n%s\n", snapshot.to_prometheus().c_str(), snapshot.to_json().c_str());
  return 0;
}
