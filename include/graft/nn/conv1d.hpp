// graft/nn/conv1d.hpp — Hugging Face's "Conv1D": a fully connected layer whose weight is stored
// transposed, [in, out], as GPT-2's checkpoints hold it (not PyTorch's nn.Conv1d convolution).
//
//   nn::Conv1D c_attn(/*in_features=*/768, /*out_features=*/2304);   // weight [768, 2304], bias [2304]
//   auto qkv = c_attn.forward(x);                                      // x [..., 768] → [..., 2304]
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "graft/nn/module.hpp"

namespace graft::nn {

/// y = x·weight + bias with "weight" [in_features, out_features] and "bias" [out_features],
/// initialised as Hugging Face does: weight ~ N(0, 0.02²), bias zeros. The weight's gradient is
/// computed directly in its [in, out] layout (no transposed copy).
class Conv1D : public Cloneable<Conv1D> {
public:
    /// Note the order: inputs first (Hugging Face writes Conv1D(nf=out, nx=in)).
    Conv1D(std::int64_t in_features, std::int64_t out_features);

    /// Creates, registers and initialises weight and bias (from the default generator).
    void reset() override;
    /// x [..., in_features] → [..., out_features]; ShapeError naming the layer and the input shape.
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "Conv1D"; }
    std::vector<std::string> bf16_weight_names() const override { return {"weight"}; }
    std::string extra_repr() const override;

    std::int64_t in_features;
    std::int64_t out_features;
    Tensor weight;  // [in_features, out_features]
    Tensor bias;    // [out_features]
};

}  // namespace graft::nn
