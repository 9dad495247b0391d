// float32 elementwise kernels (exp, log, tanh, sigmoid, relu, gelu, gelu_tanh) and their
// gradients, AVX-512: unary-body.hpp instantiated over the lanes of simd-avx512.hpp.
#include "kernels/vector/simd-avx512.hpp"
#include "kernels/vector/unary-body.hpp"

namespace graft::kernels {

void f32_unary__avx512(UnaryOp op, int64 n, const float* x, float* y) { unary_kernel<Simd>(op, n, x, y); }

void f32_unary_grad__avx512(UnaryOp op, int64 n, const float* s, const float* dy, float* dx) {
    unary_grad_kernel<Simd>(op, n, s, dy, dx);
}

}  // namespace graft::kernels
