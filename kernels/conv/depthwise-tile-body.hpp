// Internal: the channel-interleaved depthwise kernels' code (see depthwise_tile.hpp), included by
// each ISA's file and compiled with that ISA's flags: every innermost loop runs over the tile's 16
// channel lanes with a constant trip count, so it becomes one AVX-512 (two AVX2) operation.
#pragma once

#include <algorithm>
#include <cstdint>

#include "kernels/conv/depthwise_tile.hpp"

namespace graft::kernels::depthwise_tile_body {

using int64 = std::int64_t;
constexpr int64 L = kDepthwiseLanes;

/// The outputs [lo, hi) of one axis whose input o·stride + offset lies inside [0, size).
struct Range {
    int64 lo, hi;
    Range(int64 offset, int64 stride, int64 size, int64 out) {
        lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
        hi = size - 1 - offset < 0 ? 0 : std::min(out, (size - 1 - offset) / stride + 1);
        lo = std::min(lo, hi);
    }
};

/// Calls body(out, in) with the lane offsets of every (output pixel, input pixel) pair that tap
/// (i, j) joins, row by row.
template <class Body>
void for_each_tap_pair(const DepthwiseTile& t, int64 i, int64 j, Body&& body) {
    const int64 row_off = i * t.dh - t.ph, col_off = j * t.dw - t.pw;
    const Range rows(row_off, t.sh, t.H, t.OH), cols(col_off, t.sw, t.W, t.OW);
    for (int64 oh = rows.lo; oh < rows.hi; ++oh) {
        const int64 out_row = oh * t.OW, in_row = (oh * t.sh + row_off) * t.W + col_off;
        for (int64 ow = cols.lo; ow < cols.hi; ++ow) body((out_row + ow) * L, (in_row + ow * t.sw) * L);
    }
}

template <class T>
void pack(const T* __restrict src, int64 stride, int64 count, int64 lanes, T* __restrict dst) {
    if (lanes == L) {
        for (int64 p = 0; p < count; ++p)
            for (int64 l = 0; l < L; ++l) dst[p * L + l] = src[l * stride + p];
        return;
    }
    for (int64 p = 0; p < count; ++p) {
        for (int64 l = 0; l < lanes; ++l) dst[p * L + l] = src[l * stride + p];
        for (int64 l = lanes; l < L; ++l) dst[p * L + l] = T(0);
    }
}

template <class T>
void unpack(const T* __restrict src, int64 count, int64 lanes, T* __restrict dst, int64 stride) {
    for (int64 l = 0; l < lanes; ++l)
        for (int64 p = 0; p < count; ++p) dst[l * stride + p] = src[p * L + l];
}

template <class T>
void forward(const DepthwiseTile& t, const T* __restrict xt, const T* __restrict ft, const T* __restrict bias,
             T* __restrict yt) {
    const int64 P = t.OH * t.OW;
    for (int64 p = 0; p < P; ++p)
        for (int64 l = 0; l < L; ++l) yt[p * L + l] = bias[l];
    for (int64 i = 0; i < t.kh; ++i)
        for (int64 j = 0; j < t.kw; ++j) {
            const T* __restrict f = ft + (i * t.kw + j) * L;
            for_each_tap_pair(t, i, j, [&](int64 out, int64 in) {
                for (int64 l = 0; l < L; ++l) yt[out + l] += f[l] * xt[in + l];
            });
        }
}

template <class T>
void input_grad(const DepthwiseTile& t, const T* __restrict dyt, const T* __restrict ft, T* __restrict dxt) {
    std::fill(dxt, dxt + t.H * t.W * L, T(0));
    for (int64 i = 0; i < t.kh; ++i)
        for (int64 j = 0; j < t.kw; ++j) {
            const T* __restrict f = ft + (i * t.kw + j) * L;
            for_each_tap_pair(t, i, j, [&](int64 out, int64 in) {
                for (int64 l = 0; l < L; ++l) dxt[in + l] += f[l] * dyt[out + l];
            });
        }
}

template <class T>
void weight_grad(const DepthwiseTile& t, const T* __restrict xt, const T* __restrict dyt, T* __restrict dft) {
    for (int64 i = 0; i < t.kh; ++i)
        for (int64 j = 0; j < t.kw; ++j) {
            T acc[L] = {};
            for_each_tap_pair(t, i, j, [&](int64 out, int64 in) {
                for (int64 l = 0; l < L; ++l) acc[l] += xt[in + l] * dyt[out + l];
            });
            std::copy(acc, acc + L, dft + (i * t.kw + j) * L);
        }
}

}  // namespace graft::kernels::depthwise_tile_body
