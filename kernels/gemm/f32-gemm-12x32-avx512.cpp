// f32_gemm_12x32__avx512: the AVX-512 float32 GEMM micro-kernel (contract in ukernel.hpp).
//
// A 12×32 tile of C lives in 24 zmm accumulators (12 rows × 2 vectors of 16 columns). Each step
// of k loads one row of the B panel (2 vectors) and broadcasts 12 elements of the A panel
// straight into the FMAs ({1to16} memory operands): 24 FMAs for 2 loads, so the kernel runs at
// Zen 4's one 512-bit FMA per cycle. k is unrolled by 4 with a prefetch of the B panel 8 steps
// ahead; C's rows are prefetched before the loop so the epilogue does not wait on them.
//
// Edge tiles (rows < 12 or cols ≤ 16) run instantiations with fewer accumulators, so a partial
// tile costs in proportion to its size. The accumulators go to a 12×32 scratch tile on the
// stack; the epilogue then reads it back a row at a time (alpha, beta·C, bias, activation) and
// writes C with masked stores, or element by element when C's columns are strided.
#include <immintrin.h>

#include <cstddef>
#include <utility>

#include "gemm/f32-activation-avx512.hpp"
#include "gemm/ukernel.hpp"

namespace graft::kernels {
namespace {

constexpr int MR = 12, NR = 32, VEC = 16;
constexpr int64 PREFETCH_STEPS = 8;

/// The accumulation: tile[i·NR + j] = Σ_p a[p·lda + i]·b[p·ldb + j] for i < ROWS, j < 16·COLV.
template <int ROWS, int COLV, bool PACKED>
void accumulate(const F32GemmTile& t, float* tile) {
    __m512 acc[ROWS][COLV];
#pragma GCC unroll 12
    for (int i = 0; i < ROWS; ++i)
#pragma GCC unroll 2
        for (int v = 0; v < COLV; ++v) acc[i][v] = _mm512_setzero_ps();

#pragma GCC unroll 12
    for (int i = 0; i < ROWS; ++i) {
        _mm_prefetch(reinterpret_cast<const char*>(t.c + i * t.rs_c), _MM_HINT_T0);
        _mm_prefetch(reinterpret_cast<const char*>(t.c + i * t.rs_c + (VEC * COLV - 1) * t.cs_c), _MM_HINT_T0);
    }

    const float* a = t.a;
    const float* b = t.b;
    // Packed panels have compile-time strides: one pointer each, immediate offsets.
    const int64 lda = PACKED ? MR : t.lda, ldb = PACKED ? NR : t.ldb;
    auto step = [&]() {
        __m512 bv[COLV];
#pragma GCC unroll 2
        for (int v = 0; v < COLV; ++v) bv[v] = _mm512_loadu_ps(b + v * VEC);
#pragma GCC unroll 12
        for (int i = 0; i < ROWS; ++i) {
            const __m512 ai = _mm512_set1_ps(a[i]);
#pragma GCC unroll 2
            for (int v = 0; v < COLV; ++v) acc[i][v] = _mm512_fmadd_ps(ai, bv[v], acc[i][v]);
        }
        a += lda;
        b += ldb;
    };

    int64 k = t.kc;
    for (; k >= 4; k -= 4) {
#pragma GCC unroll 4
        for (int u = 0; u < 4; ++u) {
            _mm_prefetch(reinterpret_cast<const char*>(b + PREFETCH_STEPS * ldb), _MM_HINT_T0);
            if (COLV == 2)
                _mm_prefetch(reinterpret_cast<const char*>(b + PREFETCH_STEPS * ldb + VEC), _MM_HINT_T0);
            step();
        }
    }
    for (; k > 0; --k) step();

#pragma GCC unroll 12
    for (int i = 0; i < ROWS; ++i)
#pragma GCC unroll 2
        for (int v = 0; v < COLV; ++v) _mm512_store_ps(tile + i * NR + v * VEC, acc[i][v]);
}

/// C = act(alpha·tile + beta·C + bias) for the tile's rows × cols.
void write_tile(const float* tile, const F32GemmTile& t) {
    const __m512 alpha = _mm512_set1_ps(t.alpha), beta = _mm512_set1_ps(t.beta);
    const bool read_c = t.beta != 0.f;
    for (int v = 0; v * VEC < t.cols; ++v) {
        const int n = t.cols - v * VEC < VEC ? t.cols - v * VEC : VEC;
        const __mmask16 mask = static_cast<__mmask16>((1u << n) - 1u);
        const __m512 bias = t.bias ? _mm512_maskz_loadu_ps(mask, t.bias + v * VEC) : _mm512_setzero_ps();
        for (int i = 0; i < t.rows; ++i) {
            float* c = t.c + i * t.rs_c + v * VEC * t.cs_c;
            __m512 out = _mm512_fmadd_ps(_mm512_load_ps(tile + i * NR + v * VEC), alpha, bias);
            if (t.cs_c == 1) {
                if (read_c) out = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask, c), beta, out);
                _mm512_mask_storeu_ps(c, mask, activate_avx512(out, t.act));
            } else {
                alignas(64) float row[VEC];
                if (read_c) {
                    for (int j = 0; j < n; ++j) row[j] = c[j * t.cs_c];
                    out = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask, row), beta, out);
                }
                _mm512_store_ps(row, activate_avx512(out, t.act));
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

void f32_gemm_12x32__avx512(const F32GemmTile& t) {
    alignas(64) float tile[MR * NR];
    const bool packed = t.lda == MR && t.ldb == NR;
    (packed ? ACCUMULATE_PACKED : ACCUMULATE_STRIDED).fn[t.rows - 1][t.cols > VEC ? 1 : 0](t, tile);
    write_tile(tile, t);
}

}  // namespace graft::kernels
