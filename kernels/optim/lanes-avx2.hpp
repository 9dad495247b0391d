// Internal, AVX2 files only: full-vector and masked-tail loads/stores of 8 floats, so that one
// kernel body (a template over these) serves the main loop and the tail.
// The unnamed namespace keeps these ISA-specific inlines out of other translation units.
#pragma once

#if !defined(__AVX2__) || !defined(__FMA__)
#error "lanes-avx2.hpp is for files compiled with AVX2 flags (*-avx2.cpp)"
#endif

#include <immintrin.h>

#include <cstdint>

namespace graft::kernels {
namespace {

struct Full8 {
    __m256 load(const float* x) const { return _mm256_loadu_ps(x); }
    void store(float* x, __m256 value) const { _mm256_storeu_ps(x, value); }
};

struct Tail8 {
    /// The first `count` (1..7) lanes: lane j is active when its mask word's top bit is set.
    explicit Tail8(std::int64_t count)
        : mask(_mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(count)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))) {}
    __m256 load(const float* x) const { return _mm256_maskload_ps(x, mask); }
    void store(float* x, __m256 value) const { _mm256_maskstore_ps(x, mask, value); }
    __m256i mask;
};

/// −0 flips a sign with xor (maximize), +0 leaves it.
inline __m256 sign_mask8(bool flip) { return _mm256_set1_ps(flip ? -0.0f : 0.0f); }

}  // namespace
}  // namespace graft::kernels
