// models::{InvertedResidual, InvertedResidualV3, MobileNetV2, MobileNetV3} and torchvision's
// builders mobilenet_v2, mobilenet_v3_large, mobilenet_v3_small: module trees, names and
// initialisation as torchvision 0.14's.
#include "graft/models/mobilenet.hpp"

#include <cmath>
#include <string>
#include <utility>

#include "graft/error.hpp"
#include "graft/functional/conv.hpp"
#include "graft/nn/activation.hpp"
#include "graft/nn/batchnorm.hpp"
#include "graft/nn/conv.hpp"
#include "graft/nn/dropout.hpp"
#include "graft/nn/linear.hpp"
#include "graft/nn/squeeze_excitation.hpp"
#include "graft/ops.hpp"
#include "models/conv_norm_activation.hpp"

namespace graft::models {

using detail::Activation;
using detail::conv_norm_activation;
using detail::make_divisible;

namespace {

const nn::BatchNormOptions kV2Norm{};                                  // eps 1e-5, momentum 0.1
const nn::BatchNormOptions kV3Norm{.eps = 0.001, .momentum = 0.01};  // torchvision's partial(BatchNorm2d, …)

void check_stride(std::int64_t stride, const char* who) {
    if (stride != 1 && stride != 2)
        throw ValueError(std::string(who) + ": stride should be 1 or 2, got " + std::to_string(stride));
}

void check_input(const Tensor& x, const char* who) {
    if (x.dim() != 4) throw ShapeError(std::string(who) + ": input must be [N, 3, H, W], got shape " + shape_str(x.shape()));
}

}  // namespace

// ---- MobileNetV2 ----------------------------------------------------------------------------------

InvertedResidual::InvertedResidual(std::int64_t inp_, std::int64_t oup_, std::int64_t stride_, std::int64_t expand)
    : inp(inp_), oup(oup_), stride(stride_), expand_ratio(expand), use_res_connect(stride_ == 1 && inp_ == oup_) {
    check_stride(stride, "InvertedResidual");
    reset();
}

void InvertedResidual::reset() {
    const std::int64_t hidden = inp * expand_ratio;  // torchvision: int(round(inp * expand_ratio))
    nn::Sequential layers;
    if (expand_ratio != 1) layers.push_back(conv_norm_activation(inp, hidden, 1, 1, 1, Activation::ReLU6, kV2Norm));
    layers.push_back(conv_norm_activation(hidden, hidden, 3, stride, hidden, Activation::ReLU6, kV2Norm));
    layers.push_back(nn::Conv2d(hidden, oup, 1, {.bias = false}));
    layers.push_back(nn::BatchNorm2d(oup, kV2Norm));
    register_module("conv", &InvertedResidual::conv, std::move(layers));
}

Tensor InvertedResidual::forward(const Tensor& x) { return use_res_connect ? add(x, conv(x)) : conv(x); }

MobileNetV2::MobileNetV2(const MobileNetV2Options& o) : options(o) {
    if (options.num_classes <= 0)
        throw ValueError("MobileNetV2: num_classes = " + std::to_string(options.num_classes) + " must be positive");
    if (!(options.width_mult > 0))
        throw ValueError("MobileNetV2: width_mult = " + std::to_string(options.width_mult) + " must be positive");
    reset();
}

void MobileNetV2::reset() {
    // t (expansion), c (channels), n (blocks), s (stride of the first)
    static constexpr std::int64_t kSetting[7][4] = {{1, 16, 1, 1}, {6, 24, 2, 2},  {6, 32, 3, 2}, {6, 64, 4, 2},
                                                    {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
    const double w = options.width_mult;
    std::int64_t input_channel = make_divisible(32 * w, 8);
    last_channel = make_divisible(1280 * std::max(1.0, w), 8);
    nn::Sequential f;
    f.push_back(conv_norm_activation(3, input_channel, 3, 2, 1, Activation::ReLU6, kV2Norm));
    for (const auto& row : kSetting) {
        const std::int64_t output_channel = make_divisible(static_cast<double>(row[1]) * w, 8);
        for (std::int64_t i = 0; i < row[2]; ++i) {
            f.push_back(InvertedResidual(input_channel, output_channel, i == 0 ? row[3] : 1, row[0]));
            input_channel = output_channel;
        }
    }
    f.push_back(conv_norm_activation(input_channel, last_channel, 1, 1, 1, Activation::ReLU6, kV2Norm));
    register_module("features", &MobileNetV2::features, std::move(f));
    register_module("classifier", &MobileNetV2::classifier,
                    nn::Sequential(nn::Dropout(options.dropout), nn::Linear(last_channel, options.num_classes)));
    detail::init_mobile_family(*this, detail::LinearInit::Normal001);
}

Tensor MobileNetV2::forward(const Tensor& x) {
    check_input(x, "MobileNetV2");
    return classifier(nn::functional::adaptive_avg_pool2d(features(x), 1).flatten(1));
}

void MobileNetV2::reset_classifier(std::int64_t num_classes) {
    detail::reset_linear(*this, "classifier.1", num_classes, "MobileNetV2");
    options.num_classes = num_classes;
}

void MobileNetV2::freeze_stages(int stages) { detail::freeze_feature_stages(*this, *features, stages, "MobileNetV2"); }

// ---- MobileNetV3 ----------------------------------------------------------------------------------

InvertedResidualV3::InvertedResidualV3(const InvertedResidualV3Config& c)
    : config(c), use_res_connect(c.stride == 1 && c.input_channels == c.out_channels) {
    check_stride(config.stride, "InvertedResidual");
    reset();
}

void InvertedResidualV3::reset() {
    const auto& c = config;
    const Activation act = c.use_hardswish ? Activation::Hardswish : Activation::ReLU;
    nn::Sequential layers;
    if (c.expanded_channels != c.input_channels)
        layers.push_back(conv_norm_activation(c.input_channels, c.expanded_channels, 1, 1, 1, act, kV3Norm));
    const std::int64_t stride = c.dilation > 1 ? 1 : c.stride;
    layers.push_back(conv_norm_activation(c.expanded_channels, c.expanded_channels, c.kernel, stride,
                                          c.expanded_channels, act, kV3Norm, c.dilation));
    if (c.use_se)
        layers.push_back(nn::SqueezeExcitation(c.expanded_channels, make_divisible(c.expanded_channels / 4, 8),
                                               {.scale_activation = nn::SEScale::Hardsigmoid}));
    layers.push_back(conv_norm_activation(c.expanded_channels, c.out_channels, 1, 1, 1, Activation::None, kV3Norm));
    register_module("block", &InvertedResidualV3::block, std::move(layers));
}

Tensor InvertedResidualV3::forward(const Tensor& x) {
    const Tensor result = block(x);
    return use_res_connect ? add(result, x) : result;
}

MobileNetV3::MobileNetV3(std::vector<InvertedResidualV3Config> s, std::int64_t last, const MobileNetV3Options& o)
    : setting(std::move(s)), last_channel(last), options(o) {
    if (setting.empty()) throw ValueError("MobileNetV3: the inverted residual setting must not be empty");
    if (options.num_classes <= 0)
        throw ValueError("MobileNetV3: num_classes = " + std::to_string(options.num_classes) + " must be positive");
    reset();
}

void MobileNetV3::reset() {
    nn::Sequential f;
    f.push_back(conv_norm_activation(3, setting.front().input_channels, 3, 2, 1, Activation::Hardswish, kV3Norm));
    for (const auto& c : setting) f.push_back(InvertedResidualV3(c));
    const std::int64_t last_in = setting.back().out_channels, last_out = 6 * last_in;
    f.push_back(conv_norm_activation(last_in, last_out, 1, 1, 1, Activation::Hardswish, kV3Norm));
    register_module("features", &MobileNetV3::features, std::move(f));
    register_module("avgpool", &MobileNetV3::avgpool, nn::AdaptiveAvgPool2d(1));
    register_module("classifier", &MobileNetV3::classifier,
                    nn::Sequential(nn::Linear(last_out, last_channel), nn::Hardswish(), nn::Dropout(options.dropout),
                                   nn::Linear(last_channel, options.num_classes)));
    detail::init_mobile_family(*this, detail::LinearInit::Normal001);
}

Tensor MobileNetV3::forward(const Tensor& x) {
    check_input(x, "MobileNetV3");
    return classifier(avgpool(features(x)).flatten(1));
}

void MobileNetV3::reset_classifier(std::int64_t num_classes) {
    detail::reset_linear(*this, "classifier.3", num_classes, "MobileNetV3");
    options.num_classes = num_classes;
}

void MobileNetV3::freeze_stages(int stages) { detail::freeze_feature_stages(*this, *features, stages, "MobileNetV3"); }

// ---- torchvision's builders -----------------------------------------------------------------------

MobileNetV2 mobilenet_v2(const MobileNetV2Options& options) { return MobileNetV2(options); }

namespace {

/// torchvision's _mobilenet_v3_conf: the table with channels adjusted by width_mult, and last_channel.
std::pair<std::vector<InvertedResidualV3Config>, std::int64_t> v3_conf(bool large, const MobileNetV3Options& o) {
    const std::int64_t rd = o.reduced_tail ? 2 : 1, dil = o.dilated ? 2 : 1;
    const auto adjust = [&](std::int64_t ch) { return make_divisible(static_cast<double>(ch) * o.width_mult, 8); };
    std::vector<InvertedResidualV3Config> s;
    // input, kernel, expanded, out, SE, activation ("HS" true), stride, dilation
    const auto add = [&](std::int64_t in, std::int64_t k, std::int64_t exp, std::int64_t out, bool se, bool hs,
                         std::int64_t stride, std::int64_t d) {
        s.push_back({adjust(in), k, adjust(exp), adjust(out), se, hs, stride, d});
    };
    if (large) {
        add(16, 3, 16, 16, false, false, 1, 1);
        add(16, 3, 64, 24, false, false, 2, 1);
        add(24, 3, 72, 24, false, false, 1, 1);
        add(24, 5, 72, 40, true, false, 2, 1);
        add(40, 5, 120, 40, true, false, 1, 1);
        add(40, 5, 120, 40, true, false, 1, 1);
        add(40, 3, 240, 80, false, true, 2, 1);
        add(80, 3, 200, 80, false, true, 1, 1);
        add(80, 3, 184, 80, false, true, 1, 1);
        add(80, 3, 184, 80, false, true, 1, 1);
        add(80, 3, 480, 112, true, true, 1, 1);
        add(112, 3, 672, 112, true, true, 1, 1);
        add(112, 5, 672, 160 / rd, true, true, 2, dil);
        add(160 / rd, 5, 960 / rd, 160 / rd, true, true, 1, dil);
        add(160 / rd, 5, 960 / rd, 160 / rd, true, true, 1, dil);
        return {s, adjust(1280 / rd)};
    }
    add(16, 3, 16, 16, true, false, 2, 1);
    add(16, 3, 72, 24, false, false, 2, 1);
    add(24, 3, 88, 24, false, false, 1, 1);
    add(24, 5, 96, 40, true, true, 2, 1);
    add(40, 5, 240, 40, true, true, 1, 1);
    add(40, 5, 240, 40, true, true, 1, 1);
    add(40, 5, 120, 48, true, true, 1, 1);
    add(48, 5, 144, 48, true, true, 1, 1);
    add(48, 5, 288, 96 / rd, true, true, 2, dil);
    add(96 / rd, 5, 576 / rd, 96 / rd, true, true, 1, dil);
    add(96 / rd, 5, 576 / rd, 96 / rd, true, true, 1, dil);
    return {s, adjust(1024 / rd)};
}

}  // namespace

MobileNetV3 mobilenet_v3_large(const MobileNetV3Options& options) {
    auto [setting, last] = v3_conf(true, options);
    return MobileNetV3(std::move(setting), last, options);
}

MobileNetV3 mobilenet_v3_small(const MobileNetV3Options& options) {
    auto [setting, last] = v3_conf(false, options);
    return MobileNetV3(std::move(setting), last, options);
}

}  // namespace graft::models
