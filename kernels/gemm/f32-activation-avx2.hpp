// Internal, AVX2 files only: vectorised exp and the GEMM epilogue's activations.
//
// Internal linkage throughout (anonymous namespace) so no AVX2 code can be merged into a
// baseline translation unit. Same formulas and clamps as f32-activation-avx512.hpp; exp builds
// 2^n (no vscalefps in AVX2) as the product of two powers of two, each in the normal range, so
// that overflow gives inf and underflow a denormal rounded once, or 0.
#pragma once

#if !defined(__AVX2__) || !defined(__FMA__)
#error "f32-activation-avx2.hpp is for files compiled with AVX2 and FMA flags (*-avx2.cpp)"
#endif

#include <immintrin.h>

namespace graft::kernels {
namespace {

__m256 exp_avx2(__m256 x) {
    // max/min return their second operand when either is NaN: the order keeps a NaN input.
    x = _mm256_min_ps(_mm256_set1_ps(89.f), _mm256_max_ps(_mm256_set1_ps(-104.f), x));
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.f)));
    // n ∈ [−150, 129] = n1 + n2 with n1, n2 ∈ [−75, 65]: p·2^n1 is exact, ·2^n2 rounds once.
    const __m256i ni = _mm256_cvtps_epi32(n);
    const __m256i n1 = _mm256_srai_epi32(ni, 1);
    const __m256i n2 = _mm256_sub_epi32(ni, n1);
    const __m256i bias = _mm256_set1_epi32(127);
    const __m256 pow2_n1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, bias), 23));
    const __m256 pow2_n2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, bias), 23));
    return _mm256_mul_ps(_mm256_mul_ps(p, pow2_n1), pow2_n2);
}

/// exp(max(x, −87.3)) for x ≤ 0 (NaN kept), for the terms of a max-subtracted sum: the same
/// formulas as exp_nonpositive_avx512.
[[maybe_unused]] __m256 exp_nonpositive_avx2(__m256 x) {
    x = _mm256_max_ps(_mm256_set1_ps(-87.3f), x);
    const __m256 magic = _mm256_set1_ps(12583039.f);  // 1.5·2^23 + 127
    const __m256 t = _mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504088896341f), magic);
    const __m256 n = _mm256_sub_ps(t, magic);
    const __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693147180559945f), x);
    __m256 p = _mm256_set1_ps(8.3125248658e-3f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1890113150e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6667114465e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.9999231792e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.f)));
    return _mm256_mul_ps(p, _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_castps_si256(t), 23)));
}

__m256 gelu_tanh_avx2(__m256 x) {
    x = _mm256_max_ps(_mm256_set1_ps(-20.f), x);
    const __m256 x3 = _mm256_mul_ps(_mm256_mul_ps(x, x), x);
    const __m256 u2 = _mm256_mul_ps(_mm256_fmadd_ps(x3, _mm256_set1_ps(0.044715f), x),
                                    _mm256_set1_ps(-1.59576912160573071f));  // −2·√(2/π)
    return _mm256_div_ps(x, _mm256_add_ps(exp_avx2(u2), _mm256_set1_ps(1.f)));
}

/// t·P(t) of erfc(z) = t·P(t)·exp(−z²), z ≥ 0: callers that have exp(−z²) already save one exp.
__m256 erfc_scaled_avx2(__m256 z) {
    const __m256 t = _mm256_div_ps(_mm256_set1_ps(1.f),
                                   _mm256_fmadd_ps(z, _mm256_set1_ps(0.3275911f), _mm256_set1_ps(1.f)));
    __m256 poly = _mm256_set1_ps(1.061405429f);
    poly = _mm256_fmadd_ps(poly, t, _mm256_set1_ps(-1.453152027f));
    poly = _mm256_fmadd_ps(poly, t, _mm256_set1_ps(1.421413741f));
    poly = _mm256_fmadd_ps(poly, t, _mm256_set1_ps(-0.284496736f));
    poly = _mm256_fmadd_ps(poly, t, _mm256_set1_ps(0.254829592f));
    return _mm256_mul_ps(poly, t);
}

/// erfc(z) for z ≥ 0 (NaN kept).
__m256 erfc_avx2(__m256 z) {
    return _mm256_mul_ps(erfc_scaled_avx2(z), exp_avx2(_mm256_mul_ps(_mm256_mul_ps(z, z), _mm256_set1_ps(-1.f))));
}

__m256 gelu_erf_avx2(__m256 x) {
    const __m256 xc = _mm256_min_ps(_mm256_set1_ps(15.f), _mm256_max_ps(_mm256_set1_ps(-15.f), x));
    const __m256 z = _mm256_mul_ps(_mm256_andnot_ps(_mm256_set1_ps(-0.f), xc), _mm256_set1_ps(0.70710678118654752f));
    const __m256 h = _mm256_mul_ps(_mm256_mul_ps(xc, _mm256_set1_ps(0.5f)), erfc_avx2(z));
    const __m256 positive = _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_GE_OQ);
    return _mm256_blendv_ps(h, _mm256_sub_ps(x, h), positive);
}

}  // namespace
}  // namespace graft::kernels
