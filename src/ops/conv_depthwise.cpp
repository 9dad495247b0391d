// Depthwise conv2d by direct loops. Each input channel c feeds its own m = O/C output channels
// o = c·m … c·m + m − 1, each with one kh×kw filter, so the convolution is N·O independent 2-D
// cross-correlations of one plane: a handful of multiply-adds per output pixel, bound by memory,
// where im2col would run N·C GEMMs of one row each. Per filter tap (i, j), the valid output rows
// and columns are computed once (valid_range); the innermost loop then runs over the output
// columns of one row without a bounds test, contiguous in x when the stride is 1, so the compiler
// vectorises it.
#include "ops/conv_depthwise.hpp"

#include <algorithm>
#include <cstdint>
#include <tuple>

#include "kernels/cpu/parallel.hpp"

namespace graft::nn::functional {

namespace {

using int64 = std::int64_t;

/// The valid output rows [oh_lo, oh_hi) and columns [lo, hi) of tap (i, j), and where it reads:
/// input (oh·sh + row_off, ow·sw + col_off).
struct Tap {
    int64 row_off, col_off, oh_lo, oh_hi, lo, hi;
    Tap(const ConvGeometry& g, int64 i, int64 j) : row_off(i * g.dh - g.ph), col_off(j * g.dw - g.pw) {
        std::tie(oh_lo, oh_hi) = valid_range(row_off, g.sh, g.H, g.OH);
        std::tie(lo, hi) = valid_range(col_off, g.sw, g.W, g.OW);
    }
};

/// y [OH, OW] = bias + the cross-correlation of the plane x [H, W] with the filter f [kh, kw].
template <class T>
void plane_forward(const ConvGeometry& g, const T* x, const T* f, T bias, T* y) {
    std::fill(y, y + g.P(), bias);
    for (int64 i = 0; i < g.kh; ++i)
        for (int64 j = 0; j < g.kw; ++j) {
            const Tap t(g, i, j);
            const T fv = f[i * g.kw + j];
            for (int64 oh = t.oh_lo; oh < t.oh_hi; ++oh) {
                const T* src = x + (oh * g.sh + t.row_off) * g.W + t.col_off;
                T* dst = y + oh * g.OW;
                if (g.sw == 1)
                    for (int64 ow = t.lo; ow < t.hi; ++ow) dst[ow] += fv * src[ow];
                else
                    for (int64 ow = t.lo; ow < t.hi; ++ow) dst[ow] += fv * src[ow * g.sw];
            }
        }
}

/// dx [H, W] += the adjoint of plane_forward for the output gradient dy [OH, OW] and filter f.
template <class T>
void plane_input_grad(const ConvGeometry& g, const T* dy, const T* f, T* dx) {
    for (int64 i = 0; i < g.kh; ++i)
        for (int64 j = 0; j < g.kw; ++j) {
            const Tap t(g, i, j);
            const T fv = f[i * g.kw + j];
            for (int64 oh = t.oh_lo; oh < t.oh_hi; ++oh) {
                const T* src = dy + oh * g.OW;
                T* dst = dx + (oh * g.sh + t.row_off) * g.W + t.col_off;
                if (g.sw == 1)
                    for (int64 ow = t.lo; ow < t.hi; ++ow) dst[ow] += fv * src[ow];
                else
                    for (int64 ow = t.lo; ow < t.hi; ++ow) dst[ow * g.sw] += fv * src[ow];
            }
        }
}

/// df [kh, kw] += Σ over the output pixels of dy [OH, OW] times the input pixel each tap read.
template <class T>
void plane_weight_grad(const ConvGeometry& g, const T* x, const T* dy, T* df) {
    for (int64 i = 0; i < g.kh; ++i)
        for (int64 j = 0; j < g.kw; ++j) {
            const Tap t(g, i, j);
            T acc = 0;
            for (int64 oh = t.oh_lo; oh < t.oh_hi; ++oh) {
                const T* src = x + (oh * g.sh + t.row_off) * g.W + t.col_off;
                const T* d = dy + oh * g.OW;
                if (g.sw == 1)
                    for (int64 ow = t.lo; ow < t.hi; ++ow) acc += d[ow] * src[ow];
                else
                    for (int64 ow = t.lo; ow < t.hi; ++ow) acc += d[ow] * src[ow * g.sw];
            }
            df[i * g.kw + j] += acc;
        }
}

}  // namespace

template <class T>
void depthwise_forward(const ConvGeometry& g, const T* x, const T* w, const T* b, T* y) {
    const int64 m = g.O / g.C, planes = g.N * g.O, HW = g.H * g.W, taps = g.kh * g.kw;
    kernels::parallel_for(0, planes, planes * g.P() * (taps + 1), [&](int64 lo, int64 hi) {
        for (int64 p = lo; p < hi; ++p) {
            const int64 n = p / g.O, o = p % g.O, c = o / m;
            plane_forward(g, x + (n * g.C + c) * HW, w + o * taps, b != nullptr ? b[o] : T(0), y + p * g.P());
        }
    });
}

template <class T>
void depthwise_backward(const ConvGeometry& g, const T* x, const T* w, const T* dy, T* dx, T* dw) {
    const int64 m = g.O / g.C, HW = g.H * g.W, taps = g.kh * g.kw, P = g.P();
    if (dx != nullptr) {
        const int64 planes = g.N * g.C;
        kernels::parallel_for(0, planes, planes * (HW + m * P * taps), [&](int64 lo, int64 hi) {
            for (int64 p = lo; p < hi; ++p) {
                const int64 n = p / g.C, c = p % g.C;
                T* plane = dx + p * HW;
                std::fill(plane, plane + HW, T(0));
                for (int64 k = 0; k < m; ++k) {
                    const int64 o = c * m + k;
                    plane_input_grad(g, dy + (n * g.O + o) * P, w + o * taps, plane);
                }
            }
        });
    }
    if (dw != nullptr)
        kernels::parallel_for(0, g.O, g.N * g.O * P * taps, [&](int64 lo, int64 hi) {
            for (int64 o = lo; o < hi; ++o) {
                T* filter = dw + o * taps;
                std::fill(filter, filter + taps, T(0));
                const int64 c = o / m;
                for (int64 n = 0; n < g.N; ++n)
                    plane_weight_grad(g, x + (n * g.C + c) * HW, dy + (n * g.O + o) * P, filter);
            }
        });
}

template void depthwise_forward<float>(const ConvGeometry&, const float*, const float*, const float*, float*);
template void depthwise_forward<double>(const ConvGeometry&, const double*, const double*, const double*, double*);
template void depthwise_backward<float>(const ConvGeometry&, const float*, const float*, const float*, float*, float*);
template void depthwise_backward<double>(const ConvGeometry&, const double*, const double*, const double*, double*,
                                         double*);

}  // namespace graft::nn::functional
