// Depthwise conv2d. Each input channel c feeds its own m = O/C output channels o = c·m … c·m +
// m − 1, each with one kh×kw filter, so the convolution is N·O independent 2-D cross-correlations
// of one plane: a handful of multiply-adds per output pixel, bound by memory, where im2col would
// run N·C GEMMs of one row each.
// Stride 1 (every "same" depthwise layer of MobileNet and EfficientNet) runs the vectorised plane
// kernels (kernels/conv/depthwise.hpp): each plane is copied into its zero padding, the outputs
// computed at the padded width (dy widened to it, its scratch columns zero), and cropped back, so
// every tap is one contiguous run. Small maps and other strides (with one filter per channel) run
// the channel-interleaved tile kernels (kernels/conv/depthwise_tile.hpp): 16 channels of one image
// packed pixel-major with the channel inner, so every tap of every output pixel is one 16-lane
// multiply-add, with no padding copies and no per-plane call. Other strides with several filters
// per channel run row by row over each tap's valid output columns.
#include "ops/conv_depthwise.hpp"

#include <algorithm>
#include <cstdint>
#include <tuple>
#include <type_traits>
#include <vector>

#include "core/lane_sum.hpp"
#include "kernels/conv/depthwise.hpp"
#include "kernels/conv/depthwise_tile.hpp"
#include "kernels/cpu/parallel.hpp"

namespace graft::nn::functional {

namespace {

using int64 = std::int64_t;

// ---- stride 1: padded planes through the plane kernels -----------------------------------------

/// The plane kernels of one call: the active ISA's variant for float, the reference for double.
template <class T>
struct PlaneKernels {
    kernels::DepthwiseForward<T> forward;
    kernels::DepthwiseInputGrad<T> input_grad;
    kernels::DepthwiseWeightGrad<T> weight_grad;
};

template <class T>
PlaneKernels<T> plane_kernels() {
    if constexpr (std::is_same_v<T, float>) {
        const kernels::F32DepthwiseVariant& v = kernels::f32_depthwise_variant(kernels::active_isa());
        return {v.forward, v.input_grad, v.weight_grad};
    } else {
        return {kernels::depthwise_forward_scalar<T>, kernels::depthwise_input_grad_scalar<T>,
                kernels::depthwise_weight_grad_scalar<T>};
    }
}

kernels::DepthwisePlane padded_plane(const ConvGeometry& g) {
    return {g.H + 2 * g.ph, g.W + 2 * g.pw, g.OH, g.kh, g.kw, g.dh, g.dw};
}

/// xp [Hp, Wp] = the plane x [H, W] inside its zero padding.
template <class T>
void pad_plane(const ConvGeometry& g, const kernels::DepthwisePlane& p, const T* x, T* xp) {
    std::fill(xp, xp + g.ph * p.Wp, T(0));
    for (int64 h = 0; h < g.H; ++h) {
        T* row = xp + (g.ph + h) * p.Wp;
        std::fill(row, row + g.pw, T(0));
        std::copy(x + h * g.W, x + (h + 1) * g.W, row + g.pw);
        std::fill(row + g.pw + g.W, row + p.Wp, T(0));
    }
    std::fill(xp + (g.ph + g.H) * p.Wp, xp + p.Hp * p.Wp, T(0));
}

/// dyw [OH, Wp] = dy [OH, OW] at the padded width, zeros in the scratch columns.
template <class T>
void widen_plane(const ConvGeometry& g, const kernels::DepthwisePlane& p, const T* dy, T* dyw) {
    for (int64 oh = 0; oh < g.OH; ++oh) {
        T* row = dyw + oh * p.Wp;
        std::copy(dy + oh * g.OW, dy + (oh + 1) * g.OW, row);
        std::fill(row + g.OW, row + p.Wp, T(0));
    }
}

template <class T>
void forward_stride1(const ConvGeometry& g, const T* x, const T* w, const T* b, T* y, const ConvOutputStage* stage) {
    const kernels::DepthwisePlane p = padded_plane(g);
    const PlaneKernels<T> k = plane_kernels<T>();
    const int64 m = g.O / g.C, planes = g.N * g.O, HW = g.H * g.W, K = g.kh * g.kw, P = g.P();
    kernels::parallel_for(0, planes, planes * P * (K + 2), [&](int64 lo, int64 hi) {
        std::vector<T> xp(static_cast<std::size_t>(p.Hp * p.Wp)), yw(static_cast<std::size_t>(p.OH * p.Wp));
        int64 padded = -1;  // the input plane xp holds (the m filters of a channel share it)
        for (int64 q = lo; q < hi; ++q) {
            const int64 n = q / g.O, o = q % g.O, plane = n * g.C + o / m;
            if (plane != padded) pad_plane(g, p, x + plane * HW, xp.data()), padded = plane;
            k.forward(p, xp.data(), w + o * K, b != nullptr ? b[o] : T(0), yw.data());
            T* yq = y + q * P;
            for (int64 oh = 0; oh < g.OH; ++oh)
                std::copy(yw.data() + oh * p.Wp, yw.data() + oh * p.Wp + g.OW, yq + oh * g.OW);
            finish_rows(stage, g, y, q, q + 1);
        }
    });
}

// By channel: each input plane is padded once for the m filters that read it, each output-gradient
// plane widened once for both gradients.
template <class T>
void backward_stride1(const ConvGeometry& g, const T* x, const T* w, const T* dy, T* dx, T* dw) {
    const kernels::DepthwisePlane p = padded_plane(g);
    const PlaneKernels<T> k = plane_kernels<T>();
    const int64 m = g.O / g.C, HW = g.H * g.W, K = g.kh * g.kw, P = g.P(), padded_size = p.Hp * p.Wp;
    const int64 work = g.N * (g.C * padded_size * 2 + g.O * P * (K + 1) * ((dx != nullptr) + (dw != nullptr)));
    kernels::parallel_for(0, g.C, work, [&](int64 lo, int64 hi) {
        std::vector<T> xp(dw != nullptr ? static_cast<std::size_t>(padded_size) : 0);
        std::vector<T> dxp(dx != nullptr ? static_cast<std::size_t>(padded_size) : 0);
        std::vector<T> dyw(static_cast<std::size_t>(p.OH * p.Wp)), part(static_cast<std::size_t>(K));
        std::vector<double> acc(static_cast<std::size_t>(m * K));
        for (int64 c = lo; c < hi; ++c) {
            std::fill(acc.begin(), acc.end(), 0.0);
            for (int64 n = 0; n < g.N; ++n) {
                if (dw != nullptr) pad_plane(g, p, x + (n * g.C + c) * HW, xp.data());
                if (dx != nullptr) std::fill(dxp.begin(), dxp.end(), T(0));
                for (int64 r = 0; r < m; ++r) {
                    const int64 o = c * m + r;
                    widen_plane(g, p, dy + (n * g.O + o) * P, dyw.data());
                    if (dx != nullptr) k.input_grad(p, dyw.data(), w + o * K, dxp.data());
                    if (dw == nullptr) continue;
                    k.weight_grad(p, xp.data(), dyw.data(), part.data());
                    for (int64 t = 0; t < K; ++t)
                        acc[static_cast<std::size_t>(r * K + t)] += part[static_cast<std::size_t>(t)];
                }
                if (dx == nullptr) continue;
                T* dxq = dx + (n * g.C + c) * HW;
                for (int64 h = 0; h < g.H; ++h) {
                    const T* row = dxp.data() + (g.ph + h) * p.Wp + g.pw;
                    std::copy(row, row + g.W, dxq + h * g.W);
                }
            }
            if (dw != nullptr)
                for (int64 t = 0; t < m * K; ++t) dw[c * m * K + t] = static_cast<T>(acc[static_cast<std::size_t>(t)]);
        }
    });
}

// ---- small maps and strides: channel-interleaved tiles ------------------------------------------

/// Maps of at most this many input pixels take the tiles at stride 1 too: there the plane kernels'
/// pad, call and crop per plane cost more than the tiles' packing (forward + both gradients, one
/// thread: 2.9× faster on 4×4 maps, 1.4× on 7×7; 1.3× slower on 14×14, where the plane kernels'
/// runs are long enough).
constexpr int64 kTileMaxPixels = 100;

/// Whether g runs the tile kernels: one filter per channel, and a stride other than 1 or a small map.
bool use_tiles(const ConvGeometry& g) {
    return g.O == g.C && (g.sh != 1 || g.sw != 1 || g.H * g.W <= kTileMaxPixels);
}

/// The tile kernels of one call: the active ISA's variant for float, the reference for double.
template <class T>
struct TileKernels {
    kernels::DepthwiseTilePack<T> pack;
    kernels::DepthwiseTileUnpack<T> unpack;
    kernels::DepthwiseTileForward<T> forward;
    kernels::DepthwiseTileInputGrad<T> input_grad;
    kernels::DepthwiseTileWeightGrad<T> weight_grad;
};

template <class T>
TileKernels<T> tile_kernels() {
    if constexpr (std::is_same_v<T, float>) {
        const kernels::F32DepthwiseTileVariant& v = kernels::f32_depthwise_tile_variant(kernels::active_isa());
        return {v.pack, v.unpack, v.forward, v.input_grad, v.weight_grad};
    } else {
        return {kernels::depthwise_tile_pack_scalar<T>, kernels::depthwise_tile_unpack_scalar<T>,
                kernels::depthwise_tile_forward_scalar<T>, kernels::depthwise_tile_input_grad_scalar<T>,
                kernels::depthwise_tile_weight_grad_scalar<T>};
    }
}

/// One call's tiles: the geometry, the kernels and the filters packed once, ft [blocks, K, L].
template <class T>
struct Tiles {
    static constexpr int64 L = kernels::kDepthwiseLanes;
    kernels::DepthwiseTile t;
    TileKernels<T> k = tile_kernels<T>();
    int64 blocks, K;
    std::vector<T> ft;

    /// w may be null (a weight gradient alone needs no filters): no filters packed.
    Tiles(const ConvGeometry& g, const T* w)
        : t{g.H, g.W, g.OH, g.OW, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, g.dh, g.dw},
          blocks((g.C + L - 1) / L),
          K(g.kh * g.kw),
          ft(w != nullptr ? static_cast<std::size_t>(blocks * K * L) : 0) {
        if (w != nullptr)
            for (int64 b = 0; b < blocks; ++b) k.pack(w + b * L * K, K, K, lanes(g, b), ft.data() + b * K * L);
    }
    /// The channels of block b: L but for the last block.
    static int64 lanes(const ConvGeometry& g, int64 b) { return std::min(L, g.C - b * L); }
    const T* filters(int64 b) const { return ft.data() + b * K * L; }
};

template <class T>
void forward_tiles(const ConvGeometry& g, const T* x, const T* w, const T* b, T* y, const ConvOutputStage* stage) {
    constexpr int64 L = Tiles<T>::L;
    const Tiles<T> tiles(g, w);
    const int64 HW = g.H * g.W, P = g.P(), tasks = g.N * tiles.blocks;
    std::vector<T> bias(static_cast<std::size_t>(tiles.blocks * L), T(0));
    if (b != nullptr) std::copy(b, b + g.C, bias.begin());
    kernels::parallel_for(0, tasks, tasks * L * (HW * 2 + P * (tiles.K + 2)), [&](int64 lo, int64 hi) {
        std::vector<T> xt(static_cast<std::size_t>(HW * L)), yt(static_cast<std::size_t>(P * L));
        for (int64 q = lo; q < hi; ++q) {
            const int64 n = q / tiles.blocks, blk = q % tiles.blocks, c0 = blk * L, lanes = Tiles<T>::lanes(g, blk);
            tiles.k.pack(x + (n * g.C + c0) * HW, HW, HW, lanes, xt.data());
            tiles.k.forward(tiles.t, xt.data(), tiles.filters(blk), bias.data() + c0, yt.data());
            tiles.k.unpack(yt.data(), P, lanes, y + (n * g.C + c0) * P, P);
            finish_rows(stage, g, y, n * g.C + c0, n * g.C + c0 + lanes);
        }
    });
}

// By channel block: each filter's sum over the batch on one thread.
template <class T>
void backward_tiles(const ConvGeometry& g, const T* x, const T* w, const T* dy, T* dx, T* dw) {
    constexpr int64 L = Tiles<T>::L;
    const Tiles<T> tiles(g, w);
    const int64 HW = g.H * g.W, P = g.P(), K = tiles.K;
    const int64 per_tile = L * (P * 2 + (dx != nullptr) * (HW * 2 + P * K) + (dw != nullptr) * (HW * 2 + P * K));
    kernels::parallel_for(0, tiles.blocks, g.N * tiles.blocks * per_tile, [&](int64 lo, int64 hi) {
        std::vector<T> xt(dw != nullptr ? static_cast<std::size_t>(HW * L) : 0);
        std::vector<T> dxt(dx != nullptr ? static_cast<std::size_t>(HW * L) : 0);
        std::vector<T> dyt(static_cast<std::size_t>(P * L)), part(static_cast<std::size_t>(K * L));
        std::vector<double> acc(static_cast<std::size_t>(K * L));
        for (int64 blk = lo; blk < hi; ++blk) {
            const int64 c0 = blk * L, lanes = Tiles<T>::lanes(g, blk);
            std::fill(acc.begin(), acc.end(), 0.0);
            for (int64 n = 0; n < g.N; ++n) {
                tiles.k.pack(dy + (n * g.C + c0) * P, P, P, lanes, dyt.data());
                if (dx != nullptr) {
                    tiles.k.input_grad(tiles.t, dyt.data(), tiles.filters(blk), dxt.data());
                    tiles.k.unpack(dxt.data(), HW, lanes, dx + (n * g.C + c0) * HW, HW);
                }
                if (dw == nullptr) continue;
                tiles.k.pack(x + (n * g.C + c0) * HW, HW, HW, lanes, xt.data());
                tiles.k.weight_grad(tiles.t, xt.data(), dyt.data(), part.data());
                for (int64 i = 0; i < K * L; ++i)
                    acc[static_cast<std::size_t>(i)] += part[static_cast<std::size_t>(i)];
            }
            if (dw != nullptr)
                for (int64 l = 0; l < lanes; ++l)
                    for (int64 t = 0; t < K; ++t)
                        dw[(c0 + l) * K + t] = static_cast<T>(acc[static_cast<std::size_t>(t * L + l)]);
        }
    });
}

// ---- other strides: row by row over each tap's valid output columns ----------------------------

/// The valid output rows [oh_lo, oh_hi) and columns [lo, hi) of tap (i, j), and where it reads:
/// input (oh·sh + row_off, ow·sw + col_off).
struct Tap {
    int64 index, row_off, col_off, oh_lo, oh_hi, lo, hi;
    Tap(const ConvGeometry& g, int64 i, int64 j)
        : index(i * g.kw + j), row_off(i * g.dh - g.ph), col_off(j * g.dw - g.pw) {
        std::tie(oh_lo, oh_hi) = valid_range(row_off, g.sh, g.H, g.OH);
        std::tie(lo, hi) = valid_range(col_off, g.sw, g.W, g.OW);
    }
};

std::vector<Tap> taps_of(const ConvGeometry& g) {
    std::vector<Tap> taps;
    for (int64 i = 0; i < g.kh; ++i)
        for (int64 j = 0; j < g.kw; ++j) taps.emplace_back(g, i, j);
    return taps;
}

template <class T>
void forward_strided(const ConvGeometry& g, const T* x, const T* w, const T* b, T* y, const ConvOutputStage* stage) {
    const std::vector<Tap> taps = taps_of(g);
    const int64 m = g.O / g.C, planes = g.N * g.O, HW = g.H * g.W, K = g.kh * g.kw, P = g.P();
    kernels::parallel_for(0, planes, planes * P * (K + 1), [&](int64 lo, int64 hi) {
        for (int64 q = lo; q < hi; ++q) {
            const int64 n = q / g.O, o = q % g.O;
            const T* xq = x + (n * g.C + o / m) * HW;
            const T* f = w + o * K;
            T* yq = y + q * P;
            std::fill(yq, yq + P, b != nullptr ? b[o] : T(0));
            for (const Tap& t : taps)
                for (int64 oh = t.oh_lo; oh < t.oh_hi; ++oh) {
                    const T* src = xq + (oh * g.sh + t.row_off) * g.W + t.col_off;
                    T* dst = yq + oh * g.OW;
                    for (int64 ow = t.lo; ow < t.hi; ++ow) dst[ow] += f[t.index] * src[ow * g.sw];
                }
            finish_rows(stage, g, y, q, q + 1);
        }
    });
}

template <class T>
void backward_strided(const ConvGeometry& g, const T* x, const T* w, const T* dy, T* dx, T* dw) {
    const std::vector<Tap> taps = taps_of(g);
    const int64 m = g.O / g.C, HW = g.H * g.W, K = g.kh * g.kw, P = g.P();
    if (dx != nullptr) {
        const int64 planes = g.N * g.C;
        kernels::parallel_for(0, planes, planes * (HW + m * P * K), [&](int64 lo, int64 hi) {
            for (int64 q = lo; q < hi; ++q) {
                const int64 n = q / g.C, c = q % g.C;
                T* plane = dx + q * HW;
                std::fill(plane, plane + HW, T(0));
                for (int64 r = 0; r < m; ++r) {
                    const int64 o = c * m + r;
                    const T* dyq = dy + (n * g.O + o) * P;
                    for (const Tap& t : taps)
                        for (int64 oh = t.oh_lo; oh < t.oh_hi; ++oh) {
                            const T* src = dyq + oh * g.OW;
                            T* dst = plane + (oh * g.sh + t.row_off) * g.W + t.col_off;
                            for (int64 ow = t.lo; ow < t.hi; ++ow) dst[ow * g.sw] += w[o * K + t.index] * src[ow];
                        }
                }
            }
        });
    }
    if (dw != nullptr)
        kernels::parallel_for(0, g.O, g.N * g.O * P * K, [&](int64 lo, int64 hi) {
            for (int64 o = lo; o < hi; ++o)
                for (const Tap& t : taps) {
                    double acc = 0;
                    for (int64 n = 0; n < g.N; ++n) {
                        const T* xq = x + (n * g.C + o / m) * HW;
                        const T* dyq = dy + (n * g.O + o) * P;
                        for (int64 oh = t.oh_lo; oh < t.oh_hi; ++oh) {
                            const T* src = xq + (oh * g.sh + t.row_off) * g.W + t.col_off;
                            const T* d = dyq + oh * g.OW;
                            const int64 first = t.lo, sw = g.sw;
                            acc += detail::lane_sum<T>(t.hi - first,
                                                       [&](int64 i) { return d[first + i] * src[(first + i) * sw]; });
                        }
                    }
                    dw[o * K + t.index] = static_cast<T>(acc);
                }
        });
}

}  // namespace

template <class T>
void depthwise_forward(const ConvGeometry& g, const T* x, const T* w, const T* b, T* y, const ConvOutputStage* stage) {
    if (use_tiles(g))
        forward_tiles(g, x, w, b, y, stage);
    else if (g.sh == 1 && g.sw == 1)
        forward_stride1(g, x, w, b, y, stage);
    else
        forward_strided(g, x, w, b, y, stage);
}

template <class T>
void depthwise_backward(const ConvGeometry& g, const T* x, const T* w, const T* dy, T* dx, T* dw) {
    if (use_tiles(g))
        backward_tiles(g, x, w, dy, dx, dw);
    else if (g.sh == 1 && g.sw == 1)
        backward_stride1(g, x, w, dy, dx, dw);
    else
        backward_strided(g, x, w, dy, dx, dw);
}

template void depthwise_forward<float>(const ConvGeometry&, const float*, const float*, const float*, float*,
                                       const ConvOutputStage*);
template void depthwise_forward<double>(const ConvGeometry&, const double*, const double*, const double*, double*,
                                        const ConvOutputStage*);
template void depthwise_backward<float>(const ConvGeometry&, const float*, const float*, const float*, float*, float*);
template void depthwise_backward<double>(const ConvGeometry&, const double*, const double*, const double*, double*,
                                         double*);

}  // namespace graft::nn::functional
