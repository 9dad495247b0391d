// f32_gemm_6x16__avx2: the AVX2+FMA float32 GEMM micro-kernel (contract in ukernel.hpp).
//
// A 6×16 tile of C in 12 ymm accumulators (6 rows × 2 vectors of 8 columns): per step of k,
// 2 loads of the B panel, 6 broadcasts of the A panel and 12 FMAs, enough independent chains to
// fill two 256-bit FMA pipes at 4-cycle latency. k unrolled by 4 with a prefetch of B 8 steps
// ahead. Edge tiles use instantiations with fewer accumulators; the epilogue (alpha, beta·C,
// bias, activation) reads the accumulators back from a stack tile and writes C through
// vmaskmovps, or element by element when C's columns are strided.
#include <immintrin.h>

#include <cstddef>
#include <utility>

#include "gemm/f32-activation-avx2.hpp"
#include "gemm/ukernel.hpp"

namespace graft::kernels {
namespace {

constexpr int MR = 6, NR = 16, VEC = 8;
constexpr int64 PREFETCH_STEPS = 8;

/// The accumulation: tile[i·NR + j] = Σ_p a[p·lda + i]·b[p·ldb + j] for i < ROWS, j < 8·COLV.
template <int ROWS, int COLV, bool PACKED>
void accumulate(const F32GemmTile& t, float* tile) {
    __m256 acc[ROWS][COLV];
#pragma GCC unroll 6
    for (int i = 0; i < ROWS; ++i)
#pragma GCC unroll 2
        for (int v = 0; v < COLV; ++v) acc[i][v] = _mm256_setzero_ps();

#pragma GCC unroll 6
    for (int i = 0; i < ROWS; ++i) {
        _mm_prefetch(reinterpret_cast<const char*>(t.c + i * t.rs_c), _MM_HINT_T0);
        _mm_prefetch(reinterpret_cast<const char*>(t.c + i * t.rs_c + (VEC * COLV - 1) * t.cs_c), _MM_HINT_T0);
    }

    const float* a = t.a;
    const float* b = t.b;
    // Packed panels have compile-time strides: one pointer each, immediate offsets.
    const int64 lda = PACKED ? MR : t.lda, ldb = PACKED ? NR : t.ldb;
    auto step = [&]() {
        __m256 bv[COLV];
#pragma GCC unroll 2
        for (int v = 0; v < COLV; ++v) bv[v] = _mm256_loadu_ps(b + v * VEC);
#pragma GCC unroll 6
        for (int i = 0; i < ROWS; ++i) {
            const __m256 ai = _mm256_broadcast_ss(a + i);
#pragma GCC unroll 2
            for (int v = 0; v < COLV; ++v) acc[i][v] = _mm256_fmadd_ps(ai, bv[v], acc[i][v]);
        }
        a += lda;
        b += ldb;
    };

    int64 k = t.kc;
    for (; k >= 4; k -= 4) {
#pragma GCC unroll 4
        for (int u = 0; u < 4; ++u) {
            if (u % 2 == 0) _mm_prefetch(reinterpret_cast<const char*>(b + PREFETCH_STEPS * ldb), _MM_HINT_T0);
            step();
        }
    }
    for (; k > 0; --k) step();

#pragma GCC unroll 6
    for (int i = 0; i < ROWS; ++i)
#pragma GCC unroll 2
        for (int v = 0; v < COLV; ++v) _mm256_store_ps(tile + i * NR + v * VEC, acc[i][v]);
}

/// Lanes [0, n) of a vmaskmovps mask.
__m256i lane_mask(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/// C = act(alpha·tile + beta·C + bias) for the tile's rows × cols.
void write_tile(const float* tile, const F32GemmTile& t) {
    const __m256 alpha = _mm256_set1_ps(t.alpha), beta = _mm256_set1_ps(t.beta);
    const bool read_c = t.beta != 0.f;
    for (int v = 0; v * VEC < t.cols; ++v) {
        const int n = t.cols - v * VEC < VEC ? t.cols - v * VEC : VEC;
        const __m256i mask = lane_mask(n);
        const __m256 bias = t.bias ? _mm256_maskload_ps(t.bias + v * VEC, mask) : _mm256_setzero_ps();
        for (int i = 0; i < t.rows; ++i) {
            float* c = t.c + i * t.rs_c + v * VEC * t.cs_c;
            __m256 out = _mm256_fmadd_ps(_mm256_load_ps(tile + i * NR + v * VEC), alpha, bias);
            if (t.cs_c == 1) {
                if (read_c) out = _mm256_fmadd_ps(_mm256_maskload_ps(c, mask), beta, out);
                _mm256_maskstore_ps(c, mask, activate_avx2(out, t.act));
            } else {
                alignas(32) float row[VEC] = {};
                if (read_c) {
                    for (int j = 0; j < n; ++j) row[j] = c[j * t.cs_c];
                    out = _mm256_fmadd_ps(_mm256_load_ps(row), beta, out);
                }
                _mm256_store_ps(row, activate_avx2(out, t.act));
                for (int j = 0; j < n; ++j) c[j * t.cs_c] = row[j];
            }
        }
    }
}

using AccumulateFn = void (*)(const F32GemmTile&, float*);

/// accumulate<rows, vectors, PACKED> indexed by [rows − 1][vectors − 1].
struct AccumulateTable {
    AccumulateFn fn[MR][2];
};

template <bool PACKED, std::size_t... R>
constexpr AccumulateTable accumulate_table(std::index_sequence<R...>) {
    return AccumulateTable{{{&accumulate<static_cast<int>(R) + 1, 1, PACKED>,
                   &accumulate<static_cast<int>(R) + 1, 2, PACKED>}...}};
}

constexpr AccumulateTable ACCUMULATE_PACKED = accumulate_table<true>(std::make_index_sequence<MR>());
constexpr AccumulateTable ACCUMULATE_STRIDED = accumulate_table<false>(std::make_index_sequence<MR>());

}  // namespace

void f32_gemm_6x16__avx2(const F32GemmTile& t) {
    alignas(32) float tile[MR * NR];
    const bool packed = t.lda == MR && t.ldb == NR;
    (packed ? ACCUMULATE_PACKED : ACCUMULATE_STRIDED).fn[t.rows - 1][t.cols > VEC ? 1 : 0](t, tile);
    write_tile(tile, t);
}

}  // namespace graft::kernels
