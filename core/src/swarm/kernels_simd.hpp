#pragma once
// Highway kernels behind NeuralNetwork and QuantumState (internal). Dispatched once per
// call to the best target the CPU has natively; SIMD128 in WASM.
#include <cstddef>

namespace omega::swarm::detail {

// y[r] = bias[r] + sum_c w[r * cols + c] * x[c] for r < rows.
void dense_matvec(const float* w, const float* bias, const float* x, float* y, std::size_t rows,
                  std::size_t cols) noexcept;

// One single-qubit unitary u = [[u00, u01], [u10, u11]], given as (re, im) pairs in u[8], on
// qubit q of a 2^n state (dim = 2^n, q < n), amplitudes split into re and im arrays.
void apply_1q(double* re, double* im, std::size_t dim, unsigned q, const double* u) noexcept;
// sum_i re[i]^2 + im[i]^2 over i < n.
[[nodiscard]] double sum_squares(const double* re, const double* im, std::size_t n) noexcept;
// The same over the indices whose bit q is set.
[[nodiscard]] double sum_squares_bit(const double* re, const double* im, std::size_t dim, unsigned q) noexcept;
// out[i] = re[i]^2 + im[i]^2.
void squares(const double* re, const double* im, double* out, std::size_t n) noexcept;
// Zero the amplitudes whose bit q differs from `keep` and multiply the others by `scale`.
void collapse(double* re, double* im, std::size_t dim, unsigned q, unsigned keep, double scale) noexcept;

[[nodiscard]] const char* simd_target_name() noexcept;

}  // namespace omega::swarm::detail
