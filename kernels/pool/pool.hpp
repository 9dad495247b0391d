// Internal: the max-pool kernels for the common 2×2 window at stride 2 without padding or
// dilation, where the windows tile the input: one output row's windows read two adjacent pairs
// of one input row pair, and the backward writes every element of that row pair once; and the
// values alone of any undilated window (max_pool_values: ResNet's 3×3/2 stem pool when frozen).
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

/// Max-pool values alone (no positions: a frozen stem, inference), for any window without
/// dilation, one output row at a time in two passes over a scratch row m whose column c is input
/// column c − pw (−inf in the padding and past the input):
///   max_rows:    m[w] = the maximum over `count` input rows (x, x + row_step, …) of column w,
///                w < W (written at m + pw);
///   max_columns: y[ow] = the maximum of m[ow·sw + j], j < kw, ow < OW.
/// Both keep NaN: a window holding one gives NaN (PyTorch's scan keeps the last NaN; without
/// positions any NaN will do). m holds at least (OW − 1)·sw + kw + kMaxPoolScratchSlack floats,
/// so a kernel may read whole vectors past the last window.
using MaxRowsKernel = void (*)(int64 count, int64 W, const float* x, int64 row_step, float* m);
using MaxColumnsKernel = void (*)(int64 OW, int64 kw, int64 sw, const float* m, float* y);
constexpr int64 kMaxPoolScratchSlack = 64;

/// The reference loops (max_pool_replaces picks each maximum): what the variants are tested
/// against, and max_columns at the strides the AVX-512 kernel leaves to it.
void max_rows_scalar(int64 count, int64 W, const float* x, int64 row_step, float* m);
void max_columns_scalar(int64 OW, int64 kw, int64 sw, const float* m, float* y);
/// AVX-512: sixteen columns, or sixteen windows, a step; max_columns at strides 1 and 2 (others:
/// the reference's loop).
void f32_max_rows__avx512(int64 count, int64 W, const float* x, int64 row_step, float* m);
void f32_max_columns__avx512(int64 OW, int64 kw, int64 sw, const float* m, float* y);

/// One ISA's float32 row kernels.
struct F32MaxPoolVariant {
    const char* name;
    Isa isa;
    MaxPool2x2RowKernel<float> forward_row;
    MaxPool2x2GradRowKernel<float> backward_row;
    MaxRowsKernel max_rows;  // null: no values-only kernels (see has_max_pool_values)
    MaxColumnsKernel max_columns;
};

/// The widest variant that `isa` runs.
const F32MaxPoolVariant& f32_max_pool_variant(Isa isa);

/// y [planes, OH, OW] and idx (each maximum's position in its plane) of the 2×2 stride-2 windows
/// of x [planes, H, W], contiguous, 2·OH ≤ H and 2·OW ≤ W; float32 on the active ISA's variant,
/// double on the reference.
template <class T>
void max_pool_2x2(int64 planes, int64 H, int64 W, int64 OH, int64 OW, const T* x, T* y, int64* idx);

/// Whether the active ISA's variant has values-only kernels (AVX-512; elsewhere the reference
/// loops, a data-dependent branch per element, are slower than max_pool2d's per-window loop:
/// ResNet's stem pool on [16, 64, 56, 56] 22 ms against 4.4 at one thread).
bool has_max_pool_values();

/// y [planes, OH, OW]: the maximum of each kh × kw window at stride (sh, sw) over x [planes, H, W]
/// padded by (ph, pw) with −inf (a window entirely in the padding gives −inf), NaN where the
/// window holds one, on the active ISA's max_rows and max_columns (has_max_pool_values() must
/// hold). OH and OW as max_pool2d computes them (ceil_mode included).
void max_pool_values(int64 planes, int64 H, int64 W, int64 OH, int64 OW, int64 kh, int64 kw, int64 sh, int64 sw,
                     int64 ph, int64 pw, const float* x, float* y);

/// dx [planes, H, W] from dy [planes, OH, OW] and the forward's idx: every element written once,
/// dy at each window's maximum and 0 elsewhere (the rows and columns past 2·OH, 2·OW included).
template <class T>
void max_pool_2x2_backward(int64 planes, int64 H, int64 W, int64 OH, int64 OW, const T* dy, const int64* idx, T* dx);

}  // namespace graft::kernels
