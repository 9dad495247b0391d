// float32 per-channel affine with an activation and its gradient (batch_norm's output, a folded
// BatchNorm's), and a BatchNorm channel's backward sums and input gradient, AVX2: affine-activation-body.hpp instantiated over the lanes of simd-avx2.hpp.
#include "kernels/vector/simd-avx2.hpp"
#include "kernels/vector/affine-activation-body.hpp"

namespace graft::kernels {

void f32_affine_activation__avx2(AffineActivation act, int64 channels, int64 n, int64 lo, int64 hi, const float* x,
                                 float* y, const double* scale, const double* shift) {
    affine_activation_kernel<Simd>(act, channels, n, lo, hi, x, y, scale, shift);
}

void f32_affine_activation_grad__avx2(AffineActivation act, int64 channels, int64 n, int64 lo, int64 hi,
                                      const float* x, const double* scale, const double* shift, const float* dy,
                                      float* dz) {
    affine_activation_grad_kernel<Simd>(act, channels, n, lo, hi, x, scale, shift, dy, dz);
}

void f32_channel_grad_sums__avx2(int64 rows, int64 n, int64 stride, const float* dy, const float* x, float mean,
                                  double* sums) {
    channel_grad_sums_kernel<Simd>(rows, n, stride, dy, x, mean, sums);
}

void f32_channel_grad__avx2(int64 rows, int64 n, int64 stride, const float* dy, const float* x, float a, float b,
                             float e, float* dx) {
    channel_grad_kernel<Simd>(rows, n, stride, dy, x, a, b, e, dx);
}

}  // namespace graft::kernels
