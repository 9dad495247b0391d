// Internal: the max-pool kernels for the common 2×2 window at stride 2 without padding or
// dilation, where the windows tile the input: one output row's windows read two adjacent pairs
// of one input row pair, and the backward writes every element of that row pair once.
//
//   max_pool_2x2(planes, H, W, OH, OW, x, y, idx);        // forward, threaded over planes
//   max_pool_2x2_backward(planes, H, W, OH, OW, dy, idx, dx);
//
// A variant is one ISA's pair of row kernels (F32MaxPoolVariant): the scalar reference
// (maxpool-scalar.cpp, also the float64 path) and an AVX2 one (f32-maxpool2x2-avx2.cpp, four
// windows at a time), chosen from kernels::active_isa() (the widest variant the active ISA runs).
// Kernels allocate nothing and never throw; the drivers (pool_driver.cpp) split the planes over
// threads through cpu/parallel.hpp.
//
// PyTorch's rule for scanning a window: v replaces the running maximum when it is greater or
// NaN, so the first maximum wins, and the last NaN. The rule is associative, so a 2×2 window is
// reduced as its top pair, its bottom pair, then those two; every variant gives the same values
// and the same indices.
#pragma once

#include <cstdint>

#include "kernels/cpu/cpu_features.hpp"

namespace graft::kernels {

using int64 = std::int64_t;

/// One output row of 2×2 windows over input rows r0 and r0 + W: for ow < OW, y[ow] = the maximum
/// of r0[2ow], r0[2ow + 1], r0[W + 2ow], r0[W + 2ow + 1], and idx[ow] = base + the winner's offset
/// from r0 (base: r0's offset in its plane).
template <class T>
using MaxPool2x2RowKernel = void (*)(int64 OW, const T* r0, int64 W, int64 base, T* y, int64* idx);

/// Its backward over the same windows: writes r0[0, 2·OW) and r0[W, W + 2·OW), dy[ow] at the
/// saved position idx[ow] of each window (idx as the forward wrote it, from the same base) and 0
/// at the other three.
template <class T>
using MaxPool2x2GradRowKernel = void (*)(int64 OW, const T* dy, const int64* idx, int64 W, int64 base, T* r0);

/// Whether v replaces the running maximum best (PyTorch's rule above).
template <class T>
inline bool max_pool_replaces(T v, T best) {
    return v > best || v != v;
}

/// The reference kernels, one window at a time, for float and double.
template <class T>
void max_pool_2x2_row_scalar(int64 OW, const T* r0, int64 W, int64 base, T* y, int64* idx);
template <class T>
void max_pool_2x2_grad_row_scalar(int64 OW, const T* dy, const int64* idx, int64 W, int64 base, T* r0);

extern template void max_pool_2x2_row_scalar<float>(int64, const float*, int64, int64, float*, int64*);
extern template void max_pool_2x2_row_scalar<double>(int64, const double*, int64, int64, double*, int64*);
extern template void max_pool_2x2_grad_row_scalar<float>(int64, const float*, const int64*, int64, int64, float*);
extern template void max_pool_2x2_grad_row_scalar<double>(int64, const double*, const int64*, int64, int64, double*);

/// AVX2: four windows at a time; rows of 2^30 columns or more run the scalar loop (the window
/// offsets are int32 lanes).
void f32_max_pool_2x2_row__avx2(int64 OW, const float* r0, int64 W, int64 base, float* y, int64* idx);
void f32_max_pool_2x2_grad_row__avx2(int64 OW, const float* dy, const int64* idx, int64 W, int64 base, float* r0);

/// One ISA's float32 row kernels.
struct F32MaxPoolVariant {
    const char* name;
    Isa isa;
    MaxPool2x2RowKernel<float> forward_row;
    MaxPool2x2GradRowKernel<float> backward_row;
};

/// The widest variant that `isa` runs.
const F32MaxPoolVariant& f32_max_pool_variant(Isa isa);

/// y [planes, OH, OW] and idx (each maximum's position in its plane) of the 2×2 stride-2 windows
/// of x [planes, H, W], contiguous, 2·OH ≤ H and 2·OW ≤ W; float32 on the active ISA's variant,
/// double on the reference.
template <class T>
void max_pool_2x2(int64 planes, int64 H, int64 W, int64 OH, int64 OW, const T* x, T* y, int64* idx);

/// dx [planes, H, W] from dy [planes, OH, OW] and the forward's idx: every element written once,
/// dy at each window's maximum and 0 elsewhere (the rows and columns past 2·OH, 2·OW included).
template <class T>
void max_pool_2x2_backward(int64 planes, int64 H, int64 W, int64 OH, int64 OW, const T* dy, const int64* idx, T* dx);

}  // namespace graft::kernels
