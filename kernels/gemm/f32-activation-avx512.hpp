// Internal, AVX-512 files only: vectorised exp and the GEMM epilogue's activations.
//
// Everything here has internal linkage (anonymous namespace), so each *-avx512.cpp gets its own
// copy and no AVX-512 code can be merged into a baseline translation unit by the linker.
//   exp:       input clamped to [−104, 89] (NaN kept), Cody–Waite reduction to r ∈ [−ln2/2, ln2/2],
//              Cephes' degree-5 polynomial, vscalefps for 2^n (over/underflow to inf/0, denormals
//              rounded once); ≤ 2 ulp, ±inf → inf/0.
//   erfc:      Abramowitz–Stegun 7.1.26 for z ≥ 0 (|error| ≤ 1.5e-7).
//   gelu_tanh: x·σ(2u) with u = √(2/π)(x + 0.044715x³), the identity 0.5(1 + tanh u) = σ(2u);
//              x below −20 (where the result is 0 in float) is clamped, so −inf gives −0.
//   gelu_erf:  0.5x(1 + erf(x/√2)) written as x − h or h (h = 0.5·x·erfc(|x|/√2)) so negative x
//              loses no digits; h is taken at x clamped to ±15, where it is 0 in float.
#pragma once

#if !defined(__AVX512F__)
#error "f32-activation-avx512.hpp is for files compiled with AVX-512 flags (*-avx512.cpp)"
#endif

// GCC 12's _mm512_undefined_ps() (behind max, min, roundscale, scalef, rcp14) trips a false
// -Wmaybe-uninitialized or -Wuninitialized once inlined (GCC bug 105593, fixed in GCC 13): in
// the GEMM epilogue's activation and where a loop's max(load, running max) is inlined twice
// (softmax-body.hpp's max_ignoring_nan).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

#include <immintrin.h>

namespace graft::kernels {
namespace {

__m512 exp_avx512(__m512 x) {
    // max/min return their second operand when either is NaN: the order keeps a NaN input.
    x = _mm512_min_ps(_mm512_set1_ps(89.f), _mm512_max_ps(_mm512_set1_ps(-104.f), x));
    const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.f)));
    return _mm512_scalef_ps(p, n);
}

/// exp(max(x, −87.3)) for x ≤ 0 (NaN kept), for the terms of a max-subtracted sum of
/// exponentials, which holds exp(0) = 1: relative error 1.1e-7 + |n|·2e-9 on a term near 2^n
/// (n = round(x/ln 2) ∈ [−126, 0]), so below the sum's last digit. Cheaper than exp_avx512: no
/// overflow clamp (and −inf gives 1.2e-38, not 0), one-step reduction x − n·ln 2, a degree-5
/// minimax polynomial in place of Cephes' 1 + r + r²·P(r) (degree 7), and 2^n built from the
/// rounding's own bits.
[[maybe_unused]] __m512 exp_nonpositive_avx512(__m512 x) {
    x = _mm512_max_ps(_mm512_set1_ps(-87.3f), x);
    // 1.5·2^23 + 127 rounds x/ln 2 to the integer n and holds n + 127 in t's low mantissa bits.
    const __m512 magic = _mm512_set1_ps(12583039.f);
    const __m512 t = _mm512_fmadd_ps(x, _mm512_set1_ps(1.44269504088896341f), magic);
    const __m512 n = _mm512_sub_ps(t, magic);
    const __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693147180559945f), x);
    __m512 p = _mm512_set1_ps(8.3125248658e-3f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1890113150e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6667114465e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.9999231792e-1f));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.f)));
    return _mm512_mul_ps(p, _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_castps_si512(t), 23)));
}

/// 1/d to ~23 bits: rcp14 and one Newton step.
__m512 reciprocal_avx512(__m512 d) {
    const __m512 y = _mm512_rcp14_ps(d);
    return _mm512_mul_ps(y, _mm512_fnmadd_ps(d, y, _mm512_set1_ps(2.f)));
}

__m512 gelu_tanh_avx512(__m512 x) {
    x = _mm512_max_ps(_mm512_set1_ps(-20.f), x);
    const __m512 x3 = _mm512_mul_ps(_mm512_mul_ps(x, x), x);
    const __m512 u2 = _mm512_mul_ps(_mm512_fmadd_ps(x3, _mm512_set1_ps(0.044715f), x),
                                    _mm512_set1_ps(-1.59576912160573071f));  // −2·√(2/π)
    // exp(−2u) overflows to inf for very negative x: x / inf = −0, the right limit.
    return _mm512_div_ps(x, _mm512_add_ps(exp_avx512(u2), _mm512_set1_ps(1.f)));
}

/// t·P(t) of erfc(z) = t·P(t)·exp(−z²), z ≥ 0: callers that have exp(−z²) already save one exp.
__m512 erfc_scaled_avx512(__m512 z) {
    const __m512 t = reciprocal_avx512(_mm512_fmadd_ps(z, _mm512_set1_ps(0.3275911f), _mm512_set1_ps(1.f)));
    __m512 poly = _mm512_set1_ps(1.061405429f);
    poly = _mm512_fmadd_ps(poly, t, _mm512_set1_ps(-1.453152027f));
    poly = _mm512_fmadd_ps(poly, t, _mm512_set1_ps(1.421413741f));
    poly = _mm512_fmadd_ps(poly, t, _mm512_set1_ps(-0.284496736f));
    poly = _mm512_fmadd_ps(poly, t, _mm512_set1_ps(0.254829592f));
    return _mm512_mul_ps(poly, t);
}

/// erfc(z) for z ≥ 0 (NaN kept).
__m512 erfc_avx512(__m512 z) {
    return _mm512_mul_ps(erfc_scaled_avx512(z), exp_avx512(_mm512_mul_ps(_mm512_mul_ps(z, z), _mm512_set1_ps(-1.f))));
}

__m512 gelu_erf_avx512(__m512 x) {
    const __m512 xc = _mm512_min_ps(_mm512_set1_ps(15.f), _mm512_max_ps(_mm512_set1_ps(-15.f), x));
    const __m512 z = _mm512_mul_ps(_mm512_abs_ps(xc), _mm512_set1_ps(0.70710678118654752f));
    const __m512 h = _mm512_mul_ps(_mm512_mul_ps(xc, _mm512_set1_ps(0.5f)), erfc_avx512(z));
    const __mmask16 positive = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_GE_OQ);
    return _mm512_mask_sub_ps(h, positive, x, h);
}

}  // namespace
}  // namespace graft::kernels
