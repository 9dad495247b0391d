// graft/functional/conv.hpp — 2-D convolution and pooling (torch.nn.functional names).
//
//   auto y = nn::functional::conv2d(x, w, b, /*stride=*/2, /*padding=*/1);   // x [N, C, H, W], w [O, C/groups, kh, kw]
//   auto d = nn::functional::conv2d(x, wd, {}, 1, 1, 1, /*groups=*/C);        // depthwise: wd [C, 1, 3, 3]
//   auto p = nn::functional::max_pool2d(y, 2);                               // kernel 2×2, stride 2
//   auto a = nn::functional::avg_pool2d(y, 3, nn::Size2{2, 2}, 1);            // kernel 3, stride 2, padding 1
//   auto g = nn::functional::adaptive_avg_pool2d(p, 1);                      // global mean: [N, O, 1, 1]
//
// Inputs are [N, C, H, W] or unbatched [C, H, W]; float32 and float64. conv2d runs on the GEMM
// (im2col per image, images spread over the threads) and its backward computes only the
// gradients that are needed: a frozen weight costs no weight GEMM, an input that needs no
// gradient no col2im.
#pragma once

#include <cstdint>
#include <cstddef>
#include <optional>
#include <string_view>
#include <utility>

#include "graft/tensor.hpp"

namespace graft::nn {

/// A (height, width) pair; one number stands for both: `3` is 3×3, `{3, 1}` is 3 high, 1 wide.
struct Size2 {
    std::int64_t h = 0;
    std::int64_t w = 0;
    Size2(std::int64_t both) : h(both), w(both) {}  // NOLINT: implicit, like PyTorch's int-or-tuple
    Size2(std::int64_t height, std::int64_t width) : h(height), w(width) {}
    bool operator==(const Size2&) const = default;
};

namespace functional {

/// 2-D cross-correlation of input [N, C, H, W] with weight [O, C/groups, kh, kw] plus an optional
/// bias [O]: output [N, O, OH, OW] with OH = (H + 2·pad − dil·(kh − 1) − 1) / stride + 1.
Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias = Tensor(), Size2 stride = 1,
              Size2 padding = 0, Size2 dilation = 1, std::int64_t groups = 1);
/// conv2d with PyTorch's string padding: "valid" (no padding) or "same" (output H×W equal to
/// the input's; stride 1 only). "same" pads dil·(k − 1) zeros per dimension, half before and
/// the rest after, so an even kernel gets its extra row and column at the bottom and right, as
/// PyTorch does. ValueError for another string or for "same" with a stride.
/// (A string literal only, so that a literal 0 still means sizes; conv2d_padding_mode takes any string.)
template <std::size_t N>
Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias, Size2 stride, const char (&padding)[N],
              Size2 dilation = 1, std::int64_t groups = 1);
/// conv2d with padding "same" or "valid", as above.
Tensor conv2d_padding_mode(const Tensor& input, const Tensor& weight, const Tensor& bias, Size2 stride,
                           std::string_view padding, Size2 dilation = 1, std::int64_t groups = 1);

template <std::size_t N>
Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias, Size2 stride, const char (&padding)[N],
              Size2 dilation, std::int64_t groups) {
    return conv2d_padding_mode(input, weight, bias, stride, std::string_view(padding), dilation, groups);
}

/// Max over each (dilated) window; stride defaults to the kernel size. Padding counts as −∞ and is
/// at most half the kernel. ceil_mode rounds the output size up (a window must start inside the
/// input or its left padding).
Tensor max_pool2d(const Tensor& input, Size2 kernel_size, std::optional<Size2> stride = std::nullopt,
                  Size2 padding = 0, Size2 dilation = 1, bool ceil_mode = false);

/// max_pool2d and the int64 index of each maximum within its input plane (h·W + w), like
/// PyTorch's return_indices=True.
std::pair<Tensor, Tensor> max_pool2d_with_indices(const Tensor& input, Size2 kernel_size,
                                                  std::optional<Size2> stride = std::nullopt, Size2 padding = 0,
                                                  Size2 dilation = 1, bool ceil_mode = false);

/// Mean over each window; stride defaults to the kernel size. count_include_pad (PyTorch's
/// default) divides by the window size including zero padding, otherwise by the elements inside.
Tensor avg_pool2d(const Tensor& input, Size2 kernel_size, std::optional<Size2> stride = std::nullopt,
                  Size2 padding = 0, bool ceil_mode = false, bool count_include_pad = true);

/// Mean over the windows that split H×W into output_size cells: rows floor(i·H/OH) to
/// ceil((i+1)·H/OH), and the same for columns (PyTorch's formulas). output_size 1 is a global mean.
Tensor adaptive_avg_pool2d(const Tensor& input, Size2 output_size);

}  // namespace functional
}  // namespace graft::nn
