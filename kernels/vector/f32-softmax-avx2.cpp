// float32 softmax / log_softmax and fused softmax cross-entropy row kernels, forward and
// backward, AVX2: softmax-body.hpp over the lanes of simd-avx2.hpp.
#include "vector/simd-avx2.hpp"
#include "vector/softmax-body.hpp"

namespace graft::kernels {

void f32_softmax__avx2(int64 n, const float* x, float* y, bool log) { softmax_kernel<Simd>(n, x, y, log); }

void f32_softmax_grad__avx2(int64 n, const float* y, const float* dy, float* dx, bool log) {
    softmax_grad_kernel<Simd>(n, y, dy, dx, log);
}

float f32_cross_entropy__avx2(int64 n, const float* x, int64 target, float smoothing, float* lse) {
    return cross_entropy_kernel<Simd>(n, x, target, smoothing, lse);
}

void f32_cross_entropy_grad__avx2(int64 n, const float* x, float lse, int64 target, float smoothing, float scale,
                                  float* dx) {
    cross_entropy_grad_kernel<Simd>(n, x, lse, target, smoothing, scale, dx);
}

}  // namespace graft::kernels
