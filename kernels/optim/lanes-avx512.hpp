// Internal, AVX-512 files only: full-vector and masked-tail loads/stores of 16 floats, so that
// one kernel body (a template over these) serves the main loop and the tail.
// The unnamed namespace keeps these ISA-specific inlines out of other translation units.
#pragma once

#if !defined(__AVX512F__) || !defined(__FMA__)
#error "lanes-avx512.hpp is for files compiled with AVX512 flags (*-avx512.cpp)"
#endif

#include <immintrin.h>

// GCC 12's _mm512_undefined_ps() (behind sqrt and max) trips a false -Wmaybe-uninitialized once
// inlined (GCC bug 105593, fixed in GCC 13).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <cstdint>

namespace graft::kernels {
namespace {

struct Full16 {
    __m512 load(const float* x) const { return _mm512_loadu_ps(x); }
    void store(float* x, __m512 value) const { _mm512_storeu_ps(x, value); }
};

struct Tail16 {
    /// The first `count` (1..15) lanes.
    explicit Tail16(std::int64_t count) : mask(static_cast<__mmask16>((1u << count) - 1u)) {}
    __m512 load(const float* x) const { return _mm512_maskz_loadu_ps(mask, x); }
    void store(float* x, __m512 value) const { _mm512_mask_storeu_ps(x, mask, value); }
    __mmask16 mask;
};

/// −0 flips a sign with xor (maximize), +0 leaves it.
inline __m512 sign_mask16(bool flip) { return _mm512_set1_ps(flip ? -0.0f : 0.0f); }

}  // namespace
}  // namespace graft::kernels
