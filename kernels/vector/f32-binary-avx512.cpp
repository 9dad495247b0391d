// float32 binary arithmetic kernels (add, sub, mul, div; two arrays or an array and a scalar),
// AVX-512: binary-body.hpp instantiated over the lanes of simd-avx512.hpp.
#include "kernels/vector/simd-avx512.hpp"
#include "kernels/vector/binary-body.hpp"

namespace graft::kernels {

void f32_binary__avx512(BinaryOp op, int64 n, const float* a, const float* b, float* y) {
    binary_kernel<Simd>(op, n, a, b, y);
}

void f32_binary_scalar__avx512(BinaryOp op, int64 n, const float* a, float s, bool scalar_first, float* y) {
    binary_scalar_kernel<Simd>(op, n, a, s, scalar_first, y);
}

}  // namespace graft::kernels
