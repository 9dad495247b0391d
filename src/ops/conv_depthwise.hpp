// Internal: depthwise conv2d (groups = in channels, each input channel convolved with its own
// m ≥ 1 filters: MobileNet's and EfficientNet's 3×3 and 5×5 layers) by direct loops and
// channel-interleaved tiles, forward and both gradients (see conv_depthwise.cpp).
#pragma once

#include "ops/conv_geometry.hpp"
#include "ops/conv_output_stage.hpp"

namespace graft::nn::functional {

/// Whether g is depthwise: one input channel per group (O = m·C output channels, m per group).
inline bool is_depthwise(const ConvGeometry& g) { return g.groups == g.C && g.groups > 1; }

/// y [N, O, OH, OW] = the depthwise conv of x [N, C, H, W] with w [O, 1, kh, kw], plus b [O]
/// (may be null). Planes (n, o), or tiles (n, 16 channels), are spread over the threads; each
/// output element is one thread's sum in a fixed order, so the result does not depend on the
/// thread count. A stage, when given, is applied to each plane or tile as soon as it is written.
/// T: float or double.
template <class T>
void depthwise_forward(const ConvGeometry& g, const T* x, const T* w, const T* b, T* y,
                       const ConvOutputStage* stage = nullptr);

/// dx [N, C, H, W] and dw [O, 1, kh, kw] of depthwise_forward for the output gradient dy; either
/// may be null (not computed). Channels (stride 1 planes), blocks of 16 channels (tiles) or planes
/// and filters (other strides) are spread over the threads, each filter's sum over the batch on
/// one thread: no partial buffers, the same bits for any thread count.
/// dw is overwritten (not accumulated).
template <class T>
void depthwise_backward(const ConvGeometry& g, const T* x, const T* w, const T* dy, T* dx, T* dw);

}  // namespace graft::nn::functional
