// Internal: frozen weights held as bf16 (nn::Module::to(DType::BFloat16, {.frozen_only = true})),
// read in place by the ops that multiply by them (linear, matmul's right operand, conv2d) or look
// rows up in them (embedding).
//
//   if (detail::is_bf16_weight(x, w, "linear"))                          // x float32, w bf16
//       y = detail::bf16_weight_matmul(x, w, /*transpose_w=*/true, b);    // x·wᵀ + b, float32
//
// Such a weight never requires grad (bf16 tensors cannot), so its ops compute no weight gradient;
// the input gradient multiplies by the same bf16 weight. Under autocast (graft/autocast.hpp) the
// bf16 GEMM reads the weight's bits in place (kernels/gemm/bf16_gemm.hpp; x is rounded to bf16 as
// any autocast operand is). Without autocast blocks of the weight are widened to float32 (exact:
// every bf16 value is a float32) and the float32 GEMM multiplies x unrounded, so the result is the
// float32 model's with its weights rounded to bf16, up to summation order. The inner dimension
// runs in blocks, so the conversions of one call stay a few MB (a vocabulary-sized head's input
// gradient has K = vocabulary).
#pragma once

#include "graft/tensor.hpp"

namespace graft::detail {

/// Whether w is a bf16 weight that `op` reads against the float32 input x: false for any other
/// dtype of w; DTypeError naming op and both dtypes when w is bf16 and x is not float32.
bool is_bf16_weight(const Tensor& x, const Tensor& w, const char* op);

/// x [..., K] · op(w) + bias → float32 [..., N], op(w) = wᵀ for a bf16 w [N, K] (transpose_w) or
/// w for a bf16 w [K, N]; bias float32 [N] or undefined. Nothing is recorded.
Tensor bf16_weight_matmul(const Tensor& x, const Tensor& w, bool transpose_w, const Tensor& bias = {});

/// A float32 copy of a bf16 w (any shape and strides), contiguous; nothing is recorded.
Tensor widen_bf16_weight(const Tensor& w);

}  // namespace graft::detail
