// Internal: the depthwise plane kernels' code (see depthwise.hpp), included by each ISA's file
// and compiled with that ISA's flags: plain loops over contiguous runs that the compiler
// vectorises, output rows taken in blocks that stay in L1 while every tap adds to them.
#pragma once

#include <algorithm>

#include "kernels/conv/depthwise.hpp"

namespace graft::kernels::depthwise_body {

/// Floats of output (or input-gradient) rows updated by all taps before moving on: 8 KB.
constexpr int64 kBlock = 2048;

template <class T>
void forward(const DepthwisePlane& p, const T* __restrict xp, const T* __restrict f, T bias, T* __restrict yw) {
    const int64 n = p.run(), total = p.OH * p.Wp;
    for (int64 k0 = 0; k0 < total; k0 += kBlock) {
        const int64 k1 = std::min(total, k0 + kBlock), kr = std::min(n, k1);
        for (int64 k = k0; k < k1; ++k) yw[k] = bias;
        for (int64 i = 0; i < p.kh; ++i)
            for (int64 j = 0; j < p.kw; ++j) {
                const T a = f[i * p.kw + j];
                const T* __restrict src = xp + i * p.dh * p.Wp + j * p.dw;
                for (int64 k = k0; k < kr; ++k) yw[k] += a * src[k];
            }
    }
}

template <class T>
void input_grad(const DepthwisePlane& p, const T* __restrict dyw, const T* __restrict f, T* __restrict dxp) {
    const int64 n = p.run();
    for (int64 k0 = 0; k0 < n; k0 += kBlock) {
        const int64 k1 = std::min(n, k0 + kBlock);
        for (int64 i = 0; i < p.kh; ++i)
            for (int64 j = 0; j < p.kw; ++j) {
                const T a = f[i * p.kw + j];
                T* __restrict dst = dxp + i * p.dh * p.Wp + j * p.dw;
                for (int64 k = k0; k < k1; ++k) dst[k] += a * dyw[k];
            }
    }
}

template <class T>
void weight_grad(const DepthwisePlane& p, const T* __restrict xp, const T* __restrict dyw, T* __restrict df) {
    constexpr int64 kLanes = 16;
    const int64 n = p.run();
    for (int64 i = 0; i < p.kh; ++i)
        for (int64 j = 0; j < p.kw; ++j) {
            const T* __restrict src = xp + i * p.dh * p.Wp + j * p.dw;
            T acc[kLanes] = {};
            int64 k = 0;
            for (; k + kLanes <= n; k += kLanes)
                for (int64 l = 0; l < kLanes; ++l) acc[l] += dyw[k + l] * src[k + l];
            T s = 0;
            for (; k < n; ++k) s += dyw[k] * src[k];
            for (int64 l = 0; l < kLanes; ++l) s += acc[l];
            df[i * p.kw + j] = s;
        }
}

}  // namespace graft::kernels::depthwise_body
