// nn::SqueezeExcitation: torchvision.ops.SqueezeExcitation's children and forward.
#include "graft/nn/squeeze_excitation.hpp"

#include "graft/nn/activation.hpp"
#include "graft/ops.hpp"

namespace graft::nn {

SqueezeExcitation::SqueezeExcitation(std::int64_t in, std::int64_t squeeze, const SqueezeExcitationOptions& o)
    : input_channels(in), squeeze_channels(squeeze), options(o) {
    if (in < 1 || squeeze < 1)
        throw ValueError("SqueezeExcitation(" + std::to_string(in) + ", " + std::to_string(squeeze) +
                         "): input_channels and squeeze_channels must be positive");
    reset();
}

void SqueezeExcitation::reset() {
    register_module("avgpool", &SqueezeExcitation::avgpool, AdaptiveAvgPool2d(1));
    register_module("fc1", &SqueezeExcitation::fc1, Conv2d(input_channels, squeeze_channels, 1));
    register_module("fc2", &SqueezeExcitation::fc2, Conv2d(squeeze_channels, input_channels, 1));
    if (options.activation == SEActivation::ReLU)
        register_module("activation", &SqueezeExcitation::activation, ReLU());
    else
        register_module("activation", &SqueezeExcitation::activation, SiLU());
    if (options.scale_activation == SEScale::Sigmoid)
        register_module("scale_activation", &SqueezeExcitation::scale_activation, Sigmoid());
    else
        register_module("scale_activation", &SqueezeExcitation::scale_activation, Hardsigmoid());
}

Tensor SqueezeExcitation::forward(const Tensor& x) {
    if (x.dim() != 3 && x.dim() != 4)
        throw ShapeError("SqueezeExcitation(" + std::to_string(input_channels) + ", " +
                         std::to_string(squeeze_channels) + "): expected a 3-D or 4-D input, got shape " +
                         shape_str(x.shape()));
    const Tensor scale = scale_activation(fc2(activation(fc1(avgpool(x)))));
    return mul(scale, x);
}

}  // namespace graft::nn
