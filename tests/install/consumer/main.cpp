#include <omega/omega.hpp>

#include <cstdio>

int main() {
  omega::Histogram latency;
  const auto start = omega::Clock::now();
  for (int i = 1; i <= 1000; ++i) latency.record(static_cast<std::uint64_t>(i) * 100);
  const auto elapsed = omega::Clock::now() - start;

  omega::MetricsSnapshot snapshot;
  if (!snapshot.add_histogram("consumer_latency_ns", "Samples from the consumer", {}, latency.snapshot())) return 1;
  const auto p = latency.snapshot().percentiles();
  std::printf("clock=%s p50=%llu p99=%llu elapsed=%lldns\n%s", omega::clock_info().source.data(),
              static_cast<unsigned long long>(p.p50), static_cast<unsigned long long>(p.p99),
              static_cast<long long>(elapsed.count()), snapshot.to_prometheus().c_str());
  return p.count == 1000 && p.p50 >= 49'000 && p.p50 <= 51'000 ? 0 : 1;
}
