// graft/functional/batch_norm.hpp — batch normalisation (torch.nn.functional.batch_norm).
//
//   auto y = nn::functional::batch_norm(x, running_mean, running_var, weight, bias,
//                                       /*training=*/true, /*momentum=*/0.1, /*eps=*/1e-5);
//
// x is [N, C] or [N, C, *]; running_mean, running_var, weight and bias are [C] (each may be
// undefined). Training normalises with the batch's mean and biased variance and, when running
// statistics are given, updates them in place exactly as PyTorch does:
//   running_mean = (1 − momentum)·running_mean + momentum·mean
//   running_var  = (1 − momentum)·running_var  + momentum·var·M/(M − 1)   (M = N·Π*, unbiased)
// Evaluation normalises with the running statistics, which must then be given.
//
//   auto h = nn::functional::batch_norm(x, rm, rv, w, b, true, 0.1, 1e-5, BatchNormActivation::ReLU6);
//
// With an activation, batch_norm returns act(batch_norm(x)) from one pass over x, and its backward
// recomputes the pre-activation from x (which BatchNorm keeps anyway) instead of keeping a second
// tensor: the same values and gradients as the two ops, with one tensor and two passes fewer.
// nn::Sequential fuses a BatchNorm followed by ReLU, ReLU6, Hardswish or SiLU this way.
#pragma once

#include "graft/tensor.hpp"

namespace graft::nn::functional {

/// The activations batch_norm can apply in its own pass: relu, relu6, hardswish, silu.
enum class BatchNormActivation { None, ReLU, ReLU6, Hardswish, SiLU };

/// y = act((x − mean) / √(var + eps) · weight + bias), per channel (dim 1).
Tensor batch_norm(const Tensor& input, const Tensor& running_mean, const Tensor& running_var,
                  const Tensor& weight = Tensor(), const Tensor& bias = Tensor(), bool training = false,
                  double momentum = 0.1, double eps = 1e-5,
                  BatchNormActivation activation = BatchNormActivation::None);

}  // namespace graft::nn::functional
