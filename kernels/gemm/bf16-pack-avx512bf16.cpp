// The native bf16 GEMM's packing of float32 operands (bf16_gemm.hpp) on AVX512_BF16: float32
// rounded to bf16 by vcvtne2ps2bf16 (nearest, ties to even, NaN stays NaN; like vdpbf16ps, which
// consumes the result, it treats subnormals as zero), 32 values per instruction, straight into
// the driver's panels of pair words.
#include <immintrin.h>

#include <algorithm>
#include <bit>
#include <cstdint>

#include "kernels/gemm/bf16_gemm.hpp"

namespace graft::kernels {

namespace {

/// Word r of a row of pair words: bf16(even[r]) in the low half, bf16(odd[r]) in the high one.
alignas(64) constexpr std::uint16_t INTERLEAVE[32] = {0, 16, 1, 17, 2,  18, 3,  19, 4,  20, 5,  21, 6,  22, 7,  23,
                                                      8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31};

__mmask16 first_lanes(int64 n) { return n >= 16 ? 0xffff : n <= 0 ? 0 : static_cast<__mmask16>((1u << n) - 1u); }

/// Stores the transpose of the 16×16 words at t (row r at t[r]): its row c (t[0..16][c]) to
/// out + c·ld, the lanes of `lanes`, for c < rows. Two rounds of in-lane unpacks transpose each
/// 4×4 block; two rounds of 128-bit lane shuffles put the blocks in place.
void store_transposed16(const float (*t)[16], int rows, float* out, int64 ld, __mmask16 lanes) {
    // The zero-masked forms with every lane selected: the same instructions, without GCC 12's
    // false "may be used uninitialized" on the plain forms' undefined source.
    constexpr __mmask16 ALL = 0xffff;
    constexpr __mmask8 ALL64 = 0xff;
    __m512 u[16], v[16];
    for (int i = 0; i < 8; ++i) {
        const __m512 a = _mm512_load_ps(t[2 * i]), b = _mm512_load_ps(t[2 * i + 1]);
        u[2 * i] = _mm512_maskz_unpacklo_ps(ALL, a, b);      // lane L: a[4L], b[4L], a[4L+1], b[4L+1]
        u[2 * i + 1] = _mm512_maskz_unpackhi_ps(ALL, a, b);  // lane L: a[4L+2], b[4L+2], a[4L+3], b[4L+3]
    }
    const auto lo64 = [](__m512 a, __m512 b) {
        return _mm512_castpd_ps(_mm512_maskz_unpacklo_pd(ALL64, _mm512_castps_pd(a), _mm512_castps_pd(b)));
    };
    const auto hi64 = [](__m512 a, __m512 b) {
        return _mm512_castpd_ps(_mm512_maskz_unpackhi_pd(ALL64, _mm512_castps_pd(a), _mm512_castps_pd(b)));
    };
    // v[4i + j], lane L: column 4L + j of rows 4i..4i+3.
    for (int i = 0; i < 4; ++i) {
        v[4 * i] = lo64(u[4 * i], u[4 * i + 2]);
        v[4 * i + 1] = hi64(u[4 * i], u[4 * i + 2]);
        v[4 * i + 2] = lo64(u[4 * i + 1], u[4 * i + 3]);
        v[4 * i + 3] = hi64(u[4 * i + 1], u[4 * i + 3]);
    }
    // Row 4L + j of the transpose: lane L of v[j], v[4 + j], v[8 + j], v[12 + j].
    for (int j = 0; j < 4; ++j) {
        const __m512 x0 = _mm512_maskz_shuffle_f32x4(ALL, v[j], v[4 + j], _MM_SHUFFLE(1, 0, 1, 0));
        const __m512 x1 = _mm512_maskz_shuffle_f32x4(ALL, v[j], v[4 + j], _MM_SHUFFLE(3, 2, 3, 2));
        const __m512 y0 = _mm512_maskz_shuffle_f32x4(ALL, v[8 + j], v[12 + j], _MM_SHUFFLE(1, 0, 1, 0));
        const __m512 y1 = _mm512_maskz_shuffle_f32x4(ALL, v[8 + j], v[12 + j], _MM_SHUFFLE(3, 2, 3, 2));
        const __m512 row[4] = {_mm512_maskz_shuffle_f32x4(ALL, x0, y0, _MM_SHUFFLE(2, 0, 2, 0)),
                               _mm512_maskz_shuffle_f32x4(ALL, x0, y0, _MM_SHUFFLE(3, 1, 3, 1)),
                               _mm512_maskz_shuffle_f32x4(ALL, x1, y1, _MM_SHUFFLE(2, 0, 2, 0)),
                               _mm512_maskz_shuffle_f32x4(ALL, x1, y1, _MM_SHUFFLE(3, 1, 3, 1))};
        for (int L = 0; L < 4; ++L)
            if (4 * L + j < rows) _mm512_mask_storeu_ps(out + (4 * L + j) * ld, lanes, row[L]);
    }
}

/// k contiguous along each line: one panel of R ≤ width lines. 16 pairs (32 values) of every
/// line are rounded into an L1 tile, then each 16-line half of the tile is transposed into the
/// panel. Tile lines R..width (rounded up to 16) stay zero: the panel's padding.
void pack_k_contiguous(const float* src, int64 rs_r, int R, int64 kc, int64 k_values, float* dst, int width) {
    alignas(64) float tile[kBf16PairPanelMaxWidth][16];
    const int lines = (width + 15) / 16 * 16;
    for (int r = R; r < lines; ++r) _mm512_store_ps(tile[r], _mm512_setzero_ps());
    for (int64 p0 = 0; p0 < kc; p0 += 16) {
        const int pairs = static_cast<int>(std::min<int64>(16, kc - p0));
        const int64 n = std::min<int64>(2 * pairs, k_values - 2 * p0);  // values in this chunk
        const __mmask16 lo = first_lanes(n), hi = first_lanes(n - 16);
        for (int r = 0; r < R; ++r) {
            const float* s = src + r * rs_r + 2 * p0;
            _mm_prefetch(reinterpret_cast<const char*>(s + 64), _MM_HINT_T0);
            _mm_prefetch(reinterpret_cast<const char*>(s + 80), _MM_HINT_T0);
            const __m512 a = _mm512_maskz_loadu_ps(lo, s), b = _mm512_maskz_loadu_ps(hi, s + 16);
            _mm512_store_si512(tile[r], std::bit_cast<__m512i>(_mm512_cvtne2ps_pbh(b, a)));
        }
        for (int h = 0; h < width; h += 16)
            store_transposed16(tile + h, pairs, dst + p0 * width + h, width, first_lanes(width - h));
    }
}

/// Lines contiguous (k strided by ks): every pair step reads the even and the odd row of k across
/// all R lines (contiguous, so the reads stream) and interleaves them 16 lines per vector: into
/// the panels directly where the width is a multiple of 16, else into a row of pair words in L1
/// whose width-word pieces are then copied into the panels.
void pack_lines_contiguous(const float* src, int64 ks, int64 R, int64 kc, int64 k_values, float* dst, int width) {
    constexpr int64 kRowWords = 256;  // the row buffer's words; a multiple of 16
    alignas(64) float row[kRowWords + 16];
    const __m512i interleave = _mm512_load_si512(INTERLEAVE);
    const int64 panel_floats = width * kc;
    // Whole panels per pass: kRowWords rounded down to a multiple of width.
    const int64 per_pass = kRowWords / width * width;
    // Panels a whole number of vectors wide take each vector where it goes; others (A's 12) go
    // through the row buffer.
    const bool direct = width % 16 == 0;
    for (int64 r0 = 0; r0 < R; r0 += per_pass) {
        const int64 lines = std::min(R - r0, per_pass);
        const int64 padded = (lines + width - 1) / width * width;
        float* panels = dst + r0 / width * panel_floats;
        for (int64 p = 0; p < kc; ++p) {
            const float* even = src + 2 * p * ks + r0;
            const bool odd = 2 * p + 1 < k_values;
            for (int64 f = 0; f < lines; f += 16) {
                _mm_prefetch(reinterpret_cast<const char*>(even + 8 * ks + f), _MM_HINT_T0);
                _mm_prefetch(reinterpret_cast<const char*>(even + 9 * ks + f), _MM_HINT_T0);
            }
            for (int64 r = 0; r < padded; r += 16) {
                const __mmask16 load = first_lanes(lines - r);
                const __m512 e = _mm512_maskz_loadu_ps(load, even + r);
                const __m512 o = odd ? _mm512_maskz_loadu_ps(load, even + ks + r) : _mm512_setzero_ps();
                const __m512i halves = std::bit_cast<__m512i>(_mm512_cvtne2ps_pbh(o, e));
                const __m512i words = _mm512_permutexvar_epi16(interleave, halves);
                if (direct)
                    _mm512_storeu_si512(panels + r / width * panel_floats + p * width + r % width, words);
                else
                    _mm512_store_si512(row + r, words);
            }
            if (direct) continue;
            for (int64 i = 0; i * width < padded; ++i) {
                float* out = panels + i * panel_floats + p * width;
                for (int w = 0; w < width; w += 16)
                    _mm512_mask_storeu_ps(out + w, w + 16 <= width ? __mmask16{0xffff} : first_lanes(width - w),
                                          _mm512_loadu_ps(row + i * width + w));
            }
        }
    }
}

}  // namespace

void bf16_pack_pairs__avx512bf16(const float* src, int64 rs_r, int64 ks, int64 R, int64 kc, int64 k_values,
                                 float* dst, int width) {
    if (rs_r == 1) {
        pack_lines_contiguous(src, ks, R, kc, k_values, dst, width);
        return;
    }
    for (int64 r0 = 0; r0 < R; r0 += width) {
        const int lines = static_cast<int>(std::min<int64>(width, R - r0));
        const float* first = src + r0 * rs_r;
        float* panel = dst + r0 * kc;
        if (ks == 1) {
            pack_k_contiguous(first, rs_r, lines, kc, k_values, panel, width);
            continue;
        }
        // Any other strides: one value at a time.
        for (int64 p = 0; p < kc; ++p)
            for (int r = 0; r < width; ++r) {
                std::uint32_t word = 0;
                if (r < lines) {
                    const float* s = first + r * rs_r + 2 * p * ks;
                    word = std::uint32_t{round_to_bf16(s[0])} |
                           (2 * p + 1 < k_values ? std::uint32_t{round_to_bf16(s[ks])} << 16 : 0u);
                }
                panel[p * width + r] = std::bit_cast<float>(word);
            }
    }
}

}  // namespace graft::kernels
