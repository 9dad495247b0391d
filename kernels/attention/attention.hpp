// Internal: fused scaled-dot-product attention (flash-attention style) on strided operands.
//
// Shapes: q [B, H, Tq, D], k [B, H, Tk, D], v [B, H, Tk, Dv], each a base pointer plus four
// strides in elements (any layout: transposed heads cost nothing, the tile GEMMs read strides).
// O[i] = Σ_j softmax_j(scale·q_i·k_j + mask_ij) v_j, with causal masking bottom-right aligned: key j
// is visible to query i iff j ≤ i + (Tk − Tq). The optional additive mask (−inf: hidden) is read
// through strides, 0 along its broadcast dims, and added to each score tile as it is computed. A
// query row that sees no key at all (every score −inf) gets a zero output and a zero gradient.
//
// The forward splits B·H·⌈Tq/kAttnBlockQ⌉ query blocks over the threads; per block it walks the
// keys kAttnBlockK at a time: S = scale·Q·Kᵀ (GEMM into a per-thread tile), online softmax
// (running max and sum, earlier output rescaled), O += P·V. It writes O and the per-row
// log-sum-exp only. The backward recomputes P = exp(S − lse) tile by tile and accumulates
// dV += Pᵀ·dO, dP = dO·Vᵀ, dS = P∘(dP − rowsum(dO∘O)), dQ += scale·dS·K, dK += scale·dSᵀ·Q,
// one B·H slice per task (or, with fewer slices than threads, dK/dV by key tile and then dQ by
// query block). Score tensors never exist beyond the thread tiles.
//
// Dropout (Z = P∘M/(1 − p), O = Z·V) regenerates the keep mask M of each tile from a counter-based
// hash (attn_dropout_bits), so nothing of size B·H·Tq·Tk is stored for it either: the forward
// drops the tile's probabilities after the softmax sum and before P·V; the backward uses
// dV += Zᵀ·dO and dS = P∘(dZ∘M/(1 − p) − rowsum(dO∘O)) with dZ = dO·Vᵀ (rowsum(dZ∘Z) = dO·O still).
//
//   attention_forward(problem, out, lse);                      // float: active ISA; double: scalar
//   attention_backward(problem, out, lse, dout, dq, {nullptr}, dv);  // dk not needed
//
// out (and dout) may be strided, with unit stride along the head dim: the op writes the
// output [B, T, H, D] in memory, so its transposed [B, T, H·D] view needs no copy, and the
// backward reads the gradient of that view in place. The gradients are strided results too: the
// op lays each out as its input lies (heads split from a [B, T, H·D] projection: [B, T, H, D] in
// memory), so that the gradient flows back through the split's views without a copy.
//
// The per-tile row operations (online softmax, exp against the saved lse) are the dispatched
// kernels: a templated scalar reference (attention-scalar.cpp) and float32 AVX2 / AVX-512
// variants (f32-attention-avx2.cpp, f32-attention-avx512.cpp) that differ only by rounding.
// Row kernels allocate nothing and never throw; the drivers allocate the thread tiles.
#pragma once

#include <cstdint>

#include "kernels/cpu/cpu_features.hpp"

namespace graft::kernels {

using int64 = std::int64_t;

/// Query rows per forward task and per backward step. With causal masking a block computes its
/// scores only up to its last row's diagonal, so blocks of 32 (rather than 64) skip more of the
/// masked half of the diagonal tiles: 10240 instead of 12288 scores per 128×128 slice, where
/// 8256 are visible.
constexpr int64 kAttnBlockQ = 32;
/// Keys per score tile.
constexpr int64 kAttnBlockK = 128;

/// A strided [B, H, T, D] operand: element (b, h, t, d) at data[b·sb + h·sh + t·st + d·sd].
template <class T>
struct AttnOperand {
    const T* data;
    int64 sb, sh, st, sd;
};

/// A writable strided [B, H, T, D] result, unit stride along D: element (b, h, t, d) at
/// data[b·sb + h·sh + t·st + d]. The attention op writes its output [B, T, H, D] in memory
/// (sh = D, st = H·D) so that merging the heads back is a view.
template <class T>
struct AttnResult {
    T* data;
    int64 sb, sh, st;
};

/// The dropout draw of score element `index` = ((b·H + h)·Tq + i)·Tk + j under `seed`: 53 random
/// bits, splitmix64's output for the index-th counter of the stream. The element is kept iff
/// bits ≥ attn_dropout_threshold(p), i.e. iff the uniform bits·2⁻⁵³ is ≥ p (as graft::dropout
/// keeps an element whose Generator::uniform() is ≥ p). A pure function of (seed, index), so the
/// forward and the backward regenerate the same mask tile by tile, in any order, on any thread,
/// and the unfused reference builds the same mask.
inline std::uint64_t attn_dropout_bits(std::uint64_t seed, std::uint64_t index) {
    std::uint64_t z = seed + (index + 1) * 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return (z ^ (z >> 31)) >> 11;
}

/// ⌈p·2⁵³⌉ for p in [0, 1): the smallest 53-bit value u with u·2⁻⁵³ ≥ p (p·2⁵³ is exact in double).
inline std::uint64_t attn_dropout_threshold(double p) {
    const double t = p * 0x1p53;
    const auto whole = static_cast<std::uint64_t>(t);
    return static_cast<double>(whole) < t ? whole + 1 : whole;
}

/// One attention problem.
template <class T>
struct AttnProblem {
    int64 B, H, Tq, Tk, D, Dv;  ///< Tk ≥ 1, and Tk ≥ Tq when causal
    AttnOperand<T> q, k, v;
    T scale;
    bool causal;
    /// Additive mask [B, H, Tq, Tk] (strides 0 where broadcast) added to scale·q·kᵀ; data
    /// nullptr: none.
    AttnOperand<T> mask{nullptr, 0, 0, 0, 0};
    /// Dropout on the probabilities: element (b, h, i, j) is kept, scaled by dropout_scale
    /// (1/(1 − p)), iff attn_dropout_bits(dropout_seed, index) ≥ dropout_threshold, else zeroed.
    /// dropout_threshold 0: no dropout. The softmax sum and lse are those of the undropped
    /// probabilities, as dropout after softmax.
    std::uint64_t dropout_seed = 0;
    std::uint64_t dropout_threshold = 0;
    T dropout_scale = T(1);
};

// ---- row kernels on an m×n score tile s (row stride lds) ---------------------------------------

/// Online-softmax step, in place, per row r (running max mx[r], running sum l[r]):
///   new = max(mx[r], max_j s[r,j]);  rescale[r] = exp(mx[r] − new) (0 while mx[r] = −inf);
///   s[r,j] ← exp(s[r,j] − new) (masked −inf entries become 0);  l[r] ← l[r]·rescale[r] + Σ_j s[r,j];
///   mx[r] ← new. Every row must hold a finite score or a finite mx[r].
template <class T>
void attn_softmax_rows_scalar(int64 m, int64 n, T* s, int64 lds, T* mx, T* l, T* rescale);
/// s[r,j] ← exp(s[r,j] − lse[r]); masked −inf entries become 0.
template <class T>
void attn_exp_rows_scalar(int64 m, int64 n, T* s, int64 lds, const T* lse);

extern template void attn_softmax_rows_scalar<float>(int64, int64, float*, int64, float*, float*, float*);
extern template void attn_softmax_rows_scalar<double>(int64, int64, double*, int64, double*, double*, double*);
extern template void attn_exp_rows_scalar<float>(int64, int64, float*, int64, const float*);
extern template void attn_exp_rows_scalar<double>(int64, int64, double*, int64, const double*);

void f32_attn_softmax_rows__avx2(int64 m, int64 n, float* s, int64 lds, float* mx, float* l, float* rescale);
void f32_attn_softmax_rows__avx512(int64 m, int64 n, float* s, int64 lds, float* mx, float* l, float* rescale);
void f32_attn_exp_rows__avx2(int64 m, int64 n, float* s, int64 lds, const float* lse);
void f32_attn_exp_rows__avx512(int64 m, int64 n, float* s, int64 lds, const float* lse);

using F32AttnSoftmaxRows = void (*)(int64, int64, float*, int64, float*, float*, float*);
using F32AttnExpRows = void (*)(int64, int64, float*, int64, const float*);

/// The float32 row kernels of one ISA.
struct F32AttentionVariant {
    const char* name;
    Isa isa;
    F32AttnSoftmaxRows softmax_rows;
    F32AttnExpRows exp_rows;
};

/// The variant compiled for `isa` (call it only where the CPU runs that ISA).
const F32AttentionVariant& f32_attention_variant(Isa isa);

// ---- drivers: float32 on the active ISA (tiles through sgemm; under bf16 autocast on a CPU with
// AVX512_BF16, on the bf16 pair kernel from operands packed once per slice), double on the scalar path

/// out [B, H, Tq, Dv] (strided, unit stride along Dv) and lse [B, H, Tq] (contiguous).
void attention_forward(const AttnProblem<float>& p, const AttnResult<float>& out, float* lse);
void attention_forward(const AttnProblem<double>& p, const AttnResult<double>& out, double* lse);

/// out and lse from the forward, dout [B, H, Tq, Dv] (out and dout strided, sd = 1 for both; lse
/// contiguous); writes the gradients dq [B, H, Tq, D], dk [B, H, Tk, D], dv [B, H, Tk, Dv]
/// (strided, unit stride along the head dim), each skipped when its data is nullptr.
void attention_backward(const AttnProblem<float>& p, const AttnOperand<float>& out, const float* lse,
                        const AttnOperand<float>& dout, const AttnResult<float>& dq, const AttnResult<float>& dk,
                        const AttnResult<float>& dv);
void attention_backward(const AttnProblem<double>& p, const AttnOperand<double>& out, const double* lse,
                        const AttnOperand<double>& dout, const AttnResult<double>& dq, const AttnResult<double>& dk,
                        const AttnResult<double>& dv);

}  // namespace graft::kernels
