// The float32 attention row kernels for AVX2+FMA: online softmax and exp against the saved
// log-sum-exp, 8 lanes at a time with a scalar tail, exp from f32-activation-avx2.hpp.
// The shared header's activations are unused here.
#pragma GCC diagnostic ignored "-Wunused-function"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels/attention/attention.hpp"
#include "kernels/gemm/f32-activation-avx2.hpp"

namespace graft::kernels {

namespace {

/// exp(d) with d ≤ 0; −inf and anything below exp's range become exactly 0, NaN stays NaN
/// (exp_avx2 clamps its argument, which would turn a NaN into a number).
__m256 exp_nonpositive(__m256 d) {
    const __m256 live = _mm256_cmp_ps(d, _mm256_set1_ps(-87.f), _CMP_GE_OQ);
    const __m256 nan = _mm256_cmp_ps(d, d, _CMP_UNORD_Q);
    return _mm256_blendv_ps(_mm256_and_ps(live, exp_avx2(d)), d, nan);
}

float horizontal_sum(__m256 v) {
    __m128 x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    x = _mm_add_ps(x, _mm_movehl_ps(x, x));
    x = _mm_add_ss(x, _mm_movehdup_ps(x));
    return _mm_cvtss_f32(x);
}

float horizontal_max(__m256 v) {
    __m128 x = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    x = _mm_max_ps(x, _mm_movehl_ps(x, x));
    x = _mm_max_ss(x, _mm_movehdup_ps(x));
    return _mm_cvtss_f32(x);
}

/// row[j] ← exp(row[j] − shift) for j < n; returns Σ of the new values.
float exp_shifted_row(float* row, int64 n, float shift) {
    const __m256 vshift = _mm256_set1_ps(shift);
    __m256 vsum = _mm256_setzero_ps();
    int64 j = 0;
    for (; j + 8 <= n; j += 8) {
        const __m256 e = exp_nonpositive(_mm256_sub_ps(_mm256_loadu_ps(row + j), vshift));
        _mm256_storeu_ps(row + j, e);
        vsum = _mm256_add_ps(vsum, e);
    }
    float sum = horizontal_sum(vsum);
    for (; j < n; ++j) {
        row[j] = std::exp(row[j] - shift);
        sum += row[j];
    }
    return sum;
}

}  // namespace

void f32_attn_softmax_rows__avx2(int64 m, int64 n, float* s, int64 lds, float* mx, float* l, float* rescale) {
    constexpr float kNegInf = -std::numeric_limits<float>::infinity();
    for (int64 r = 0; r < m; ++r) {
        float* row = s + r * lds;
        __m256 vmax = _mm256_set1_ps(kNegInf);
        int64 j = 0;
        for (; j + 8 <= n; j += 8) vmax = _mm256_max_ps(vmax, _mm256_loadu_ps(row + j));
        float next = std::max(mx[r], horizontal_max(vmax));
        for (; j < n; ++j) next = std::max(next, row[j]);
        const float factor = mx[r] == kNegInf ? 0.f : std::exp(mx[r] - next);
        const float sum = exp_shifted_row(row, n, next);
        rescale[r] = factor;
        l[r] = l[r] * factor + sum;
        mx[r] = next;
    }
}

void f32_attn_exp_rows__avx2(int64 m, int64 n, float* s, int64 lds, const float* lse) {
    for (int64 r = 0; r < m; ++r) exp_shifted_row(s + r * lds, n, lse[r]);
}

}  // namespace graft::kernels
