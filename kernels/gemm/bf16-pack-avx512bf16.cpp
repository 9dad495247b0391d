// The native bf16 GEMM's operand conversions (bf16_gemm.hpp) on AVX512_BF16: float32 rounded to
// bf16 by vcvtne2ps2bf16 / vcvtneps2bf16 (nearest, ties to even, NaN stays NaN; like vdpbf16ps,
// which consumes the result, they treat subnormals as zero), 32 or 16 values per instruction.
#include <immintrin.h>

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
        _mm512_mask_storeu_epi16(out + c, store, reinterpret_cast<const __m512i&>(h));
    }
}

void bf16_pair_rows__avx512bf16(const float* even, const float* odd, int64 R, float* dst) {
    // Word r: bf16(even[r]) in the low half, bf16(odd[r]) (or zero without an odd row) in the high.
    for (int64 r = 0; r < R; r += 16) {
        const int64 n = R - r;
        const __mmask16 mask = n >= 16 ? 0xffff : static_cast<__mmask16>((1u << n) - 1u);
        const __m256bh e = _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(mask, even + r));
        __m512i words = _mm512_cvtepu16_epi32(reinterpret_cast<const __m256i&>(e));
        if (odd) {
            const __m256bh o = _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(mask, odd + r));
            words = _mm512_or_si512(words, _mm512_slli_epi32(_mm512_cvtepu16_epi32(reinterpret_cast<const __m256i&>(o)), 16));
        }
        _mm512_mask_storeu_epi32(dst + r, mask, words);
    }
}

}  // namespace graft::kernels
