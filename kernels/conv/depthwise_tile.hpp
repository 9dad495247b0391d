// Internal: the channel-interleaved depthwise kernels (depthwise convolutions on small or strided
// maps: MobileNet's and EfficientNet's 960–1280-channel layers on 4×4–14×14 maps, and every
// stride-2 depthwise layer), forward and both gradients of one tile.
//
//   const F32DepthwiseTileVariant& v = f32_depthwise_tile_variant(active_isa());
//   v.pack(x + c0 * HW, HW, HW, lanes, xt);        // xt [HW, L] = 16 planes, channel inner
//   v.forward(tile, xt, ft, bias, yt);             // yt [OH·OW, L] = bias + Σ valid taps
//   v.input_grad(tile, dyt, ft, dxt);              // dxt [H·W, L] = Σ valid taps (overwritten)
//   v.weight_grad(tile, xt, dyt, dft);             // dft [K, L] = Σ over outputs (overwritten)
//   v.unpack(yt, OH * OW, lanes, y + c0 * OHW, OHW);
//
// A tile is kDepthwiseLanes = 16 channels of one image laid pixel-major with the channel inner
// (oneDNN's nChw16c block): every tap of every output pixel is one 16-lane multiply-add, with no
// padding copies, any stride, and no per-plane call. The filters ft [K, L] (K = kh·kw taps) are
// laid the same way. Taps that fall into the padding are skipped by range, per tap. Channels past
// the last one of a tile (C not a multiple of 16) are zero lanes.
//
// A variant is one ISA's five kernels, the same code compiled for it (depthwise-tile-body.hpp):
// the scalar reference (depthwise-tile-scalar.cpp, also the float64 path), AVX2 and AVX-512.
// Kernels allocate nothing and never throw; the caller (src/ops/conv_depthwise.cpp) packs,
// unpacks and spreads the tiles over threads.
#pragma once

#include <cstdint>

#include "kernels/cpu/cpu_features.hpp"

namespace graft::kernels {

/// Channels per tile: one AVX-512 vector of floats.
constexpr std::int64_t kDepthwiseLanes = 16;

/// One tile's geometry: an H×W input, an OH×OW output, a kh×kw filter with stride, padding and
/// dilation.
struct DepthwiseTile {
    std::int64_t H, W, OH, OW, kh, kw, sh, sw, ph, pw, dh, dw;
};

/// dst[p·L + l] = src[l·stride + p] for p < count, l < lanes; 0 for lanes ≥ lanes.
template <class T>
using DepthwiseTilePack = void (*)(const T* src, std::int64_t stride, std::int64_t count, std::int64_t lanes, T* dst);
/// dst[l·stride + p] = src[p·L + l] for p < count, l < lanes.
template <class T>
using DepthwiseTileUnpack = void (*)(const T* src, std::int64_t count, std::int64_t lanes, T* dst,
                                     std::int64_t stride);
template <class T>
using DepthwiseTileForward = void (*)(const DepthwiseTile& t, const T* xt, const T* ft, const T* bias, T* yt);
template <class T>
using DepthwiseTileInputGrad = void (*)(const DepthwiseTile& t, const T* dyt, const T* ft, T* dxt);
/// dft[k·L + l] = Σ over output pixels in a fixed order (the same on every ISA; the bits may
/// differ where an ISA contracts multiply-adds into FMAs).
template <class T>
using DepthwiseTileWeightGrad = void (*)(const DepthwiseTile& t, const T* xt, const T* dyt, T* dft);

/// The reference kernels, for float and double.
template <class T>
void depthwise_tile_pack_scalar(const T* src, std::int64_t stride, std::int64_t count, std::int64_t lanes, T* dst);
template <class T>
void depthwise_tile_unpack_scalar(const T* src, std::int64_t count, std::int64_t lanes, T* dst, std::int64_t stride);
template <class T>
void depthwise_tile_forward_scalar(const DepthwiseTile& t, const T* xt, const T* ft, const T* bias, T* yt);
template <class T>
void depthwise_tile_input_grad_scalar(const DepthwiseTile& t, const T* dyt, const T* ft, T* dxt);
template <class T>
void depthwise_tile_weight_grad_scalar(const DepthwiseTile& t, const T* xt, const T* dyt, T* dft);

void f32_depthwise_tile_pack__avx2(const float* src, std::int64_t stride, std::int64_t count, std::int64_t lanes,
                                  float* dst);
void f32_depthwise_tile_unpack__avx2(const float* src, std::int64_t count, std::int64_t lanes, float* dst,
                                    std::int64_t stride);
void f32_depthwise_tile_forward__avx2(const DepthwiseTile& t, const float* xt, const float* ft, const float* bias,
                                     float* yt);
void f32_depthwise_tile_input_grad__avx2(const DepthwiseTile& t, const float* dyt, const float* ft, float* dxt);
void f32_depthwise_tile_weight_grad__avx2(const DepthwiseTile& t, const float* xt, const float* dyt, float* dft);
void f32_depthwise_tile_pack__avx512(const float* src, std::int64_t stride, std::int64_t count, std::int64_t lanes,
                                  float* dst);
void f32_depthwise_tile_unpack__avx512(const float* src, std::int64_t count, std::int64_t lanes, float* dst,
                                    std::int64_t stride);
void f32_depthwise_tile_forward__avx512(const DepthwiseTile& t, const float* xt, const float* ft, const float* bias,
                                     float* yt);
void f32_depthwise_tile_input_grad__avx512(const DepthwiseTile& t, const float* dyt, const float* ft, float* dxt);
void f32_depthwise_tile_weight_grad__avx512(const DepthwiseTile& t, const float* xt, const float* dyt, float* dft);

/// One ISA's float32 tile kernels.
struct F32DepthwiseTileVariant {
    const char* name;
    Isa isa;
    DepthwiseTilePack<float> pack;
    DepthwiseTileUnpack<float> unpack;
    DepthwiseTileForward<float> forward;
    DepthwiseTileInputGrad<float> input_grad;
    DepthwiseTileWeightGrad<float> weight_grad;
};

/// The widest variant that `isa` runs.
const F32DepthwiseTileVariant& f32_depthwise_tile_variant(Isa isa);

}  // namespace graft::kernels
