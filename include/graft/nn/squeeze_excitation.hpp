// graft/nn/squeeze_excitation.hpp — torchvision.ops.SqueezeExcitation: channel attention from a
// global average, two 1×1 convs and a gate.
//
//   nn::SqueezeExcitation se(96, 24);                                    // ReLU, Sigmoid (EfficientNet: SiLU)
//   nn::SqueezeExcitation v3(96, 24, {.scale_activation = nn::SEScale::Hardsigmoid});   // MobileNetV3's
//   auto y = se.forward(x);                                              // x [N, 96, H, W] → same shape
//
// Children, in torchvision's order and names: avgpool (AdaptiveAvgPool2d(1)), fc1 (Conv2d(C, S, 1)),
// fc2 (Conv2d(S, C, 1)), activation, scale_activation; so state dict keys are fc1.weight,
// fc1.bias, fc2.weight, fc2.bias.
#pragma once

#include <cstdint>
#include <string>

#include "graft/nn/conv.hpp"
#include "graft/nn/module.hpp"
#include "graft/nn/pooling.hpp"

namespace graft::nn {

/// The activation between fc1 and fc2.
enum class SEActivation { ReLU, SiLU };
/// The gate applied to fc2's output.
enum class SEScale { Sigmoid, Hardsigmoid };

struct SqueezeExcitationOptions {
    SEActivation activation = SEActivation::ReLU;
    SEScale scale_activation = SEScale::Sigmoid;
};

/// y = x · scale_activation(fc2(activation(fc1(avgpool(x))))), the gate broadcast over H×W.
class SqueezeExcitation : public Cloneable<SqueezeExcitation> {
public:
    /// ValueError unless both channel counts are positive.
    SqueezeExcitation(std::int64_t input_channels, std::int64_t squeeze_channels,
                      const SqueezeExcitationOptions& options = {});
    void reset() override;
    /// x [N, C, H, W] (or [C, H, W]); ShapeError naming the layer for another channel count.
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "SqueezeExcitation"; }

    std::int64_t input_channels, squeeze_channels;
    SqueezeExcitationOptions options;
    Child<AdaptiveAvgPool2d> avgpool;
    Child<Conv2d> fc1, fc2;
    Child<Module> activation, scale_activation;
};

}  // namespace graft::nn
