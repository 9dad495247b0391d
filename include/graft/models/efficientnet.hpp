// graft/models/efficientnet.hpp — torchvision's EfficientNet (B0 … B7) with torchvision's module
// tree and parameter names, so its state dicts load as they are.
//
//   auto model = models::efficientnet_b0();
//   model.load_state_dict(io::load_safetensors("efficientnet_b0.safetensors"));   // torchvision's state_dict()
//   model.reset_classifier(10);        // a fresh classifier.1 for 10 classes
//   model.freeze_stages(5);            // features.0 … features.5 frozen, their BatchNorms in eval
//   model.train();
//   auto logits = model.forward(images);   // images [N, 3, H, W] → [N, 10]
//
// The tree (torchvision 0.14's names): features (Sequential): "0" the stem Conv2dNormActivation
// (conv "0", BatchNorm2d "1", SiLU "2"; 3×3 stride 2), "1" … "7" the stages, each a Sequential of
// MBConv blocks "0", "1", …, and "8" the last 1×1 Conv2dNormActivation (SiLU); avgpool;
// classifier: "0" Dropout, "1" Linear. An MBConv holds block (Sequential): [expand 1×1
// Conv2dNormActivation when the expansion is not 1], depthwise k×k, SqueezeExcitation (fc1, fc2;
// SiLU, Sigmoid), projection 1×1 without activation; and stochastic_depth, applied to the block's
// output before the residual add (blocks with stride 1 and unchanged channels only), its
// probability growing linearly from 0 with the block's index: stochastic_depth_prob · i / blocks.
// Keys read features.2.0.block.0.0.weight, features.2.0.block.2.fc1.bias. BatchNorm eps 1e-5,
// momentum 0.1 (B0 … B4), eps 0.001, momentum 0.01 (B5 … B7), as torchvision's builders set them.
// A "stage" for freeze_stages is one entry of features after the stem: features.1 … features.7
// (Sequentials of MBConv) and the last conv features.8. See docs/models.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "graft/nn/batchnorm.hpp"
#include "graft/nn/container.hpp"
#include "graft/nn/dropout.hpp"
#include "graft/nn/module.hpp"
#include "graft/nn/pooling.hpp"

namespace graft::models {

/// What the named factories take.
struct EfficientNetOptions {
    std::int64_t num_classes = 1000;
    /// The stochastic depth probability of the last block (torchvision's default 0.2).
    double stochastic_depth_prob = 0.2;
    /// classifier.0's dropout; unset: the variant's (0.2 for B0/B1, 0.3 B2/B3, 0.4 B4/B5, 0.5 B6/B7).
    std::optional<double> dropout = std::nullopt;
};

/// One row of EfficientNet's table (torchvision's MBConvConfig, already scaled by width_mult and
/// depth_mult): expand_ratio, kernel, stride, input_channels, out_channels, num_layers.
struct MBConvConfig {
    double expand_ratio;
    std::int64_t kernel, stride, input_channels, out_channels, num_layers;
};

/// The whole configuration of torchvision's EfficientNet (V1).
struct EfficientNetConfig {
    double width_mult = 1.0;
    double depth_mult = 1.0;
    double dropout = 0.2;
    double stochastic_depth_prob = 0.2;
    std::int64_t num_classes = 1000;
    nn::BatchNormOptions norm{};
    /// torchvision's B0 table scaled by width_mult (channels, to multiples of 8) and depth_mult (layers, rounded up).
    std::vector<MBConvConfig> stages() const;
};

/// Mobile inverted bottleneck with squeeze-excitation: block(x), plus x after stochastic depth
/// when the stride is 1 and the channels stay.
class MBConv : public nn::Cloneable<MBConv> {
public:
    /// ValueError unless stride is 1 or 2.
    MBConv(const MBConvConfig& config, double stochastic_depth_prob, const nn::BatchNormOptions& norm);
    void reset() override;
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "MBConv"; }

    MBConvConfig config;
    double stochastic_depth_prob;
    nn::BatchNormOptions norm;
    bool use_res_connect;
    nn::Child<nn::Sequential> block;
    nn::Child<nn::StochasticDepth> stochastic_depth;
};

/// torchvision's EfficientNet. Initialisation as torchvision's: convs kaiming_normal_(fan_out),
/// BatchNorm 1 and 0, Linear U(±1/√out_features) with zero bias (default generator).
class EfficientNet : public nn::Cloneable<EfficientNet> {
public:
    explicit EfficientNet(const EfficientNetConfig& config);
    void reset() override;
    /// x [N, 3, H, W] → logits [N, num_classes]; ShapeError unless x is 4-D.
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "EfficientNet"; }

    /// A fresh Linear(in_features, num_classes) as classifier.1, trainable; config.num_classes follows.
    void reset_classifier(std::int64_t num_classes);
    /// Freezes features.0 … features.`stages` with their BatchNorms pinned in eval. ValueError
    /// unless 0 ≤ stages ≤ 8.
    void freeze_stages(int stages);

    EfficientNetConfig config;
    nn::Child<nn::Sequential> features;
    nn::Child<nn::AdaptiveAvgPool2d> avgpool;
    nn::Child<nn::Sequential> classifier;
};

/// torchvision's builders (width_mult, depth_mult, dropout): random initialisation; load
/// pretrained weights with load_state_dict.
EfficientNet efficientnet_b0(const EfficientNetOptions& options = {});  // 1.0, 1.0, 0.2
EfficientNet efficientnet_b1(const EfficientNetOptions& options = {});  // 1.0, 1.1, 0.2
EfficientNet efficientnet_b2(const EfficientNetOptions& options = {});  // 1.1, 1.2, 0.3
EfficientNet efficientnet_b3(const EfficientNetOptions& options = {});  // 1.2, 1.4, 0.3
EfficientNet efficientnet_b4(const EfficientNetOptions& options = {});  // 1.4, 1.8, 0.4
EfficientNet efficientnet_b5(const EfficientNetOptions& options = {});  // 1.6, 2.2, 0.4, BatchNorm eps 0.001, momentum 0.01
EfficientNet efficientnet_b6(const EfficientNetOptions& options = {});  // 1.8, 2.6, 0.5, same BatchNorm
EfficientNet efficientnet_b7(const EfficientNetOptions& options = {});  // 2.0, 3.1, 0.5, same BatchNorm

}  // namespace graft::models
