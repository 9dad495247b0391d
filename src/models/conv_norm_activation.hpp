// Internal to the model families: torchvision's Conv2dNormActivation (conv "0", BatchNorm2d "1",
// activation "2"), _make_divisible, the initialisation shared by MobileNet and EfficientNet, and
// freezing the first entries of a `features` Sequential.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "graft/nn/batchnorm.hpp"
#include "graft/nn/container.hpp"
#include "graft/nn/module.hpp"

namespace graft::models::detail {

/// The activation after the BatchNorm (None: no child "2").
enum class Activation { None, ReLU, ReLU6, Hardswish, SiLU };

/// torchvision.ops.Conv2dNormActivation: Conv2d(in, out, kernel, stride, padding (kernel−1)/2·dilation,
/// dilation, groups, no bias), BatchNorm2d(out, bn), then the activation.
nn::Sequential conv_norm_activation(std::int64_t in, std::int64_t out, std::int64_t kernel, std::int64_t stride,
                                    std::int64_t groups, Activation activation, const nn::BatchNormOptions& bn,
                                    std::int64_t dilation = 1);

/// torchvision's _make_divisible: v rounded to the nearest multiple of divisor (at least
/// min_value, default divisor), raised by one divisor when that lost more than 10 %.
std::int64_t make_divisible(double v, std::int64_t divisor, std::optional<std::int64_t> min_value = std::nullopt);

/// How the family initialises its Linear layers (weights; biases are zeroed).
enum class LinearInit { Normal001, UniformInvSqrtOut };

/// torchvision's MobileNet/EfficientNet initialisation over every submodule of `model`: Conv2d
/// kaiming_normal_(fan_out) with zero bias, BatchNorm weight 1 and bias 0, Linear by `linear`
/// (N(0, 0.01), or U(±1/√out_features)) with zero bias. Draws from the default generator.
void init_mobile_family(nn::Module& model, LinearInit linear);

/// Freezes features.0 … features.`stages` of `model` (the stem and the first `stages` entries
/// after it), pinning their BatchNorms in eval mode. ValueError naming `who` unless
/// 0 ≤ stages < number of features entries.
void freeze_feature_stages(nn::Module& model, const nn::Sequential& features, int stages, const std::string& who);

/// Replaces the Linear at `path` (a classifier entry) by a fresh Linear(in_features, num_classes)
/// under the same name, trainable. ValueError naming `who` unless num_classes > 0.
void reset_linear(nn::Module& model, const std::string& path, std::int64_t num_classes, const std::string& who);

}  // namespace graft::models::detail
