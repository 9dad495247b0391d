// Internal, AVX2 files only: the 8-lane float vector that the generic kernels/vector bodies
// (*-body.hpp) are written against — same interface as simd-avx512.hpp, with masks held in
// vector registers and the math of f32-activation-avx2.hpp.
// Internal linkage throughout, so no AVX2 code can be merged into a baseline translation unit.
#pragma once

#if !defined(__AVX2__) || !defined(__FMA__)
#error "simd-avx2.hpp is for files compiled with AVX2 and FMA flags (*-avx2.cpp)"
#endif

#include <immintrin.h>

#include <cstdint>

#include "kernels/gemm/f32-activation-avx2.hpp"

namespace graft::kernels {
namespace {

struct Simd8 {
    using V = __m256;
    using M = __m256;  // all ones / all zeros per lane
    static constexpr std::int64_t W = 8;

    static __m256i first(std::int64_t count) {
        return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(count)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    }
    static V load(const float* p) { return _mm256_loadu_ps(p); }
    static void store(float* p, V v) { _mm256_storeu_ps(p, v); }
    /// The first `count` (0..7) lanes from p, `fill` in the others.
    static V load_tail(const float* p, std::int64_t count, float fill) {
        const __m256i m = first(count);
        return _mm256_blendv_ps(_mm256_set1_ps(fill), _mm256_maskload_ps(p, m), _mm256_castsi256_ps(m));
    }
    /// A hint (never faults, any address): bring p's cache line into L1.
    static void prefetch(const float* p) { _mm_prefetch(reinterpret_cast<const char*>(p), _MM_HINT_T0); }
    static void store_tail(float* p, std::int64_t count, V v) { _mm256_maskstore_ps(p, first(count), v); }

    static V set1(float a) { return _mm256_set1_ps(a); }
    static V add(V a, V b) { return _mm256_add_ps(a, b); }
    static V sub(V a, V b) { return _mm256_sub_ps(a, b); }
    static V mul(V a, V b) { return _mm256_mul_ps(a, b); }
    static V div(V a, V b) { return _mm256_div_ps(a, b); }
    static V fmadd(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }   ///< a·b + c
    static V fnmadd(V a, V b, V c) { return _mm256_fnmadd_ps(a, b, c); } ///< c − a·b
    static V sqrt(V a) { return _mm256_sqrt_ps(a); }
    /// max/min return b when either is NaN.
    static V max(V a, V b) { return _mm256_max_ps(a, b); }
    static V min(V a, V b) { return _mm256_min_ps(a, b); }
    static V abs(V a) { return _mm256_andnot_ps(_mm256_set1_ps(-0.f), a); }
    static V sign_bits(V a) { return _mm256_and_ps(a, _mm256_set1_ps(-0.f)); }
    static V xor_bits(V a, V b) { return _mm256_xor_ps(a, b); }

    static M lt(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
    static M ge(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_GE_OQ); }
    static M eq(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_EQ_OQ); }
    static M is_nan(V a) { return _mm256_cmp_ps(a, a, _CMP_UNORD_Q); }
    static M mask_or(M a, M b) { return _mm256_or_ps(a, b); }
    static M no_lanes() { return _mm256_setzero_ps(); }
    static bool any(M m) { return _mm256_movemask_ps(m) != 0; }
    /// t where m is set, f elsewhere.
    static V select(M m, V t, V f) { return _mm256_blendv_ps(f, t, m); }

    static float hsum(V a) {
        __m128 s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
        s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
    }
    static float hmax(V a) {
        __m128 s = _mm_max_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
        s = _mm_max_ps(s, _mm_movehl_ps(s, s));
        return _mm_cvtss_f32(_mm_max_ss(s, _mm_movehdup_ps(s)));
    }

    /// Eight double lanes accumulating floats without float rounding.
    struct Acc {
        __m256d lo = _mm256_setzero_pd(), hi = _mm256_setzero_pd();
    };
    static void acc_add(Acc& acc, V v) {
        acc.lo = _mm256_add_pd(acc.lo, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
        acc.hi = _mm256_add_pd(acc.hi, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
    }
    static double acc_total(const Acc& a, const Acc& b) {
        const __m256d s = _mm256_add_pd(_mm256_add_pd(a.lo, a.hi), _mm256_add_pd(b.lo, b.hi));
        __m128d h = _mm_add_pd(_mm256_castpd256_pd128(s), _mm256_extractf128_pd(s, 1));
        return _mm_cvtsd_f64(_mm_add_sd(h, _mm_unpackhi_pd(h, h)));
    }
    /// Eight doubles from p; the _tail forms touch the first `count` (0..7) only (reading 0 in the others).
    static Acc acc_load(const double* p) { return {_mm256_loadu_pd(p), _mm256_loadu_pd(p + 4)}; }
    static void acc_store(double* p, const Acc& a) {
        _mm256_storeu_pd(p, a.lo);
        _mm256_storeu_pd(p + 4, a.hi);
    }
    static __m256i first_pd(std::int64_t count, std::int64_t from) {
        return _mm256_cmpgt_epi64(_mm256_set1_epi64x(count - from), _mm256_setr_epi64x(0, 1, 2, 3));
    }
    static Acc acc_load_tail(const double* p, std::int64_t count) {
        return {_mm256_maskload_pd(p, first_pd(count, 0)), _mm256_maskload_pd(p + 4, first_pd(count, 4))};
    }
    static void acc_store_tail(double* p, std::int64_t count, const Acc& a) {
        _mm256_maskstore_pd(p, first_pd(count, 0), a.lo);
        _mm256_maskstore_pd(p + 4, first_pd(count, 4), a.hi);
    }
    /// acc += (v − m)², the difference and its square in double (one rounding in the FMA).
    static void acc_add_squared_difference(Acc& acc, V v, const Acc& m) {
        const __m256d lo = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(v)), m.lo);
        const __m256d hi = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)), m.hi);
        acc.lo = _mm256_fmadd_pd(lo, lo, acc.lo);
        acc.hi = _mm256_fmadd_pd(hi, hi, acc.hi);
    }

    /// x = m·2^e with m ∈ [1, 2), for finite x > 0: denormals are scaled by 2^23 first.
    static void split_exponent(V x, V& m, V& e) {
        const __m256 tiny = _mm256_cmp_ps(x, _mm256_set1_ps(1.17549435e-38f), _CMP_LT_OQ);
        x = _mm256_blendv_ps(x, _mm256_mul_ps(x, _mm256_set1_ps(8388608.f)), tiny);
        const __m256i bits = _mm256_castps_si256(x);
        const __m256i biased = _mm256_srli_epi32(bits, 23);
        e = _mm256_sub_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(biased, _mm256_set1_epi32(127))),
                          _mm256_and_ps(tiny, _mm256_set1_ps(23.f)));
        m = _mm256_castsi256_ps(
            _mm256_or_si256(_mm256_and_si256(bits, _mm256_set1_epi32(0x007fffff)), _mm256_set1_epi32(0x3f800000)));
    }

    static V exp(V x) { return exp_avx2(x); }
    /// exp(max(x, −87.3)) for x ≤ 0: the terms of a max-subtracted sum (see exp_nonpositive_avx2).
    static V exp_nonpositive(V x) { return exp_nonpositive_avx2(x); }
    /// erfc(z) / exp(−z²), z ≥ 0.
    static V erfc_scaled(V z) { return erfc_scaled_avx2(z); }
    static V gelu_erf(V x) { return gelu_erf_avx2(x); }
    static V gelu_tanh(V x) { return gelu_tanh_avx2(x); }
};

using Simd = Simd8;

}  // namespace
}  // namespace graft::kernels
