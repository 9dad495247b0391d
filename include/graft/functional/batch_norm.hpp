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
#pragma once

#include "graft/tensor.hpp"

namespace graft::nn::functional {

/// y = (x − mean) / √(var + eps) · weight + bias, per channel (dim 1).
Tensor batch_norm(const Tensor& input, const Tensor& running_mean, const Tensor& running_var,
                  const Tensor& weight = Tensor(), const Tensor& bias = Tensor(), bool training = false,
                  double momentum = 0.1, double eps = 1e-5);

}  // namespace graft::nn::functional
