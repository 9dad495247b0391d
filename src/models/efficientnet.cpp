// models::{MBConv, EfficientNet} and torchvision's builders efficientnet_b0 … efficientnet_b7:
// module tree, names, stochastic depth schedule and initialisation as torchvision 0.14's.
#include "graft/models/efficientnet.hpp"

#include <cmath>
#include <string>
#include <utility>

#include "graft/error.hpp"
#include "graft/nn/linear.hpp"
#include "graft/nn/squeeze_excitation.hpp"
#include "graft/ops.hpp"
#include "models/conv_norm_activation.hpp"

namespace graft::models {

using detail::Activation;
using detail::conv_norm_activation;

std::vector<MBConvConfig> EfficientNetConfig::stages() const {
    // expand_ratio, kernel, stride, input_channels, out_channels, num_layers
    static constexpr std::int64_t kB0[7][6] = {{1, 3, 1, 32, 16, 1},   {6, 3, 2, 16, 24, 2},  {6, 5, 2, 24, 40, 2},
                                               {6, 3, 2, 40, 80, 3},   {6, 5, 1, 80, 112, 3}, {6, 5, 2, 112, 192, 4},
                                               {6, 3, 1, 192, 320, 1}};
    const auto channels = [&](std::int64_t c) {
        return detail::make_divisible(static_cast<double>(c) * width_mult, 8);
    };
    std::vector<MBConvConfig> s;
    for (const auto& r : kB0)
        s.push_back({static_cast<double>(r[0]), r[1], r[2], channels(r[3]), channels(r[4]),
                     static_cast<std::int64_t>(std::ceil(static_cast<double>(r[5]) * depth_mult))});
    return s;
}

MBConv::MBConv(const MBConvConfig& c, double sd_prob, const nn::BatchNormOptions& bn)
    : config(c), stochastic_depth_prob(sd_prob), norm(bn), use_res_connect(c.stride == 1 && c.input_channels == c.out_channels) {
    if (c.stride != 1 && c.stride != 2)
        throw ValueError("MBConv: stride should be 1 or 2, got " + std::to_string(c.stride));
    reset();
}

void MBConv::reset() {
    const auto& c = config;
    const std::int64_t expanded = detail::make_divisible(static_cast<double>(c.input_channels) * c.expand_ratio, 8);
    nn::Sequential layers;
    if (expanded != c.input_channels)
        layers.push_back(conv_norm_activation(c.input_channels, expanded, 1, 1, 1, Activation::SiLU, norm));
    layers.push_back(conv_norm_activation(expanded, expanded, c.kernel, c.stride, expanded, Activation::SiLU, norm));
    layers.push_back(nn::SqueezeExcitation(expanded, std::max<std::int64_t>(1, c.input_channels / 4),
                                           {.activation = nn::SEActivation::SiLU}));
    layers.push_back(conv_norm_activation(expanded, c.out_channels, 1, 1, 1, Activation::None, norm));
    register_module("block", &MBConv::block, std::move(layers));
    register_module("stochastic_depth", &MBConv::stochastic_depth, nn::StochasticDepth(stochastic_depth_prob));
}

Tensor MBConv::forward(const Tensor& x) {
    const Tensor result = block(x);
    return use_res_connect ? add(stochastic_depth(result), x) : result;
}

EfficientNet::EfficientNet(const EfficientNetConfig& c) : config(c) {
    if (config.num_classes <= 0)
        throw ValueError("EfficientNet: num_classes = " + std::to_string(config.num_classes) + " must be positive");
    if (!(config.width_mult > 0) || !(config.depth_mult > 0))
        throw ValueError("EfficientNet: width_mult = " + std::to_string(config.width_mult) + " and depth_mult = " +
                         std::to_string(config.depth_mult) + " must be positive");
    reset();
}

void EfficientNet::reset() {
    const std::vector<MBConvConfig> setting = config.stages();
    nn::Sequential f;
    f.push_back(conv_norm_activation(3, setting.front().input_channels, 3, 2, 1, Activation::SiLU, config.norm));
    std::int64_t total_blocks = 0;
    for (const auto& s : setting) total_blocks += s.num_layers;
    std::int64_t block_id = 0;
    for (const auto& s : setting) {
        nn::Sequential stage;
        for (std::int64_t i = 0; i < s.num_layers; ++i) {
            MBConvConfig b = s;
            if (i > 0) b.input_channels = b.out_channels, b.stride = 1;
            // torchvision: stochastic_depth_prob * float(stage_block_id) / total_stage_blocks
            const double sd = config.stochastic_depth_prob * static_cast<double>(block_id) /
                              static_cast<double>(total_blocks);
            stage.push_back(MBConv(b, sd, config.norm));
            ++block_id;
        }
        f.push_back(std::move(stage));
    }
    const std::int64_t last_in = setting.back().out_channels, last_out = 4 * last_in;
    f.push_back(conv_norm_activation(last_in, last_out, 1, 1, 1, Activation::SiLU, config.norm));
    register_module("features", &EfficientNet::features, std::move(f));
    register_module("avgpool", &EfficientNet::avgpool, nn::AdaptiveAvgPool2d(1));
    register_module("classifier", &EfficientNet::classifier,
                    nn::Sequential(nn::Dropout(config.dropout), nn::Linear(last_out, config.num_classes)));
    detail::init_mobile_family(*this, detail::LinearInit::UniformInvSqrtOut);
}

Tensor EfficientNet::forward(const Tensor& x) {
    if (x.dim() != 4)
        throw ShapeError("EfficientNet: input must be [N, 3, H, W], got shape " + shape_str(x.shape()));
    return classifier(avgpool(features(x)).flatten(1));
}

void EfficientNet::reset_classifier(std::int64_t num_classes) {
    detail::reset_linear(*this, "classifier.1", num_classes, "EfficientNet");
    config.num_classes = num_classes;
}

void EfficientNet::freeze_stages(int stages) {
    detail::freeze_feature_stages(*this, *features, stages, "EfficientNet");
}

// ---- torchvision's builders -----------------------------------------------------------------------

namespace {

EfficientNet build(double width, double depth, double dropout, const EfficientNetOptions& o,
                   nn::BatchNormOptions norm = {}) {
    return EfficientNet({.width_mult = width,
                         .depth_mult = depth,
                         .dropout = o.dropout.value_or(dropout),
                         .stochastic_depth_prob = o.stochastic_depth_prob,
                         .num_classes = o.num_classes,
                         .norm = norm});
}

const nn::BatchNormOptions kB5Norm{.eps = 0.001, .momentum = 0.01};

}  // namespace

EfficientNet efficientnet_b0(const EfficientNetOptions& o) { return build(1.0, 1.0, 0.2, o); }
EfficientNet efficientnet_b1(const EfficientNetOptions& o) { return build(1.0, 1.1, 0.2, o); }
EfficientNet efficientnet_b2(const EfficientNetOptions& o) { return build(1.1, 1.2, 0.3, o); }
EfficientNet efficientnet_b3(const EfficientNetOptions& o) { return build(1.2, 1.4, 0.3, o); }
EfficientNet efficientnet_b4(const EfficientNetOptions& o) { return build(1.4, 1.8, 0.4, o); }
EfficientNet efficientnet_b5(const EfficientNetOptions& o) { return build(1.6, 2.2, 0.4, o, kB5Norm); }
EfficientNet efficientnet_b6(const EfficientNetOptions& o) { return build(1.8, 2.6, 0.5, o, kB5Norm); }
EfficientNet efficientnet_b7(const EfficientNetOptions& o) { return build(2.0, 3.1, 0.5, o, kB5Norm); }

}  // namespace graft::models
