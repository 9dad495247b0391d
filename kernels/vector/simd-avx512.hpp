// Internal, AVX-512 files only: the 16-lane float vector that the generic kernels/vector bodies
// (*-body.hpp) are written against — loads with a masked tail, arithmetic, compares and selects,
// horizontal sums, double accumulators, and the math of f32-activation-avx512.hpp.
// Internal linkage throughout, so no AVX-512 code can be merged into a baseline translation unit.
#pragma once

#if !defined(__AVX512F__) || !defined(__AVX512DQ__)
#error "simd-avx512.hpp is for files compiled with AVX-512 flags (*-avx512.cpp)"
#endif

#include <immintrin.h>

#include <cstdint>

#include "kernels/gemm/f32-activation-avx512.hpp"

namespace graft::kernels {
namespace {

struct Simd16 {
    using V = __m512;
    using M = __mmask16;
    static constexpr std::int64_t W = 16;

    static M first(std::int64_t count) { return static_cast<__mmask16>((1u << count) - 1u); }
    static V load(const float* p) { return _mm512_loadu_ps(p); }
    static void store(float* p, V v) { _mm512_storeu_ps(p, v); }
    /// The first `count` (0..15) lanes from p, `fill` in the others.
    static V load_tail(const float* p, std::int64_t count, float fill) {
        return _mm512_mask_loadu_ps(_mm512_set1_ps(fill), first(count), p);
    }
    /// A hint (never faults, any address): bring p's cache line into L1.
    static void prefetch(const float* p) { _mm_prefetch(reinterpret_cast<const char*>(p), _MM_HINT_T0); }
    static void store_tail(float* p, std::int64_t count, V v) { _mm512_mask_storeu_ps(p, first(count), v); }

    static V set1(float a) { return _mm512_set1_ps(a); }
    static V add(V a, V b) { return _mm512_add_ps(a, b); }
    static V sub(V a, V b) { return _mm512_sub_ps(a, b); }
    static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
    static V div(V a, V b) { return _mm512_div_ps(a, b); }
    static V fmadd(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }   ///< a·b + c
    static V fnmadd(V a, V b, V c) { return _mm512_fnmadd_ps(a, b, c); } ///< c − a·b
    static V sqrt(V a) { return _mm512_sqrt_ps(a); }
    /// max/min return b when either is NaN.
    static V max(V a, V b) { return _mm512_max_ps(a, b); }
    static V min(V a, V b) { return _mm512_min_ps(a, b); }
    static V abs(V a) { return _mm512_abs_ps(a); }
    static V sign_bits(V a) { return _mm512_and_ps(a, _mm512_set1_ps(-0.f)); }
    static V xor_bits(V a, V b) { return _mm512_xor_ps(a, b); }

    static M lt(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
    static M ge(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_GE_OQ); }
    static M eq(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_EQ_OQ); }
    static M is_nan(V a) { return _mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q); }
    static M mask_or(M a, M b) { return static_cast<M>(a | b); }
    static M no_lanes() { return 0; }
    static bool any(M m) { return m != 0; }
    /// t where m is set, f elsewhere.
    static V select(M m, V t, V f) { return _mm512_mask_blend_ps(m, f, t); }

    // Through memory: GCC 12's _mm512_reduce_* trip -Wuninitialized on _mm256_undefined_*.
    static float hsum(V a) {
        alignas(64) float t[16];
        _mm512_store_ps(t, a);
        float s = 0;
        for (float v : t) s += v;
        return s;
    }
    static float hmax(V a) {
        alignas(64) float t[16];
        _mm512_store_ps(t, a);
        float m = t[0];
        for (float v : t) m = v > m ? v : m;
        return m;
    }

    /// Sixteen double lanes accumulating floats without float rounding.
    struct Acc {
        __m512d lo = _mm512_setzero_pd(), hi = _mm512_setzero_pd();
    };
    static void acc_add(Acc& acc, V v) {
        acc.lo = _mm512_add_pd(acc.lo, _mm512_cvtps_pd(_mm512_castps512_ps256(v)));
        acc.hi = _mm512_add_pd(acc.hi, _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1)));
    }
    static double acc_total(const Acc& a, const Acc& b) {
        alignas(64) double t[8];
        _mm512_store_pd(t, _mm512_add_pd(_mm512_add_pd(a.lo, a.hi), _mm512_add_pd(b.lo, b.hi)));
        double s = 0;
        for (double v : t) s += v;
        return s;
    }
    /// Sixteen doubles from p; the _tail forms touch the first `count` (0..15) only (reading 0 in the others).
    static Acc acc_load(const double* p) { return {_mm512_loadu_pd(p), _mm512_loadu_pd(p + 8)}; }
    static void acc_store(double* p, const Acc& a) {
        _mm512_storeu_pd(p, a.lo);
        _mm512_storeu_pd(p + 8, a.hi);
    }
    static Acc acc_load_tail(const double* p, std::int64_t count) {
        const M m = first(count);
        return {_mm512_maskz_loadu_pd(static_cast<__mmask8>(m), p),
                _mm512_maskz_loadu_pd(static_cast<__mmask8>(m >> 8), p + 8)};
    }
    static void acc_store_tail(double* p, std::int64_t count, const Acc& a) {
        const M m = first(count);
        _mm512_mask_storeu_pd(p, static_cast<__mmask8>(m), a.lo);
        _mm512_mask_storeu_pd(p + 8, static_cast<__mmask8>(m >> 8), a.hi);
    }
    /// acc += (v − m)², the difference and its square in double (one rounding in the FMA).
    static void acc_add_squared_difference(Acc& acc, V v, const Acc& m) {
        const __m512d lo = _mm512_sub_pd(_mm512_cvtps_pd(_mm512_castps512_ps256(v)), m.lo);
        const __m512d hi = _mm512_sub_pd(_mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1)), m.hi);
        acc.lo = _mm512_fmadd_pd(lo, lo, acc.lo);
        acc.hi = _mm512_fmadd_pd(hi, hi, acc.hi);
    }

    /// x = m·2^e with m ∈ [1, 2), for finite x > 0 (denormals included).
    static void split_exponent(V x, V& m, V& e) {
        m = _mm512_getmant_ps(x, _MM_MANT_NORM_1_2, _MM_MANT_SIGN_zero);
        e = _mm512_getexp_ps(x);
    }

    static V exp(V x) { return exp_avx512(x); }
    /// exp(max(x, −87.3)) for x ≤ 0: the terms of a max-subtracted sum (see exp_nonpositive_avx512).
    static V exp_nonpositive(V x) { return exp_nonpositive_avx512(x); }
    /// erfc(z) / exp(−z²), z ≥ 0.
    static V erfc_scaled(V z) { return erfc_scaled_avx512(z); }
    static V gelu_erf(V x) { return gelu_erf_avx512(x); }
    static V gelu_tanh(V x) { return gelu_tanh_avx512(x); }
};

using Simd = Simd16;

}  // namespace
}  // namespace graft::kernels
