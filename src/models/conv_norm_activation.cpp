// torchvision's Conv2dNormActivation, _make_divisible and the MobileNet/EfficientNet
// initialisation, shared by models/mobilenet.cpp and models/efficientnet.cpp.
#include "models/conv_norm_activation.hpp"

#include <algorithm>
#include <cmath>

#include "graft/error.hpp"
#include "graft/nn/activation.hpp"
#include "graft/nn/conv.hpp"
#include "graft/nn/init.hpp"
#include "graft/nn/linear.hpp"

namespace graft::models::detail {

nn::Sequential conv_norm_activation(std::int64_t in, std::int64_t out, std::int64_t kernel, std::int64_t stride,
                                    std::int64_t groups, Activation activation, const nn::BatchNormOptions& bn,
                                    std::int64_t dilation) {
    nn::Sequential s(nn::Conv2d(in, out, kernel,
                                {.stride = stride,
                                 .padding = (kernel - 1) / 2 * dilation,
                                 .dilation = dilation,
                                 .groups = groups,
                                 .bias = false}),
                     nn::BatchNorm2d(out, bn));
    switch (activation) {
        case Activation::None: break;
        case Activation::ReLU: s.push_back(nn::ReLU()); break;
        case Activation::ReLU6: s.push_back(nn::ReLU6()); break;
        case Activation::Hardswish: s.push_back(nn::Hardswish()); break;
        case Activation::SiLU: s.push_back(nn::SiLU()); break;
    }
    return s;
}

// new_v = max(min_value, int(v + divisor / 2) // divisor * divisor); + divisor if new_v < 0.9·v
std::int64_t make_divisible(double v, std::int64_t divisor, std::optional<std::int64_t> min_value) {
    const auto d = static_cast<double>(divisor);
    const auto rounded = static_cast<std::int64_t>(v + d / 2) / divisor * divisor;
    std::int64_t new_v = std::max(min_value.value_or(divisor), rounded);
    if (static_cast<double>(new_v) < 0.9 * v) new_v += divisor;
    return new_v;
}

void init_mobile_family(nn::Module& model, LinearInit linear) {
    for (auto& [name, module] : model.named_modules()) {
        if (auto* conv = dynamic_cast<nn::Conv2d*>(module)) {
            nn::init::kaiming_normal_(conv->weight, 0.0, nn::init::FanMode::FanOut, nn::init::Nonlinearity::ReLU);
            if (conv->has_bias) nn::init::zeros_(conv->bias);
        } else if (auto* lin = dynamic_cast<nn::Linear*>(module)) {
            if (linear == LinearInit::Normal001) {
                nn::init::normal_(lin->weight, 0.0, 0.01);
            } else {
                const double range = 1.0 / std::sqrt(static_cast<double>(lin->out_features));
                nn::init::uniform_(lin->weight, -range, range);
            }
            if (lin->bias.defined()) nn::init::zeros_(lin->bias);
        }
        // BatchNorm2d starts with weight 1 and bias 0 already.
    }
}

void freeze_feature_stages(nn::Module& model, const nn::Sequential& features, int stages, const std::string& who) {
    const auto last = static_cast<int>(features.size()) - 1;
    if (stages < 0 || stages > last)
        throw ValueError(who + "::freeze_stages: stages = " + std::to_string(stages) + " must lie in [0, " +
                         std::to_string(last) + "]");
    const nn::FreezeOptions options{.batchnorm_eval = true};
    for (int i = 0; i <= stages; ++i) model.freeze("features." + std::to_string(i) + ".*", options);
}

void reset_linear(nn::Module& model, const std::string& path, std::int64_t num_classes, const std::string& who) {
    if (num_classes <= 0)
        throw ValueError(who + "::reset_classifier: num_classes = " + std::to_string(num_classes) +
                         " must be positive");
    auto old = std::dynamic_pointer_cast<nn::Linear>(model.submodule(path));
    if (!old) throw Error(who + "::reset_classifier: " + path + " is not a Linear");
    model.replace(path, nn::Linear(old->in_features, num_classes));
}

}  // namespace graft::models::detail
