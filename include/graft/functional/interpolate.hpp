// graft/functional/interpolate.hpp — resizing feature maps: nn::functional::interpolate, as
// torch.nn.functional.interpolate on 4-D inputs.
//
//   auto up = nn::functional::interpolate(x, {.scale_factor = 2.0});                  // nearest, [N, C, 2H, 2W]
//   auto r = nn::functional::interpolate(x, {.size = nn::Size2{7, 9},
//                                            .mode = nn::functional::InterpolateMode::Bilinear});
//
// Input [N, C, H, W], float32 or float64; differentiable (the backward scatters each output's
// gradient onto the input pixels it read, with the same weights).
#pragma once

#include <optional>

#include "graft/functional/conv.hpp"
#include "graft/tensor.hpp"

namespace graft::nn::functional {

enum class InterpolateMode {
    /// Output pixel (i, j) copies input (floor(i·H/OH), floor(j·W/OW)) — PyTorch's "nearest".
    Nearest,
    /// Bilinear between the four nearest input pixels. align_corners false (the default): pixel
    /// centres at half-integers, source = (i + ½)·H/OH − ½, clamped at 0; true: the corner pixels
    /// of input and output line up, source = i·(H − 1)/(OH − 1).
    Bilinear,
};

/// Scale factors (height, width); one number sets both.
struct Scale2 {
    double h = 1.0;
    double w = 1.0;
    Scale2(double both) : h(both), w(both) {}  // NOLINT: implicit, like PyTorch's float-or-tuple
    Scale2(double height, double width) : h(height), w(width) {}
};

/// Give exactly one of size and scale_factor. With scale_factor the output is floor(H·scale) ×
/// floor(W·scale) and the source coordinates use 1/scale (PyTorch with recompute_scale_factor
/// unset); with size they use H/OH.
struct InterpolateOptions {
    std::optional<Size2> size;
    std::optional<Scale2> scale_factor;
    InterpolateMode mode = InterpolateMode::Nearest;
    /// Bilinear only (ValueError with Nearest, as in PyTorch).
    bool align_corners = false;
};

/// ShapeError unless the input is 4-D with non-empty dimensions; ValueError when both or neither
/// of size and scale_factor are given, a size or factor is not positive, the output would be
/// empty, or align_corners is set with Nearest. DTypeError unless float32 or float64.
Tensor interpolate(const Tensor& input, const InterpolateOptions& options);

}  // namespace graft::nn::functional
