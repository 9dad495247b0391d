// Internal: the float32 GEMM micro-kernel contract (BLIS) and the list of variants.
//
// One call computes one tile of C, at most MR rows × NR columns, from a k-long panel of A and a
// k-long panel of B, and writes it with the epilogue:
//
//   C[i, j] = act(alpha · Σ_p a[p·lda + i] · b[p·ldb + j] + beta · C[i, j] + bias[j])
//
// for i < rows, j < cols. Packed panels have lda = MR and ldb = NR; the driver may also point a
// and b straight into a matrix whose layout already matches (then lda/ldb are its strides).
// b is read for all NR columns of each p (pad a partial panel with zeros); a only for i < rows.
// beta == 0 never reads C. A kernel reads and writes nothing else, allocates nothing, never throws.
//
// One variant per file, named for dtype, op, tile and ISA (f32-gemm-12x32-avx512.cpp holds
// f32_gemm_12x32__avx512); each file is compiled with its ISA's flags and must only be called
// once cpu_features says the CPU runs that ISA. The SIMD variants are one body, ukernel-body.hpp,
// instantiated per file over that ISA's lane type (kernels/vector/simd-*.hpp) and tile shape.
// This header declares; it defines nothing inline.
#pragma once

#include "kernels/cpu/cpu_features.hpp"
#include "kernels/gemm/gemm.hpp"

namespace graft::kernels {

/// The arguments of one micro-tile.
struct F32GemmTile {
    int64 kc;             ///< the panels' depth; 0: no product (a and b unread), C = act(beta·C + bias)
    const float* a;       ///< a[p·lda + i]: A's panel, i < rows
    int64 lda;
    const float* b;       ///< b[p·ldb + j]: B's panel, j < NR
    int64 ldb;
    float* c;             ///< C[i, j] at c[i·rs_c + j·cs_c]
    int64 rs_c, cs_c;
    int rows, cols;       ///< 1 ≤ rows ≤ MR, 1 ≤ cols ≤ NR
    float alpha, beta;
    const float* bias;    ///< bias[j] for j < cols, or nullptr
    Activation act;
};

using F32GemmUkernel = void (*)(const F32GemmTile& tile);

/// A micro-kernel with the blocking its driver uses.
struct F32GemmVariant {
    const char* name;
    Isa isa;
    int mr, nr;              ///< tile: rows × columns
    int64 mc, kc, nc;        ///< cache blocks: rows of A per L2 block, depth, columns of B per L3 block
    F32GemmUkernel ukernel;
};

void f32_gemm_4x8__scalar(const F32GemmTile& tile);
void f32_gemm_6x16__avx2(const F32GemmTile& tile);
void f32_gemm_12x32__avx512(const F32GemmTile& tile);
/// The bf16 pair kernel (bf16_gemm.hpp): a and b hold two bf16 of consecutive k per float slot.
void bf16_gemm_12x32__avx512bf16(const F32GemmTile& tile);

/// The variant that runs on `isa`.
const F32GemmVariant& f32_gemm_variant(Isa isa);

/// sgemm's blocked, threaded driver on a given micro-kernel (sgemm: f32_gemm_variant(active_isa());
/// bf16_gemm: its pair kernel on operands of pair words), whatever the GEMM precision.
void gemm_on_variant(const F32GemmVariant& variant, int64 M, int64 N, int64 K, float alpha, const float* A, int64 rsA,
                     int64 csA, const float* B, int64 rsB, int64 csB, float beta, float* C, int64 rsC, int64 csC,
                     const GemmEpilogue& epilogue);

/// gemm_on_variant for the bf16 pair kernel (bf16_gemm.hpp) over K values of k, whatever the GEMM
/// precision: an operand flagged `values` holds float32 values (strides per value), rounded into
/// pair words while the driver packs it; an unflagged one already holds pair words (strides per
/// pair, ⌈K/2⌉ of them).
void gemm_on_pairs(const F32GemmVariant& variant, int64 M, int64 N, int64 K, float alpha, const float* A, int64 rsA,
                   int64 csA, bool a_values, const float* B, int64 rsB, int64 csB, bool b_values, float beta, float* C,
                   int64 rsC, int64 csC, const GemmEpilogue& epilogue);

}  // namespace graft::kernels
