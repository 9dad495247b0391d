// nn::MaxPool2d, AvgPool2d, AdaptiveAvgPool2d: options, checked forwards on the functional pools.
#include "graft/nn/pooling.hpp"

#include "nn/repr.hpp"

namespace graft::nn {

namespace {

using pyfmt::size2_repr;

void check_pool_input(const Module& m, const Tensor& x) {
    if (x.dim() != 3 && x.dim() != 4)
        throw ShapeError(m.type_name() + "(" + m.extra_repr() +
                         "): expected a 3-D [C, H, W] or 4-D [N, C, H, W] input, got shape " + shape_str(x.shape()));
}

}  // namespace

MaxPool2d::MaxPool2d(Size2 kernel, const MaxPool2dOptions& options)
    : kernel_size(kernel),
      stride(options.stride.value_or(kernel)),
      padding(options.padding),
      dilation(options.dilation),
      ceil_mode(options.ceil_mode) {}

Tensor MaxPool2d::forward(const Tensor& x) {
    check_pool_input(*this, x);
    return functional::max_pool2d(x, kernel_size, stride, padding, dilation, ceil_mode);
}

std::string MaxPool2d::extra_repr() const {
    return "kernel_size=" + size2_repr(kernel_size) + ", stride=" + size2_repr(stride) +
           ", padding=" + size2_repr(padding) + ", dilation=" + size2_repr(dilation) +
           ", ceil_mode=" + pyfmt::py_bool(ceil_mode);
}

AvgPool2d::AvgPool2d(Size2 kernel, const AvgPool2dOptions& options)
    : kernel_size(kernel),
      stride(options.stride.value_or(kernel)),
      padding(options.padding),
      ceil_mode(options.ceil_mode),
      count_include_pad(options.count_include_pad) {}

Tensor AvgPool2d::forward(const Tensor& x) {
    check_pool_input(*this, x);
    return functional::avg_pool2d(x, kernel_size, stride, padding, ceil_mode, count_include_pad);
}

std::string AvgPool2d::extra_repr() const {
    return "kernel_size=" + size2_repr(kernel_size) + ", stride=" + size2_repr(stride) +
           ", padding=" + size2_repr(padding);
}

AdaptiveAvgPool2d::AdaptiveAvgPool2d(Size2 size) : output_size(size) {
    if (size.h < 1 || size.w < 1)
        throw ValueError("AdaptiveAvgPool2d: output_size must be positive, got " + pyfmt::py_tuple({size.h, size.w}));
}

Tensor AdaptiveAvgPool2d::forward(const Tensor& x) {
    check_pool_input(*this, x);
    return functional::adaptive_avg_pool2d(x, output_size);
}

std::string AdaptiveAvgPool2d::extra_repr() const { return "output_size=" + size2_repr(output_size); }

}  // namespace graft::nn
