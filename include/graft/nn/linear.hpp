// graft/nn/linear.hpp — the fully connected layer.
//
//   nn::Linear fc(784, 10);              // weight [10, 784], bias [10], PyTorch's default init
//   auto y = fc.forward(x);              // x [..., 784] → y [..., 10]
//   fc.repr();                           // "Linear(in_features=784, out_features=10, bias=True)"
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "graft/nn/module.hpp"

namespace graft::nn {

/// y = x·weightᵀ + bias. Parameters "weight" [out_features, in_features] and "bias" [out_features]
/// (absent with bias = false), initialised as PyTorch does: weight by kaiming_uniform_(a = √5),
/// bias from U(−1/√in_features, 1/√in_features).
class Linear : public Cloneable<Linear> {
public:
    Linear(std::int64_t in_features, std::int64_t out_features, bool bias = true);

    /// Creates, registers and initialises weight and bias (from the default generator).
    void reset() override;
    /// x [..., in_features] → [..., out_features]; ShapeError naming the layer and the input shape.
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "Linear"; }
    std::vector<std::string> bf16_weight_names() const override { return {"weight"}; }
    std::string extra_repr() const override;

    std::int64_t in_features;
    std::int64_t out_features;
    bool has_bias;
    Tensor weight;
    Tensor bias;  // undefined when has_bias is false
};

}  // namespace graft::nn
