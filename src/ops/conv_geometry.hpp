// Internal: the shapes of one conv2d call, shared by its algorithms (conv.cpp: im2col, per image
// or batched; conv_winograd.cpp; conv_depthwise.cpp).
#pragma once

#include <algorithm>
#include <cstdint>
#include <utility>

namespace graft::nn::functional {

/// Everything about one conv2d call's shapes.
struct ConvGeometry {
    std::int64_t N, C, H, W;  // input
    std::int64_t O, kh, kw;   // weight [O, C/groups, kh, kw]
    std::int64_t sh, sw, ph, pw, dh, dw, groups;
    std::int64_t OH, OW;

    std::int64_t Cg() const { return C / groups; }
    std::int64_t Og() const { return O / groups; }
    std::int64_t Kg() const { return Cg() * kh * kw; }  // GEMM depth of one group
    std::int64_t P() const { return OH * OW; }          // output pixels per channel
    std::int64_t image_size() const { return C * H * W; }
    std::int64_t col_size() const { return C * kh * kw * P(); }
    std::int64_t weight_size() const { return O * Kg(); }
    /// A 1×1 kernel, stride 1, no padding: the image itself is the column matrix.
    bool direct() const { return kh == 1 && kw == 1 && sh == 1 && sw == 1 && ph == 0 && pw == 0; }
    /// Stride 1 and as many output columns as input columns: each col row is a shifted plane.
    bool shifted_planes() const { return sh == 1 && sw == 1 && OW == W; }
};

/// The output columns [lo, hi) whose input column ow·stride + offset lies inside [0, W).
inline std::pair<std::int64_t, std::int64_t> valid_range(std::int64_t offset, std::int64_t stride, std::int64_t W,
                                                       std::int64_t OW) {
    std::int64_t lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
    std::int64_t hi = W - 1 - offset < 0 ? 0 : (W - 1 - offset) / stride + 1;
    hi = std::min(hi, OW);
    lo = std::min(lo, hi);
    return {lo, hi};
}

}  // namespace graft::nn::functional
