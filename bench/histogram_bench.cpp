// Latency-histogram costs, each against the peer a user would otherwise write:
//  record:      omega::Histogram::record vs. push_back into a std::vector (then sort)
//  percentiles: P50/P90/P99/P99.9 from a snapshot vs. sorting the raw samples
//  scan/merge:  the Highway kernels vs. their scalar twins (same process, same data)
// Unit stated per row; medians of repeated runs; ratio >1 means omega is faster.
#include <omega/base/config.hpp>
#include <omega/base/histogram.hpp>

#include <algorithm>
#include <random>
#include <vector>

#include "../core/src/base/histogram_simd.hpp"
#include "bench_util.hpp"

using namespace omega::bench;

int main() {
  constexpr std::size_t kSamples = 1'000'000;
  constexpr int kRuns = 11;
  std::mt19937_64 rng(42);
  std::lognormal_distribution<double> lat(9.0, 1.5);  // ~8 us median, long tail
  std::vector<std::uint64_t> samples(kSamples);
  for (auto& s : samples) s = static_cast<std::uint64_t>(lat(rng));

  std::printf("histogram_bench (%s, SIMD target %s): %zu lognormal samples, median of %d runs\n", omega::kPlatformName,
              omega::histogram_simd_target(), kSamples, kRuns);

  std::printf("record, ns per sample:\n");
  const Stat vec = repeat(kRuns, [&] {
    std::vector<std::uint64_t> v;
    v.reserve(kSamples);
    const double ns = time_ns([&] {
      for (auto s : samples) v.push_back(s);
    });
    keep(v.data());
    return ns / kSamples;
  });
  omega::Histogram h;
  const Stat rec = repeat(kRuns, [&] {
    h.reset();
    return time_ns([&] {
             for (auto s : samples) h.record(s);
           }) /
           kSamples;
  });
  row("std::vector::push_back (baseline)", vec, "ns/op", vec.median);
  row("omega::Histogram::record", rec, "ns/op", vec.median);

  std::printf("percentiles P50/P90/P99/P99.9 of 1M samples, us per query:\n");
  const Stat sorted = repeat(kRuns, [&] {
    auto copy = samples;
    return time_ns([&] {
             std::sort(copy.begin(), copy.end());
             keep(copy[copy.size() / 2]);
           }) /
           1e3;
  });
  const auto snap = h.snapshot();
  const Stat pct = repeat(kRuns, [&] {
    return time_ns([&] {
             for (int i = 0; i < 100; ++i) keep(snap.percentiles().p99);
           }) /
           100 / 1e3;
  });
  row("std::sort + index (baseline)", sorted, "us/query", sorted.median);
  row("HistogramSnapshot::percentiles", pct, "us/query", sorted.median);

  std::printf("kernels over %zu buckets, ns per call:\n", omega::HistogramLayout::kBucketCount);
  std::vector<std::uint64_t> counts(snap.buckets().begin(), snap.buckets().end());
  std::vector<std::uint64_t> dst(counts.size(), 1);
  const std::uint64_t total = omega::detail::sum_counts_scalar(counts.data(), counts.size());
  const std::uint64_t ranks[4] = {total / 2, total * 9 / 10, total * 99 / 100, total * 999 / 1000};
  std::size_t out[4];
  auto per_call = [&](auto fn) {
    return repeat(kRuns, [&] {
      return time_ns([&] {
               for (int i = 0; i < 1000; ++i) fn();
             }) /
             1000;
    });
  };
  const Stat sum_s = per_call([&] { keep(omega::detail::sum_counts_scalar(counts.data(), counts.size())); });
  const Stat sum_v = per_call([&] { keep(omega::detail::sum_counts(counts.data(), counts.size())); });
  const Stat rank_s = per_call([&] {
    omega::detail::find_ranks_scalar(counts.data(), counts.size(), ranks, 4, out);
    keep(out[0]);
  });
  const Stat rank_v = per_call([&] {
    omega::detail::find_ranks(counts.data(), counts.size(), ranks, 4, out);
    keep(out[0]);
  });
  const Stat add_s = per_call([&] {
    omega::detail::add_counts_scalar(dst.data(), counts.data(), counts.size());
    keep(dst[0]);
  });
  const Stat add_v = per_call([&] {
    omega::detail::add_counts(dst.data(), counts.data(), counts.size());
    keep(dst[0]);
  });
  row("sum, scalar (baseline)", sum_s, "ns/call", sum_s.median);
  row("sum, Highway", sum_v, "ns/call", sum_s.median);
  row("find 4 ranks, scalar (baseline)", rank_s, "ns/call", rank_s.median);
  row("find 4 ranks, Highway block skip", rank_v, "ns/call", rank_s.median);
  row("merge (add), scalar (baseline)", add_s, "ns/call", add_s.median);
  row("merge (add), Highway", add_v, "ns/call", add_s.median);
  return 0;
}
