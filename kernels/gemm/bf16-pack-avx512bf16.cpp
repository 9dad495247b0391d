// The native bf16 GEMM's operand conversions (bf16_gemm.hpp) on AVX512_BF16: float32 rounded to
// bf16 by vcvtne2ps2bf16 / vcvtneps2bf16 (nearest, ties to even, NaN stays NaN; like vdpbf16ps,
// which consumes the result, they treat subnormals as zero), 32 or 16 values per instruction.
#include <immintrin.h>

#include <bit>
#include <cstdint>

#include "kernels/gemm/bf16_gemm.hpp"

namespace graft::kernels {

void bf16_pair_line__avx512bf16(const float* src, int64 K, float* dst) {
    // Two bf16 of consecutive k per word is the line's values in order: round 32 at a time, with
    // zeros past K (the second half of the last word when K is odd).
    auto* out = reinterpret_cast<std::uint16_t*>(dst);
    const int64 padded = (K + 1) / 2 * 2;
    for (int64 c = 0; c < padded; c += 32) {
        const int64 n = K - c;
        const __mmask16 lo = n >= 16 ? 0xffff : static_cast<__mmask16>((1u << n) - 1u);
        const __mmask16 hi = n >= 32 ? 0xffff : n <= 16 ? 0 : static_cast<__mmask16>((1u << (n - 16)) - 1u);
        const __m512 a = _mm512_maskz_loadu_ps(lo, src + c), b = _mm512_maskz_loadu_ps(hi, src + c + 16);
        const __m512bh h = _mm512_cvtne2ps_pbh(b, a);
        const int64 m = padded - c;
        const __mmask32 store = m >= 32 ? 0xffffffffu : static_cast<__mmask32>((1u << m) - 1u);
        _mm512_mask_storeu_epi16(out + c, store, std::bit_cast<__m512i>(h));
    }
}

void bf16_pair_rows__avx512bf16(const float* even, const float* odd, int64 R, float* dst) {
    // Word r: bf16(even[r]) in the low half, bf16(odd[r]) (or zero without an odd row) in the high.
    // Round 16 of each row into one vector (even in bf16 lanes 0–15, odd in 16–31), then
    // interleave the two halves lane by lane.
    alignas(64) static constexpr std::uint16_t INTERLEAVE[32] = {0, 16, 1, 17, 2,  18, 3,  19, 4,  20, 5,
                                                                 21, 6, 22, 7, 23, 8,  24, 9,  25, 10, 26,
                                                                 11, 27, 12, 28, 13, 29, 14, 30, 15, 31};
    const __m512i interleave = _mm512_load_si512(INTERLEAVE);
    for (int64 r = 0; r < R; r += 16) {
        const int64 n = R - r;
        const __mmask16 mask = n >= 16 ? 0xffff : static_cast<__mmask16>((1u << n) - 1u);
        const __m512 e = _mm512_maskz_loadu_ps(mask, even + r);
        const __m512 o = odd ? _mm512_maskz_loadu_ps(mask, odd + r) : _mm512_setzero_ps();
        const __m512i halves = std::bit_cast<__m512i>(_mm512_cvtne2ps_pbh(o, e));
        _mm512_mask_storeu_epi32(dst + r, mask, _mm512_permutexvar_epi16(interleave, halves));
    }
}

}  // namespace graft::kernels
