// float32 LayerNorm row kernels (forward saving mean and rstd; fused backward), AVX-512:
// layer-norm-body.hpp over the lanes of simd-avx512.hpp.
#include "kernels/vector/simd-avx512.hpp"
#include "kernels/vector/layer-norm-body.hpp"
#include "kernels/vector/vector.hpp"

namespace graft::kernels {

void f32_layer_norm__avx512(int64 n, const float* x, const float* w, const float* b, float eps, float* y, double* mean,
                          float* rstd) {
    layer_norm_kernel<Simd>(n, x, w, b, eps, y, mean, rstd);
}

void f32_layer_norm_grad__avx512(int64 n, const float* x, const float* dy, const float* w, double mean, float rstd,
                               float* dx, float* dw_acc, float* db_acc) {
    layer_norm_grad_kernel<Simd>(n, x, dy, w, mean, rstd, dx, dw_acc, db_acc);
}

}  // namespace graft::kernels
