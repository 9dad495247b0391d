// Internal: the fused optimizer update kernels (SGD, Adam/AdamW, RMSprop) and their variants.
//
// Each kernel makes one pass over n contiguous elements, reading the parameter, its gradient
// and the optimizer's moment buffers and writing the parameter and the buffers back: AdamW
// reads p, g, m, v and writes p, m, v (28 bytes per float32 parameter). The arithmetic is
// torch.optim 1.13's, line for line; the optimizer (src/optim) turns a group's options and the
// step count into the coefficients below, in double, once per parameter tensor.
//
//   AdamCoeffs<float> c = …;                          // from lr, betas, eps, step
//   adam_update(n, p, g, m, v, /*vmax=*/nullptr, c);  // active ISA, threaded over n
//
// Variants: a templated scalar reference (float and double) in *-scalar.cpp, and float32
// AVX2+FMA and AVX-512 variants (one body, optim-body.hpp, instantiated in f32-optim-avx2.cpp and
// f32-optim-avx512.cpp), each compiled with its own flags and called only once cpu_features says the CPU runs that ISA. The variants
// differ from the scalar one only by rounding (they use FMA). A kernel allocates nothing and
// never throws; buffers must not overlap one another.
#pragma once

#include <cstdint>

#include "kernels/cpu/cpu_features.hpp"

namespace graft::kernels {

using int64 = std::int64_t;

/// One Adam/AdamW step on element i (t = the step count, starting at 1):
///   g ← maximize ? −g : g;   g ← g + l2·p                       (Adam's L2 weight decay)
///   p ← decay·p                                                 (AdamW: decay = 1 − lr·wd)
///   m ← beta1·m + (1 − beta1)·g;   v ← beta2·v + (1 − beta2)·g²
///   vmax ← max(vmax, v) when amsgrad (vmax != nullptr), and v̂ = vmax, else v̂ = v
///   p ← p + neg_step_size · m / (√v̂ / bias_correction2_sqrt + eps)
template <class T>
struct AdamCoeffs {
    T beta1, beta2;
    T one_minus_beta1, one_minus_beta2;
    T l2;                     ///< Adam's weight decay added to the gradient (0 for AdamW)
    T decay;                  ///< AdamW's decoupled factor 1 − lr·wd (1 for Adam)
    T neg_step_size;          ///< −lr / (1 − beta1^t)
    T bias_correction2_sqrt;  ///< √(1 − beta2^t)
    T eps;
    bool maximize;
};

/// One SGD step on element i:
///   d ← maximize ? −g : g;   d ← d + weight_decay·p
///   with momentum (buf != nullptr): buf ← init_buffer ? d : momentum·buf + (1 − dampening)·d
///                                   d ← nesterov ? d + momentum·buf : buf
///   p ← p + neg_lr·d
template <class T>
struct SgdCoeffs {
    T neg_lr;
    T weight_decay;
    T momentum;
    T one_minus_dampening;
    bool nesterov;
    bool init_buffer;  ///< the buffer's first step: it takes d as is (torch clones d_p)
    bool maximize;
};

/// One RMSprop step on element i:
///   g ← maximize ? −g : g;   g ← g + weight_decay·p
///   sq ← alpha·sq + (1 − alpha)·g²
///   centered (avg_g != nullptr): avg_g ← alpha·avg_g + (1 − alpha)·g;  a ← √(sq − avg_g²) + eps
///   otherwise a ← √sq + eps
///   with momentum (buf != nullptr): buf ← momentum·buf + g/a;  p ← p + neg_lr·buf
///   otherwise p ← p + neg_lr·g/a
template <class T>
struct RmspropCoeffs {
    T alpha, one_minus_alpha;
    T eps;
    T weight_decay;
    T momentum;
    T neg_lr;
    bool maximize;
};

/// Each update's signature, written once: the scalar references, the float32 ISA variants and
/// the drivers below all have their update's.
template <class T>
using AdamKernel = void(int64 n, T* p, const T* g, T* m, T* v, T* vmax, const AdamCoeffs<T>& c);
template <class T>
using SgdKernel = void(int64 n, T* p, const T* g, T* buf, const SgdCoeffs<T>& c);
template <class T>
using RmspropKernel = void(int64 n, T* p, const T* g, T* sq, T* avg_g, T* buf, const RmspropCoeffs<T>& c);

// ---- scalar reference (float and double) ------------------------------------------------------
template <class T>
void adam_scalar(int64 n, T* p, const T* g, T* m, T* v, T* vmax, const AdamCoeffs<T>& c);
template <class T>
void sgd_scalar(int64 n, T* p, const T* g, T* buf, const SgdCoeffs<T>& c);
template <class T>
void rmsprop_scalar(int64 n, T* p, const T* g, T* sq, T* avg_g, T* buf, const RmspropCoeffs<T>& c);

extern template AdamKernel<float> adam_scalar<float>;
extern template AdamKernel<double> adam_scalar<double>;
extern template SgdKernel<float> sgd_scalar<float>;
extern template SgdKernel<double> sgd_scalar<double>;
extern template RmspropKernel<float> rmsprop_scalar<float>;
extern template RmspropKernel<double> rmsprop_scalar<double>;

// ---- float32 ISA variants ------------------------------------------------------------------------
AdamKernel<float> f32_adam__avx2, f32_adam__avx512;
SgdKernel<float> f32_sgd__avx2, f32_sgd__avx512;
RmspropKernel<float> f32_rmsprop__avx2, f32_rmsprop__avx512;

/// The three float32 update kernels of one ISA.
struct F32OptimVariant {
    const char* name;
    Isa isa;
    AdamKernel<float>* adam;
    SgdKernel<float>* sgd;
    RmspropKernel<float>* rmsprop;
};

/// The variant compiled for `isa` (call its kernels only where the CPU runs that ISA).
const F32OptimVariant& f32_optim_variant(Isa isa);

// ---- drivers: the active ISA for float32, the scalar kernel for double; OpenMP over n ---------
AdamKernel<float> adam_update;
AdamKernel<double> adam_update;
SgdKernel<float> sgd_update;
SgdKernel<double> sgd_update;
RmspropKernel<float> rmsprop_update;
RmspropKernel<double> rmsprop_update;

}  // namespace graft::kernels
