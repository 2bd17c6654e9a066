// Highway kernels of the state-vector simulator: compiled once per SIMD target natively
// (runtime dispatch picks the best the CPU has), once for WASM SIMD128.
//
// A gate on qubit q pairs index i (bit q clear) with i + 2^q. For 2^q >= the vector length
// the partners lie in two contiguous runs of 2^q amplitudes, one vector apart by a whole
// stride, so both halves load as plain vectors; for the few low qubits below that, the
// pairs interleave within a vector and the kernels fall back to scalar loops.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "swarm/quantum_simd.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep

#include <hwy/highway.h>

#include "swarm/kernels_simd.hpp"

HWY_BEFORE_NAMESPACE();
namespace omega::swarm::detail::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

void Apply1q(double* HWY_RESTRICT re, double* HWY_RESTRICT im, std::size_t dim, unsigned q,
             const double* HWY_RESTRICT u) {
  const std::size_t stride = std::size_t{1} << q;
  const hn::ScalableTag<double> d;
  const std::size_t lanes = hn::Lanes(d);
  if (stride < lanes) {
    for (std::size_t base = 0; base < dim; base += 2 * stride) {
      for (std::size_t i0 = base; i0 < base + stride; ++i0) {
        const std::size_t i1 = i0 + stride;
        const double ar = re[i0], ai = im[i0], br = re[i1], bi = im[i1];
        re[i0] = u[0] * ar - u[1] * ai + u[2] * br - u[3] * bi;
        im[i0] = u[0] * ai + u[1] * ar + u[2] * bi + u[3] * br;
        re[i1] = u[4] * ar - u[5] * ai + u[6] * br - u[7] * bi;
        im[i1] = u[4] * ai + u[5] * ar + u[6] * bi + u[7] * br;
      }
    }
    return;
  }
  const auto u00r = hn::Set(d, u[0]), u00i = hn::Set(d, u[1]);
  const auto u01r = hn::Set(d, u[2]), u01i = hn::Set(d, u[3]);
  const auto u10r = hn::Set(d, u[4]), u10i = hn::Set(d, u[5]);
  const auto u11r = hn::Set(d, u[6]), u11i = hn::Set(d, u[7]);
  for (std::size_t base = 0; base < dim; base += 2 * stride) {
    double* r0 = re + base;
    double* i0 = im + base;
    double* r1 = r0 + stride;
    double* i1 = i0 + stride;
    for (std::size_t j = 0; j < stride; j += lanes) {
      const auto ar = hn::LoadU(d, r0 + j), ai = hn::LoadU(d, i0 + j);
      const auto br = hn::LoadU(d, r1 + j), bi = hn::LoadU(d, i1 + j);
      // (u00 a + u01 b) and (u10 a + u11 b), complex.
      auto nr0 = hn::Mul(u00r, ar);
      nr0 = hn::NegMulAdd(u00i, ai, nr0);
      nr0 = hn::MulAdd(u01r, br, nr0);
      nr0 = hn::NegMulAdd(u01i, bi, nr0);
      auto ni0 = hn::Mul(u00r, ai);
      ni0 = hn::MulAdd(u00i, ar, ni0);
      ni0 = hn::MulAdd(u01r, bi, ni0);
      ni0 = hn::MulAdd(u01i, br, ni0);
      auto nr1 = hn::Mul(u10r, ar);
      nr1 = hn::NegMulAdd(u10i, ai, nr1);
      nr1 = hn::MulAdd(u11r, br, nr1);
      nr1 = hn::NegMulAdd(u11i, bi, nr1);
      auto ni1 = hn::Mul(u10r, ai);
      ni1 = hn::MulAdd(u10i, ar, ni1);
      ni1 = hn::MulAdd(u11r, bi, ni1);
      ni1 = hn::MulAdd(u11i, br, ni1);
      hn::StoreU(nr0, d, r0 + j);
      hn::StoreU(ni0, d, i0 + j);
      hn::StoreU(nr1, d, r1 + j);
      hn::StoreU(ni1, d, i1 + j);
    }
  }
}

HWY_INLINE double SumSquaresRun(const double* HWY_RESTRICT re, const double* HWY_RESTRICT im, std::size_t n) {
  const hn::ScalableTag<double> d;
  const std::size_t lanes = hn::Lanes(d);
  auto a0 = hn::Zero(d);
  auto a1 = hn::Zero(d);
  std::size_t i = 0;
  for (; i + 2 * lanes <= n; i += 2 * lanes) {
    const auto r0 = hn::LoadU(d, re + i), m0 = hn::LoadU(d, im + i);
    const auto r1 = hn::LoadU(d, re + i + lanes), m1 = hn::LoadU(d, im + i + lanes);
    a0 = hn::MulAdd(r0, r0, a0);
    a0 = hn::MulAdd(m0, m0, a0);
    a1 = hn::MulAdd(r1, r1, a1);
    a1 = hn::MulAdd(m1, m1, a1);
  }
  for (; i + lanes <= n; i += lanes) {
    const auto r0 = hn::LoadU(d, re + i), m0 = hn::LoadU(d, im + i);
    a0 = hn::MulAdd(r0, r0, a0);
    a0 = hn::MulAdd(m0, m0, a0);
  }
  double s = hn::GetLane(hn::SumOfLanes(d, hn::Add(a0, a1)));
  for (; i < n; ++i) s += re[i] * re[i] + im[i] * im[i];
  return s;
}

double SumSquares(const double* HWY_RESTRICT re, const double* HWY_RESTRICT im, std::size_t n) {
  return SumSquaresRun(re, im, n);
}

double SumSquaresBit(const double* HWY_RESTRICT re, const double* HWY_RESTRICT im, std::size_t dim, unsigned q) {
  const std::size_t stride = std::size_t{1} << q;
  double s = 0;
  for (std::size_t base = stride; base < dim; base += 2 * stride) s += SumSquaresRun(re + base, im + base, stride);
  return s;
}

void Squares(const double* HWY_RESTRICT re, const double* HWY_RESTRICT im, double* HWY_RESTRICT out, std::size_t n) {
  const hn::ScalableTag<double> d;
  const std::size_t lanes = hn::Lanes(d);
  std::size_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    const auto r = hn::LoadU(d, re + i), m = hn::LoadU(d, im + i);
    hn::StoreU(hn::MulAdd(m, m, hn::Mul(r, r)), d, out + i);
  }
  for (; i < n; ++i) out[i] = re[i] * re[i] + im[i] * im[i];
}

HWY_INLINE void ScaleRun(double* HWY_RESTRICT p, std::size_t n, double scale) {
  const hn::ScalableTag<double> d;
  const std::size_t lanes = hn::Lanes(d);
  const auto s = hn::Set(d, scale);
  std::size_t i = 0;
  for (; i + lanes <= n; i += lanes) hn::StoreU(hn::Mul(hn::LoadU(d, p + i), s), d, p + i);
  for (; i < n; ++i) p[i] *= scale;
}

void Collapse(double* HWY_RESTRICT re, double* HWY_RESTRICT im, std::size_t dim, unsigned q, unsigned keep,
              double scale) {
  const std::size_t stride = std::size_t{1} << q;
  for (std::size_t base = 0; base < dim; base += 2 * stride) {
    const std::size_t kept = keep ? base + stride : base;
    const std::size_t gone = keep ? base : base + stride;
    ScaleRun(re + kept, stride, scale);
    ScaleRun(im + kept, stride, scale);
    for (std::size_t i = gone; i < gone + stride; ++i) re[i] = im[i] = 0;
  }
}

}  // namespace omega::swarm::detail::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace omega::swarm::detail {

HWY_EXPORT(Apply1q);
HWY_EXPORT(SumSquares);
HWY_EXPORT(SumSquaresBit);
HWY_EXPORT(Squares);
HWY_EXPORT(Collapse);

void apply_1q(double* re, double* im, std::size_t dim, unsigned q, const double* u) noexcept {
  HWY_DYNAMIC_DISPATCH(Apply1q)(re, im, dim, q, u);
}
double sum_squares(const double* re, const double* im, std::size_t n) noexcept {
  return HWY_DYNAMIC_DISPATCH(SumSquares)(re, im, n);
}
double sum_squares_bit(const double* re, const double* im, std::size_t dim, unsigned q) noexcept {
  return HWY_DYNAMIC_DISPATCH(SumSquaresBit)(re, im, dim, q);
}
void squares(const double* re, const double* im, double* out, std::size_t n) noexcept {
  HWY_DYNAMIC_DISPATCH(Squares)(re, im, out, n);
}
void collapse(double* re, double* im, std::size_t dim, unsigned q, unsigned keep, double scale) noexcept {
  HWY_DYNAMIC_DISPATCH(Collapse)(re, im, dim, q, keep, scale);
}

}  // namespace omega::swarm::detail
#endif  // HWY_ONCE
