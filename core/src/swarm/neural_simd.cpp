// Highway kernel of dense inference: compiled once per SIMD target natively (runtime
// dispatch picks the best the CPU has), once for WASM SIMD128.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "swarm/neural_simd.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep

#include <hwy/highway.h>

#include "swarm/kernels_simd.hpp"

HWY_BEFORE_NAMESPACE();
namespace omega::swarm::detail::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

void DenseMatvec(const float* HWY_RESTRICT w, const float* HWY_RESTRICT bias, const float* HWY_RESTRICT x,
                 float* HWY_RESTRICT y, std::size_t rows, std::size_t cols) {
  const hn::ScalableTag<float> d;
  const std::size_t lanes = hn::Lanes(d);
  const std::size_t vec_cols = cols - cols % lanes;
  std::size_t r = 0;
  // Four rows per pass: each load of x feeds four multiply-adds, which halves the loads per
  // FLOP and gives four independent accumulator chains to hide the FMA latency.
  for (; r + 4 <= rows; r += 4) {
    const float* w0 = w + r * cols;
    const float* w1 = w0 + cols;
    const float* w2 = w1 + cols;
    const float* w3 = w2 + cols;
    auto a0 = hn::Zero(d);
    auto a1 = hn::Zero(d);
    auto a2 = hn::Zero(d);
    auto a3 = hn::Zero(d);
    for (std::size_t c = 0; c < vec_cols; c += lanes) {
      const auto xv = hn::LoadU(d, x + c);
      a0 = hn::MulAdd(hn::LoadU(d, w0 + c), xv, a0);
      a1 = hn::MulAdd(hn::LoadU(d, w1 + c), xv, a1);
      a2 = hn::MulAdd(hn::LoadU(d, w2 + c), xv, a2);
      a3 = hn::MulAdd(hn::LoadU(d, w3 + c), xv, a3);
    }
    float s0 = hn::GetLane(hn::SumOfLanes(d, a0));
    float s1 = hn::GetLane(hn::SumOfLanes(d, a1));
    float s2 = hn::GetLane(hn::SumOfLanes(d, a2));
    float s3 = hn::GetLane(hn::SumOfLanes(d, a3));
    for (std::size_t c = vec_cols; c < cols; ++c) {
      s0 += w0[c] * x[c];
      s1 += w1[c] * x[c];
      s2 += w2[c] * x[c];
      s3 += w3[c] * x[c];
    }
    y[r] = bias[r] + s0;
    y[r + 1] = bias[r + 1] + s1;
    y[r + 2] = bias[r + 2] + s2;
    y[r + 3] = bias[r + 3] + s3;
  }
  for (; r < rows; ++r) {
    const float* wr = w + r * cols;
    auto a0 = hn::Zero(d);
    auto a1 = hn::Zero(d);
    std::size_t c = 0;
    for (; c + 2 * lanes <= vec_cols; c += 2 * lanes) {
      a0 = hn::MulAdd(hn::LoadU(d, wr + c), hn::LoadU(d, x + c), a0);
      a1 = hn::MulAdd(hn::LoadU(d, wr + c + lanes), hn::LoadU(d, x + c + lanes), a1);
    }
    for (; c < vec_cols; c += lanes) a0 = hn::MulAdd(hn::LoadU(d, wr + c), hn::LoadU(d, x + c), a0);
    float s = hn::GetLane(hn::SumOfLanes(d, hn::Add(a0, a1)));
    for (c = vec_cols; c < cols; ++c) s += wr[c] * x[c];
    y[r] = bias[r] + s;
  }
}

const char* TargetNameOf() { return hwy::TargetName(HWY_TARGET); }

}  // namespace omega::swarm::detail::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace omega::swarm::detail {

HWY_EXPORT(DenseMatvec);
HWY_EXPORT(TargetNameOf);

void dense_matvec(const float* w, const float* bias, const float* x, float* y, std::size_t rows,
                  std::size_t cols) noexcept {
  HWY_DYNAMIC_DISPATCH(DenseMatvec)(w, bias, x, y, rows, cols);
}
const char* simd_target_name() noexcept { return HWY_DYNAMIC_DISPATCH(TargetNameOf)(); }

}  // namespace omega::swarm::detail
#endif  // HWY_ONCE
