#pragma once
// SIMD kernels behind HistogramSnapshot (internal). Each has a scalar twin that tests and
// benchmarks compare against.
#include <cstddef>
#include <cstdint>

namespace omega::detail {

// dst[i] += src[i] for i < n.
void add_counts(std::uint64_t* dst, const std::uint64_t* src, std::size_t n) noexcept;
// Sum of counts[0..n).
[[nodiscard]] std::uint64_t sum_counts(const std::uint64_t* counts, std::size_t n) noexcept;
// For ascending ranks (each in [1, sum of counts]): out[j] = the first index at which the
// running total of counts reaches ranks[j]. Empty stretches are skipped a block at a time.
void find_ranks(const std::uint64_t* counts, std::size_t n, const std::uint64_t* ranks, std::size_t k,
                std::size_t* out) noexcept;
[[nodiscard]] const char* simd_target_name() noexcept;

void add_counts_scalar(std::uint64_t* dst, const std::uint64_t* src, std::size_t n) noexcept;
[[nodiscard]] std::uint64_t sum_counts_scalar(const std::uint64_t* counts, std::size_t n) noexcept;
void find_ranks_scalar(const std::uint64_t* counts, std::size_t n, const std::uint64_t* ranks, std::size_t k,
                       std::size_t* out) noexcept;

}  // namespace omega::detail
