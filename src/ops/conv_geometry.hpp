// Internal: the shapes of one conv2d call, shared by its algorithms (conv.cpp: im2col, per image
// or batched; conv_winograd.cpp; conv_depthwise.cpp).
#pragma once

#include <algorithm>
#include <cstdint>
#include <tuple>
#include <utility>
#include <vector>

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

/// Where row (i, j) of a shifted-planes col (ConvGeometry::shifted_planes) reads its plane:
/// col[(oh, ow)] = plane[oh·W + ow + shift] for oh in [oh_lo, oh_hi), ow in [lo, hi), the rest
/// padding. The flat run [first, last) of col covers every valid entry and reads inside the plane;
/// its padding entries are the gaps between consecutive valid rows, OW − hi + lo entries from
/// (oh, hi) on (one entry for a 3×3 kernel's side columns, none for its middle one), which read
/// the neighbouring row's pixels.
struct ShiftedRow {
    std::int64_t shift, oh_lo, oh_hi, lo, hi, first, last;
    ShiftedRow(const ConvGeometry& g, std::int64_t i, std::int64_t j) {
        const std::int64_t row_off = i * g.dh - g.ph, col_off = j * g.dw - g.pw;
        shift = row_off * g.W + col_off;
        std::tie(oh_lo, oh_hi) = valid_range(row_off, 1, g.H, g.OH);
        std::tie(lo, hi) = valid_range(col_off, 1, g.W, g.OW);
        const bool empty = oh_lo >= oh_hi || lo >= hi;
        first = empty ? 0 : oh_lo * g.OW + lo;
        last = empty ? 0 : (oh_hi - 1) * g.OW + hi;
    }
    /// out[k] = 0 for the padding entries inside [first, last): the gaps between valid rows.
    template <class T>
    void zero_gaps(const ConvGeometry& g, T* out) const {
        const std::int64_t gap = g.OW - hi + lo;
        if (first == last || gap == 0) return;
        T* r = out + oh_lo * g.OW + hi;
        if (gap == 1) {  // single stores: a loop here would become a memset call per row
            for (std::int64_t oh = oh_lo; oh + 1 < oh_hi; ++oh) r[(oh - oh_lo) * g.OW] = T(0);
            return;
        }
        for (std::int64_t oh = oh_lo; oh + 1 < oh_hi; ++oh, r += g.OW) std::fill(r, r + gap, T(0));
    }
};

/// The ShiftedRow of every tap (i, j), in col's row order, for a shifted-planes geometry; none
/// otherwise (im2col and col2im then take their general loops). Computed once per call.
inline std::vector<ShiftedRow> shifted_rows(const ConvGeometry& g) {
    std::vector<ShiftedRow> taps;
    if (!g.shifted_planes()) return taps;
    taps.reserve(static_cast<std::size_t>(g.kh * g.kw));
    for (std::int64_t i = 0; i < g.kh; ++i)
        for (std::int64_t j = 0; j < g.kw; ++j) taps.emplace_back(g, i, j);
    return taps;
}

}  // namespace graft::nn::functional
