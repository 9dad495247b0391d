// The bf16 GEMM (bf16_gemm.hpp): the operands' conversion and the variant table.
//
// The native variant hands float32 operands to sgemm's driver as they are (gemm_on_pairs): the
// driver rounds them into pair words while it packs its panels (bf16_pack_pairs__avx512bf16,
// AVX512_BF16's own conversions, which treat subnormals as zero as vdpbf16ps does), so an operand
// is read once, with no converted copy, and runs with depth ⌈K/2⌉. A bf16 operand that is not
// already in the pair layout, and both operands of the via_f32 variants, are converted first:
// an operand is a set of R lines (A's rows, B's columns) of K values, converted into a buffer
// laid out like its source — line-major when the source's k is contiguous, else k-major — so
// that the conversion reads and writes contiguous memory on the common layouts, and the driver
// (whose packing reads any strides) takes the buffer with the matching strides. The pair buffer
// holds ⌈K/2⌉ pair words per line; the via_f32 buffer the rounded values as float32, one at a
// time (round_to_bf16). Conversions run on the threads of parallel_for; the buffers are
// grow-only, one pair per calling thread.
#include "kernels/gemm/bf16_gemm.hpp"

#include <bit>

#include "kernels/cpu/parallel.hpp"
#include "kernels/cpu/workspace.hpp"
#include "kernels/gemm/ukernel.hpp"

namespace graft::kernels {

namespace {

// The native kernel's blocking, in pair words, the fp32 kernel's in words: kc = 512 pairs (1024
// values of k per K block: a 12×512-word A panel, 24 KiB, in L1; the GPT's K = 1024 and 2048
// GEMMs take one or two blocks, about a tenth faster than with 256 pairs, bench_bf16_gemm), mc
// and nc as the fp32 kernel's.
constexpr F32GemmVariant PAIR_KERNEL = {"bf16_gemm_12x32__avx512bf16", Isa::Avx512, 12, 32, 256, 512, 4096,
                                        &bf16_gemm_12x32__avx512bf16};

constexpr Bf16GemmVariant VARIANTS[] = {
    {"bf16_gemm__scalar_via_f32", Isa::Scalar, false},
    {"bf16_gemm__avx2_via_f32", Isa::Avx2, false},
    {"bf16_gemm__avx512_via_f32", Isa::Avx512, false},
    {PAIR_KERNEL.name, Isa::Avx512, true},
};

bool runs_here(const Bf16GemmVariant& v) {
    return isa_supported(v.isa, cpu_features()) && (!v.native || cpu_features().avx512_bf16);
}

std::uint32_t bf16_bits(float f) { return round_to_bf16(f); }
std::uint32_t bf16_bits(std::uint16_t h) { return h; }

/// One converted operand: where its element (line r, step s) is, s a value of k (via_f32) or a
/// pair of them (native).
struct Converted {
    const float* data;
    int64 rs_line, rs_step;
};

/// The R×K operand at src (line stride ls, k stride ks) converted into dst: pairs of bf16 of
/// consecutive k per word (PAIRS) or bf16-rounded float32 values, line-major when ks == 1.
template <bool PAIRS, class Src>
Converted convert(const Src* src, int64 ls, int64 ks, int64 R, int64 K, float* dst) {
    const int64 steps = PAIRS ? (K + 1) / 2 : K;
    const bool line_major = ks == 1;
    const Converted out{dst, line_major ? steps : 1, line_major ? 1 : R};
    // The word (or value) of line r, step s.
    auto word = [&](int64 r, int64 s) -> float {
        const Src* line = src + r * ls;
        if constexpr (PAIRS) {
            const std::uint32_t lo = bf16_bits(line[2 * s * ks]);
            const std::uint32_t hi = 2 * s + 1 < K ? bf16_bits(line[(2 * s + 1) * ks]) : 0u;
            return std::bit_cast<float>(lo | hi << 16);
        } else {
            return std::bit_cast<float>(bf16_bits(line[s * ks]) << 16);
        }
    };
    if (line_major)
        parallel_for(0, R, R * K, [&](int64 lo, int64 hi) {
            for (int64 r = lo; r < hi; ++r)
                for (int64 s = 0; s < steps; ++s) dst[r * out.rs_line + s] = word(r, s);
        });
    else
        parallel_for(0, steps, R * K, [&](int64 lo, int64 hi) {
            for (int64 s = lo; s < hi; ++s)
                for (int64 r = 0; r < R; ++r) dst[s * out.rs_step + r] = word(r, s);
        });
    return out;
}

/// The operand's R lines × K values (line stride ls, k stride ks) ready for the variant's kernel,
/// converted into `scratch` unless a bf16 source already has the pair layout.
template <bool PAIRS>
Converted prepare(const Bf16Operand& x, int64 ls, int64 ks, int64 R, int64 K, Workspace& scratch) {
    const int64 steps = PAIRS ? (K + 1) / 2 : K;
    if constexpr (PAIRS) {
        // bf16 with k contiguous, K and the line stride even, the base 4-byte aligned: already pairs.
        if (x.bf16 && ks == 1 && K % 2 == 0 && ls % 2 == 0 && reinterpret_cast<std::uintptr_t>(x.bf16) % 4 == 0)
            return {reinterpret_cast<const float*>(x.bf16), ls / 2, 1};
    }
    float* dst = scratch.reserve(R * steps);
    return x.f32 ? convert<PAIRS>(x.f32, ls, ks, R, K, dst) : convert<PAIRS>(x.bf16, ls, ks, R, K, dst);
}

thread_local Workspace tl_a, tl_b;

/// The native variant: float32 operands go to the driver as they are and are rounded into pair
/// words as it packs them; bf16 ones are laid out as pair words first (prepare).
void run_pairs(int64 M, int64 N, int64 K, float alpha, const Bf16Operand& A, const Bf16Operand& B, float beta, float* C,
               int64 rsC, int64 csC, const GemmEpilogue& epilogue) {
    const Converted a = A.f32 ? Converted{A.f32, A.rs, A.cs} : prepare<true>(A, A.rs, A.cs, M, K, tl_a);
    const Converted b = B.f32 ? Converted{B.f32, B.cs, B.rs} : prepare<true>(B, B.cs, B.rs, N, K, tl_b);
    gemm_on_pairs(PAIR_KERNEL, M, N, K, alpha, a.data, a.rs_line, a.rs_step, A.f32 != nullptr, b.data, b.rs_step,
                  b.rs_line, B.f32 != nullptr, beta, C, rsC, csC, epilogue);
}

/// A via_f32 variant: both operands rounded into float32 buffers, then the ISA's fp32 kernel.
void run_via_f32(const F32GemmVariant& kernel, int64 M, int64 N, int64 K, float alpha, const Bf16Operand& A,
                 const Bf16Operand& B, float beta, float* C, int64 rsC, int64 csC, const GemmEpilogue& epilogue) {
    const Converted a = prepare<false>(A, A.rs, A.cs, M, K, tl_a);
    const Converted b = prepare<false>(B, B.cs, B.rs, N, K, tl_b);
    gemm_on_variant(kernel, M, N, K, alpha, a.data, a.rs_line, a.rs_step, b.data, b.rs_step, b.rs_line, beta, C, rsC,
                    csC, epilogue);
}

}  // namespace

std::uint16_t round_to_bf16(float f) {
    const std::uint32_t u = std::bit_cast<std::uint32_t>(f);
    const bool nan = (u & 0x7fffffffu) > 0x7f800000u;
    // Adding 0x7fff plus the lowest kept bit carries into the kept half exactly when the dropped
    // half is above one half, or equal to it with the kept half odd; Inf's dropped half is zero.
    const std::uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
    return static_cast<std::uint16_t>(nan ? (u >> 16) | 0x40u : rounded);
}

const Bf16GemmVariant& bf16_gemm_variant(Isa isa) {
    const Bf16GemmVariant* best = &VARIANTS[0];
    for (const Bf16GemmVariant& v : VARIANTS)
        if (v.isa == isa && runs_here(v)) best = &v;  // the native one comes after its ISA's via_f32
    return *best;
}

std::vector<const Bf16GemmVariant*> bf16_gemm_variants() {
    std::vector<const Bf16GemmVariant*> out;
    for (const Bf16GemmVariant& v : VARIANTS)
        if (runs_here(v)) out.push_back(&v);
    return out;
}

void bf16_gemm(int64 M, int64 N, int64 K, float alpha, const Bf16Operand& A, const Bf16Operand& B, float beta,
               float* C, int64 rsC, int64 csC, const GemmEpilogue& epilogue) {
    bf16_gemm(bf16_gemm_variant(active_isa()), M, N, K, alpha, A, B, beta, C, rsC, csC, epilogue);
}

void bf16_gemm(const Bf16GemmVariant& variant, int64 M, int64 N, int64 K, float alpha, const Bf16Operand& A,
               const Bf16Operand& B, float beta, float* C, int64 rsC, int64 csC, const GemmEpilogue& epilogue) {
    if (M <= 0 || N <= 0) return;
    if (K <= 0 || alpha == 0.f) {
        // No product: the fp32 driver's beta and epilogue pass, A and B unread.
        gemm_on_variant(f32_gemm_variant(variant.isa), M, N, 0, alpha, nullptr, 0, 0, nullptr, 0, 0, beta, C, rsC,
                        csC, epilogue);
        return;
    }
    if (variant.native)
        run_pairs(M, N, K, alpha, A, B, beta, C, rsC, csC, epilogue);
    else
        run_via_f32(f32_gemm_variant(variant.isa), M, N, K, alpha, A, B, beta, C, rsC, csC, epilogue);
}

}  // namespace graft::kernels
