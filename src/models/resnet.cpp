// models::{BasicBlock, Bottleneck, ResNet} and torchvision's builders (resnet18 … wide_resnet101_2):
// torchvision's ResNet family with its module tree, parameter names and initialisation.
#include "graft/models/resnet.hpp"

#include <string>
#include <typeinfo>

#include "graft/error.hpp"
#include "graft/functional/add_relu.hpp"
#include "graft/nn/conv_batch_norm.hpp"
#include "graft/nn/init.hpp"
#include "graft/ops.hpp"

namespace graft::models {

namespace {

nn::Conv2d conv3x3(std::int64_t in, std::int64_t out, std::int64_t stride = 1, std::int64_t groups = 1) {
    return nn::Conv2d(in, out, 3, {.stride = stride, .padding = 1, .groups = groups, .bias = false});
}

nn::Conv2d conv1x1(std::int64_t in, std::int64_t out, std::int64_t stride = 1) {
    return nn::Conv2d(in, out, 1, {.stride = stride, .bias = false});
}

/// torchvision's downsample: "0" a 1×1 conv with the block's stride, "1" BatchNorm2d.
nn::Sequential downsample_path(std::int64_t in, std::int64_t out, std::int64_t stride) {
    return nn::Sequential(conv1x1(in, out, stride), nn::BatchNorm2d(out));
}

/// relu(bn(x)) as one batch_norm with the ReLU fused (BatchNormBase::forward_activation: the same
/// values and gradients, one tensor and two passes fewer) when the slots hold exactly a BatchNorm2d
/// and a ReLU; the two modules one after the other when a replace() put other modules there.
Tensor bn_relu(const nn::Child<nn::BatchNorm2d>& bn, const nn::Child<nn::ReLU>& relu, const Tensor& x) {
    nn::Module& norm = *bn.module();
    if (typeid(norm) != typeid(nn::BatchNorm2d) || typeid(*relu.module()) != typeid(nn::ReLU)) return relu(bn(x));
    return nn::with_module_path(bn.name(), norm, [&] {
        return static_cast<nn::BatchNorm2d&>(norm).forward_activation(x, nn::functional::BatchNormActivation::ReLU);
    });
}

/// bn(conv(x)), or relu(bn(conv(x))) when relu is given, as one convolution with the BatchNorm
/// (and the ReLU) folded in (nn::conv_batch_norm) when the slots hold exactly a Conv2d, a
/// BatchNorm2d and a ReLU and the BatchNorm folds (frozen, in eval mode); otherwise as above.
Tensor conv_bn(const nn::Child<nn::Conv2d>& conv, const nn::Child<nn::BatchNorm2d>& bn,
               const nn::Child<nn::ReLU>* relu, const Tensor& x) {
    nn::Module &c = *conv.module(), &norm = *bn.module();
    if (typeid(c) == typeid(nn::Conv2d) && typeid(norm) == typeid(nn::BatchNorm2d) &&
        (relu == nullptr || typeid(*relu->module()) == typeid(nn::ReLU))) {
        auto& cv = static_cast<nn::Conv2d&>(c);
        auto& bn2d = static_cast<nn::BatchNorm2d&>(norm);
        if (nn::batch_norm_folds(cv, bn2d, x)) {
            using A = nn::functional::BatchNormActivation;
            return nn::with_module_path(conv.name(), c, [&] {
                return nn::conv_batch_norm(cv, bn2d, x, relu != nullptr ? A::ReLU : A::None);
            });
        }
    }
    return relu != nullptr ? bn_relu(bn, *relu, conv(x)) : bn(conv(x));
}

/// relu(branch + shortcut) as one add_relu when the slot holds exactly a ReLU, the two ops otherwise.
Tensor join_relu(const nn::Child<nn::ReLU>& relu, const Tensor& branch, const Tensor& shortcut) {
    if (typeid(*relu.module()) != typeid(nn::ReLU)) return relu(add(branch, shortcut));
    return nn::functional::add_relu(branch, shortcut);
}

/// downsample(x) when the block has one, x otherwise.
Tensor shortcut(const nn::Child<nn::Sequential>& downsample, const Tensor& x) {
    return downsample ? downsample(x) : x;
}

}  // namespace

// ---- config -------------------------------------------------------------------------------------

void ResNetConfig::validate() const {
    for (std::size_t i = 0; i < layers.size(); ++i)
        if (layers[i] <= 0)
            throw ValueError("ResNetConfig: layers[" + std::to_string(i) + "] = " + std::to_string(layers[i]) +
                             " must be positive");
    if (num_classes <= 0)
        throw ValueError("ResNetConfig: num_classes = " + std::to_string(num_classes) + " must be positive");
    if (groups <= 0) throw ValueError("ResNetConfig: groups = " + std::to_string(groups) + " must be positive");
    if (width_per_group <= 0)
        throw ValueError("ResNetConfig: width_per_group = " + std::to_string(width_per_group) + " must be positive");
    if (block == ResNetBlock::Basic && (groups != 1 || width_per_group != 64))
        throw ValueError("ResNetConfig: BasicBlock only supports groups = 1 and width_per_group = 64, got groups = " +
                         std::to_string(groups) + ", width_per_group = " + std::to_string(width_per_group));
}

// ---- blocks -------------------------------------------------------------------------------------

BasicBlock::BasicBlock(std::int64_t inplanes_, std::int64_t planes_, std::int64_t stride_, bool downsample_)
    : inplanes(inplanes_), planes(planes_), stride(stride_), has_downsample(downsample_) {
    reset();
}

void BasicBlock::reset() {
    register_module("conv1", &BasicBlock::conv1, conv3x3(inplanes, planes, stride));
    register_module("bn1", &BasicBlock::bn1, nn::BatchNorm2d(planes));
    register_module("relu", &BasicBlock::relu, nn::ReLU());
    register_module("conv2", &BasicBlock::conv2, conv3x3(planes, planes));
    register_module("bn2", &BasicBlock::bn2, nn::BatchNorm2d(planes));
    if (has_downsample)
        register_module("downsample", &BasicBlock::downsample, downsample_path(inplanes, planes, stride));
}

Tensor BasicBlock::forward(const Tensor& x) {
    const Tensor out = conv_bn(conv1, bn1, &relu, x);
    return join_relu(relu, conv_bn(conv2, bn2, nullptr, out), shortcut(downsample, x));
}

Bottleneck::Bottleneck(std::int64_t inplanes_, std::int64_t planes_, std::int64_t stride_, bool downsample_,
                       std::int64_t groups_, std::int64_t width_per_group_)
    : inplanes(inplanes_),
      planes(planes_),
      stride(stride_),
      groups(groups_),
      width_per_group(width_per_group_),
      has_downsample(downsample_) {
    reset();
}

// torchvision: int(planes * (base_width / 64.0)) * groups
std::int64_t Bottleneck::width() const {
    return static_cast<std::int64_t>(static_cast<double>(planes) * (static_cast<double>(width_per_group) / 64.0)) *
           groups;
}

void Bottleneck::reset() {
    const std::int64_t w = width(), out = planes * 4;
    register_module("conv1", &Bottleneck::conv1, conv1x1(inplanes, w));
    register_module("bn1", &Bottleneck::bn1, nn::BatchNorm2d(w));
    register_module("conv2", &Bottleneck::conv2, conv3x3(w, w, stride, groups));
    register_module("bn2", &Bottleneck::bn2, nn::BatchNorm2d(w));
    register_module("conv3", &Bottleneck::conv3, conv1x1(w, out));
    register_module("bn3", &Bottleneck::bn3, nn::BatchNorm2d(out));
    register_module("relu", &Bottleneck::relu, nn::ReLU());
    if (has_downsample)
        register_module("downsample", &Bottleneck::downsample, downsample_path(inplanes, out, stride));
}

Tensor Bottleneck::forward(const Tensor& x) {
    Tensor out = conv_bn(conv1, bn1, &relu, x);
    out = conv_bn(conv2, bn2, &relu, out);
    return join_relu(relu, conv_bn(conv3, bn3, nullptr, out), shortcut(downsample, x));
}

// ---- the network --------------------------------------------------------------------------------

ResNet::ResNet(const ResNetConfig& c) : config(c) {
    config.validate();
    reset();
}

void ResNet::reset() {
    const std::int64_t expansion = config.expansion();
    register_module("conv1", &ResNet::conv1, nn::Conv2d(3, 64, 7, {.stride = 2, .padding = 3, .bias = false}));
    register_module("bn1", &ResNet::bn1, nn::BatchNorm2d(64));
    register_module("relu", &ResNet::relu, nn::ReLU());
    register_module("maxpool", &ResNet::maxpool, nn::MaxPool2d(3, {.stride = 2, .padding = 1}));

    // torchvision's _make_layer: the first block of a stage takes the stride and, where the shape
    // changes, a downsample; the others keep planes·expansion channels.
    std::int64_t inplanes = 64;
    const auto make_layer = [&](std::int64_t planes, std::int64_t blocks, std::int64_t stride) {
        nn::Sequential layer;
        for (std::int64_t i = 0; i < blocks; ++i) {
            const std::int64_t s = i == 0 ? stride : 1;
            const bool down = i == 0 && (stride != 1 || inplanes != planes * expansion);
            if (config.block == ResNetBlock::Basic)
                layer.push_back(BasicBlock(inplanes, planes, s, down));
            else
                layer.push_back(Bottleneck(inplanes, planes, s, down, config.groups, config.width_per_group));
            inplanes = planes * expansion;
        }
        return layer;
    };
    register_module("layer1", &ResNet::layer1, make_layer(64, config.layers[0], 1));
    register_module("layer2", &ResNet::layer2, make_layer(128, config.layers[1], 2));
    register_module("layer3", &ResNet::layer3, make_layer(256, config.layers[2], 2));
    register_module("layer4", &ResNet::layer4, make_layer(512, config.layers[3], 2));
    register_module("avgpool", &ResNet::avgpool, nn::AdaptiveAvgPool2d(1));
    register_module("fc", &ResNet::fc, nn::Linear(512 * expansion, config.num_classes));

    for (auto& [name, module] : named_modules()) {
        if (auto* conv = dynamic_cast<nn::Conv2d*>(module))
            nn::init::kaiming_normal_(conv->weight, 0.0, nn::init::FanMode::FanOut, nn::init::Nonlinearity::ReLU);
        // BatchNorm2d starts with weight 1 and bias 0 already; fc keeps Linear's own initialisation.
    }
    if (config.zero_init_residual) {
        for (auto& [name, module] : named_modules()) {
            if (auto* block = dynamic_cast<Bottleneck*>(module)) nn::init::zeros_(block->bn3->weight);
            if (auto* block = dynamic_cast<BasicBlock*>(module)) nn::init::zeros_(block->bn2->weight);
        }
    }
}

Tensor ResNet::forward(const Tensor& x) {
    if (x.dim() != 4)
        throw ShapeError("ResNet: input must be [N, 3, H, W], got shape " + shape_str(x.shape()));
    Tensor h = maxpool(conv_bn(conv1, bn1, &relu, x));
    h = layer4(layer3(layer2(layer1(h))));
    return fc(avgpool(h).flatten(1));
}

void ResNet::reset_classifier(std::int64_t num_classes) {
    if (num_classes <= 0)
        throw ValueError("ResNet::reset_classifier: num_classes = " + std::to_string(num_classes) +
                         " must be positive");
    replace("fc", nn::Linear(fc->in_features, num_classes));
    config.num_classes = num_classes;
}

void ResNet::freeze_stages(int stages) {
    if (stages < 0 || stages > 4)
        throw ValueError("ResNet::freeze_stages: stages = " + std::to_string(stages) + " must lie in [0, 4]");
    const nn::FreezeOptions options{.batchnorm_eval = true};
    freeze("conv1.*", options);
    freeze("bn1.*", options);
    for (int i = 1; i <= stages; ++i) freeze("layer" + std::to_string(i) + ".*", options);
}

// ---- torchvision's builders ---------------------------------------------------------------------

namespace {

ResNet build(ResNetBlock block, std::array<std::int64_t, 4> layers, const ResNetOptions& options,
             std::int64_t groups = 1, std::int64_t width_per_group = 64) {
    return ResNet(ResNetConfig{.block = block,
                               .layers = layers,
                               .num_classes = options.num_classes,
                               .groups = groups,
                               .width_per_group = width_per_group,
                               .zero_init_residual = options.zero_init_residual});
}

}  // namespace

ResNet resnet18(const ResNetOptions& o) { return build(ResNetBlock::Basic, {2, 2, 2, 2}, o); }
ResNet resnet34(const ResNetOptions& o) { return build(ResNetBlock::Basic, {3, 4, 6, 3}, o); }
ResNet resnet50(const ResNetOptions& o) { return build(ResNetBlock::Bottleneck, {3, 4, 6, 3}, o); }
ResNet resnet101(const ResNetOptions& o) { return build(ResNetBlock::Bottleneck, {3, 4, 23, 3}, o); }
ResNet resnet152(const ResNetOptions& o) { return build(ResNetBlock::Bottleneck, {3, 8, 36, 3}, o); }
ResNet resnext50_32x4d(const ResNetOptions& o) { return build(ResNetBlock::Bottleneck, {3, 4, 6, 3}, o, 32, 4); }
ResNet resnext101_32x8d(const ResNetOptions& o) { return build(ResNetBlock::Bottleneck, {3, 4, 23, 3}, o, 32, 8); }
ResNet wide_resnet50_2(const ResNetOptions& o) { return build(ResNetBlock::Bottleneck, {3, 4, 6, 3}, o, 1, 128); }
ResNet wide_resnet101_2(const ResNetOptions& o) { return build(ResNetBlock::Bottleneck, {3, 4, 23, 3}, o, 1, 128); }

}  // namespace graft::models
