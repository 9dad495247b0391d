// graft/nn/pooling.hpp — 2-D pooling layers (no parameters).
//
//   nn::MaxPool2d pool(2);                                  // kernel 2×2, stride 2
//   nn::MaxPool2d overlap(3, {.stride = 2, .padding = 1});
//   nn::AvgPool2d avg(3, {.stride = 1, .padding = 1, .count_include_pad = false});
//   nn::AdaptiveAvgPool2d gap(1);                           // [N, C, H, W] → [N, C, 1, 1]
//   pool.repr();   // "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)"
#pragma once

#include <optional>
#include <string>

#include "graft/functional/conv.hpp"
#include "graft/nn/module.hpp"

namespace graft::nn {

struct MaxPool2dOptions {
    std::optional<Size2> stride = std::nullopt;  ///< default: the kernel size
    Size2 padding = 0;
    Size2 dilation = 1;
    bool ceil_mode = false;
};

/// functional::max_pool2d over [N, C, H, W] or [C, H, W] inputs.
class MaxPool2d : public Cloneable<MaxPool2d> {
public:
    explicit MaxPool2d(Size2 kernel_size, const MaxPool2dOptions& options = {});
    void reset() override {}
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "MaxPool2d"; }
    std::string extra_repr() const override;

    Size2 kernel_size;
    Size2 stride;
    Size2 padding;
    Size2 dilation;
    bool ceil_mode;
};

struct AvgPool2dOptions {
    std::optional<Size2> stride = std::nullopt;  ///< default: the kernel size
    Size2 padding = 0;
    bool ceil_mode = false;
    /// Divide by the whole window, zero padding included (PyTorch's default).
    bool count_include_pad = true;
};

/// functional::avg_pool2d over [N, C, H, W] or [C, H, W] inputs.
class AvgPool2d : public Cloneable<AvgPool2d> {
public:
    explicit AvgPool2d(Size2 kernel_size, const AvgPool2dOptions& options = {});
    void reset() override {}
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "AvgPool2d"; }
    std::string extra_repr() const override;

    Size2 kernel_size;
    Size2 stride;
    Size2 padding;
    bool ceil_mode;
    bool count_include_pad;
};

/// functional::adaptive_avg_pool2d: any H×W to output_size.
class AdaptiveAvgPool2d : public Cloneable<AdaptiveAvgPool2d> {
public:
    explicit AdaptiveAvgPool2d(Size2 output_size);
    void reset() override {}
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "AdaptiveAvgPool2d"; }
    std::string extra_repr() const override;

    Size2 output_size;
};

}  // namespace graft::nn
