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

#ifdef __wasm_simd128__
#include <wasm_simd128.h>
#endif

HWY_BEFORE_NAMESPACE();
namespace omega::swarm::detail::HWY_NAMESPACE {

// The kernels are written once against `v`, a handful of f64 vector operations named as in
// Highway. Highway 1.0.3 gives no f64 vectors on its WASM target (HWY_HAVE_FLOAT64 is 0
// there), although SIMD128 has f64x2, so that target gets the same operations on wasm
// intrinsics; a target with neither runs them on one-lane "vectors".
#if HWY_HAVE_FLOAT64
namespace v {
namespace hn = hwy::HWY_NAMESPACE;
using D = hn::ScalableTag<double>;
using hn::Add;
using hn::Lanes;
using hn::LoadU;
using hn::Mul;
using hn::MulAdd;
using hn::NegMulAdd;
using hn::Set;
using hn::StoreU;
using hn::Zero;
template <class V>
HWY_INLINE double Total(D d, V x) {
  return hn::GetLane(hn::SumOfLanes(d, x));
}
}  // namespace v
#elif HWY_TARGET == HWY_WASM
namespace v {
struct D {};
struct V {
  v128_t raw;
};
HWY_INLINE constexpr std::size_t Lanes(D) { return 2; }
HWY_INLINE V Set(D, double x) { return {wasm_f64x2_splat(x)}; }
HWY_INLINE V Zero(D) { return {wasm_f64x2_splat(0.0)}; }
HWY_INLINE V LoadU(D, const double* p) { return {wasm_v128_load(p)}; }
HWY_INLINE void StoreU(V x, D, double* p) { wasm_v128_store(p, x.raw); }
HWY_INLINE V Add(V a, V b) { return {wasm_f64x2_add(a.raw, b.raw)}; }
HWY_INLINE V Mul(V a, V b) { return {wasm_f64x2_mul(a.raw, b.raw)}; }
HWY_INLINE V MulAdd(V a, V b, V c) { return {wasm_f64x2_add(wasm_f64x2_mul(a.raw, b.raw), c.raw)}; }
HWY_INLINE V NegMulAdd(V a, V b, V c) { return {wasm_f64x2_sub(c.raw, wasm_f64x2_mul(a.raw, b.raw))}; }
HWY_INLINE double Total(D, V x) { return wasm_f64x2_extract_lane(x.raw, 0) + wasm_f64x2_extract_lane(x.raw, 1); }
}  // namespace v
#else
namespace v {
struct D {};
struct V {
  double x;
};
HWY_INLINE constexpr std::size_t Lanes(D) { return 1; }
HWY_INLINE V Set(D, double x) { return {x}; }
HWY_INLINE V Zero(D) { return {0.0}; }
HWY_INLINE V LoadU(D, const double* p) { return {*p}; }
HWY_INLINE void StoreU(V x, D, double* p) { *p = x.x; }
HWY_INLINE V Add(V a, V b) { return {a.x + b.x}; }
HWY_INLINE V Mul(V a, V b) { return {a.x * b.x}; }
HWY_INLINE V MulAdd(V a, V b, V c) { return {a.x * b.x + c.x}; }
HWY_INLINE V NegMulAdd(V a, V b, V c) { return {c.x - a.x * b.x}; }
HWY_INLINE double Total(D, V x) { return x.x; }
}  // namespace v
#endif

void Apply1q(double* HWY_RESTRICT re, double* HWY_RESTRICT im, std::size_t dim, unsigned q,
             const double* HWY_RESTRICT u) {
  const std::size_t stride = std::size_t{1} << q;
  const v::D d;
  const std::size_t lanes = v::Lanes(d);
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
  const auto u00r = v::Set(d, u[0]), u00i = v::Set(d, u[1]);
  const auto u01r = v::Set(d, u[2]), u01i = v::Set(d, u[3]);
  const auto u10r = v::Set(d, u[4]), u10i = v::Set(d, u[5]);
  const auto u11r = v::Set(d, u[6]), u11i = v::Set(d, u[7]);
  for (std::size_t base = 0; base < dim; base += 2 * stride) {
    double* r0 = re + base;
    double* i0 = im + base;
    double* r1 = r0 + stride;
    double* i1 = i0 + stride;
    for (std::size_t j = 0; j < stride; j += lanes) {
      const auto ar = v::LoadU(d, r0 + j), ai = v::LoadU(d, i0 + j);
      const auto br = v::LoadU(d, r1 + j), bi = v::LoadU(d, i1 + j);
      // (u00 a + u01 b) and (u10 a + u11 b), complex.
      auto nr0 = v::Mul(u00r, ar);
      nr0 = v::NegMulAdd(u00i, ai, nr0);
      nr0 = v::MulAdd(u01r, br, nr0);
      nr0 = v::NegMulAdd(u01i, bi, nr0);
      auto ni0 = v::Mul(u00r, ai);
      ni0 = v::MulAdd(u00i, ar, ni0);
      ni0 = v::MulAdd(u01r, bi, ni0);
      ni0 = v::MulAdd(u01i, br, ni0);
      auto nr1 = v::Mul(u10r, ar);
      nr1 = v::NegMulAdd(u10i, ai, nr1);
      nr1 = v::MulAdd(u11r, br, nr1);
      nr1 = v::NegMulAdd(u11i, bi, nr1);
      auto ni1 = v::Mul(u10r, ai);
      ni1 = v::MulAdd(u10i, ar, ni1);
      ni1 = v::MulAdd(u11r, bi, ni1);
      ni1 = v::MulAdd(u11i, br, ni1);
      v::StoreU(nr0, d, r0 + j);
      v::StoreU(ni0, d, i0 + j);
      v::StoreU(nr1, d, r1 + j);
      v::StoreU(ni1, d, i1 + j);
    }
  }
}

HWY_INLINE double SumSquaresRun(const double* HWY_RESTRICT re, const double* HWY_RESTRICT im, std::size_t n) {
  const v::D d;
  const std::size_t lanes = v::Lanes(d);
  auto a0 = v::Zero(d);
  auto a1 = v::Zero(d);
  std::size_t i = 0;
  for (; i + 2 * lanes <= n; i += 2 * lanes) {
    const auto r0 = v::LoadU(d, re + i), m0 = v::LoadU(d, im + i);
    const auto r1 = v::LoadU(d, re + i + lanes), m1 = v::LoadU(d, im + i + lanes);
    a0 = v::MulAdd(r0, r0, a0);
    a0 = v::MulAdd(m0, m0, a0);
    a1 = v::MulAdd(r1, r1, a1);
    a1 = v::MulAdd(m1, m1, a1);
  }
  for (; i + lanes <= n; i += lanes) {
    const auto r0 = v::LoadU(d, re + i), m0 = v::LoadU(d, im + i);
    a0 = v::MulAdd(r0, r0, a0);
    a0 = v::MulAdd(m0, m0, a0);
  }
  double s = v::Total(d, v::Add(a0, a1));
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
  const v::D d;
  const std::size_t lanes = v::Lanes(d);
  std::size_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    const auto r = v::LoadU(d, re + i), m = v::LoadU(d, im + i);
    v::StoreU(v::MulAdd(m, m, v::Mul(r, r)), d, out + i);
  }
  for (; i < n; ++i) out[i] = re[i] * re[i] + im[i] * im[i];
}

HWY_INLINE void ScaleRun(double* HWY_RESTRICT p, std::size_t n, double scale) {
  const v::D d;
  const std::size_t lanes = v::Lanes(d);
  const auto s = v::Set(d, scale);
  std::size_t i = 0;
  for (; i + lanes <= n; i += lanes) v::StoreU(v::Mul(v::LoadU(d, p + i), s), d, p + i);
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
