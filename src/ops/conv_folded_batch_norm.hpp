// Internal: conv2d followed by an eval-mode batch_norm and its fused activation, as one op whose
// convolution applies the BatchNorm's per-channel affine and the activation to each part of its
// output as soon as it has written it (ops/conv_output_stage.hpp). nn::conv_batch_norm decides
// when a BatchNorm folds; this computes it.
#pragma once

#include <cstdint>

#include "graft/functional/batch_norm.hpp"
#include "graft/functional/conv.hpp"
#include "graft/tensor.hpp"

namespace graft::detail {

/// act(batch_norm(conv2d(input, weight, bias, …), running_mean, running_var, bn_weight, bn_bias,
/// training = false, eps)): the same values as the two ops (each element y·scale + shift with the
/// same float scale and shift), one output tensor, no pass of the BatchNorm's own and no autograd
/// node. bn_weight and bn_bias may be undefined (no affine). Error when grad mode is on and any
/// operand requires grad: the folded op has no backward.
Tensor conv2d_folded_batch_norm(const Tensor& input, const Tensor& weight, const Tensor& bias, nn::Size2 stride,
                                nn::Size2 padding, nn::Size2 dilation, std::int64_t groups, const Tensor& running_mean,
                                const Tensor& running_var, const Tensor& bn_weight, const Tensor& bn_bias, double eps,
                                nn::functional::BatchNormActivation activation);

}  // namespace graft::detail
