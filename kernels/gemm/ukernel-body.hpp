// Internal: the float32 GEMM micro-kernel (contract in ukernel.hpp) written once over a lane type S
// from kernels/vector (simd-avx2.hpp or simd-avx512.hpp, included first) and a register tile of
// MR rows × NR columns (NR = 2 vectors of S::W). Each f32-gemm-<MR>x<NR>-<isa>.cpp instantiates it
// under its own ISA flags.
//
// The tile of C lives in MR × 2 vector accumulators. Each step of k loads one row of the B panel
// (2 vectors) and broadcasts MR elements of the A panel into the FMAs (S::set1 of a memory
// operand: AVX-512 folds it into {1to16}, AVX2 emits vbroadcastss from memory). k is unrolled by 4
// with a prefetch of the B panel PREFETCH_STEPS ahead on every PREFETCH_EVERY-th step (each cache
// line of the row); C's rows are prefetched before the loop so the epilogue does not wait on them.
//
// Edge tiles (rows < MR, or cols ≤ S::W) run instantiations with fewer accumulators, so a partial
// tile costs in proportion to its size; packed panels (lda = MR, ldb = NR) get compile-time
// strides. The epilogue (alpha, beta·C, bias, activation) runs on the accumulators and writes C
// with full vectors and a masked tail (lanes.hpp); where C's columns are strided, the accumulators
// go to an MR × NR scratch tile on the stack, read back a row at a time and written element by
// element.
#pragma once

#include <cstddef>
#include <utility>

#include "kernels/gemm/ukernel.hpp"
#include "kernels/vector/lanes.hpp"

namespace graft::kernels {
namespace {

/// A register tile of MR rows × NR = 2·S::W columns on lane type S.
template <class S, int MR_, int NR_, int PREFETCH_EVERY_>
struct GemmTileShape {
    static_assert(NR_ == 2 * S::W, "the body keeps two vectors of accumulators per row");
    static constexpr int MR = MR_, NR = NR_, W = static_cast<int>(S::W), PREFETCH_EVERY = PREFETCH_EVERY_;
    static constexpr int64 PREFETCH_STEPS = 8;
    static constexpr int FLOATS_PER_LINE = 64 / static_cast<int>(sizeof(float));
    /// One step's product into an accumulator: acc + a·b. A bf16 tile shape replaces it with the
    /// pair dot product (a and b then hold two bf16 values of k per 32-bit lane).
    [[gnu::always_inline]] static typename S::V madd(typename S::V a, typename S::V b, typename S::V acc) {
        return S::fmadd(a, b, acc);
    }
};

/// Inlined into each store of C (an out-of-line call per row costs ~7 % of a 12×32×64 tile).
template <class S>
[[gnu::always_inline]] inline typename S::V activate(typename S::V v, Activation act) {
    switch (act) {
        case Activation::None: return v;
        case Activation::Relu: return S::max(S::set1(0.f), v);  // NaN stays NaN
        case Activation::GeluTanh: return S::gelu_tanh(v);
        case Activation::GeluErf: return S::gelu_erf(v);
    }
    return v;
}

/// The accumulation: Σ_p a[p·lda + i]·b[p·ldb + j] for i < ROWS, j < W·COLV (each product
/// through T::madd). Where C's columns are contiguous the epilogue (write_strided_tile's
/// arithmetic, the same bits) runs on the accumulators and writes C: returns true. Else the sums
/// go to tile[i·NR + j] for write_strided_tile: returns false.
template <class S, class T, int ROWS, int COLV, bool PACKED>
bool accumulate(const F32GemmTile& t, float* tile) {
    using V = typename S::V;
    V acc[ROWS][COLV];
#pragma GCC unroll 16
    for (int i = 0; i < ROWS; ++i)
#pragma GCC unroll 2
        for (int v = 0; v < COLV; ++v) acc[i][v] = S::set1(0.f);

#pragma GCC unroll 16
    for (int i = 0; i < ROWS; ++i) {
        S::prefetch(t.c + i * t.rs_c);
        S::prefetch(t.c + i * t.rs_c + (T::W * COLV - 1) * t.cs_c);
    }

    const float* a = t.a;
    const float* b = t.b;
    // Packed panels have compile-time strides: one pointer each, immediate offsets.
    const int64 lda = PACKED ? T::MR : t.lda, ldb = PACKED ? T::NR : t.ldb;
    auto step = [&]() {
        V bv[COLV];
#pragma GCC unroll 2
        for (int v = 0; v < COLV; ++v) bv[v] = S::load(b + v * T::W);
#pragma GCC unroll 16
        for (int i = 0; i < ROWS; ++i) {
            const V ai = S::set1(a[i]);
#pragma GCC unroll 2
            for (int v = 0; v < COLV; ++v) acc[i][v] = T::madd(ai, bv[v], acc[i][v]);
        }
        a += lda;
        b += ldb;
    };

    int64 k = t.kc;
    for (; k >= 4; k -= 4) {
#pragma GCC unroll 4
        for (int u = 0; u < 4; ++u) {
            if (u % T::PREFETCH_EVERY == 0)
#pragma GCC unroll 2
                for (int f = 0; f < T::W * COLV; f += T::FLOATS_PER_LINE)
                    S::prefetch(b + T::PREFETCH_STEPS * ldb + f);
            step();
        }
    }
    for (; k > 0; --k) step();

    if (t.cs_c == 1) {
        const V alpha = S::set1(t.alpha), beta = S::set1(t.beta);
        const bool read_c = t.beta != 0.f;
        auto columns = [&](int v, const auto& lanes) {
            const V bias = t.bias ? lanes.load(t.bias + v * T::W) : S::set1(0.f);
#pragma GCC unroll 16
            for (int i = 0; i < ROWS; ++i) {
                float* c = t.c + i * t.rs_c + v * T::W;
                V out = S::fmadd(acc[i][v], alpha, bias);
                if (read_c) out = S::fmadd(lanes.load(c), beta, out);
                lanes.store(c, activate<S>(out, t.act));
            }
        };
        const int last = t.cols - (COLV - 1) * T::W;  // columns of the last vector, 1 … W
#pragma GCC unroll 2
        for (int v = 0; v < COLV; ++v) {
            if (v + 1 < COLV || last == T::W)
                columns(v, FullLanes<S>{});
            else
                columns(v, TailLanes<S>{last});
        }
        return true;
    }
#pragma GCC unroll 16
    for (int i = 0; i < ROWS; ++i)
#pragma GCC unroll 2
        for (int v = 0; v < COLV; ++v) S::store(tile + i * T::NR + v * T::W, acc[i][v]);
    return false;
}

/// C = act(alpha·tile + beta·C + bias) for the tile's rows × cols, where C's columns are strided
/// (accumulate writes contiguous ones itself): each row's vector through a row buffer.
template <class S, class T>
void write_strided_tile(const float* tile, const F32GemmTile& t) {
    using V = typename S::V;
    const V alpha = S::set1(t.alpha), beta = S::set1(t.beta);
    const bool read_c = t.beta != 0.f;
    // Columns [v·W, v·W + n) of every row, through `lanes` (full vector or masked tail of n).
    auto columns = [&](int v, int n, const auto& lanes) {
        const V bias = t.bias ? lanes.load(t.bias + v * T::W) : S::set1(0.f);
        for (int i = 0; i < t.rows; ++i) {
            float* c = t.c + i * t.rs_c + v * T::W * t.cs_c;
            V out = S::fmadd(S::load(tile + i * T::NR + v * T::W), alpha, bias);
            alignas(64) float row[T::W] = {};
            if (read_c) {
                for (int j = 0; j < n; ++j) row[j] = c[j * t.cs_c];
                out = S::fmadd(S::load(row), beta, out);
            }
            S::store(row, activate<S>(out, t.act));
            for (int j = 0; j < n; ++j) c[j * t.cs_c] = row[j];
        }
    };
    for (int v = 0; v * T::W < t.cols; ++v) {
        const int n = t.cols - v * T::W;
        if (n >= T::W)
            columns(v, T::W, FullLanes<S>{});
        else
            columns(v, n, TailLanes<S>{n});
    }
}

using AccumulateFn = bool (*)(const F32GemmTile&, float*);

/// accumulate<rows, vectors, PACKED> indexed by [rows − 1][vectors − 1].
template <int MR>
struct AccumulateTable {
    AccumulateFn fn[MR][2];
};

template <class S, class T, bool PACKED, std::size_t... R>
constexpr AccumulateTable<T::MR> accumulate_table(std::index_sequence<R...>) {
    return AccumulateTable<T::MR>{{{&accumulate<S, T, static_cast<int>(R) + 1, 1, PACKED>,
                                    &accumulate<S, T, static_cast<int>(R) + 1, 2, PACKED>}...}};
}

/// The micro-kernel on lane type S with tile shape T (a GemmTileShape).
template <class S, class T>
void gemm_ukernel(const F32GemmTile& t) {
    static constexpr AccumulateTable<T::MR> PACKED_TABLE =
        accumulate_table<S, T, true>(std::make_index_sequence<T::MR>());
    static constexpr AccumulateTable<T::MR> STRIDED_TABLE =
        accumulate_table<S, T, false>(std::make_index_sequence<T::MR>());
    alignas(64) float tile[T::MR * T::NR];
    const bool packed = t.lda == T::MR && t.ldb == T::NR;
    if (!(packed ? PACKED_TABLE : STRIDED_TABLE).fn[t.rows - 1][t.cols > T::W ? 1 : 0](t, tile))
        write_strided_tile<S, T>(tile, t);
}

}  // namespace
}  // namespace graft::kernels
