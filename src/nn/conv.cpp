// nn::Conv2d: registration, PyTorch's default initialisation, checked forward on functional::conv2d.
#include "graft/nn/conv.hpp"

#include <cmath>

#include "graft/nn/init.hpp"
#include "nn/repr.hpp"

namespace graft::nn {

namespace {

std::string size2_tuple(const Size2& s) { return pyfmt::py_tuple({s.h, s.w}); }

}  // namespace

Conv2d::Conv2d(std::int64_t in, std::int64_t out, Size2 kernel, const Conv2dOptions& options)
    : in_channels(in),
      out_channels(out),
      kernel_size(kernel),
      stride(options.stride),
      padding(options.padding.size),
      padding_same(options.padding.mode == "same"),
      dilation(options.dilation),
      groups(options.groups),
      has_bias(options.bias) {
    const std::string where = "Conv2d(" + std::to_string(in) + ", " + std::to_string(out) + "): ";
    if (in < 1 || out < 1)
        throw ValueError(where + "in_channels and out_channels must be positive");
    if (groups < 1) throw ValueError(where + "groups must be positive, got " + std::to_string(groups));
    if (in % groups != 0 || out % groups != 0)
        throw ValueError(where + "in_channels and out_channels must be divisible by groups " + std::to_string(groups));
    if (kernel.h < 1 || kernel.w < 1)
        throw ValueError(where + "kernel_size must be positive, got " + size2_tuple(kernel));
    if (stride.h < 1 || stride.w < 1) throw ValueError(where + "stride must be positive, got " + size2_tuple(stride));
    if (dilation.h < 1 || dilation.w < 1)
        throw ValueError(where + "dilation must be positive, got " + size2_tuple(dilation));
    if (!options.padding.mode.empty() && options.padding.mode != "same" && options.padding.mode != "valid")
        throw ValueError(where + "padding must be sizes, \"same\" or \"valid\", got \"" + options.padding.mode + "\"");
    if (padding_same && stride != Size2(1))
        throw ValueError(where + "padding=\"same\" needs stride 1, got " + size2_tuple(stride));
    if (padding.h < 0 || padding.w < 0)
        throw ValueError(where + "padding must be non-negative, got " + size2_tuple(padding));
    reset();
}

void Conv2d::reset() {
    weight = register_parameter("weight", empty({out_channels, in_channels / groups, kernel_size.h, kernel_size.w}));
    init::kaiming_uniform_(weight, std::sqrt(5.0));
    bias = Tensor();
    if (has_bias) {
        bias = register_parameter("bias", empty({out_channels}));
        const std::int64_t fan_in = in_channels / groups * kernel_size.h * kernel_size.w;
        const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
        init::uniform_(bias, -bound, bound);
    }
}

Tensor Conv2d::forward(const Tensor& x) {
    const std::string where = "Conv2d(" + extra_repr() + "): ";
    if (x.dim() != 3 && x.dim() != 4)
        throw ShapeError(where + "expected a 3-D [C, H, W] or 4-D [N, C, H, W] input, got shape " +
                         shape_str(x.shape()));
    const std::int64_t channels = x.size(x.dim() - 3);
    if (channels != in_channels)
        throw ShapeError(where + "input has " + std::to_string(channels) + " channels, layer expects " +
                         std::to_string(in_channels) + " (input shape " + shape_str(x.shape()) + ")");
    if (padding_same) return functional::conv2d(x, weight, bias, stride, "same", dilation, groups);
    return functional::conv2d(x, weight, bias, stride, padding, dilation, groups);
}

std::string Conv2d::extra_repr() const {
    std::string s = std::to_string(in_channels) + ", " + std::to_string(out_channels) +
                    ", kernel_size=" + size2_tuple(kernel_size) + ", stride=" + size2_tuple(stride);
    if (padding_same) s += ", padding=same";
    else if (padding != Size2(0)) s += ", padding=" + size2_tuple(padding);
    if (dilation != Size2(1)) s += ", dilation=" + size2_tuple(dilation);
    if (groups != 1) s += ", groups=" + std::to_string(groups);
    if (!has_bias) s += ", bias=False";
    return s;
}

}  // namespace graft::nn
