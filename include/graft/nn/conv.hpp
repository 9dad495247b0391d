// graft/nn/conv.hpp — the 2-D convolution layer.
//
//   nn::Conv2d conv(3, 32, 3, {.padding = 1});                   // weight [32, 3, 3, 3], bias [32]
//   nn::Conv2d down(32, 64, 3, {.stride = 2, .padding = 1, .bias = false});
//   nn::Conv2d dw(64, 64, {3, 1}, {.padding = {1, 0}, .groups = 64});   // depthwise, 3 high, 1 wide
//   nn::Conv2d same(16, 16, 4, {.padding = "same"});             // H×W kept; the extra zero at bottom/right
//   auto y = conv.forward(x);                                    // x [N, 3, H, W] → [N, 32, H, W]
//   conv.repr();    // "Conv2d(3, 32, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))"
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "graft/functional/conv.hpp"
#include "graft/nn/module.hpp"

namespace graft::nn {

/// Conv2d's padding: sizes (`1`, `{1, 0}`, a Size2) or PyTorch's strings "same" and "valid".
struct Conv2dPadding {
    Conv2dPadding(std::int64_t both) : size(both) {}  // NOLINT: implicit, like PyTorch's int-or-tuple-or-str
    Conv2dPadding(std::int64_t height, std::int64_t width) : size(height, width) {}
    Conv2dPadding(Size2 s) : size(s) {}  // NOLINT
    /// "same" or "valid" (ValueError otherwise, from the Conv2d that takes it).
    template <std::size_t N>
    Conv2dPadding(const char (&mode_)[N]) : size(0), mode(mode_) {}  // NOLINT
    Size2 size;
    /// Empty for sizes, else "same" or "valid".
    std::string mode;
};

/// Conv2d's configuration besides the channel counts and the kernel size (PyTorch's defaults).
struct Conv2dOptions {
    Size2 stride = 1;
    Conv2dPadding padding = 0;
    Size2 dilation = 1;
    std::int64_t groups = 1;
    bool bias = true;
};

/// y = conv2d(x, weight, bias). Parameters "weight" [out_channels, in_channels/groups, kh, kw] and
/// "bias" [out_channels] (absent with bias = false), initialised as PyTorch does: weight by
/// kaiming_uniform_(a = √5), bias from U(−1/√fan_in, 1/√fan_in), fan_in = in_channels/groups·kh·kw.
class Conv2d : public Cloneable<Conv2d> {
public:
    /// ValueError for non-positive sizes, negative padding, a padding string other than "same" or
    /// "valid", "same" with a stride, or channels not divisible by groups.
    Conv2d(std::int64_t in_channels, std::int64_t out_channels, Size2 kernel_size, const Conv2dOptions& options = {});

    /// Creates, registers and initialises weight and bias (from the default generator).
    void reset() override;
    /// x [N, in_channels, H, W] or [in_channels, H, W]; ShapeError naming the layer and the input shape.
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "Conv2d"; }
    std::vector<std::string> bf16_weight_names() const override { return {"weight"}; }
    std::string extra_repr() const override;

    std::int64_t in_channels;
    std::int64_t out_channels;
    Size2 kernel_size;
    Size2 stride;
    Size2 padding;  // the sizes; 0 for "same" and "valid"
    bool padding_same;  // padding="same": functional::conv2d(…, "same", …), H×W kept
    Size2 dilation;
    std::int64_t groups;
    bool has_bias;
    Tensor weight;
    Tensor bias;  // undefined when has_bias is false
};

}  // namespace graft::nn
