// float32 optimizer updates (Adam/AdamW, SGD, RMSprop), AVX512: optim-body.hpp instantiated over
// the lanes of vector/simd-avx512.hpp.
#include "kernels/vector/simd-avx512.hpp"
#include "kernels/optim/optim-body.hpp"

namespace graft::kernels {

void f32_adam__avx512(int64 n, float* p, const float* g, float* m, float* v, float* vmax, const AdamCoeffs<float>& c) {
    adam_kernel<Simd>(n, p, g, m, v, vmax, c);
}

void f32_sgd__avx512(int64 n, float* p, const float* g, float* buf, const SgdCoeffs<float>& c) {
    sgd_kernel<Simd>(n, p, g, buf, c);
}

void f32_rmsprop__avx512(int64 n, float* p, const float* g, float* sq, float* avg_g, float* buf,
                       const RmspropCoeffs<float>& c) {
    rmsprop_kernel<Simd>(n, p, g, sq, avg_g, buf, c);
}

}  // namespace graft::kernels
