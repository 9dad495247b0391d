// float32 softmax / log_softmax and fused softmax cross-entropy row kernels, forward and
// backward, AVX-512: softmax-body.hpp over the lanes of simd-avx512.hpp.
#include "kernels/vector/simd-avx512.hpp"
#include "kernels/vector/softmax-body.hpp"

namespace graft::kernels {

void f32_softmax__avx512(int64 n, const float* x, float* y, bool log) { softmax_kernel<Simd>(n, x, y, log); }

void f32_softmax_grad__avx512(int64 n, const float* y, const float* dy, float* dx, bool log) {
    softmax_grad_kernel<Simd>(n, y, dy, dx, log);
}

float f32_cross_entropy__avx512(int64 n, const float* x, int64 target, float smoothing, float* max, float* log_sum) {
    return cross_entropy_kernel<Simd>(n, x, target, smoothing, max, log_sum);
}

void f32_cross_entropy_grad__avx512(int64 n, const float* x, float max, float log_sum, int64 target, float smoothing,
                                  float scale, float* dx) {
    cross_entropy_grad_kernel<Simd>(n, x, max, log_sum, target, smoothing, scale, dx);
}

}  // namespace graft::kernels
