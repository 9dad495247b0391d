// float32 2×2 stride-2 max-pool row kernels, AVX2 build: four windows at a time in 128-bit lanes
// (two loads of each input row give four windows' pairs, shuffled into their a, b, c, d), the
// rest of the row on the scalar reference. Contract in pool.hpp.
#include <immintrin.h>

#include "kernels/pool/pool.hpp"

namespace graft::kernels {

namespace {

/// Rows at least this wide take the scalar loop: the window offsets (up to W + 1) are int32 lanes.
constexpr int64 kMaxSimdRowWidth = int64{1} << 30;

/// max_pool_replaces on four lanes: an all-ones lane where v replaces best.
inline __m128 replaces4(__m128 v, __m128 best) { return _mm_or_ps(_mm_cmpgt_ps(v, best), _mm_cmpunord_ps(v, v)); }
inline __m128 select4(__m128 take, __m128 v, __m128 otherwise) { return _mm_blendv_ps(otherwise, v, take); }
inline __m128i select4(__m128 take, __m128i v, __m128i otherwise) {
    return _mm_castps_si128(_mm_blendv_ps(_mm_castsi128_ps(otherwise), _mm_castsi128_ps(v), take));
}

}  // namespace

void f32_max_pool_2x2_row__avx2(int64 OW, const float* r0, int64 W, int64 base, float* y, int64* idx) {
    const float* r1 = r0 + W;
    int64 ow = 0;
    if (W < kMaxSimdRowWidth) {
        const __m128i one = _mm_set1_epi32(1), second_row = _mm_set1_epi32(static_cast<int>(W));
        const __m128i lane = _mm_setr_epi32(0, 2, 4, 6);
        for (; ow + 4 <= OW; ow += 4) {
            const __m128 p0 = _mm_loadu_ps(r0 + 2 * ow), p1 = _mm_loadu_ps(r0 + 2 * ow + 4);
            const __m128 q0 = _mm_loadu_ps(r1 + 2 * ow), q1 = _mm_loadu_ps(r1 + 2 * ow + 4);
            const __m128 a = _mm_shuffle_ps(p0, p1, _MM_SHUFFLE(2, 0, 2, 0));
            const __m128 b = _mm_shuffle_ps(p0, p1, _MM_SHUFFLE(3, 1, 3, 1));
            const __m128 c = _mm_shuffle_ps(q0, q1, _MM_SHUFFLE(2, 0, 2, 0));
            const __m128 d = _mm_shuffle_ps(q0, q1, _MM_SHUFFLE(3, 1, 3, 1));
            const __m128 take_b = replaces4(b, a), take_d = replaces4(d, c);
            const __m128 top = select4(take_b, b, a), bottom = select4(take_d, d, c);
            const __m128 take_bottom = replaces4(bottom, top);
            _mm_storeu_ps(y + ow, select4(take_bottom, bottom, top));
            // The winner's offset in its window: [take_b] on top, W + [take_d] at the bottom.
            const __m128i top_at = _mm_and_si128(_mm_castps_si128(take_b), one);
            const __m128i bottom_at = _mm_add_epi32(second_row, _mm_and_si128(_mm_castps_si128(take_d), one));
            const __m128i at = _mm_add_epi32(select4(take_bottom, bottom_at, top_at), lane);
            const __m256i start = _mm256_set1_epi64x(base + 2 * ow);
            _mm256_storeu_si256(reinterpret_cast<__m256i*>(idx + ow),
                                _mm256_add_epi64(start, _mm256_cvtepu32_epi64(at)));
        }
    }
    if (ow < OW) max_pool_2x2_row_scalar<float>(OW - ow, r0 + 2 * ow, W, base + 2 * ow, y + ow, idx + ow);
}

void f32_max_pool_2x2_grad_row__avx2(int64 OW, const float* dy, const int64* idx, int64 W, int64 base, float* r0) {
    float* r1 = r0 + W;
    int64 ow = 0;
    if (W < kMaxSimdRowWidth) {
        // The winners' offsets in their windows (0, 1, W or W + 1), as int32 lanes.
        const __m128i one = _mm_set1_epi32(1), second_row = _mm_set1_epi32(static_cast<int>(W));
        const __m128i second_row_right = _mm_set1_epi32(static_cast<int>(W + 1)), zero = _mm_setzero_si128();
        const __m256i lane = _mm256_setr_epi64x(0, 2, 4, 6);
        // int32 element 0 of each int64 lane, gathered into the low 128 bits.
        const __m256i low_halves = _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6);
        for (; ow + 4 <= OW; ow += 4) {
            const __m256i start = _mm256_add_epi64(_mm256_set1_epi64x(base + 2 * ow), lane);
            const __m256i off64 =
                _mm256_sub_epi64(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(idx + ow)), start);
            const __m128i off = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(off64, low_halves));
            const __m128 v = _mm_loadu_ps(dy + ow);
            const __m128 a = _mm_and_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(off, zero)), v);
            const __m128 b = _mm_and_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(off, one)), v);
            const __m128 c = _mm_and_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(off, second_row)), v);
            const __m128 e = _mm_and_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(off, second_row_right)), v);
            _mm_storeu_ps(r0 + 2 * ow, _mm_unpacklo_ps(a, b));
            _mm_storeu_ps(r0 + 2 * ow + 4, _mm_unpackhi_ps(a, b));
            _mm_storeu_ps(r1 + 2 * ow, _mm_unpacklo_ps(c, e));
            _mm_storeu_ps(r1 + 2 * ow + 4, _mm_unpackhi_ps(c, e));
        }
    }
    if (ow < OW) max_pool_2x2_grad_row_scalar<float>(OW - ow, dy + ow, idx + ow, W, base + 2 * ow, r0 + 2 * ow);
}

}  // namespace graft::kernels
