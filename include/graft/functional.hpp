// graft/functional.hpp — losses and functional layers (torch.nn.functional names).
//
//   auto loss = nn::functional::cross_entropy(logits, labels);            // logits [N, C], labels int64 [N]
//   auto l2 = nn::functional::cross_entropy(logits, labels, {.reduction = Reduction::Sum,
//                                                             .ignore_index = -100, .label_smoothing = 0.1});
//   auto m = nn::functional::mse_loss(pred, target);
#pragma once

#include <optional>

#include "graft/functional/add_relu.hpp"
#include "graft/functional/attention.hpp"
#include "graft/functional/batch_norm.hpp"
#include "graft/functional/conv.hpp"
#include "graft/functional/interpolate.hpp"
#include "graft/functional/norm.hpp"
#include "graft/functional/pad.hpp"
#include "graft/functional/rotary.hpp"
#include "graft/ops.hpp"

namespace graft::nn::functional {

enum class Reduction { None, Mean, Sum };

struct CrossEntropyOptions {
    Reduction reduction = Reduction::Mean;
    /// Targets equal to this class contribute nothing (and are left out of the mean).
    std::int64_t ignore_index = -100;
    /// Mixes the one-hot target with the uniform distribution: (1−ε)·onehot + ε/C.
    double label_smoothing = 0.0;
    /// Per-class weights [C] (PyTorch's weight=), of the logits' dtype; undefined: all 1. With class
    /// targets each position's loss is scaled by weight[target] (the smoothing term by the weights
    /// of each class) and Mean divides by Σ weight[target] over the positions not ignored; with
    /// probability targets each class's term is scaled and Mean divides by the number of positions.
    Tensor weight = Tensor();
};

/// Cross-entropy of logits [N, C] (or [N, C, d1, …], or [C]) against int64 class targets [N]
/// ([N, d1, …], []) or against class probabilities: a float target of the logits' shape and dtype
/// (loss_p = −Σ_c weight_c·target'[p, c]·log_softmax(logits)[p, c] with target' = (1−ε)·target + ε/C;
/// Mean averages over the positions; ignore_index must stay negative, as in PyTorch).
Tensor cross_entropy(const Tensor& logits, const Tensor& target, const CrossEntropyOptions& options = {});

/// Negative log-likelihood of log-probabilities [N, C] against int64 class targets [N].
Tensor nll_loss(const Tensor& log_probs, const Tensor& target, Reduction reduction = Reduction::Mean,
                std::int64_t ignore_index = -100);

/// Mean squared error between input and target (same shape, or broadcastable).
Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean);

/// Numerically stable sigmoid + binary cross-entropy; pos_weight (optional) scales positive targets.
Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target,
                                        Reduction reduction = Reduction::Mean, const Tensor& pos_weight = Tensor());

// Functional forms of ops that also exist in graft:: (same functions, PyTorch's spelling).
using graft::dropout;
using graft::gelu;
using graft::hardsigmoid;
using graft::hardswish;
using graft::hardtanh;
using graft::linear;
using graft::log_softmax;
using graft::relu;
using graft::relu6;
using graft::silu;
using graft::softmax;

}  // namespace graft::nn::functional
