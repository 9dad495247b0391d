// Internal: the bf16 GEMM, C = act(alpha·A·B + beta·C + bias) with A and B rounded to bf16, the
// products and their sums in float32, C float32 — sgemm's contract (gemm.hpp) in every other
// respect: strides, beta == 0 never reads C, alpha == 0 or K == 0 never reads A or B, the epilogue.
//
//   // Y[B,out] = X[B,in]·Wᵀ + bias with X float32 and W [out,in] held as bf16 bits:
//   bf16_gemm(B, out, in, 1.f, Bf16Operand::of(X, in, 1), Bf16Operand::of(W, 1, in), 0.f, Y, out, 1, {bias});
//
// An operand is float32 (rounded to the nearest bf16, ties to even; NaN stays NaN, ±Inf stays
// ±Inf) or bf16 bits (exact). The variants (bf16_gemm_variants) run on sgemm's driver:
//   - bf16_gemm_12x32__avx512bf16 (AVX512_BF16): the operands are laid out as pairs of bf16 of
//     consecutive k in 32-bit words (k odd: the last pair's second half is zero) and sgemm's
//     blocked driver packs and tiles those words like floats for a micro-kernel that multiplies
//     them with vdpbf16ps (bf16-gemm-12x32-avx512bf16.cpp). A float32 operand is rounded into
//     pair words by the driver's packing itself (one pass over it, no copy); a bf16 operand
//     whose k is contiguous and even is read in place; any other is converted once per call.
//   - via_f32 on every ISA: the operands are rounded to bf16 and widened back to float32, and the
//     ISA's fp32 kernel multiplies them: the same products, summed in another order.
// Both accumulate in float32, so against an exact product of the rounded operands the error is
// sgemm's (about K·2⁻²⁴·Σ|a||b|); against the float32 operands each product carries the rounding
// of both inputs (2⁻⁸ relative each), up to about 2⁻⁷. vdpbf16ps treats subnormal bf16 as zero.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/cpu/cpu_features.hpp"
#include "kernels/gemm/gemm.hpp"

namespace graft::kernels {

/// float32 → bf16 bits, round to nearest, ties to even; NaN stays a (quiet) NaN, ±Inf stays ±Inf.
std::uint16_t round_to_bf16(float f);

/// One operand: float32 values or bf16 bits (exactly one of the two pointers), with its strides.
struct Bf16Operand {
    const float* f32 = nullptr;
    const std::uint16_t* bf16 = nullptr;
    int64 rs = 0, cs = 0;
    static Bf16Operand of(const float* p, int64 rs, int64 cs) { return {p, nullptr, rs, cs}; }
    static Bf16Operand of(const std::uint16_t* p, int64 rs, int64 cs) { return {nullptr, p, rs, cs}; }
};

/// One way of computing the bf16 GEMM.
struct Bf16GemmVariant {
    const char* name;
    Isa isa;      ///< the ISA it runs on (native: Avx512 with AVX512_BF16)
    bool native;  ///< bf16 pair products (vdpbf16ps); false: rounded operands through the fp32 kernel
};

/// The variant bf16_gemm runs on `isa`: native where this CPU has AVX512_BF16 and isa is Avx512.
const Bf16GemmVariant& bf16_gemm_variant(Isa isa);

/// Every variant this CPU runs (tests and benches run each).
std::vector<const Bf16GemmVariant*> bf16_gemm_variants();

/// C = act(alpha·bf16(A)·bf16(B) + beta·C + bias) on bf16_gemm_variant(active_isa()), threaded.
void bf16_gemm(int64 M, int64 N, int64 K, float alpha, const Bf16Operand& A, const Bf16Operand& B, float beta,
               float* C, int64 rsC, int64 csC, const GemmEpilogue& epilogue = {});

/// The same on a given variant (one of bf16_gemm_variants()).
void bf16_gemm(const Bf16GemmVariant& variant, int64 M, int64 N, int64 K, float alpha, const Bf16Operand& A,
               const Bf16Operand& B, float beta, float* C, int64 rsC, int64 csC, const GemmEpilogue& epilogue = {});

/// The widest panel bf16_pack_pairs__avx512bf16 packs (the pair kernel's NR).
constexpr int kBf16PairPanelMaxWidth = 32;

/// The native variant's packing of a float32 operand (bf16-pack-avx512bf16.cpp; only on a CPU
/// with AVX512_BF16; the driver calls it instead of copying words, gemm_on_pairs): R lines × kc
/// pair steps into ⌈R/width⌉ panels of width ≤ kBf16PairPanelMaxWidth lines, panel i at
/// dst + i·width·kc, dst[i·width·kc + p·width + r] = bf16(x[l, 2p]) | bf16(x[l, 2p + 1]) << 16 for
/// line l = i·width + r, with x[l, k] = src[l·rs_r + k·ks]; the high half is zero where
/// 2p + 1 ≥ k_values (the values of k left from src on), and the last panel's lines past R are zero.
void bf16_pack_pairs__avx512bf16(const float* src, int64 rs_r, int64 ks, int64 R, int64 kc, int64 k_values,
                                 float* dst, int width);

}  // namespace graft::kernels
