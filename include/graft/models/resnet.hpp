// graft/models/resnet.hpp — torchvision's ResNet family (ResNet, ResNeXt, Wide ResNet) with
// torchvision's module tree and parameter names, so its state dicts load as they are.
//
//   auto model = models::resnet50({.num_classes = 1000});
//   model.load_state_dict(io::load_safetensors("resnet50.safetensors"));   // torchvision's state_dict()
//   model.reset_classifier(10);                  // a fresh fc for 10 classes, still named "fc"
//   model.freeze_stages(3);                      // conv1, bn1, layer1..layer3 frozen, their BatchNorms in eval
//   model.train();
//   optim::SGD opt(model.trainable_parameters(), {.lr = 1e-2, .momentum = 0.9});
//   auto logits = model.forward(images);         // images [N, 3, H, W] → [N, 10]
//
// The tree (torchvision's names): conv1 (7×7, stride 2), bn1, relu, maxpool (3×3, stride 2),
// layer1..layer4 (nn::Sequential of blocks "0", "1", …), avgpool (AdaptiveAvgPool2d(1)), fc.
// A block is a BasicBlock (conv1, bn1, relu, conv2, bn2, downsample) or a Bottleneck (conv1, bn1,
// conv2, bn2, conv3, bn3, relu, downsample); downsample, present only where the shape changes, is
// nn::Sequential "0" (1×1 conv with the block's stride) and "1" (BatchNorm2d). The Bottleneck puts
// the stride on its 3×3 conv (torchvision's "ResNet V1.5"). See docs/models.md.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "graft/nn/activation.hpp"
#include "graft/nn/batchnorm.hpp"
#include "graft/nn/container.hpp"
#include "graft/nn/conv.hpp"
#include "graft/nn/linear.hpp"
#include "graft/nn/module.hpp"
#include "graft/nn/pooling.hpp"

namespace graft::models {

/// The residual block a ResNet is built of: BasicBlock (two 3×3 convs, expansion 1) or
/// Bottleneck (1×1, 3×3, 1×1, expansion 4).
enum class ResNetBlock { Basic, Bottleneck };

/// What the named factories (resnet18, …) take: the options torchvision's builders take.
struct ResNetOptions {
    std::int64_t num_classes = 1000;
    /// Zero the last BatchNorm weight of every block (bn2 in BasicBlock, bn3 in Bottleneck), so
    /// each block starts as the identity.
    bool zero_init_residual = false;
};

/// The hyperparameters of torchvision's ResNet(block, layers, num_classes, zero_init_residual,
/// groups, width_per_group). The defaults are ResNet-50's.
struct ResNetConfig {
    ResNetBlock block = ResNetBlock::Bottleneck;
    /// Number of blocks in layer1..layer4.
    std::array<std::int64_t, 4> layers = {3, 4, 6, 3};
    std::int64_t num_classes = 1000;
    /// Groups of the Bottleneck's 3×3 conv (ResNeXt's cardinality).
    std::int64_t groups = 1;
    /// Bottleneck width per group at planes 64: width = planes·(width_per_group/64)·groups.
    std::int64_t width_per_group = 64;
    bool zero_init_residual = false;

    /// ValueError naming the field unless every count is positive, and, for BasicBlock, groups is
    /// 1 and width_per_group 64 (as torchvision requires).
    void validate() const;
    /// Output channels per plane: 1 for BasicBlock, 4 for Bottleneck.
    std::int64_t expansion() const { return block == ResNetBlock::Basic ? 1 : 4; }
};

/// Two 3×3 convs with BatchNorm: relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)), the
/// shortcut being downsample(x) when the block has one, x otherwise. Stride on conv1.
class BasicBlock : public nn::Cloneable<BasicBlock> {
public:
    BasicBlock(std::int64_t inplanes, std::int64_t planes, std::int64_t stride, bool downsample);
    void reset() override;
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "BasicBlock"; }

    std::int64_t inplanes, planes, stride;
    bool has_downsample;
    nn::Child<nn::Conv2d> conv1, conv2;
    nn::Child<nn::BatchNorm2d> bn1, bn2;
    nn::Child<nn::ReLU> relu;
    nn::Child<nn::Sequential> downsample;  // empty (and not registered) without a downsample
};

/// 1×1 conv to `width`, 3×3 conv (stride, groups) at `width`, 1×1 conv to planes·4, each with
/// BatchNorm, plus the shortcut, then ReLU.
class Bottleneck : public nn::Cloneable<Bottleneck> {
public:
    Bottleneck(std::int64_t inplanes, std::int64_t planes, std::int64_t stride, bool downsample, std::int64_t groups,
               std::int64_t width_per_group);
    void reset() override;
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "Bottleneck"; }
    /// planes·(width_per_group/64)·groups, as torchvision computes it (integer part of the product).
    std::int64_t width() const;

    std::int64_t inplanes, planes, stride, groups, width_per_group;
    bool has_downsample;
    nn::Child<nn::Conv2d> conv1, conv2, conv3;
    nn::Child<nn::BatchNorm2d> bn1, bn2, bn3;
    nn::Child<nn::ReLU> relu;
    nn::Child<nn::Sequential> downsample;
};

/// torchvision's ResNet. Initialisation as torchvision's: convs kaiming_normal_(fan_out, relu),
/// BatchNorm weight 1 and bias 0, fc the default Linear initialisation, drawn from the default
/// generator (graft::manual_seed makes it reproducible).
class ResNet : public nn::Cloneable<ResNet> {
public:
    explicit ResNet(const ResNetConfig& config);
    void reset() override;
    /// x [N, 3, H, W] → logits [N, num_classes]. ShapeError unless x is 4-D; a wrong channel
    /// count or an image too small for the strides is an error naming the module path
    /// ("conv1 (Conv2d): …", "layer3.0.conv1 (Conv2d): …").
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "ResNet"; }

    /// Replaces fc by a fresh Linear(fc.in_features, num_classes) under the same name (keys
    /// "fc.weight", "fc.bias"), trainable, in this model's train/eval mode; config.num_classes
    /// follows. ValueError unless num_classes > 0.
    void reset_classifier(std::int64_t num_classes);
    /// Freezes the stem (conv1, bn1) and layer1..layer_k, pinning their BatchNorms in eval mode
    /// (freeze(pattern, {.batchnorm_eval = true})): their running statistics stay put after
    /// train(). stages = 0 freezes the stem only. Other parameters keep their requires_grad.
    /// ValueError unless 0 ≤ stages ≤ 4.
    void freeze_stages(int stages);

    ResNetConfig config;
    nn::Child<nn::Conv2d> conv1;
    nn::Child<nn::BatchNorm2d> bn1;
    nn::Child<nn::ReLU> relu;
    nn::Child<nn::MaxPool2d> maxpool;
    nn::Child<nn::Sequential> layer1, layer2, layer3, layer4;
    nn::Child<nn::AdaptiveAvgPool2d> avgpool;
    nn::Child<nn::Linear> fc;
};

/// torchvision's builders, as configs of ResNet (random initialisation; load pretrained weights
/// with load_state_dict).
ResNet resnet18(const ResNetOptions& options = {});         // Basic, [2, 2, 2, 2]
ResNet resnet34(const ResNetOptions& options = {});         // Basic, [3, 4, 6, 3]
ResNet resnet50(const ResNetOptions& options = {});         // Bottleneck, [3, 4, 6, 3]
ResNet resnet101(const ResNetOptions& options = {});        // Bottleneck, [3, 4, 23, 3]
ResNet resnet152(const ResNetOptions& options = {});        // Bottleneck, [3, 8, 36, 3]
ResNet resnext50_32x4d(const ResNetOptions& options = {});  // resnet50 with groups 32, width_per_group 4
ResNet resnext101_32x8d(const ResNetOptions& options = {}); // resnet101 with groups 32, width_per_group 8
ResNet wide_resnet50_2(const ResNetOptions& options = {});  // resnet50 with width_per_group 128
ResNet wide_resnet101_2(const ResNetOptions& options = {}); // resnet101 with width_per_group 128

}  // namespace graft::models
