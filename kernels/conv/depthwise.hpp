// Internal: the depthwise-convolution plane kernels for stride 1 (MobileNet's and EfficientNet's
// 3×3 and 5×5 depthwise layers), forward and both gradients of one plane.
//
//   const F32DepthwiseVariant& v = f32_depthwise_variant(active_isa());
//   v.forward(plane, xp, filter, bias, yw);       // yw [OH, Wp] = bias + Σ taps
//   v.input_grad(plane, dyw, filter, dxp);        // dxp [Hp, Wp] += Σ taps
//   v.weight_grad(plane, xp, dyw, df);            // df[tap] = Σ over outputs
//
// Every plane is padded by the caller: xp [Hp, Wp] is the input plane inside its zero padding,
// and outputs are computed at the padded width Wp, yw [OH, Wp], of which the first OW = Wp −
// (kw − 1)·dw columns of each row are the output and the rest scratch. Then every filter tap
// (i, j) is one contiguous run, yw[k] += f[i, j]·xp[k + i·dh·Wp + j·dw] for k < OH·Wp − (kw − 1)·dw,
// with no bounds tests: the loops vectorise on each ISA. For the gradients, dyw [OH, Wp] is the
// output gradient at the padded width with zeros in its scratch columns.
//
// A variant is one ISA's three plane kernels, the same code compiled for it (depthwise-body.hpp):
// the scalar reference (depthwise-scalar.cpp, also the float64 path), AVX2 and AVX-512.
// Kernels allocate nothing and never throw; the caller (src/ops/conv_depthwise.cpp) pads, crops
// and spreads the planes over threads.
#pragma once

#include <cstdint>

#include "kernels/cpu/cpu_features.hpp"

namespace graft::kernels {

using int64 = std::int64_t;

/// One padded plane: input xp [Hp, Wp], OH output rows (Hp = OH + (kh − 1)·dh), a kh×kw filter
/// with dilation dh, dw.
struct DepthwisePlane {
    int64 Hp, Wp, OH, kh, kw, dh, dw;
    /// The length of every tap's run: OH·Wp less the last row's scratch that would read past xp.
    int64 run() const { return OH * Wp - (kw - 1) * dw; }
};

template <class T>
using DepthwiseForward = void (*)(const DepthwisePlane& p, const T* xp, const T* f, T bias, T* yw);
template <class T>
using DepthwiseInputGrad = void (*)(const DepthwisePlane& p, const T* dyw, const T* f, T* dxp);
/// df[i·kw + j] = Σ_k dyw[k]·xp[k + i·dh·Wp + j·dw] (overwritten), summed in 16 interleaved
/// partial sums, in the same order on every ISA (the bits may differ where an ISA contracts
/// multiply-adds into FMAs).
template <class T>
using DepthwiseWeightGrad = void (*)(const DepthwisePlane& p, const T* xp, const T* dyw, T* df);

/// The reference kernels, for float and double.
template <class T>
void depthwise_forward_scalar(const DepthwisePlane& p, const T* xp, const T* f, T bias, T* yw);
template <class T>
void depthwise_input_grad_scalar(const DepthwisePlane& p, const T* dyw, const T* f, T* dxp);
template <class T>
void depthwise_weight_grad_scalar(const DepthwisePlane& p, const T* xp, const T* dyw, T* df);

void f32_depthwise_forward__avx2(const DepthwisePlane& p, const float* xp, const float* f, float bias, float* yw);
void f32_depthwise_input_grad__avx2(const DepthwisePlane& p, const float* dyw, const float* f, float* dxp);
void f32_depthwise_weight_grad__avx2(const DepthwisePlane& p, const float* xp, const float* dyw, float* df);
void f32_depthwise_forward__avx512(const DepthwisePlane& p, const float* xp, const float* f, float bias, float* yw);
void f32_depthwise_input_grad__avx512(const DepthwisePlane& p, const float* dyw, const float* f, float* dxp);
void f32_depthwise_weight_grad__avx512(const DepthwisePlane& p, const float* xp, const float* dyw, float* df);

/// One ISA's float32 plane kernels.
struct F32DepthwiseVariant {
    const char* name;
    Isa isa;
    DepthwiseForward<float> forward;
    DepthwiseInputGrad<float> input_grad;
    DepthwiseWeightGrad<float> weight_grad;
};

/// The widest variant that `isa` runs.
const F32DepthwiseVariant& f32_depthwise_variant(Isa isa);

}  // namespace graft::kernels
