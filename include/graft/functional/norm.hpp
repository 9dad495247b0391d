// graft/functional/norm.hpp — normalisation ops (torch.nn.functional names).
//
//   auto y = nn::functional::layer_norm(x, {768}, gamma, beta);   // x [..., 768]
//   auto z = nn::functional::layer_norm(x, {4, 5});                // no affine, over the last two dims
//   auto r = nn::functional::rms_norm(x, {768}, gamma, 1e-6);      // Llama-style RMSNorm
#pragma once

#include <optional>

#include "graft/tensor.hpp"

namespace graft::nn::functional {

/// Normalises x over its trailing dims `normalized_shape` to zero mean and unit (biased) variance,
/// then scales by `weight` and shifts by `bias` (both optional, each of shape normalized_shape):
/// y = (x − mean)·rstd·weight + bias with rstd = 1/√(var + eps). Float32 (statistics in double)
/// or float64. The backward is fused: one pass per row for dx, one reduction over rows for
/// dweight and dbias, each computed only when needed.
Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight = Tensor(),
                  const Tensor& bias = Tensor(), double eps = 1e-5);

/// Root-mean-square normalisation over the trailing dims `normalized_shape`, then an optional
/// elementwise `weight` (shape normalized_shape): y = x·rstd·weight with rstd = 1/√(mean(x²) + eps),
/// no centring and no bias (torch.nn.functional.rms_norm). eps defaults, as in PyTorch, to the
/// machine epsilon of x's dtype. Statistics in double; the fused backward is layer_norm's without
/// the mean terms, each gradient computed only when needed.
Tensor rms_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight = Tensor(),
                std::optional<double> eps = std::nullopt);

}  // namespace graft::nn::functional
