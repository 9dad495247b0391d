// graft/models/mobilenet.hpp — torchvision's MobileNetV2 and MobileNetV3 (small, large) with
// torchvision's module tree and parameter names, so their state dicts load as they are.
//
//   auto model = models::mobilenet_v3_large();
//   model.load_state_dict(io::load_safetensors("mobilenet_v3_large.safetensors"));   // torchvision's state_dict()
//   model.reset_classifier(10);        // a fresh classifier.3 (v3) / classifier.1 (v2) for 10 classes
//   model.freeze_stages(12);           // features.0 … features.12 frozen, their BatchNorms in eval
//   model.train();
//   auto logits = model.forward(images);   // images [N, 3, H, W] → [N, 10]
//
// The trees (torchvision 0.14's names):
//   MobileNetV2: features (Sequential): "0" the stem Conv2dNormActivation (conv "0", bn "1", ReLU6 "2";
//     3×3 stride 2), "1" … "17" InvertedResidual blocks, "18" the last 1×1 Conv2dNormActivation;
//     classifier (Sequential): "0" Dropout, "1" Linear. An InvertedResidual holds conv (Sequential):
//     [expand Conv2dNormActivation 1×1 when expand_ratio ≠ 1], depthwise Conv2dNormActivation,
//     Conv2d 1×1 (no bias), BatchNorm2d — so keys read features.2.conv.0.0.weight,
//     features.2.conv.2.weight, features.2.conv.3.running_mean. BatchNorm eps 1e-5, momentum 0.1.
//   MobileNetV3: features: "0" stem (3×3 stride 2, Hardswish), "1" … "15" (large) / "11" (small)
//     InvertedResidual blocks, then the last 1×1 Conv2dNormActivation (Hardswish); avgpool;
//     classifier: "0" Linear, "1" Hardswish, "2" Dropout, "3" Linear. A block holds block
//     (Sequential): [expand 1×1], depthwise k×k, [SqueezeExcitation (fc1, fc2; ReLU, Hardsigmoid)],
//     projection 1×1 without activation — keys features.4.block.2.fc1.weight. BatchNorm eps 0.001,
//     momentum 0.01.
// A "stage" for freeze_stages is one entry of features after the stem (a block, or the last
// conv): freeze_stages(k) freezes features.0 … features.k. See docs/models.md.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "graft/nn/container.hpp"
#include "graft/nn/module.hpp"
#include "graft/nn/pooling.hpp"

namespace graft::models {

struct MobileNetV2Options {
    std::int64_t num_classes = 1000;
    /// Scales every channel count (rounded to a multiple of 8; the last conv never below 1280).
    double width_mult = 1.0;
    /// Dropout probability of classifier.0.
    double dropout = 0.2;
};

struct MobileNetV3Options {
    std::int64_t num_classes = 1000;
    /// Scales every channel count (rounded to a multiple of 8).
    double width_mult = 1.0;
    /// Dropout probability of classifier.2.
    double dropout = 0.2;
    /// Halves the channels of the last stage (torchvision's reduced_tail).
    bool reduced_tail = false;
    /// Dilation 2 instead of stride 2 in the last stage (torchvision's dilated).
    bool dilated = false;
};

/// MobileNetV2's block: x + conv(x) when the stride is 1 and the channels stay, conv(x) otherwise.
class InvertedResidual : public nn::Cloneable<InvertedResidual> {
public:
    /// ValueError unless stride is 1 or 2.
    InvertedResidual(std::int64_t inp, std::int64_t oup, std::int64_t stride, std::int64_t expand_ratio);
    void reset() override;
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "InvertedResidual"; }

    std::int64_t inp, oup, stride, expand_ratio;
    bool use_res_connect;
    nn::Child<nn::Sequential> conv;
};

/// One row of MobileNetV3's table (torchvision's InvertedResidualConfig, channels already
/// adjusted by width_mult).
struct InvertedResidualV3Config {
    std::int64_t input_channels, kernel, expanded_channels, out_channels;
    bool use_se;
    bool use_hardswish;  // "HS"; ReLU ("RE") otherwise
    std::int64_t stride, dilation;
};

/// MobileNetV3's block (torchvision's mobilenetv3.InvertedResidual): block(x) + x when the stride
/// is 1 and the channels stay, block(x) otherwise.
class InvertedResidualV3 : public nn::Cloneable<InvertedResidualV3> {
public:
    /// ValueError unless stride is 1 or 2.
    explicit InvertedResidualV3(const InvertedResidualV3Config& config);
    void reset() override;
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "InvertedResidual"; }

    InvertedResidualV3Config config;
    bool use_res_connect;
    nn::Child<nn::Sequential> block;
};

/// torchvision's MobileNetV2. Initialisation as torchvision's: convs kaiming_normal_(fan_out),
/// BatchNorm 1 and 0, Linear N(0, 0.01) with zero bias (default generator).
class MobileNetV2 : public nn::Cloneable<MobileNetV2> {
public:
    explicit MobileNetV2(const MobileNetV2Options& options = {});
    void reset() override;
    /// x [N, 3, H, W] → logits [N, num_classes]; ShapeError unless x is 4-D.
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "MobileNetV2"; }

    /// A fresh Linear(in_features, num_classes) as classifier.1, trainable; options.num_classes
    /// follows. ValueError unless num_classes > 0.
    void reset_classifier(std::int64_t num_classes);
    /// Freezes features.0 … features.`stages` with their BatchNorms pinned in eval (see the file
    /// comment). ValueError unless 0 ≤ stages ≤ features.size() − 1 (18 at width 1).
    void freeze_stages(int stages);

    MobileNetV2Options options;
    std::int64_t last_channel = 0;
    nn::Child<nn::Sequential> features, classifier;
};

/// torchvision's MobileNetV3 from its table of blocks and last_channel (the width of classifier.0).
class MobileNetV3 : public nn::Cloneable<MobileNetV3> {
public:
    MobileNetV3(std::vector<InvertedResidualV3Config> setting, std::int64_t last_channel,
                const MobileNetV3Options& options = {});
    void reset() override;
    /// x [N, 3, H, W] → logits [N, num_classes]; ShapeError unless x is 4-D.
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "MobileNetV3"; }

    /// A fresh Linear(last_channel, num_classes) as classifier.3, trainable.
    void reset_classifier(std::int64_t num_classes);
    /// Freezes features.0 … features.`stages` with their BatchNorms pinned in eval. ValueError
    /// unless 0 ≤ stages ≤ features.size() − 1 (16 for large, 12 for small).
    void freeze_stages(int stages);

    std::vector<InvertedResidualV3Config> setting;
    std::int64_t last_channel;
    MobileNetV3Options options;
    nn::Child<nn::Sequential> features;
    nn::Child<nn::AdaptiveAvgPool2d> avgpool;
    nn::Child<nn::Sequential> classifier;
};

/// torchvision's builders (random initialisation; load pretrained weights with load_state_dict).
MobileNetV2 mobilenet_v2(const MobileNetV2Options& options = {});
MobileNetV3 mobilenet_v3_large(const MobileNetV3Options& options = {});
MobileNetV3 mobilenet_v3_small(const MobileNetV3Options& options = {});

}  // namespace graft::models
