// graft/nn/dropout.hpp — dropout and stochastic depth as layers: active in train(), the identity in eval().
//
//   nn::Sequential head{nn::Dropout(0.1), nn::Linear(768, 2)};
//   head.eval();   // Dropout passes its input through unchanged
//   nn::StochasticDepth drop_path(0.2);   // torchvision.ops.StochasticDepth(0.2, "row"): whole samples
#pragma once

#include <string>

#include "graft/nn/module.hpp"
#include "graft/ops.hpp"

namespace graft::nn {

/// In training mode zeroes each element with probability p (the default generator) and scales the
/// rest by 1/(1 − p); in eval mode returns its input.
class Dropout : public Cloneable<Dropout> {
public:
    /// ValueError unless 0 ≤ p ≤ 1.
    explicit Dropout(double p = 0.5);

    void reset() override {}
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "Dropout"; }
    std::string extra_repr() const override;

    double p;
};

/// torchvision.ops.StochasticDepth: in training mode drops each sample's whole residual branch
/// (mode Row) or the whole batch's (Batch) with probability p through graft::stochastic_depth,
/// scaling what is kept by 1/(1 − p); in eval mode returns its input.
class StochasticDepth : public Cloneable<StochasticDepth> {
public:
    /// ValueError unless 0 ≤ p ≤ 1.
    explicit StochasticDepth(double p, StochasticDepthMode mode = StochasticDepthMode::Row);
    void reset() override {}
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "StochasticDepth"; }
    std::string extra_repr() const override;

    double p;
    StochasticDepthMode mode;
};

}  // namespace graft::nn
