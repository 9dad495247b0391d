// The values-only max-pool row kernels (max_rows, max_columns; contracts in pool.hpp), AVX-512:
// sixteen columns a step down the rows; sixteen windows a step across, their taps gathered from
// two vectors by one permute each at stride 2 (ResNet's 3×3/2 stem pool) and by shifted loads at
// stride 1. NaN is kept by a blend: vmaxps returns its second operand when either is NaN.
// GCC 12's _mm512_max_ps (through _mm512_undefined_ps) trips a false -Wmaybe-uninitialized once
// inlined (GCC bug 105593, fixed in GCC 13), as in kernels/gemm/f32-activation-avx512.hpp.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <immintrin.h>

#include "kernels/pool/pool.hpp"

namespace graft::kernels {

namespace {

__m512 max_keeping_nan(__m512 a, __m512 b) {
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q), _mm512_max_ps(a, b), a);
}

__mmask16 first_lanes(int64 count) { return static_cast<__mmask16>((1u << count) - 1u); }

}  // namespace

void f32_max_rows__avx512(int64 count, int64 W, const float* x, int64 row_step, float* m) {
    int64 w = 0;
    for (; w + 16 <= W; w += 16) {
        __m512 v = _mm512_loadu_ps(x + w);
        for (int64 i = 1; i < count; ++i) v = max_keeping_nan(v, _mm512_loadu_ps(x + i * row_step + w));
        _mm512_storeu_ps(m + w, v);
    }
    if (w < W) {
        const __mmask16 k = first_lanes(W - w);
        __m512 v = _mm512_maskz_loadu_ps(k, x + w);
        for (int64 i = 1; i < count; ++i) v = max_keeping_nan(v, _mm512_maskz_loadu_ps(k, x + i * row_step + w));
        _mm512_mask_storeu_ps(m + w, k, v);
    }
}

void f32_max_columns__avx512(int64 OW, int64 kw, int64 sw, const float* m, float* y) {
    if (sw != 1 && sw != 2) return max_columns_scalar(OW, kw, sw, m, y);
    // Stride 2: window ow0 + i's tap j is m[2·ow0 + 2i + j], lane 2i of the 32 floats from
    // m + 2·ow0 + j (j even: their even lanes; j odd: the odd lanes of those from one before).
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    auto tap = [&](const float* first, int64 j) {
        if (sw == 1) return _mm512_loadu_ps(first + j);
        const float* base = first + (j & ~int64{1});
        return _mm512_permutex2var_ps(_mm512_loadu_ps(base), (j & 1) ? odd : even, _mm512_loadu_ps(base + 16));
    };
    // Full loads past the last window stay inside m's slack (kMaxPoolScratchSlack ≥ 33 floats).
    for (int64 ow = 0; ow < OW; ow += 16) {
        const float* first = m + ow * sw;
        __m512 best = tap(first, 0);
        for (int64 j = 1; j < kw; ++j) best = max_keeping_nan(best, tap(first, j));
        if (ow + 16 <= OW)
            _mm512_storeu_ps(y + ow, best);
        else
            _mm512_mask_storeu_ps(y + ow, first_lanes(OW - ow), best);
    }
}

}  // namespace graft::kernels
