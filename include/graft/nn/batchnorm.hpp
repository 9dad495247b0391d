// graft/nn/batchnorm.hpp — batch normalisation layers with running statistics.
//
//   nn::BatchNorm2d bn(64);                       // weight ones, bias zeros; running_mean zeros, running_var ones
//   bn.train(); auto y = bn.forward(x);           // batch statistics; running stats and num_batches_tracked updated
//   bn.eval();  auto z = bn.forward(x);           // running statistics
//   nn::BatchNorm1d cum(16, {.momentum = std::nullopt});   // running stats: cumulative average of the batches
//   model.freeze({.batchnorm_eval = true});       // frozen BatchNorms stay in eval, even after train()
//                                                 // (and fold into the Conv2d before them: nn/conv_batch_norm.hpp)
//
// Parameters "weight", "bias" and buffers "running_mean", "running_var", "num_batches_tracked"
// (int64, 0-d) carry PyTorch's names, so state dicts load both ways.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "graft/functional/batch_norm.hpp"
#include "graft/nn/module.hpp"

namespace graft::nn {

struct BatchNormOptions {
    double eps = 1e-5;
    /// Weight of the new batch in the running statistics; nullopt: a cumulative average
    /// (factor 1/num_batches_tracked).
    std::optional<double> momentum = 0.1;
    /// Learnable per-channel weight (ones) and bias (zeros).
    bool affine = true;
    /// Keep running statistics (used in eval); off: batch statistics in both modes and no buffers.
    bool track_running_stats = true;
};

/// What BatchNorm1d and BatchNorm2d share (torch's _BatchNorm): training normalises with the
/// batch's statistics and updates the running ones, eval uses the running ones.
template <class Derived>
class BatchNormBase : public Cloneable<Derived> {
public:
    /// Registers and initialises the parameters and buffers.
    void reset() override;
    /// running_mean = 0, running_var = 1, num_batches_tracked = 0.
    void reset_running_stats();
    /// Running statistics reset; weight = 1, bias = 0.
    void reset_parameters();
    /// Normalises per channel (dim 1); ShapeError naming the layer and the input shape.
    Tensor forward(const Tensor& x) override;
    /// activation(forward(x)) in one pass (functional::batch_norm's fused activation); what
    /// Sequential calls for a BatchNorm followed by ReLU, ReLU6, Hardswish or SiLU.
    Tensor forward_activation(const Tensor& x, functional::BatchNormActivation activation);
    bool has_running_stats() const override { return true; }
    std::string extra_repr() const override;

    std::int64_t num_features;
    double eps;
    std::optional<double> momentum;
    bool affine;
    bool track_running_stats;
    Tensor weight;               // undefined without affine
    Tensor bias;                 // undefined without affine
    Tensor running_mean;         // undefined without track_running_stats
    Tensor running_var;          // undefined without track_running_stats
    Tensor num_batches_tracked;  // undefined without track_running_stats

protected:
    BatchNormBase(std::int64_t num_features, const BatchNormOptions& options);
    /// ShapeError unless x has the number of dims this layer takes.
    virtual void check_input_dim(const Tensor& x) const = 0;
};

/// Batch normalisation of [N, C] or [N, C, L] inputs over N (and L).
class BatchNorm1d final : public BatchNormBase<BatchNorm1d> {
public:
    explicit BatchNorm1d(std::int64_t num_features, const BatchNormOptions& options = {})
        : BatchNormBase(num_features, options) {}
    std::string type_name() const override { return "BatchNorm1d"; }

protected:
    void check_input_dim(const Tensor& x) const override;
};

/// Batch normalisation of [N, C, H, W] inputs over N, H and W.
class BatchNorm2d final : public BatchNormBase<BatchNorm2d> {
public:
    explicit BatchNorm2d(std::int64_t num_features, const BatchNormOptions& options = {})
        : BatchNormBase(num_features, options) {}
    std::string type_name() const override { return "BatchNorm2d"; }

protected:
    void check_input_dim(const Tensor& x) const override;
};

extern template class BatchNormBase<BatchNorm1d>;
extern template class BatchNormBase<BatchNorm2d>;

}  // namespace graft::nn
