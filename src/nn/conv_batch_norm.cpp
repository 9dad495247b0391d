// nn::batch_norm_folds and nn::conv_batch_norm: when a BatchNorm2d after a Conv2d is a constant
// per-channel affine, and the op that applies it inside the convolution.
#include "graft/nn/conv_batch_norm.hpp"

#include "graft/autograd.hpp"
#include "ops/conv_folded_batch_norm.hpp"

namespace graft::nn {

namespace {
bool needs_grad(const Tensor& t) { return t.defined() && t.requires_grad(); }
}  // namespace

bool batch_norm_folds(const Conv2d& conv, const BatchNorm2d& bn, const Tensor& x) {
    if (bn.is_training() || !bn.track_running_stats || !bn.running_mean.defined()) return false;
    if (bn.num_features != conv.out_channels || conv.padding_same) return false;
    if ((x.dim() != 3 && x.dim() != 4) || x.size(x.dim() - 3) != conv.in_channels) return false;
    if (!is_floating(x.dtype())) return false;
    if (!GradMode::is_enabled()) return true;
    return !needs_grad(x) && !needs_grad(conv.weight) && !needs_grad(conv.bias) && !needs_grad(bn.weight) &&
           !needs_grad(bn.bias);
}

Tensor conv_batch_norm(Conv2d& conv, BatchNorm2d& bn, const Tensor& x, functional::BatchNormActivation activation) {
    if (!batch_norm_folds(conv, bn, x)) return bn.forward_activation(conv.forward(x), activation);
    return graft::detail::conv2d_folded_batch_norm(x, conv.weight, conv.bias, conv.stride, conv.padding,
                                                        conv.dilation, conv.groups, bn.running_mean, bn.running_var,
                                                        bn.weight, bn.bias, bn.eps, activation);
}

}  // namespace graft::nn
