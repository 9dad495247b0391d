// The attention drivers: query-block tasks over threads (cpu/parallel.hpp), score tiles through the GEMM
// (sgemm for float32, gemm_scalar for double), the row kernels of the active ISA in between.
// Under bf16 autocast on a CPU with AVX512_BF16 the tile products run on the bf16 pair kernel
// from panels packed once per call (PairProducts) instead of through sgemm, which would round and
// pack both operands of every tile product again.
// Compiled for baseline x86-64; it only calls into an ISA file once cpu_features allows it.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "kernels/attention/attention.hpp"
#include "kernels/cpu/gemm_precision.hpp"
#include "kernels/cpu/parallel.hpp"
#include "kernels/cpu/workspace.hpp"
#include "kernels/gemm/bf16_gemm.hpp"
#include "kernels/gemm/gemm.hpp"
#include "kernels/gemm/ukernel.hpp"

namespace graft::kernels {

namespace {

const F32AttentionVariant kVariants[] = {
    {"scalar", Isa::Scalar, attn_softmax_rows_scalar<float>, attn_exp_rows_scalar<float>},
    {"avx2", Isa::Avx2, f32_attn_softmax_rows__avx2, f32_attn_exp_rows__avx2},
    {"avx512", Isa::Avx512, f32_attn_softmax_rows__avx512, f32_attn_exp_rows__avx512},
};

/// The row kernels one driver call uses: the active ISA's for float, the scalar ones for double.
template <class T>
struct RowKernels {
    void (*softmax_rows)(int64, int64, T*, int64, T*, T*, T*);
    void (*exp_rows)(int64, int64, T*, int64, const T*);
};

template <class T>
RowKernels<T> row_kernels() {
    if constexpr (std::is_same_v<T, float>) {
        const F32AttentionVariant& v = f32_attention_variant(active_isa());
        return {v.softmax_rows, v.exp_rows};
    } else {
        return {attn_softmax_rows_scalar<T>, attn_exp_rows_scalar<T>};
    }
}

/// Runs body(task, scratch) for task in [0, tasks), each thread with its own scratch slice of
/// `scratch_size` elements, claiming tasks one at a time (their costs differ under a causal
/// mask). The scratch is allocated here, before any thread starts, so nothing throws inside the
/// parallel region.
template <class T, class F>
void for_tasks(int64 tasks, std::size_t scratch_size, F&& body) {
    const int threads = static_cast<int>(std::min<int64>(num_threads(), tasks));
    std::vector<T> scratch(scratch_size * static_cast<std::size_t>(std::max(threads, 1)));
    std::atomic<int64> next{0};
    parallel_region(threads, [&](int tid, int) {
        T* mine = scratch.data() + scratch_size * static_cast<std::size_t>(tid);
        for (int64 t = next.fetch_add(1, std::memory_order_relaxed); t < tasks;
             t = next.fetch_add(1, std::memory_order_relaxed))
            body(t, mine);
    });
}

/// Number of keys the query rows [i0, i0 + m) may see (all Tk unless causal).
template <class T>
int64 visible_keys(const AttnProblem<T>& p, int64 i0, int64 m) {
    return p.causal ? std::min(p.Tk, i0 + m + (p.Tk - p.Tq)) : p.Tk;
}

/// Sets the scores of the m×n tile at keys [j0, j0 + n) that rows [i0, i0 + m) may not see to −inf.
template <class T>
void mask_tile(const AttnProblem<T>& p, int64 i0, int64 m, int64 j0, int64 n, T* s, int64 lds) {
    if (!p.causal) return;
    const int64 offset = p.Tk - p.Tq;
    for (int64 r = 0; r < m; ++r) {
        const int64 first_hidden = std::max<int64>(i0 + r + offset + 1 - j0, 0);
        std::fill(s + r * lds + std::min(first_hidden, n), s + r * lds + n, -std::numeric_limits<T>::infinity());
    }
}

/// Row t of slice (b, h) of an AttnOperand or AttnResult.
template <class X>
auto* at(const X& x, int64 b, int64 h, int64 t) {
    return x.data + b * x.sb + h * x.sh + t * x.st;
}

/// Adds the additive mask's block for rows [i0, i0 + m) and keys [j0, j0 + n) of slice (b, h) to
/// the score tile (nothing without a mask).
template <class T>
void add_mask_tile(const AttnProblem<T>& p, int64 b, int64 h, int64 i0, int64 m, int64 j0, int64 n, T* s, int64 lds) {
    if (p.mask.data == nullptr) return;
    const T* base = at(p.mask, b, h, i0) + j0 * p.mask.sd;
    for (int64 r = 0; r < m; ++r) {
        const T* mr = base + r * p.mask.st;
        T* sr = s + r * lds;
        for (int64 j = 0; j < n; ++j) sr[j] += mr[j * p.mask.sd];
    }
}

/// Whether score element (b, h, i, j) survives dropout (always, without dropout).
template <class T>
bool dropout_keeps(const AttnProblem<T>& p, int64 b, int64 h, int64 i, int64 j) {
    const auto index = static_cast<std::uint64_t>(((b * p.H + h) * p.Tq + i) * p.Tk + j);
    return attn_dropout_bits(p.dropout_seed, index) >= p.dropout_threshold;
}

/// Applies dropout to the probability tile of rows [i0, i0 + m) and keys [j0, j0 + n) of slice
/// (b, h): kept entries scaled by dropout_scale, dropped ones zeroed (nothing without dropout).
template <class T>
void dropout_tile(const AttnProblem<T>& p, int64 b, int64 h, int64 i0, int64 m, int64 j0, int64 n, T* s, int64 lds) {
    if (p.dropout_threshold == 0) return;
    for (int64 r = 0; r < m; ++r) {
        T* sr = s + r * lds;
        for (int64 j = 0; j < n; ++j) sr[j] = dropout_keeps(p, b, h, i0 + r, j0 + j) ? sr[j] * p.dropout_scale : T(0);
    }
}

/// The online-softmax step of a tile (RowKernels::softmax_rows), except for rows that have seen
/// no visible key so far (running max −inf) and see none in this tile either: exp(−inf − (−inf))
/// would make them NaN, so they keep zero weights (s row 0, rescale 1, sum 0, max −inf). Only a
/// mask can hide every key of a row.
template <class T>
void softmax_tile(const AttnProblem<T>& p, const RowKernels<T>& kernels, int64 m, int64 n, T* s, int64 lds, T* mx,
                  T* l, T* rescale) {
    if (p.mask.data == nullptr) {
        kernels.softmax_rows(m, n, s, lds, mx, l, rescale);
        return;
    }
    constexpr T kNegInf = -std::numeric_limits<T>::infinity();
    const auto hidden = [&](int64 r) {
        return mx[r] == kNegInf && std::all_of(s + r * lds, s + r * lds + n, [](T x) { return x == -std::numeric_limits<T>::infinity(); });
    };
    for (int64 r = 0; r < m;) {
        int64 end = r;
        while (end < m && !hidden(end)) ++end;
        if (end > r) kernels.softmax_rows(end - r, n, s + r * lds, lds, mx + r, l + r, rescale + r);
        if (end < m) {
            std::fill(s + end * lds, s + end * lds + n, T(0));
            rescale[end] = T(1);
        }
        r = end + 1;
    }
}

/// Where one tile product sits: slice (b, h) = bh, query rows [i0, i0 + m), keys [j0, j0 + n).
struct TileAt {
    int64 b, h, bh, i0, m, j0, n;
};

/// The tile products on gemm<T>, operands read in place: float32 through sgemm (which under
/// autocast rounds and packs both operands of each product itself), double through gemm_scalar.
/// Block: a query block's rows of Q and, in the backward, of dO (row stride lddo, unit stride).
template <class T>
struct GemmProducts {
    struct Slice {};
    struct Block {
        const T* q;
        const T* dout;
        int64 lddo;
    };
    const AttnProblem<T>& p;
    static constexpr std::size_t work_size = 0;     ///< per-thread scratch elements the products need
    static constexpr bool slice_task_mode = false;  ///< whether the forward's tasks are whole slices
    /// The products read dO and write the gradients in place, where rows far apart conflict in
    /// L1: the backward copies such dO rows together and stages such gradient rows.
    static constexpr bool gathers_rows = true;

    Slice slice(int64) const { return {}; }
    Block block(const Slice&, int64 b, int64 h, int64 i0, int64, const T* dout, int64 lddo, T*) const {
        return {at(p.q, b, h, i0), dout, lddo};
    }
    /// s (m × n, row stride kAttnBlockK) = scale·Q_i·K_jᵀ
    void scores(const Block& blk, const TileAt& t, T* s) const {
        gemm<T>(t.m, t.n, p.D, p.scale, blk.q, p.q.st, p.q.sd, at(p.k, t.b, t.h, t.j0), p.k.sd, p.k.st, T(0), s,
                kAttnBlockK, 1);
    }
    /// o (m × Dv, row stride ldo) += P·V_j, P = s
    void pv(const Block&, const TileAt& t, const T* s, T* o, int64 ldo, T beta) const {
        gemm<T>(t.m, p.Dv, t.n, T(1), s, kAttnBlockK, 1, at(p.v, t.b, t.h, t.j0), p.v.st, p.v.sd, beta, o, ldo, 1);
    }
    /// dv_j (n × Dv, row stride ld) += Pᵀ·dO_i
    void dv(const Block& blk, const TileAt& t, const T* s, T* dv_j, int64 ld) const {
        gemm<T>(t.n, p.Dv, t.m, T(1), s, 1, kAttnBlockK, blk.dout, blk.lddo, 1, T(1), dv_j, ld, 1);
    }
    /// dp (m × n, row stride kAttnBlockK) = dO_i·V_jᵀ
    void dp(const Block& blk, const TileAt& t, T* dp) const {
        gemm<T>(t.m, t.n, p.Dv, T(1), blk.dout, blk.lddo, 1, at(p.v, t.b, t.h, t.j0), p.v.sd, p.v.st, T(0), dp,
                kAttnBlockK, 1);
    }
    /// dq_i (m × D, row stride ld) = scale·dS·K_j + beta·dq_i
    void dq(const Block&, const TileAt& t, const T* ds, T* dq_i, int64 ld, T beta) const {
        gemm<T>(t.m, p.D, t.n, p.scale, ds, kAttnBlockK, 1, at(p.k, t.b, t.h, t.j0), p.k.st, p.k.sd, beta, dq_i, ld,
                1);
    }
    /// dk_j (n × D, row stride ld) += scale·dSᵀ·Q_i
    void dk(const Block& blk, const TileAt& t, const T* ds, T* dk_j, int64 ld) const {
        gemm<T>(t.n, p.D, t.m, p.scale, ds, 1, kAttnBlockK, blk.q, p.q.st, p.q.sd, T(1), dk_j, ld, 1);
    }
};

constexpr int kPairRows = 12, kPairCols = 32;  // the pair kernel's tile (bf16_gemm_12x32__avx512bf16)
static_assert(kAttnBlockK % kPairCols == 0 && kAttnBlockQ % 2 == 0 && kAttnBlockK % 2 == 0,
              "key tiles start on a B panel, and query blocks and key tiles on a pair of k");

int64 pairs_of(int64 values) { return (values + 1) / 2; }
int64 round_up(int64 a, int64 b) { return (a + b - 1) / b * b; }

/// Floats of `lines` lines × `values` values of k packed as pair panels `width` lines wide.
int64 panel_floats(int64 lines, int64 values, int width) { return round_up(lines, width) * pairs_of(values); }

/// Rounds `lines` lines × `values` values of k (line l, value k at src[l·rs_line + k·ks]) to bf16
/// pair panels `width` lines wide at dst (bf16_pack_pairs__avx512bf16): panel i at
/// dst + i·width·⌈values/2⌉; an odd last pair's high half and the lines past `lines` are zero.
void pack_pairs(const float* src, int64 rs_line, int64 ks, int64 lines, int64 values, float* dst, int width) {
    bf16_pack_pairs__avx512bf16(src, rs_line, ks, lines, pairs_of(values), values, dst, width);
}

/// C (m × n, rows ldc apart, unit column stride) = alpha·A·B + beta·C on the pair kernel: A's m
/// lines from 12-line panels at a (panel stride sa floats), B's n lines from 32-line panels at b
/// (stride sb), both already offset to their first pair step, kp pair steps.
void pair_gemm(int64 m, int64 n, int64 kp, float alpha, const float* a, int64 sa, const float* b, int64 sb, float beta,
               float* c, int64 ldc) {
    F32GemmTile t{};
    t.kc = kp;
    t.lda = kPairRows;
    t.ldb = kPairCols;
    t.rs_c = ldc;
    t.cs_c = 1;
    t.alpha = alpha;
    t.beta = beta;
    t.act = Activation::None;
    for (int64 j = 0; j < n; j += kPairCols) {
        t.b = b + j / kPairCols * sb;
        t.cols = static_cast<int>(std::min<int64>(kPairCols, n - j));
        for (int64 i = 0; i < m; i += kPairRows) {
            t.a = a + i / kPairRows * sa;
            t.rows = static_cast<int>(std::min<int64>(kPairRows, m - i));
            t.c = c + i * ldc + j;
            bf16_gemm_12x32__avx512bf16(t);
        }
    }
}

/// Whether the float32 tile products run on PairProducts: bf16 autocast (the calling thread's
/// GEMM precision) on a CPU whose bf16 GEMM is the native pair kernel.
bool pair_products_here() {
    return gemm_precision() == GemmPrecision::BFloat16 && bf16_gemm_variant(active_isa()).native;
}

/// The float32 tile products in bf16 on the pair kernel, the products and sums those of
/// bf16_gemm (operands rounded to bf16, pairs of k from the start of each product, float32 sums):
/// the operands that a slice's tiles share (K and V, and in the backward Q and dO, each in the
/// layout its product reads) are packed once per slice — by the task that runs the slice, into
/// its thread's workspace where they stay in cache, or, when tasks are smaller than slices (fewer
/// slices than threads), for every slice before the tasks start; a query block's Q and dO rows
/// once per block; a probability or dS tile once per product. Where a product sums over an odd
/// number of keys (or queries), the A side's last pair has a zero high half, as in bf16_gemm, but
/// the B panels, packed for the whole slice, hold the next key there: it adds 0·x, exactly 0 for
/// a finite x (NaN for an infinite one, as in PyTorch's masked attention, which multiplies the
/// zero probabilities of hidden keys by their values).
struct PairProducts {
    /// One operand's B panels (32 lines wide, `stride` floats apart); data null where not needed.
    struct Panels {
        const float* data = nullptr;
        int64 stride = 0;
        /// The panels from line l on (l a multiple of 32).
        const float* from_line(int64 l) const { return data + l / kPairCols * stride; }
        /// Every panel from pair step s on (s = k/2, k even).
        const float* from_step(int64 s) const { return data + s * kPairCols; }
    };
    /// One slice's shared operands.
    struct Slice {
        Panels k_rows, v_cols;          ///< keys × D (S = Q·Kᵀ); Dv × keys (O += P·V)
        Panels v_rows, k_cols, q_cols;  ///< keys × Dv (dP = dO·Vᵀ); D × keys (dQ); D × queries (dK)
        Panels dout_cols;               ///< Dv × queries (dV += Pᵀ·dO)
    };
    struct Block {
        Slice slice;
        const float* q;     ///< the block's Q rows, 12-line panels over D
        const float* dout;  ///< its dO rows, 12-line panels over Dv (backward, where dP is needed)
        float* work;        ///< a tile's A panels
    };
    /// One shared operand: which, its lines along T (k along the head dim) or along the head dim,
    /// its panels' floats per slice and panel stride.
    struct Operand {
        Panels Slice::*member;
        const AttnOperand<float>* x;  ///< null: not needed
        bool rows;
        int64 T, width, slice_floats, stride;
    };
    const AttnProblem<float>& p;
    AttnOperand<float> dout_op{};
    std::vector<Operand> operands;
    int64 slice_floats = 0;     ///< all shared operands of one slice
    const float* all = nullptr;  ///< every slice's, when packed ahead (not slice_task_mode)
    bool slice_task_mode;  ///< tasks take whole slices and pack their shared operands (slice())
    std::size_t work_size;  ///< per-thread scratch floats: a block's row panels and one tile's A panels
    /// dO is packed (from any strides) and the gradient tiles take 12×32 tiles at any row stride.
    static constexpr bool gathers_rows = false;

    /// The shared operands the forward (dout null) or the backward (the gradients asked for)
    /// reads; packed here into `panels` for every slice unless slice_tasks (then slice() packs).
    PairProducts(const AttnProblem<float>& problem, const AttnOperand<float>* dout, bool dq, bool dk, bool dv,
                 bool slice_tasks, Workspace& panels)
        : p(problem), slice_task_mode(slice_tasks) {
        const bool backward = dout != nullptr;
        if (backward) dout_op = *dout;
        const auto want = [&](Panels Slice::*member, const AttnOperand<float>* x, bool rows, int64 T,
                              int64 width) {
            const int64 floats = rows ? panel_floats(T, width, kPairCols) : panel_floats(width, T, kPairCols);
            operands.push_back({member, x, rows, T, width, floats, kPairCols * (rows ? pairs_of(width) : pairs_of(T))});
            slice_floats += x ? floats : 0;
        };
        want(&Slice::k_rows, &p.k, true, p.Tk, p.D);
        want(&Slice::v_cols, backward ? nullptr : &p.v, false, p.Tk, p.Dv);
        want(&Slice::v_rows, backward && (dq || dk) ? &p.v : nullptr, true, p.Tk, p.Dv);
        want(&Slice::k_cols, backward && dq ? &p.k : nullptr, false, p.Tk, p.D);
        want(&Slice::q_cols, backward && dk ? &p.q : nullptr, false, p.Tq, p.D);
        want(&Slice::dout_cols, backward && dv ? &dout_op : nullptr, false, p.Tq, p.Dv);
        if (!slice_tasks) {
            float* dst = panels.reserve(slice_floats * p.B * p.H);
            all = dst;
            parallel_for(0, p.B * p.H, p.B * p.H * slice_floats, [&](int64 lo, int64 hi) {
                for (int64 bh = lo; bh < hi; ++bh) pack_slice(bh, dst + bh * slice_floats);
            });
        }
        const int64 rows = round_up(kAttnBlockQ, kPairRows);
        const int64 tile = std::max(panel_floats(kAttnBlockQ, kAttnBlockK, kPairRows),
                                    panel_floats(kAttnBlockK, kAttnBlockQ, kPairRows));
        work_size = static_cast<std::size_t>(rows * (pairs_of(p.D) + (backward ? pairs_of(p.Dv) : 0)) + tile);
    }

    /// Where a slice's shared operands lie when packed at base (slice_floats floats, in order).
    Slice place(const float* base) const {
        Slice out{};
        for (const Operand& o : operands)
            if (o.x) {
                out.*o.member = {base, o.stride};
                base += o.slice_floats;
            }
        return out;
    }

    /// Packs slice bh's shared operands at dst (slice_floats floats) and says where each is.
    Slice pack_slice(int64 bh, float* dst) const {
        const Slice out = place(dst);
        for (const Operand& o : operands) {
            if (!o.x) continue;
            const float* src = at(*o.x, bh / p.H, bh % p.H, 0);
            if (o.rows)
                pack_pairs(src, o.x->st, o.x->sd, o.T, o.width, dst, kPairCols);
            else
                pack_pairs(src, o.x->sd, o.x->st, o.width, o.T, dst, kPairCols);
            dst += o.slice_floats;
        }
        return out;
    }

    /// Slice bh's shared operands: packed ahead, or packed now into the calling thread's
    /// workspace (the task's, valid until its next slice()).
    Slice slice(int64 bh) const {
        thread_local Workspace mine;
        return slice_task_mode ? pack_slice(bh, mine.reserve(slice_floats)) : place(all + bh * slice_floats);
    }

    Block block(const Slice& sl, int64 b, int64 h, int64 i0, int64 m, const float* dout, int64 lddo,
                float* scratch) const {
        const int64 rows = round_up(kAttnBlockQ, kPairRows);
        Block blk{sl, scratch, scratch + rows * pairs_of(p.D), scratch + rows * pairs_of(p.D)};
        pack_pairs(at(p.q, b, h, i0), p.q.st, p.q.sd, m, p.D, scratch, kPairRows);
        if (dout && sl.v_rows.data) {  // dO's rows are dP's A operand, whose B is v_rows
            pack_pairs(dout, lddo, 1, m, p.Dv, blk.work, kPairRows);
            blk.work += rows * pairs_of(p.Dv);
        }
        return blk;
    }
    void scores(const Block& blk, const TileAt& t, float* s) const {
        pair_gemm(t.m, t.n, pairs_of(p.D), p.scale, blk.q, kPairRows * pairs_of(p.D),
                  blk.slice.k_rows.from_line(t.j0), blk.slice.k_rows.stride, 0.f, s, kAttnBlockK);
    }
    void pv(const Block& blk, const TileAt& t, const float* s, float* o, int64 ldo, float beta) const {
        pack_pairs(s, kAttnBlockK, 1, t.m, t.n, blk.work, kPairRows);
        pair_gemm(t.m, p.Dv, pairs_of(t.n), 1.f, blk.work, kPairRows * pairs_of(t.n),
                  blk.slice.v_cols.from_step(t.j0 / 2), blk.slice.v_cols.stride, beta, o, ldo);
    }
    void dv(const Block& blk, const TileAt& t, const float* s, float* dv_j, int64 ld) const {
        pack_pairs(s, 1, kAttnBlockK, t.n, t.m, blk.work, kPairRows);
        pair_gemm(t.n, p.Dv, pairs_of(t.m), 1.f, blk.work, kPairRows * pairs_of(t.m),
                  blk.slice.dout_cols.from_step(t.i0 / 2), blk.slice.dout_cols.stride, 1.f, dv_j, ld);
    }
    void dp(const Block& blk, const TileAt& t, float* dp) const {
        pair_gemm(t.m, t.n, pairs_of(p.Dv), 1.f, blk.dout, kPairRows * pairs_of(p.Dv),
                  blk.slice.v_rows.from_line(t.j0), blk.slice.v_rows.stride, 0.f, dp, kAttnBlockK);
    }
    void dq(const Block& blk, const TileAt& t, const float* ds, float* dq_i, int64 ld, float beta) const {
        pack_pairs(ds, kAttnBlockK, 1, t.m, t.n, blk.work, kPairRows);
        pair_gemm(t.m, p.D, pairs_of(t.n), p.scale, blk.work, kPairRows * pairs_of(t.n),
                  blk.slice.k_cols.from_step(t.j0 / 2), blk.slice.k_cols.stride, beta, dq_i, ld);
    }
    void dk(const Block& blk, const TileAt& t, const float* ds, float* dk_j, int64 ld) const {
        pack_pairs(ds, 1, kAttnBlockK, t.n, t.m, blk.work, kPairRows);
        pair_gemm(t.n, p.D, pairs_of(t.m), p.scale, blk.work, kPairRows * pairs_of(t.m),
                  blk.slice.q_cols.from_step(t.i0 / 2), blk.slice.q_cols.stride, 1.f, dk_j, ld);
    }
};

/// The calling thread's pair panels of every slice (PairProducts without slice tasks): kept
/// between calls.
thread_local Workspace tl_pair_panels;

/// Whether tasks take whole slices (B·H slices, at least one per thread), which then pack their
/// shared operands themselves: the backward's per-slice mode (backward_impl), and so the forward's.
template <class T>
bool slice_tasks(const AttnProblem<T>& p) {
    return p.B * p.H >= num_threads();
}

// O[i] = Σ_j P[i,j]·V[j], P = softmax_j(scale·Q[i]·K[j]), one query block per task (or one slice,
// where the products share per-slice operands); lse[i] = log Σ_j exp(S[i,j]).
template <class T, class Products>
void forward_impl(const AttnProblem<T>& p, const AttnResult<T>& out, T* lse, const Products& prod) {
    const RowKernels<T> kernels = row_kernels<T>();
    const int64 qblocks = (p.Tq + kAttnBlockQ - 1) / kAttnBlockQ;
    const int64 per_task = prod.slice_task_mode ? std::max<int64>(qblocks, 1) : 1;
    const std::size_t tile = static_cast<std::size_t>(kAttnBlockQ * kAttnBlockK);
    for_tasks<T>(p.B * p.H * qblocks / per_task, tile + 3 * kAttnBlockQ + prod.work_size, [&](int64 task, T* scratch) {
        const int64 first = task * per_task, bh = first / qblocks, b = bh / p.H, h = bh % p.H;
        T* s = scratch;
        T* mx = scratch + tile;
        T* l = mx + kAttnBlockQ;
        T* rescale = l + kAttnBlockQ;
        const auto slice = prod.slice(bh);
        for (int64 block = first % qblocks; block < first % qblocks + per_task; ++block) {
            const int64 i0 = block * kAttnBlockQ, m = std::min(kAttnBlockQ, p.Tq - i0);
            std::fill(mx, mx + m, -std::numeric_limits<T>::infinity());
            std::fill(l, l + m, T(0));
            T* o = at(out, b, h, i0);
            const int64 ldo = out.st;
            const auto blk = prod.block(slice, b, h, i0, m, nullptr, 0, rescale + kAttnBlockQ);
            const int64 keys = visible_keys(p, i0, m);  // ≥ m ≥ 1: the first tile writes O whole
            for (int64 j0 = 0; j0 < keys; j0 += kAttnBlockK) {
                const int64 n = std::min(kAttnBlockK, keys - j0);
                const TileAt t{b, h, bh, i0, m, j0, n};
                prod.scores(blk, t, s);  // S = scale·Q_i·K_jᵀ
                add_mask_tile(p, b, h, i0, m, j0, n, s, kAttnBlockK);
                mask_tile(p, i0, m, j0, n, s, kAttnBlockK);
                softmax_tile(p, kernels, m, n, s, kAttnBlockK, mx, l, rescale);
                if (j0 > 0)
                    for (int64 r = 0; r < m; ++r)
                        if (rescale[r] != T(1))
                            for (int64 d = 0; d < p.Dv; ++d) o[r * ldo + d] *= rescale[r];
                // The row sums l already hold the undropped probabilities; only P·V sees the mask.
                dropout_tile(p, b, h, i0, m, j0, n, s, kAttnBlockK);
                prod.pv(blk, t, s, o, ldo, j0 > 0 ? T(1) : T(0));  // O_i (+)= P·V_j
            }
            for (int64 r = 0; r < m; ++r) {
                if (l[r] == T(0)) {
                    // No visible key: the output row stays 0, and lse = +inf makes the backward's
                    // probabilities exp(s − lse) 0 for this row.
                    lse[bh * p.Tq + i0 + r] = std::numeric_limits<T>::infinity();
                    continue;
                }
                const T inv = T(1) / l[r];
                for (int64 d = 0; d < p.Dv; ++d) o[r * ldo + d] *= inv;
                lse[bh * p.Tq + i0 + r] = mx[r] + std::log(l[r]);
            }
        }
    });
}

/// out[i] = Σ_d x[i·ldx + d]·y[i·ldy + d] for i < rows: eight interleaved partial sums (which the
/// compiler keeps in vector registers, where one running sum would wait on every add).
template <class T>
void row_dots_slice(int64 rows, int64 n, const T* xs, int64 ldx, const T* ys, int64 ldy, T* out) {
    constexpr int64 kLanes = 8;
    for (int64 i = 0; i < rows; ++i) {
        const T* x = xs + i * ldx;
        const T* y = ys + i * ldy;
        T acc[kLanes] = {};
        int64 d = 0;
        for (; d + kLanes <= n; d += kLanes)
            for (int64 k = 0; k < kLanes; ++k) acc[k] += x[d + k] * y[d + k];
        T sum = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
        for (; d < n; ++d) sum += x[d] * y[d];
        out[i] = sum;
    }
}

/// out[bh·Tq + t] = Σ_d a(b, h, t, d)·c(b, h, t, d) over every row of two [B, H, Tq, n] operands
/// (unit stride along d), slices spread over the threads (work: Tq·n products per slice). Each
/// row's order is fixed, so any thread count gives the same sums.
template <class T>
void row_dots(const AttnProblem<T>& p, int64 n, const AttnOperand<T>& a, const AttnOperand<T>& c, T* out) {
    const int64 slices = p.B * p.H;
    parallel_for(0, slices, slices * p.Tq * n, [&](int64 lo, int64 hi) {
        for (int64 bh = lo; bh < hi; ++bh)
            row_dots_slice(p.Tq, n, at(a, bh / p.H, bh % p.H, 0), a.st, at(c, bh / p.H, bh % p.H, 0), c.st,
                           out + bh * p.Tq);
    });
}

/// The backward's operands and outputs (q, k, v, out, dout strided, the rest contiguous); an
/// output is nullptr when not needed, and a step updates only the outputs it is asked for.
template <class T, class Products>
struct BackwardArgs {
    const AttnProblem<T>& p;
    RowKernels<T> kernels;
    const T* lse;
    AttnOperand<T> out, dout;
    const T* delta;  ///< rowsum(dO∘O), [B·H, Tq]; nullptr: computed per query block
    AttnResult<T> dq, dk, dv;  ///< data nullptr: not asked for
    const Products& prod;
};

/// What the steps of one query block share: its dO rows (row stride lddo), delta = rowsum(dO∘O),
/// and the products' operands of the block.
template <class T, class Products>
struct BlockRows {
    const T* dout;
    int64 lddo;
    const T* delta;
    typename Products::Block operands;
};

/// The rows of query block i0 of slice bh. Where dO's rows are not packed (the gradient of the
/// merged-heads view, rows H·Dv apart) and the products read dO in place (gathers_rows), they
/// are copied into dbuf (kAttnBlockQ × Dv), since rows far apart conflict in L1; without a
/// precomputed delta, the block's is computed into dl (kAttnBlockQ) while those rows are in
/// cache. slice: the products' operands of slice bh; work: their per-thread scratch.
template <class T, class Products>
BlockRows<T, Products> block_rows(const BackwardArgs<T, Products>& a, const typename Products::Slice& slice, int64 bh,
                                  int64 i0, T* dbuf, T* dl, T* work) {
    const AttnProblem<T>& p = a.p;
    const int64 b = bh / p.H, h = bh % p.H, m = std::min(kAttnBlockQ, p.Tq - i0);
    const T* dout = at(a.dout, b, h, i0);
    int64 lddo = a.dout.st;
    if (Products::gathers_rows && lddo != p.Dv) {
        for (int64 r = 0; r < m; ++r) std::copy(dout + r * lddo, dout + r * lddo + p.Dv, dbuf + r * p.Dv);
        dout = dbuf;
        lddo = p.Dv;
    }
    const T* delta = a.delta ? a.delta + bh * p.Tq + i0 : dl;
    if (!a.delta && (a.dq.data || a.dk.data)) row_dots_slice(m, p.Dv, dout, lddo, at(a.out, b, h, i0), a.out.st, dl);
    return {dout, lddo, delta, a.prod.block(slice, b, h, i0, m, dout, lddo, work)};
}

/// backward_step's part after P = exp(S − lse) is in s, with dropout: dP = dO·Vᵀ first, then one
/// pass that regenerates the mask and turns dP into dS and P into Z, then the products.
template <class T, class Products>
void dropout_backward_step(const BackwardArgs<T, Products>& a, const TileAt& t, const BlockRows<T, Products>& rows,
                           bool upd_q, bool upd_k, bool upd_v, T* s, T* dp) {
    const AttnProblem<T>& p = a.p;
    if (upd_q || upd_k) {
        a.prod.dp(rows.operands, t, dp);
        for (int64 r = 0; r < t.m; ++r) {
            T* dsr = dp + r * kAttnBlockK;
            T* pr = s + r * kAttnBlockK;
            for (int64 j = 0; j < t.n; ++j) {
                const bool keep = dropout_keeps(p, t.b, t.h, t.i0 + r, t.j0 + j);
                dsr[j] = pr[j] * ((keep ? dsr[j] * p.dropout_scale : T(0)) - rows.delta[r]);
                pr[j] = keep ? pr[j] * p.dropout_scale : T(0);
            }
        }
    } else {
        dropout_tile(p, t.b, t.h, t.i0, t.m, t.j0, t.n, s, kAttnBlockK);
    }
    if (upd_v) a.prod.dv(rows.operands, t, s, at(a.dv, t.b, t.h, t.j0), a.dv.st);
    if (upd_q) a.prod.dq(rows.operands, t, dp, at(a.dq, t.b, t.h, t.i0), a.dq.st, t.j0 > 0 ? T(1) : T(0));
    if (upd_k) a.prod.dk(rows.operands, t, dp, at(a.dk, t.b, t.h, t.j0), a.dk.st);
}

/// backward_impl's limit on a task's staged gradient rows (3 MiB of float32).
constexpr int64 kMaxStagedFloats = int64{3} << 18;

/// One (query block i0, key tile j0) step of slice bh, for the gradients selected:
//   P = exp(scale·Q_i·K_jᵀ − lse_i);  dV_j += Pᵀ·dO_i;  dS = P∘(dO_i·V_jᵀ − delta_i);
//   dQ_i += scale·dS·K_j (= at j0 = 0);  dK_j += scale·dSᵀ·Q_i.
// With dropout, Z = P∘M·c (c = 1/(1 − p)) replaces P in dV_j += Zᵀ·dO_i, and
//   dS = P∘(M·c∘(dO_i·V_jᵀ) − delta_i).
// s and dp are kAttnBlockQ × kAttnBlockK tiles; rows from block_rows(…, i0, …).
template <class T, class Products>
void backward_step(const BackwardArgs<T, Products>& a, int64 bh, int64 i0, int64 j0, const BlockRows<T, Products>& rows,
                   bool upd_q, bool upd_k, bool upd_v, T* s, T* dp) {
    const AttnProblem<T>& p = a.p;
    const int64 b = bh / p.H, h = bh % p.H;
    const int64 m = std::min(kAttnBlockQ, p.Tq - i0), n = std::min(kAttnBlockK, visible_keys(p, i0, m) - j0);
    const TileAt t{b, h, bh, i0, m, j0, n};
    a.prod.scores(rows.operands, t, s);
    add_mask_tile(p, b, h, i0, m, j0, n, s, kAttnBlockK);
    mask_tile(p, i0, m, j0, n, s, kAttnBlockK);
    a.kernels.exp_rows(m, n, s, kAttnBlockK, a.lse + bh * p.Tq + i0);
    if (p.dropout_threshold != 0) {
        dropout_backward_step(a, t, rows, upd_q, upd_k, upd_v, s, dp);
        return;
    }
    if (upd_v) a.prod.dv(rows.operands, t, s, at(a.dv, b, h, j0), a.dv.st);
    if (!upd_q && !upd_k) return;
    a.prod.dp(rows.operands, t, dp);
    const T* delta = rows.delta;
    for (int64 r = 0; r < m; ++r) {
        T* dsr = dp + r * kAttnBlockK;
        const T* pr = s + r * kAttnBlockK;
        for (int64 j = 0; j < n; ++j) dsr[j] = pr[j] * (dsr[j] - delta[r]);
    }
    if (upd_q) a.prod.dq(rows.operands, t, dp, at(a.dq, b, h, i0), a.dq.st, j0 > 0 ? T(1) : T(0));
    if (upd_k) a.prod.dk(rows.operands, t, dp, at(a.dk, b, h, j0), a.dk.st);
}

// Given dO: P = exp(S − lse), dV = Pᵀ·dO, dP = dO·Vᵀ, dS = P∘(dP − rowsum(dO∘O)), dQ = scale·dS·K,
// dK = scale·dSᵀ·Q. With at least as many B·H slices as threads, one slice per task (each
// slice's gradients have one writer), rowsum(dO∘O) computed per query block. With fewer, two
// passes keep every thread busy: dK and dV by (slice, key tile), then dQ by (slice, query block);
// that recomputes P and dP once more, and each gradient element sees the same products in the
// same order, so the result is the same (rowsum(dO∘O) is computed first, by the same loop).
template <class T, class Products>
void backward_impl(const AttnProblem<T>& p, const AttnOperand<T>& out, const T* lse, const AttnOperand<T>& dout,
                   const AttnResult<T>& dq, const AttnResult<T>& dk, const AttnResult<T>& dv, const Products& prod) {
    const int64 slices = p.B * p.H;
    const bool per_slice = slice_tasks(p);
    // The gradients' rows and widths. zero() clears slice bh of one; per-slice tasks clear their
    // own slice just before accumulating into it (while it is in cache). dQ is not cleared: a
    // query block's first key tile writes its rows whole (beta 0), later ones add.
    struct Grad {
        AttnResult<T> g;
        int64 rows, width;
    };
    const Grad grads[3] = {{dq, p.Tq, p.D}, {dk, p.Tk, p.D}, {dv, p.Tk, p.Dv}};
    const auto zero = [&](const AttnResult<T>& g, int64 bh, int64 rows, int64 width) {
        if (g.data == nullptr) return;
        if (g.st == width) {  // the slice's rows are contiguous
            T* first = at(g, bh / p.H, bh % p.H, 0);
            std::fill(first, first + rows * width, T(0));
            return;
        }
        for (int64 r = 0; r < rows; ++r) {
            T* row = at(g, bh / p.H, bh % p.H, r);
            std::fill(row, row + width, T(0));
        }
    };
    if (!per_slice)
        for (int64 bh = 0; bh < slices; ++bh)
            for (int i = 1; i < 3; ++i) zero(grads[i].g, bh, grads[i].rows, grads[i].width);
    std::vector<T> delta;
    if (!per_slice && (dq.data || dk.data)) {
        delta.assign(static_cast<std::size_t>(slices * p.Tq), T(0));
        row_dots(p, p.Dv, dout, out, delta.data());
    }
    const BackwardArgs<T, Products> a{
        p, row_kernels<T>(), lse, out, dout, per_slice ? nullptr : delta.data(), dq, dk, dv, prod};
    const std::size_t tile = static_cast<std::size_t>(kAttnBlockQ * kAttnBlockK);
    const std::size_t scratch_size = 2 * tile + static_cast<std::size_t>(kAttnBlockQ * (p.Dv + 1)) + prod.work_size;
    const int64 qblocks = (p.Tq + kAttnBlockQ - 1) / kAttnBlockQ, ktiles = (p.Tk + kAttnBlockK - 1) / kAttnBlockK;
    const auto keys_of_block = [&](int64 i0) { return visible_keys(p, i0, std::min(kAttnBlockQ, p.Tq - i0)); };
    // Per task scratch: the score tile s, the dP tile, dO's block rows and their delta, then the
    // products' own.
    const auto dbuf = [&](T* scratch) { return scratch + 2 * tile; };
    const auto dl = [&](T* scratch) { return scratch + 2 * tile + kAttnBlockQ * p.Dv; };
    const auto work = [&](T* scratch) { return scratch + 2 * tile + kAttnBlockQ * (p.Dv + 1); };
    const auto rows_of = [&](const typename Products::Slice& slice, int64 bh, int64 i0, T* scratch) {
        return block_rows(a, slice, bh, i0, dbuf(scratch), dl(scratch), work(scratch));
    };
    if (per_slice) {
        // Under products that write in place (gathers_rows), a gradient whose rows are not
        // contiguous (heads split from one projection: rows H·D apart) accumulates the task's
        // slice in contiguous rows after the scratch, copied out at the end: sgemm's tiles slow
        // down on C rows that far apart (float32 GPT blocks, [16, 4, 128, 64]: by a twentieth of
        // the attention). Up to kMaxStagedFloats per task.
        bool staged[3];
        int64 staged_floats = 0;
        for (int i = 0; i < 3; ++i) {
            staged[i] = Products::gathers_rows && grads[i].g.data && grads[i].g.st != grads[i].width;
            if (staged[i]) staged_floats += grads[i].rows * grads[i].width;
        }
        if (staged_floats > kMaxStagedFloats) {  // too large for the scratch: written in place
            std::fill(staged, staged + 3, false);
            staged_floats = 0;
        }
        for_tasks<T>(slices, scratch_size + static_cast<std::size_t>(staged_floats), [&](int64 bh, T* scratch) {
            BackwardArgs<T, Products> mine = a;
            AttnResult<T>* targets[3] = {&mine.dq, &mine.dk, &mine.dv};
            T* next_stage = scratch + scratch_size;
            for (int i = 0; i < 3; ++i)
                if (staged[i]) {
                    *targets[i] = {next_stage, 0, 0, grads[i].width};  // at(·, b, h, t) = row t, any (b, h)
                    next_stage += grads[i].rows * grads[i].width;
                }
            for (int i = 1; i < 3; ++i) zero(*targets[i], bh, grads[i].rows, grads[i].width);
            const auto slice = prod.slice(bh);
            for (int64 i0 = 0; i0 < p.Tq; i0 += kAttnBlockQ) {
                const BlockRows<T, Products> rows =
                    block_rows(mine, slice, bh, i0, dbuf(scratch), dl(scratch), work(scratch));
                for (int64 j0 = 0; j0 < keys_of_block(i0); j0 += kAttnBlockK)
                    backward_step(mine, bh, i0, j0, rows, dq.data != nullptr, dk.data != nullptr, dv.data != nullptr,
                                  scratch, scratch + tile);
            }
            for (int i = 0; i < 3; ++i)
                if (staged[i])
                    for (int64 r = 0; r < grads[i].rows; ++r)
                        std::copy(targets[i]->data + r * grads[i].width, targets[i]->data + (r + 1) * grads[i].width,
                                  at(grads[i].g, bh / p.H, bh % p.H, r));
        });
        return;
    }
    if (dk.data || dv.data)
        for_tasks<T>(slices * ktiles, scratch_size, [&](int64 task, T* scratch) {
            const int64 bh = task / ktiles, j0 = (task % ktiles) * kAttnBlockK;
            const auto slice = prod.slice(bh);
            for (int64 i0 = 0; i0 < p.Tq; i0 += kAttnBlockQ)
                if (j0 < keys_of_block(i0))
                    backward_step(a, bh, i0, j0, rows_of(slice, bh, i0, scratch), false, dk.data != nullptr,
                                  dv.data != nullptr, scratch, scratch + tile);
        });
    if (dq.data)
        for_tasks<T>(slices * qblocks, scratch_size, [&](int64 task, T* scratch) {
            const int64 bh = task / qblocks, i0 = (task % qblocks) * kAttnBlockQ;
            const BlockRows<T, Products> rows = rows_of(prod.slice(bh), bh, i0, scratch);
            for (int64 j0 = 0; j0 < keys_of_block(i0); j0 += kAttnBlockK)
                backward_step(a, bh, i0, j0, rows, true, false, false, scratch, scratch + tile);
        });
}

}  // namespace

const F32AttentionVariant& f32_attention_variant(Isa isa) {
    for (const F32AttentionVariant& v : kVariants)
        if (v.isa == isa) return v;
    return kVariants[0];
}

void attention_forward(const AttnProblem<float>& p, const AttnResult<float>& out, float* lse) {
    if (pair_products_here())
        forward_impl(p, out, lse, PairProducts(p, nullptr, false, false, false, slice_tasks(p), tl_pair_panels));
    else
        forward_impl(p, out, lse, GemmProducts<float>{p});
}
void attention_forward(const AttnProblem<double>& p, const AttnResult<double>& out, double* lse) {
    forward_impl(p, out, lse, GemmProducts<double>{p});
}

void attention_backward(const AttnProblem<float>& p, const AttnOperand<float>& out, const float* lse,
                        const AttnOperand<float>& dout, const AttnResult<float>& dq, const AttnResult<float>& dk,
                        const AttnResult<float>& dv) {
    if (pair_products_here())
        backward_impl(p, out, lse, dout, dq, dk, dv,
                      PairProducts(p, &dout, dq.data != nullptr, dk.data != nullptr, dv.data != nullptr,
                                   slice_tasks(p), tl_pair_panels));
    else
        backward_impl(p, out, lse, dout, dq, dk, dv, GemmProducts<float>{p});
}
void attention_backward(const AttnProblem<double>& p, const AttnOperand<double>& out, const double* lse,
                        const AttnOperand<double>& dout, const AttnResult<double>& dq, const AttnResult<double>& dk,
                        const AttnResult<double>& dv) {
    backward_impl(p, out, lse, dout, dq, dk, dv, GemmProducts<double>{p});
}

}  // namespace graft::kernels
