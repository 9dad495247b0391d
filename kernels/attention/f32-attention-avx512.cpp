// The float32 attention row kernels for AVX-512: online softmax and exp against the saved
// log-sum-exp, 16 lanes at a time with a masked tail, exp from f32-activation-avx512.hpp.
// The shared header's activations are unused here; GCC 12's _mm512_reduce_max_ps reads an
// undefined vector it then ignores (the same false warning as GCC bug 105593).
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wuninitialized"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels/attention/attention.hpp"
#include "kernels/gemm/f32-activation-avx512.hpp"

namespace graft::kernels {

namespace {

/// exp(d) with d ≤ 0; −inf and anything below exp's range become exactly 0, NaN stays NaN
/// (max returns its second operand, d, when d is NaN; NLT_UQ is true for NaN).
__m512 exp_nonpositive(__m512 d) {
    const __mmask16 live = _mm512_cmp_ps_mask(d, _mm512_set1_ps(-88.f), _CMP_NLT_UQ);
    return _mm512_maskz_mov_ps(live, exp_avx512(_mm512_max_ps(_mm512_set1_ps(-88.f), d)));
}

__mmask16 tail_mask(int64 count) { return static_cast<__mmask16>((1u << count) - 1u); }

/// row[j] ← exp(row[j] − shift) for j < n; returns Σ of the new values.
float exp_shifted_row(float* row, int64 n, float shift) {
    const __m512 vshift = _mm512_set1_ps(shift);
    __m512 vsum = _mm512_setzero_ps();
    int64 j = 0;
    for (; j + 16 <= n; j += 16) {
        const __m512 e = exp_nonpositive(_mm512_sub_ps(_mm512_loadu_ps(row + j), vshift));
        _mm512_storeu_ps(row + j, e);
        vsum = _mm512_add_ps(vsum, e);
    }
    if (j < n) {
        const __mmask16 mask = tail_mask(n - j);
        const __m512 e = exp_nonpositive(_mm512_sub_ps(_mm512_maskz_loadu_ps(mask, row + j), vshift));
        _mm512_mask_storeu_ps(row + j, mask, e);
        vsum = _mm512_mask_add_ps(vsum, mask, vsum, e);
    }
    return _mm512_reduce_add_ps(vsum);
}

}  // namespace

void f32_attn_softmax_rows__avx512(int64 m, int64 n, float* s, int64 lds, float* mx, float* l, float* rescale) {
    constexpr float kNegInf = -std::numeric_limits<float>::infinity();
    for (int64 r = 0; r < m; ++r) {
        float* row = s + r * lds;
        __m512 vmax = _mm512_set1_ps(kNegInf);
        int64 j = 0;
        for (; j + 16 <= n; j += 16) vmax = _mm512_max_ps(vmax, _mm512_loadu_ps(row + j));
        if (j < n) {
            const __mmask16 mask = tail_mask(n - j);
            vmax = _mm512_mask_max_ps(vmax, mask, vmax, _mm512_maskz_loadu_ps(mask, row + j));
        }
        const float next = std::max(mx[r], _mm512_reduce_max_ps(vmax));
        const float factor = mx[r] == kNegInf ? 0.f : std::exp(mx[r] - next);
        const float sum = exp_shifted_row(row, n, next);
        rescale[r] = factor;
        l[r] = l[r] * factor + sum;
        mx[r] = next;
    }
}

void f32_attn_exp_rows__avx512(int64 m, int64 n, float* s, int64 lds, const float* lse) {
    for (int64 r = 0; r < m; ++r) exp_shifted_row(s + r * lds, n, lse[r]);
}

}  // namespace graft::kernels
