// graft/nn/conv_batch_norm.hpp — a Conv2d followed by a BatchNorm2d and an activation, with the
// BatchNorm folded into the convolution where it is frozen in eval mode.
//
//   using A = nn::functional::BatchNormActivation;
//   auto y = nn::conv_batch_norm(conv, bn, x, A::ReLU);     // relu(bn(conv(x)))
//
// A frozen BatchNorm in eval mode (model.freeze({.batchnorm_eval = true}), or a whole model in
// eval) is a constant per-channel affine: when nothing in the pair needs a gradient, the
// convolution applies it and the activation to each part of its output as it writes it, so the
// BatchNorm costs no pass over the activations of its own. The values equal the separate layers'
// (the same float scale and shift per channel). Sequential runs its Conv2d → BatchNorm2d [→ ReLU,
// ReLU6, Hardswish or SiLU] children this way, and the model families' blocks do too.
#pragma once

#include "graft/functional/batch_norm.hpp"
#include "graft/nn/batchnorm.hpp"
#include "graft/nn/conv.hpp"
#include "graft/tensor.hpp"

namespace graft::nn {

/// Whether conv_batch_norm(conv, bn, x, …) folds: bn is in eval mode with running statistics and
/// as many features as conv has output channels, conv pads by sizes (not "same"), x is a
/// floating-point [N, C, H, W] or [C, H, W] input with conv's in_channels, and no gradient can
/// flow: grad mode is off, or neither x nor any parameter of the two layers requires grad.
bool batch_norm_folds(const Conv2d& conv, const BatchNorm2d& bn, const Tensor& x);

/// activation(bn(conv(x))): folded into one convolution when batch_norm_folds, else conv.forward
/// followed by bn.forward_activation (the same values).
Tensor conv_batch_norm(Conv2d& conv, BatchNorm2d& bn, const Tensor& x,
                       functional::BatchNormActivation activation = functional::BatchNormActivation::None);

}  // namespace graft::nn
