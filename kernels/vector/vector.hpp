// Internal: the float32 vector kernels behind the elementwise, reduction, softmax, loss and
// normalisation ops, their ISA variants, and the drivers that thread them.
//
//   unary(UnaryOp::Gelu, n, x, y);                        // y = gelu(x), active ISA, threaded
//   unary_grad(UnaryOp::Tanh, n, y, dy, dx);              // dx = dy·(1 − y²)
//   softmax_rows(rows, n, x, y, /*log=*/false);           // per row of n contiguous values
//   binary_rows(BinaryOp::Add, rows, n, a, n, bias, 0, y); // y[r, j] = a[r, j] + bias[j]
//   sum_columns(outer, rows, n, x, out);                  // out[o, j] = Σ_r x[o, r, j], in double
//
// A variant is one ISA's set of row kernels (F32VectorVariant): a scalar reference written with
// <cmath> (unary-scalar.cpp, binary-scalar.cpp, reduce-scalar.cpp, softmax-scalar.cpp, layer-norm-scalar.cpp,
// affine-activation-scalar.cpp), and
// AVX2+FMA / AVX-512 variants (f32-<family>-avx2.cpp / -avx512.cpp) that instantiate one generic
// body (<family>-body.hpp) over a SIMD lane type (simd-avx2.hpp, simd-avx512.hpp). Each kernel
// processes one contiguous array or row (the column kernels: a block of columns across rows at a
// fixed stride, so a reduction over a dim that is not last reads x in place, with no transposed
// copy), allocates nothing and never throws; the drivers
// (vector_driver.cpp) pick the active ISA's variant and split rows or long arrays across OpenMP
// threads when the work is large enough.
//
// Special values follow the mathematical limits: exp(−inf) = 0, exp overflows to inf and
// underflows to 0 or a denormal; log(0) = −inf, log(x < 0) = NaN; sigmoid(±inf) = 1/0;
// tanh(±inf) = ±1; gelu(−inf) = −0, gelu(inf) = inf; relu and every other function keep NaN.
// Accuracy against float64: exp ≤ 2 ulp; log, tanh, sigmoid, gelu ≤ 1e-6 absolute or relative.
#pragma once

#include <cstdint>

#include "kernels/cpu/cpu_features.hpp"

namespace graft::kernels {

using int64 = std::int64_t;

/// The elementwise functions with vectorised kernels.
///   Exp, Log, Tanh, Sigmoid, Relu: as in <cmath> (Relu = max(x, 0), NaN kept).
///   Gelu: x·Φ(x) (erf form); GeluTanh: 0.5x(1 + tanh(√(2/π)(x + 0.044715x³))).
enum class UnaryOp { Exp, Log, Tanh, Sigmoid, Relu, Gelu, GeluTanh };

/// The arithmetic binary ops with vectorised kernels: one IEEE single operation per element
/// (true division, no reciprocal), so every variant is bit-identical to `a op b` in C++ and
/// NaN, ±inf, −0 and denormals behave as in scalar code.
enum class BinaryOp { Add, Sub, Mul, Div };

/// Whether op's gradient kernel reads the forward's output (true) or its input (false):
/// exp, tanh, sigmoid and relu save y, log and both gelus save x.
constexpr bool grad_reads_output(UnaryOp op) {
    return op == UnaryOp::Exp || op == UnaryOp::Tanh || op == UnaryOp::Sigmoid || op == UnaryOp::Relu;
}

/// y[i] = op(x[i]); y may equal x.
using F32UnaryKernel = void (*)(UnaryOp op, int64 n, const float* x, float* y);
/// dx[i] = dy[i]·op'(…) from s = y or x (grad_reads_output): exp dy·y, log dy/x, tanh dy·(1 − y²),
/// sigmoid dy·y(1 − y), relu dy·[y > 0], gelu dy·(Φ(x) + x·φ(x)), gelu_tanh its derivative.
using F32UnaryGradKernel = void (*)(UnaryOp op, int64 n, const float* s, const float* dy, float* dx);
/// y[i] = a[i] op b[i]; y may equal a or b.
using F32BinaryKernel = void (*)(BinaryOp op, int64 n, const float* a, const float* b, float* y);
/// y[i] = a[i] op s, or s op a[i] with scalar_first; y may equal a.
using F32BinaryScalarKernel = void (*)(BinaryOp op, int64 n, const float* a, float s, bool scalar_first, float* y);
/// Σ x[i], accumulated in double; 0 for n = 0.
/// The activations a per-channel affine ends in (batch_norm's fused activation, a folded
/// BatchNorm's): y = act(z), z = x·a + b.
///   ReLU: z > 0 or NaN ? z : 0.  ReLU6: min(max(z, 0), 6), NaN kept (std::max/std::min's
///   order, so −0 stays −0).  Hardswish: z·min(max(z + 3, 0), 6)/6.  SiLU: z·σ(z), σ the
///   variant's sigmoid (as unary's).
enum class AffineActivation { None, ReLU, ReLU6, Hardswish, SiLU };
/// Rows [lo, hi) of n contiguous values each (row r at x + r·n, its channel r mod channels):
/// y = act(fma(x, a, b)) with a = float(scale[c]), b = float(shift[c]). y may equal x.
using F32AffineActivationKernel = void (*)(AffineActivation act, int64 channels, int64 n, int64 lo, int64 hi,
                                           const float* x, float* y, const double* scale, const double* shift);
/// The same rows: dz = dy·act'(z), z = fma(x, a, b) recomputed as the forward computes it; dz
/// may equal dy. act' is PyTorch's: ReLU 1 for z > 0; ReLU6 1 strictly inside (0, 6); Hardswish
/// 0 below −3, z/3 + ½ up to 3, 1 above (and for NaN); SiLU σ(z)·(1 + z·(1 − σ(z))).
using F32AffineActivationGradKernel = void (*)(AffineActivation act, int64 channels, int64 n, int64 lo, int64 hi,
                                               const float* x, const double* scale, const double* shift,
                                               const float* dy, float* dz);
/// One channel of a BatchNorm backward, over `rows` rows of n values (row r at dy + r·stride, x
/// likewise): sums[0] = Σ dy and sums[1] = Σ dy·(x − mean), each term in float, summed in double
/// (sums[1] = 0 when x is null).
using F32ChannelGradSumsKernel = void (*)(int64 rows, int64 n, int64 stride, const float* dy, const float* x,
                                          float mean, double* sums);
/// The same rows: dx = fma(a, dy, fma(b, x, e)); x may be null when b = e = 0 (dx = a·dy).
using F32ChannelGradKernel = void (*)(int64 rows, int64 n, int64 stride, const float* dy, const float* x, float a,
                                      float b, float e, float* dx);
using F32SumKernel = double (*)(int64 n, const float* x);
/// max x[i]: NaN when any element is NaN, −inf for n = 0.
using F32MaxKernel = float (*)(int64 n, const float* x);
/// acc[j] += Σ_r x[r·stride + j] for j < n over `rows` rows: one double addition per element in
/// row order, so every variant gives the scalar reference's bits. eight_rows: read eight rows a
/// step (the accumulators loaded and stored once per eight rows), else one; the same sums.
using F32SumColumnsKernel = void (*)(int64 rows, int64 n, int64 stride, const float* x, double* acc, bool eight_rows);
/// acc[j] += Σ_r (x[r·stride + j] − mean[j])², the difference and its square in double.
using F32SquaredDeviationColumnsKernel = void (*)(int64 rows, int64 n, int64 stride, const float* x,
                                                  const double* mean, double* acc, bool eight_rows);
/// One row: y = softmax(x) or, with log, log_softmax(x) (max-subtracted); y may equal x.
using F32SoftmaxKernel = void (*)(int64 n, const float* x, float* y, bool log);
/// One row: softmax dx = y·(dy − Σ dy·y); log_softmax dx = dy − exp(y)·Σ dy.
using F32SoftmaxGradKernel = void (*)(int64 n, const float* y, const float* dy, float* dx, bool log);
/// One row of logits against class `target` ∈ [0, n), label smoothing `smoothing` ∈ [0, 1]:
/// log Σ exp(x) = *max + *log_sum (kept apart: x − max is exact, max + log_sum would round at
/// the logits' magnitude); returns (1 − ε)(lse − x[t]) + (ε/n)·Σ_c (lse − x[c]). A NaN or +inf
/// logit makes the loss and *log_sum NaN (with a NaN, the vector variants' *max is the largest
/// other logit, the scalar reference's NaN).
using F32CrossEntropyKernel = float (*)(int64 n, const float* x, int64 target, float smoothing, float* max,
                                        float* log_sum);
/// One row: dx[c] = scale·(exp((x[c] − max) − log_sum) − ε/n − (1 − ε)·[c = target]).
using F32CrossEntropyGradKernel = void (*)(int64 n, const float* x, float max, float log_sum, int64 target,
                                           float smoothing, float scale, float* dx);
/// One row: mean, rstd = 1/√(var + eps) (biased variance), y = (x − mean)·rstd·w + b; w, b may be null.
/// The mean is kept in double and applied as float hi + lo parts, so x − mean keeps its digits
/// when the mean is large against the spread (x ≈ 1e4 ± 1).
using F32LayerNormKernel = void (*)(int64 n, const float* x, const float* w, const float* b, float eps, float* y,
                                    double* mean, float* rstd);
/// One row, x̂ = (x − mean)·rstd, g = dy·w (w null: 1):
///   dx = rstd·(g − mean(g) − x̂·mean(g·x̂))  (dx may be null),
///   dw_acc += dy·x̂ and db_acc += dy (either may be null).
/// It prefetches the next row (x + n, dy + n) during its second pass, for drivers whose rows are contiguous.
using F32LayerNormGradKernel = void (*)(int64 n, const float* x, const float* dy, const float* w, double mean,
                                        float rstd, float* dx, float* dw_acc, float* db_acc);

/// The float32 vector kernels of one ISA.
struct F32VectorVariant {
    const char* name;
    Isa isa;
    F32UnaryKernel unary;
    F32UnaryGradKernel unary_grad;
    F32SumKernel sum;
    F32MaxKernel max;
    F32SumColumnsKernel sum_columns;
    F32SquaredDeviationColumnsKernel squared_deviation_columns;
    F32SoftmaxKernel softmax;
    F32SoftmaxGradKernel softmax_grad;
    F32CrossEntropyKernel cross_entropy;
    F32CrossEntropyGradKernel cross_entropy_grad;
    F32LayerNormKernel layer_norm;
    F32LayerNormGradKernel layer_norm_grad;
    F32BinaryKernel binary;
    F32BinaryScalarKernel binary_scalar;
    F32AffineActivationKernel affine_activation;
    F32AffineActivationGradKernel affine_activation_grad;
    F32ChannelGradSumsKernel channel_grad_sums;
    F32ChannelGradKernel channel_grad;
};

/// The variant compiled for `isa` (call its kernels only where the CPU runs that ISA).
const F32VectorVariant& f32_vector_variant(Isa isa);

// ---- the kernels of each variant (one family per file) --------------------------------------
#define GRAFT_DECLARE_VECTOR_KERNELS(suffix)                                                                      \
    void f32_unary__##suffix(UnaryOp, int64, const float*, float*);                                              \
    void f32_unary_grad__##suffix(UnaryOp, int64, const float*, const float*, float*);                           \
    double f32_sum__##suffix(int64, const float*);                                                               \
    float f32_max__##suffix(int64, const float*);                                                                \
    void f32_sum_columns__##suffix(int64, int64, int64, const float*, double*, bool);                            \
    void f32_squared_deviation_columns__##suffix(int64, int64, int64, const float*, const double*, double*, bool); \
    void f32_softmax__##suffix(int64, const float*, float*, bool);                                               \
    void f32_softmax_grad__##suffix(int64, const float*, const float*, float*, bool);                            \
    float f32_cross_entropy__##suffix(int64, const float*, int64, float, float*, float*);                        \
    void f32_cross_entropy_grad__##suffix(int64, const float*, float, float, int64, float, float, float*);       \
    void f32_layer_norm__##suffix(int64, const float*, const float*, const float*, float, float*, double*, float*); \
    void f32_layer_norm_grad__##suffix(int64, const float*, const float*, const float*, double, float, float*,     \
                                       float*, float*);                                                          \
    void f32_binary__##suffix(BinaryOp, int64, const float*, const float*, float*);                              \
    void f32_binary_scalar__##suffix(BinaryOp, int64, const float*, float, bool, float*);                        \
    void f32_affine_activation__##suffix(AffineActivation, int64, int64, int64, int64, const float*, float*,      \
                                         const double*, const double*);                                          \
    void f32_affine_activation_grad__##suffix(AffineActivation, int64, int64, int64, int64, const float*,         \
                                              const double*, const double*, const float*, float*);           \
    void f32_channel_grad_sums__##suffix(int64, int64, int64, const float*, const float*, float, double*);       \
    void f32_channel_grad__##suffix(int64, int64, int64, const float*, const float*, float, float, float, float*);
GRAFT_DECLARE_VECTOR_KERNELS(scalar)
GRAFT_DECLARE_VECTOR_KERNELS(avx2)
GRAFT_DECLARE_VECTOR_KERNELS(avx512)
#undef GRAFT_DECLARE_VECTOR_KERNELS

// ---- drivers: the active ISA's variant, OpenMP over rows or chunks when the work is large ----
void unary(UnaryOp op, int64 n, const float* x, float* y);
void unary_grad(UnaryOp op, int64 n, const float* s, const float* dy, float* dx);
/// y[i] = a[i] op b[i] over n contiguous elements.
void binary(BinaryOp op, int64 n, const float* a, const float* b, float* y);
/// y[i] = a[i] op s, or s op a[i] with scalar_first.
void binary_scalar(BinaryOp op, int64 n, const float* a, float s, bool scalar_first, float* y);
/// y[r, j] = a[r·a_row_stride + j] op b[r·b_row_stride + j] for rows × n (y contiguous): a row
/// stride of 0 broadcasts that operand's one row (a bias) over all rows.
void binary_rows(BinaryOp op, int64 rows, int64 n, const float* a, int64 a_row_stride, const float* b,
                 int64 b_row_stride, float* y);
/// The active variant's affine_activation and affine_activation_grad on rows [lo, hi), on the
/// calling thread: their callers (batch_norm, a convolution's output stage) already split rows.
void affine_activation_rows(AffineActivation act, int64 channels, int64 n, int64 lo, int64 hi, const float* x,
                            float* y, const double* scale, const double* shift);
void affine_activation_grad_rows(AffineActivation act, int64 channels, int64 n, int64 lo, int64 hi, const float* x,
                                 const double* scale, const double* shift, const float* dy, float* dz);
/// The active variant's channel_grad_sums and channel_grad, on the calling thread (batch_norm's
/// backward splits channels).
void channel_grad_sums(int64 rows, int64 n, int64 stride, const float* dy, const float* x, float mean, double* sums);
void channel_grad(int64 rows, int64 n, int64 stride, const float* dy, const float* x, float a, float b, float e,
                  float* dx);
/// out[r] = Σ of row r (rows × n contiguous), accumulated in double.
void sum_rows(int64 rows, int64 n, const float* x, double* out);
/// out[r] = max of row r (NaN if the row holds one; n ≥ 1).
void max_rows(int64 rows, int64 n, const float* x, float* out);
/// x contiguous [outer, rows, n]: out[o·n + j] = Σ_r x[(o·rows + r)·n + j], in double, each
/// column's rows added in order (the same bits on any number of threads: the threads split the
/// columns, never a sum).
void sum_columns(int64 outer, int64 rows, int64 n, const float* x, double* out);
/// x contiguous [outer, rows, n]: out[o·n + j] = Σ_r (x[(o·rows + r)·n + j] − mean[o·n + j])², in double.
void squared_deviation_columns(int64 outer, int64 rows, int64 n, const float* x, const double* mean, double* out);
void softmax_rows(int64 rows, int64 n, const float* x, float* y, bool log);
void softmax_grad_rows(int64 rows, int64 n, const float* y, const float* dy, float* dx, bool log);
/// Per row r: loss[r], and max[r], log_sum[r] for the backward; rows whose target is
/// ignore_index get 0 in all three.
void cross_entropy_rows(int64 rows, int64 n, const float* x, const int64* target, int64 ignore_index,
                        float smoothing, float* loss, float* max, float* log_sum);
/// scale[r] multiplies row r's gradient; rows whose target is ignore_index get dx = 0.
void cross_entropy_grad_rows(int64 rows, int64 n, const float* x, const float* max, const float* log_sum,
                             const int64* target, int64 ignore_index, float smoothing, const float* scale, float* dx);
void layer_norm_rows(int64 rows, int64 n, const float* x, const float* w, const float* b, float eps, float* y,
                     double* mean, float* rstd);
/// dx (may be null) per row; dw = Σ_rows dy·x̂ and db = Σ_rows dy (either may be null), summed over
/// fixed blocks of rows then across blocks in double, so the result does not depend on the threads.
void layer_norm_grad_rows(int64 rows, int64 n, const float* x, const float* dy, const float* w, const double* mean,
                          const float* rstd, float* dx, float* dw, float* db);

}  // namespace graft::kernels
