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

/// One tap (i, j) of a tile: the output rows [rows.lo, rows.hi) and columns [cols.lo, cols.hi)
/// whose input pixel lies inside the map, and the input pixel of output (oh, ow):
/// (oh·sh + row_off, ow·sw + col_off).
struct Tap {
    int64 row_off, col_off;
    Range rows, cols;
    Tap(const DepthwiseTile& t, int64 i, int64 j)
        : row_off(i * t.dh - t.ph),
          col_off(j * t.dw - t.pw),
          rows(row_off, t.sh, t.H, t.OH),
          cols(col_off, t.sw, t.W, t.OW) {}
    /// The lane offset of output row oh's first pixel, and of the input pixel its column 0 reads.
    int64 out_row(const DepthwiseTile& t, int64 oh) const { return oh * t.OW * L; }
    int64 in_row(const DepthwiseTile& t, int64 oh) const { return ((oh * t.sh + row_off) * t.W + col_off) * L; }
};

// The lane operations, as functions so that __restrict holds for the compiler inside them.
template <class T>
inline void lanes_fma(T* __restrict y, const T* __restrict f, const T* __restrict x) {
    for (int64 l = 0; l < L; ++l) y[l] += f[l] * x[l];
}
template <class T>
inline void lanes_dot(T* __restrict acc, const T* __restrict a, const T* __restrict b) {
    for (int64 l = 0; l < L; ++l) acc[l] += a[l] * b[l];
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
    const int64 step = t.sw * L;
    for (int64 i = 0; i < t.kh; ++i)
        for (int64 j = 0; j < t.kw; ++j) {
            const Tap tap(t, i, j);
            const T* f = ft + (i * t.kw + j) * L;
            for (int64 oh = tap.rows.lo; oh < tap.rows.hi; ++oh) {
                T* y = yt + tap.out_row(t, oh);
                const T* x = xt + tap.in_row(t, oh);
                for (int64 ow = tap.cols.lo; ow < tap.cols.hi; ++ow) lanes_fma(y + ow * L, f, x + ow * step);
            }
        }
}

template <class T>
void input_grad(const DepthwiseTile& t, const T* __restrict dyt, const T* __restrict ft, T* __restrict dxt) {
    std::fill(dxt, dxt + t.H * t.W * L, T(0));
    const int64 step = t.sw * L;
    for (int64 i = 0; i < t.kh; ++i)
        for (int64 j = 0; j < t.kw; ++j) {
            const Tap tap(t, i, j);
            const T* f = ft + (i * t.kw + j) * L;
            for (int64 oh = tap.rows.lo; oh < tap.rows.hi; ++oh) {
                const T* dy = dyt + tap.out_row(t, oh);
                T* dx = dxt + tap.in_row(t, oh);
                for (int64 ow = tap.cols.lo; ow < tap.cols.hi; ++ow) lanes_fma(dx + ow * step, f, dy + ow * L);
            }
        }
}

template <class T>
void weight_grad(const DepthwiseTile& t, const T* __restrict xt, const T* __restrict dyt, T* __restrict dft) {
    const int64 step = t.sw * L;
    for (int64 i = 0; i < t.kh; ++i)
        for (int64 j = 0; j < t.kw; ++j) {
            const Tap tap(t, i, j);
            T acc[L] = {};
            for (int64 oh = tap.rows.lo; oh < tap.rows.hi; ++oh) {
                const T* dy = dyt + tap.out_row(t, oh);
                const T* x = xt + tap.in_row(t, oh);
                for (int64 ow = tap.cols.lo; ow < tap.cols.hi; ++ow) lanes_dot(acc, x + ow * step, dy + ow * L);
            }
            std::copy(acc, acc + L, dft + (i * t.kw + j) * L);
        }
}

}  // namespace graft::kernels::depthwise_tile_body
