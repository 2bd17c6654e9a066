#include <omega/base/config.hpp>
#include <omega/base/histogram.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <random>
#include <vector>

#include "../support/threads.hpp"
#include "base/histogram_simd.hpp"

using omega::Histogram;
using omega::HistogramSnapshot;
using Layout = omega::HistogramLayout;

namespace {

// The value a perfect histogram reports at quantile q: nearest rank, ceil(q * n).
std::uint64_t reference_quantile(const std::vector<std::uint64_t>& sorted, double q) {
  if (q <= 0) return sorted.front();
  const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

std::vector<std::uint64_t> draw(const char* distribution, std::size_t n, std::mt19937_64& rng) {
  std::vector<std::uint64_t> v(n);
  std::string_view d = distribution;
  std::uniform_int_distribution<std::uint64_t> uniform(0, 10'000'000);
  std::exponential_distribution<double> expo(1.0 / 50'000.0);
  std::lognormal_distribution<double> lognormal(9.0, 2.0);
  std::bernoulli_distribution coin(0.97);
  for (auto& x : v) {
    if (d == "uniform") {
      x = uniform(rng);
    } else if (d == "exponential") {
      x = static_cast<std::uint64_t>(expo(rng));
    } else if (d == "lognormal") {
      x = std::min<std::uint64_t>(static_cast<std::uint64_t>(lognormal(rng)), Layout::kMaxTrackable);
    } else {  // bimodal: fast path with a slow tail, as latencies look
      x = coin(rng) ? 800 + rng() % 400 : 2'000'000 + rng() % 3'000'000;
    }
  }
  return v;
}

}  // namespace

TEST_CASE("layout maps every value into a bucket that contains it", "[histogram]") {
  CHECK(Layout::kBucketCount == 4864);
  for (std::uint64_t v = 0; v < (1U << 16); ++v) {
    const auto i = Layout::index_of(v);
    REQUIRE(i < Layout::kBucketCount);
    REQUIRE(Layout::lower_bound(i) <= v);
    REQUIRE(v <= Layout::upper_bound(i));
  }
  std::mt19937_64 rng(7);
  for (int k = 0; k < 200'000; ++k) {
    const std::uint64_t v = rng() >> (rng() % 64);
    const auto i = Layout::index_of(v);
    REQUIRE(i < Layout::kBucketCount);
    if (v <= Layout::kMaxTrackable) {
      REQUIRE(Layout::lower_bound(i) <= v);
      REQUIRE(v <= Layout::upper_bound(i));
    } else {
      REQUIRE(i == Layout::kBucketCount - 1);
    }
  }
}

TEST_CASE("layout buckets tile the range with bounded relative width", "[histogram]") {
  CHECK(Layout::lower_bound(0) == 0);
  CHECK(Layout::upper_bound(Layout::kBucketCount - 1) == Layout::kMaxTrackable);
  for (std::size_t i = 1; i < Layout::kBucketCount; ++i) {
    REQUIRE(Layout::lower_bound(i) == Layout::upper_bound(i - 1) + 1);
    if (Layout::lower_bound(i) >= Layout::kSubBucketCount) {
      const double rel = static_cast<double>(Layout::width(i)) / static_cast<double>(Layout::lower_bound(i));
      REQUIRE(rel <= 1.0 / static_cast<double>(Layout::kSubBucketCount));
    }
  }
}

TEST_CASE("percentiles match a sorted reference within the stated error", "[histogram]") {
  std::mt19937_64 rng(12345);
  for (const char* dist : {"uniform", "exponential", "lognormal", "bimodal"}) {
    for (std::size_t n : {1UL, 2UL, 7UL, 1000UL, 100'000UL}) {
      const auto values = draw(dist, n, rng);
      Histogram h;
      for (auto v : values) h.record(v);
      auto sorted = values;
      std::sort(sorted.begin(), sorted.end());
      const HistogramSnapshot s = h.snapshot();
      REQUIRE(s.count() == n);
      CHECK(s.min() == sorted.front());
      CHECK(s.max() == sorted.back());
      for (double q : {0.0, 0.1, 0.5, 0.9, 0.99, 0.999, 0.9999, 1.0}) {
        const auto expected = reference_quantile(sorted, q);
        const auto got = s.value_at_quantile(q);
        INFO(dist << " n=" << n << " q=" << q << " expected " << expected << " got " << got);
        const double bound = static_cast<double>(expected) * Layout::kMaxRelativeError + 1.0;
        CHECK(std::abs(static_cast<double>(got) - static_cast<double>(expected)) <= bound);
      }
      const auto p = s.percentiles();
      CHECK(p.p50 == s.value_at_quantile(0.5));
      CHECK(p.p999 == s.value_at_quantile(0.999));
      CHECK(p.min <= p.p50);
      CHECK(p.p50 <= p.p90);
      CHECK(p.p90 <= p.p99);
      CHECK(p.p99 <= p.p999);
      CHECK(p.p999 <= p.max);
    }
  }
}

TEST_CASE("quantile edge cases", "[histogram]") {
  Histogram h;
  HistogramSnapshot empty = h.snapshot();
  CHECK(empty.count() == 0);
  CHECK(empty.value_at_quantile(0.5) == 0);
  CHECK(empty.min() == 0);
  CHECK(empty.max() == 0);
  CHECK(empty.mean() == 0.0);

  h.record(1'000'003);
  const auto one = h.snapshot();
  for (double q : {-1.0, 0.0, 0.5, 1.0, 2.0}) CHECK(one.value_at_quantile(q) == 1'000'003);

  std::vector<double> qs{0.99, 0.5, 0.0, 1.0};  // unsorted on purpose
  std::vector<std::uint64_t> out(qs.size());
  h.record(5);
  const auto two = h.snapshot();
  two.values_at_quantiles(qs, out);
  CHECK(out[0] == 1'000'003);
  CHECK(out[1] == 5);
  CHECK(out[2] == 5);
  CHECK(out[3] == 1'000'003);
}

TEST_CASE("values past the trackable range saturate but keep exact extremes", "[histogram]") {
  Histogram h;
  h.record(Layout::kMaxTrackable + 1);
  h.record(~std::uint64_t{0});
  h.record(10);
  const auto s = h.snapshot();
  CHECK(s.count() == 3);
  CHECK(s.saturated() == 2);
  CHECK(s.max() == ~std::uint64_t{0});
  CHECK(s.value_at_quantile(1.0) == ~std::uint64_t{0});
  CHECK(s.value_at_quantile(0.0) == 10);
}

TEST_CASE("merging snapshots equals recording into one histogram", "[histogram]") {
  std::mt19937_64 rng(99);
  const auto a_values = draw("lognormal", 50'000, rng);
  const auto b_values = draw("bimodal", 30'000, rng);
  Histogram a, b, both;
  for (auto v : a_values) {
    a.record(v);
    both.record(v);
  }
  for (auto v : b_values) {
    b.record(v);
    both.record(v);
  }
  HistogramSnapshot merged = a.snapshot();
  merged.merge(b.snapshot());
  const HistogramSnapshot expected = both.snapshot();
  CHECK(merged.count() == expected.count());
  CHECK(merged.sum() == expected.sum());
  CHECK(merged.min() == expected.min());
  CHECK(merged.max() == expected.max());
  CHECK(std::equal(merged.buckets().begin(), merged.buckets().end(), expected.buckets().begin()));
  CHECK(merged.percentiles().p99 == expected.percentiles().p99);

  // The same through a live histogram.
  Histogram live;
  live.merge(a.snapshot());
  live.merge(b.snapshot());
  live.merge(HistogramSnapshot{});  // empty: no effect, not even on min
  const auto l = live.snapshot();
  CHECK(l.count() == expected.count());
  CHECK(l.sum() == expected.sum());
  CHECK(l.min() == expected.min());
  CHECK(std::equal(l.buckets().begin(), l.buckets().end(), expected.buckets().begin()));
}

TEST_CASE("record_n counts n samples", "[histogram]") {
  Histogram h;
  h.record_n(500, 1000);
  h.record_n(7, 0);
  const auto s = h.snapshot();
  CHECK(s.count() == 1000);
  CHECK(s.sum() == 500'000);
  CHECK(s.min() == 500);
  CHECK(s.value_at_quantile(0.5) == 500);
}

TEST_CASE("SIMD kernels agree with their scalar twins", "[histogram][simd]") {
  INFO("SIMD target: " << omega::histogram_simd_target());
  std::mt19937_64 rng(3);
  for (std::size_t n : {0UL, 1UL, 3UL, 63UL, 64UL, 65UL, 130UL, 1000UL, Layout::kBucketCount}) {
    std::vector<std::uint64_t> counts(n), other(n);
    for (std::size_t i = 0; i < n; ++i) {
      counts[i] = rng() % 4 == 0 ? rng() % 1000 : 0;  // sparse, like real histograms
      other[i] = rng() % 100;
    }
    CHECK(omega::detail::sum_counts(counts.data(), n) == omega::detail::sum_counts_scalar(counts.data(), n));
    auto simd_sum = counts, scalar_sum = counts;
    omega::detail::add_counts(simd_sum.data(), other.data(), n);
    omega::detail::add_counts_scalar(scalar_sum.data(), other.data(), n);
    CHECK(simd_sum == scalar_sum);
    const std::uint64_t total = omega::detail::sum_counts_scalar(counts.data(), n);
    if (total == 0) continue;
    std::vector<std::uint64_t> ranks;
    for (int k = 0; k < 20; ++k) ranks.push_back(1 + rng() % total);
    ranks.push_back(1);
    ranks.push_back(total);
    std::sort(ranks.begin(), ranks.end());
    std::vector<std::size_t> a(ranks.size()), b(ranks.size());
    omega::detail::find_ranks(counts.data(), n, ranks.data(), ranks.size(), a.data());
    omega::detail::find_ranks_scalar(counts.data(), n, ranks.data(), ranks.size(), b.data());
    CHECK(a == b);
  }
}

TEST_CASE("concurrent recording loses nothing", "[histogram][concurrency]") {
  if constexpr (!omega::kHasThreads) {
    SUCCEED("single-threaded build");
  } else {
    constexpr int kThreads = 4;
    constexpr std::uint64_t kPerThread = 100'000;
    Histogram h;
    std::atomic<bool> done{false};
    std::atomic<int> bad_snapshots{0};
    std::thread reader([&] {
      std::uint64_t last = 0;
      while (!done.load()) {
        const auto s = h.snapshot();
        const auto p = s.percentiles();
        if (s.count() < last || (s.count() && (p.min > p.p50 || p.p50 > p.max))) bad_snapshots.fetch_add(1);
        last = s.count();
      }
    });
    omega::test::run_threads(kThreads, [&](int id) {
      for (std::uint64_t i = 0; i < kPerThread; ++i) h.record(static_cast<std::uint64_t>(id) * 1000 + i % 1000);
    });
    done.store(true);
    reader.join();
    const auto s = h.snapshot();
    CHECK(s.count() == kThreads * kPerThread);
    std::uint64_t expected_sum = 0;
    for (int id = 0; id < kThreads; ++id) {
      for (std::uint64_t i = 0; i < kPerThread; ++i) expected_sum += static_cast<std::uint64_t>(id) * 1000 + i % 1000;
    }
    CHECK(s.sum() == expected_sum);
    CHECK(s.min() == 0);
    CHECK(s.max() == (kThreads - 1) * 1000 + 999);
    CHECK(bad_snapshots.load() == 0);
  }
}
