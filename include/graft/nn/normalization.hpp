// graft/nn/normalization.hpp — normalisation layers.
//
//   nn::LayerNorm ln(768);                      // over the last dim; weight ones, bias zeros
//   nn::LayerNorm ln2({4, 5}, 1e-6, false);     // over the last two dims, no affine parameters
//   auto y = ln.forward(x);                     // x [..., 768]
#pragma once

#include <cstdint>
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

}  // namespace graft::nn
