// graft/nn/normalization.hpp — normalisation layers.
//
//   nn::LayerNorm ln(768);                      // over the last dim; weight ones, bias zeros
//   nn::LayerNorm ln2({4, 5}, 1e-6, false);     // over the last two dims, no affine parameters
//   auto y = ln.forward(x);                     // x [..., 768]
//   nn::RMSNorm rms(4096, 1e-6);                // Llama-style; parameter "weight" (ones)
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "graft/nn/module.hpp"

namespace graft::nn {

/// y = (x − mean)/√(var + eps)·weight + bias over the trailing dims normalized_shape.
/// Parameters "weight" (ones) and "bias" (zeros) of shape normalized_shape when
/// elementwise_affine (bias only when `bias` is also true).
class LayerNorm : public Cloneable<LayerNorm> {
public:
    LayerNorm(Shape normalized_shape, double eps = 1e-5, bool elementwise_affine = true, bool bias = true);
    /// Normalises over one trailing dim of size `normalized_size`, with the defaults above;
    /// for other options spell the shape: LayerNorm({768}, 1e-6).
    explicit LayerNorm(std::int64_t normalized_size);

    void reset() override;
    /// x [..., *normalized_shape] → same shape; ShapeError naming the layer and the input shape.
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "LayerNorm"; }
    std::string extra_repr() const override;

    Shape normalized_shape;
    double eps;
    bool elementwise_affine;
    bool has_bias;
    Tensor weight;  // undefined without elementwise_affine
    Tensor bias;    // undefined without elementwise_affine or bias
};

/// y = x/√(mean(x²) + eps)·weight over the trailing dims normalized_shape (torch.nn.RMSNorm).
/// Parameter "weight" (ones) of shape normalized_shape when elementwise_affine; eps defaults to
/// the machine epsilon of the input's dtype, as in PyTorch.
class RMSNorm : public Cloneable<RMSNorm> {
public:
    explicit RMSNorm(Shape normalized_shape, std::optional<double> eps = std::nullopt, bool elementwise_affine = true);
    /// Normalises over one trailing dim of size `normalized_size`.
    explicit RMSNorm(std::int64_t normalized_size, std::optional<double> eps = std::nullopt);

    void reset() override;
    /// x [..., *normalized_shape] → same shape; ShapeError naming the layer and the input shape.
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "RMSNorm"; }
    std::string extra_repr() const override;

    Shape normalized_shape;
    std::optional<double> eps;
    bool elementwise_affine;
    Tensor weight;  // undefined without elementwise_affine
};

}  // namespace graft::nn
