// The attention drivers: query-block tasks over threads (cpu/parallel.hpp), score tiles through the GEMM
// (sgemm for float32, gemm_scalar for double), the row kernels of the active ISA in between.
// Compiled for baseline x86-64; it only calls into an ISA file once cpu_features allows it.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "kernels/attention/attention.hpp"
#include "kernels/cpu/parallel.hpp"
#include "kernels/gemm/gemm.hpp"

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

template <class T>
const T* at(const AttnOperand<T>& x, int64 b, int64 h, int64 t) {
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

// O[i] = Σ_j P[i,j]·V[j], P = softmax_j(scale·Q[i]·K[j]), one query block per task; lse[i] = log Σ_j exp(S[i,j]).
template <class T>
void forward_impl(const AttnProblem<T>& p, const AttnResult<T>& out, T* lse) {
    const RowKernels<T> kernels = row_kernels<T>();
    const int64 qblocks = (p.Tq + kAttnBlockQ - 1) / kAttnBlockQ;
    const std::size_t tile = static_cast<std::size_t>(kAttnBlockQ * kAttnBlockK);
    for_tasks<T>(p.B * p.H * qblocks, tile + 3 * kAttnBlockQ, [&](int64 task, T* scratch) {
        const int64 bh = task / qblocks, b = bh / p.H, h = bh % p.H;
        const int64 i0 = (task % qblocks) * kAttnBlockQ, m = std::min(kAttnBlockQ, p.Tq - i0);
        T* s = scratch;
        T* mx = scratch + tile;
        T* l = mx + kAttnBlockQ;
        T* rescale = l + kAttnBlockQ;
        std::fill(mx, mx + m, -std::numeric_limits<T>::infinity());
        std::fill(l, l + m, T(0));
        T* o = out.data + b * out.sb + h * out.sh + i0 * out.st;
        const int64 ldo = out.st;
        for (int64 r = 0; r < m; ++r) std::fill(o + r * ldo, o + r * ldo + p.Dv, T(0));
        const T* qi = at(p.q, b, h, i0);
        const int64 keys = visible_keys(p, i0, m);
        for (int64 j0 = 0; j0 < keys; j0 += kAttnBlockK) {
            const int64 n = std::min(kAttnBlockK, keys - j0);
            // S = scale·Q_i·K_jᵀ
            gemm<T>(m, n, p.D, p.scale, qi, p.q.st, p.q.sd, at(p.k, b, h, j0), p.k.sd, p.k.st, T(0), s, kAttnBlockK, 1);
            add_mask_tile(p, b, h, i0, m, j0, n, s, kAttnBlockK);
            mask_tile(p, i0, m, j0, n, s, kAttnBlockK);
            softmax_tile(p, kernels, m, n, s, kAttnBlockK, mx, l, rescale);
            for (int64 r = 0; r < m; ++r)
                if (rescale[r] != T(1))
                    for (int64 d = 0; d < p.Dv; ++d) o[r * ldo + d] *= rescale[r];
            // The row sums l already hold the undropped probabilities; only P·V sees the mask.
            dropout_tile(p, b, h, i0, m, j0, n, s, kAttnBlockK);
            // O_i += P·V_j
            gemm<T>(m, p.Dv, n, T(1), s, kAttnBlockK, 1, at(p.v, b, h, j0), p.v.st, p.v.sd, T(1), o, ldo, 1);
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
template <class T>
struct BackwardArgs {
    const AttnProblem<T>& p;
    RowKernels<T> kernels;
    const T* lse;
    AttnOperand<T> out, dout;
    const T* delta;  ///< rowsum(dO∘O), [B·H, Tq]; nullptr: computed per query block
    T *dq, *dk, *dv;
};

/// What the steps of one query block share: its dO rows (row stride lddo) and delta = rowsum(dO∘O).
template <class T>
struct BlockRows {
    const T* dout;
    int64 lddo;
    const T* delta;
};

/// The rows of query block i0 of slice bh. Where dO's rows are not packed (the gradient of the
/// merged-heads view, rows H·Dv apart) they are copied into dbuf (kAttnBlockQ × Dv), since the
/// GEMMs read dO in place and rows far apart conflict in L1; without a precomputed delta, the
/// block's is computed into dl (kAttnBlockQ) while those rows are in cache.
template <class T>
BlockRows<T> block_rows(const BackwardArgs<T>& a, int64 bh, int64 i0, T* dbuf, T* dl) {
    const AttnProblem<T>& p = a.p;
    const int64 b = bh / p.H, h = bh % p.H, m = std::min(kAttnBlockQ, p.Tq - i0);
    BlockRows<T> rows{at(a.dout, b, h, i0), a.dout.st, a.delta ? a.delta + bh * p.Tq + i0 : dl};
    if (rows.lddo != p.Dv) {
        for (int64 r = 0; r < m; ++r) std::copy(rows.dout + r * rows.lddo, rows.dout + r * rows.lddo + p.Dv, dbuf + r * p.Dv);
        rows.dout = dbuf;
        rows.lddo = p.Dv;
    }
    if (!a.delta && (a.dq || a.dk)) row_dots_slice(m, p.Dv, rows.dout, rows.lddo, at(a.out, b, h, i0), a.out.st, dl);
    return rows;
}

/// backward_step's part after P = exp(S − lse) is in s, with dropout: dP = dO·Vᵀ first, then one
/// pass that regenerates the mask and turns dP into dS and P into Z, then the GEMMs.
template <class T>
void dropout_backward_step(const BackwardArgs<T>& a, int64 b, int64 h, int64 bh, int64 i0, int64 m, int64 j0, int64 n,
                           const BlockRows<T>& rows, bool upd_q, bool upd_k, bool upd_v, T* s, T* dp) {
    const AttnProblem<T>& p = a.p;
    if (upd_q || upd_k) {
        gemm<T>(m, n, p.Dv, T(1), rows.dout, rows.lddo, 1, at(p.v, b, h, j0), p.v.sd, p.v.st, T(0), dp, kAttnBlockK, 1);
        for (int64 r = 0; r < m; ++r) {
            T* dsr = dp + r * kAttnBlockK;
            T* pr = s + r * kAttnBlockK;
            for (int64 j = 0; j < n; ++j) {
                const bool keep = dropout_keeps(p, b, h, i0 + r, j0 + j);
                dsr[j] = pr[j] * ((keep ? dsr[j] * p.dropout_scale : T(0)) - rows.delta[r]);
                pr[j] = keep ? pr[j] * p.dropout_scale : T(0);
            }
        }
    } else {
        dropout_tile(p, b, h, i0, m, j0, n, s, kAttnBlockK);
    }
    if (upd_v)
        gemm<T>(n, p.Dv, m, T(1), s, 1, kAttnBlockK, rows.dout, rows.lddo, 1, T(1), a.dv + (bh * p.Tk + j0) * p.Dv, p.Dv,
                1);
    if (upd_q)
        gemm<T>(m, p.D, n, p.scale, dp, kAttnBlockK, 1, at(p.k, b, h, j0), p.k.st, p.k.sd, T(1),
                a.dq + (bh * p.Tq + i0) * p.D, p.D, 1);
    if (upd_k)
        gemm<T>(n, p.D, m, p.scale, dp, 1, kAttnBlockK, at(p.q, b, h, i0), p.q.st, p.q.sd, T(1),
                a.dk + (bh * p.Tk + j0) * p.D, p.D, 1);
}

/// One (query block i0, key tile j0) step of slice bh, for the gradients selected:
//   P = exp(scale·Q_i·K_jᵀ − lse_i);  dV_j += Pᵀ·dO_i;  dS = P∘(dO_i·V_jᵀ − delta_i);
//   dQ_i += scale·dS·K_j;  dK_j += scale·dSᵀ·Q_i.
// With dropout, Z = P∘M·c (c = 1/(1 − p)) replaces P in dV_j += Zᵀ·dO_i, and
//   dS = P∘(M·c∘(dO_i·V_jᵀ) − delta_i).
// s and dp are kAttnBlockQ × kAttnBlockK tiles; rows from block_rows(…, i0, …).
template <class T>
void backward_step(const BackwardArgs<T>& a, int64 bh, int64 i0, int64 j0, const BlockRows<T>& rows, bool upd_q,
                   bool upd_k, bool upd_v, T* s, T* dp) {
    const AttnProblem<T>& p = a.p;
    const int64 b = bh / p.H, h = bh % p.H;
    const int64 m = std::min(kAttnBlockQ, p.Tq - i0), n = std::min(kAttnBlockK, visible_keys(p, i0, m) - j0);
    const T* qi = at(p.q, b, h, i0);
    const T* kj = at(p.k, b, h, j0);
    const T* doi = rows.dout;
    const int64 lddo = rows.lddo;
    gemm<T>(m, n, p.D, p.scale, qi, p.q.st, p.q.sd, kj, p.k.sd, p.k.st, T(0), s, kAttnBlockK, 1);
    add_mask_tile(p, b, h, i0, m, j0, n, s, kAttnBlockK);
    mask_tile(p, i0, m, j0, n, s, kAttnBlockK);
    a.kernels.exp_rows(m, n, s, kAttnBlockK, a.lse + bh * p.Tq + i0);
    if (p.dropout_threshold != 0) {
        dropout_backward_step(a, b, h, bh, i0, m, j0, n, rows, upd_q, upd_k, upd_v, s, dp);
        return;
    }
    if (upd_v)
        gemm<T>(n, p.Dv, m, T(1), s, 1, kAttnBlockK, doi, lddo, 1, T(1), a.dv + (bh * p.Tk + j0) * p.Dv, p.Dv, 1);
    if (!upd_q && !upd_k) return;
    gemm<T>(m, n, p.Dv, T(1), doi, lddo, 1, at(p.v, b, h, j0), p.v.sd, p.v.st, T(0), dp, kAttnBlockK, 1);
    const T* delta = rows.delta;
    for (int64 r = 0; r < m; ++r) {
        T* dsr = dp + r * kAttnBlockK;
        const T* pr = s + r * kAttnBlockK;
        for (int64 j = 0; j < n; ++j) dsr[j] = pr[j] * (dsr[j] - delta[r]);
    }
    if (upd_q)
        gemm<T>(m, p.D, n, p.scale, dp, kAttnBlockK, 1, kj, p.k.st, p.k.sd, T(1), a.dq + (bh * p.Tq + i0) * p.D, p.D,
                1);
    if (upd_k)
        gemm<T>(n, p.D, m, p.scale, dp, 1, kAttnBlockK, qi, p.q.st, p.q.sd, T(1), a.dk + (bh * p.Tk + j0) * p.D, p.D,
                1);
}

// Given dO: P = exp(S − lse), dV = Pᵀ·dO, dP = dO·Vᵀ, dS = P∘(dP − rowsum(dO∘O)), dQ = scale·dS·K,
// dK = scale·dSᵀ·Q. With at least as many B·H slices as threads, one slice per task (each
// slice's gradients have one writer), rowsum(dO∘O) computed per query block. With fewer, two
// passes keep every thread busy: dK and dV by (slice, key tile), then dQ by (slice, query block);
// that recomputes P and dP once more, and each gradient element sees the same products in the
// same order, so the result is the same (rowsum(dO∘O) is computed first, by the same loop).
template <class T>
void backward_impl(const AttnProblem<T>& p, const AttnOperand<T>& out, const T* lse, const AttnOperand<T>& dout, T* dq,
                   T* dk, T* dv) {
    const int64 slices = p.B * p.H;
    const bool per_slice = slices >= num_threads();
    // Zeroes slices [first, first + count) of the gradients asked for; per-slice tasks zero their
    // own slice just before accumulating into it (while it is in cache).
    const auto zero_slices = [&](int64 first, int64 count) {
        if (dq) std::fill(dq + first * p.Tq * p.D, dq + (first + count) * p.Tq * p.D, T(0));
        if (dk) std::fill(dk + first * p.Tk * p.D, dk + (first + count) * p.Tk * p.D, T(0));
        if (dv) std::fill(dv + first * p.Tk * p.Dv, dv + (first + count) * p.Tk * p.Dv, T(0));
    };
    if (!per_slice) zero_slices(0, slices);
    std::vector<T> delta;
    if (!per_slice && (dq || dk)) {
        delta.assign(static_cast<std::size_t>(slices * p.Tq), T(0));
        row_dots(p, p.Dv, dout, out, delta.data());
    }
    const BackwardArgs<T> a{p, row_kernels<T>(), lse, out, dout, per_slice ? nullptr : delta.data(), dq, dk, dv};
    const std::size_t tile = static_cast<std::size_t>(kAttnBlockQ * kAttnBlockK);
    const std::size_t scratch_size = 2 * tile + static_cast<std::size_t>(kAttnBlockQ * (p.Dv + 1));
    const int64 qblocks = (p.Tq + kAttnBlockQ - 1) / kAttnBlockQ, ktiles = (p.Tk + kAttnBlockK - 1) / kAttnBlockK;
    const auto keys_of_block = [&](int64 i0) { return visible_keys(p, i0, std::min(kAttnBlockQ, p.Tq - i0)); };
    // Per task scratch: the score tile s, the dP tile, dO's block rows and their delta.
    const auto dbuf = [&](T* scratch) { return scratch + 2 * tile; };
    const auto dl = [&](T* scratch) { return scratch + 2 * tile + kAttnBlockQ * p.Dv; };
    if (per_slice) {
        for_tasks<T>(slices, scratch_size, [&](int64 bh, T* scratch) {
            zero_slices(bh, 1);
            for (int64 i0 = 0; i0 < p.Tq; i0 += kAttnBlockQ) {
                const BlockRows<T> rows = block_rows(a, bh, i0, dbuf(scratch), dl(scratch));
                for (int64 j0 = 0; j0 < keys_of_block(i0); j0 += kAttnBlockK)
                    backward_step(a, bh, i0, j0, rows, dq != nullptr, dk != nullptr, dv != nullptr, scratch,
                                  scratch + tile);
            }
        });
        return;
    }
    if (dk || dv)
        for_tasks<T>(slices * ktiles, scratch_size, [&](int64 task, T* scratch) {
            const int64 bh = task / ktiles, j0 = (task % ktiles) * kAttnBlockK;
            for (int64 i0 = 0; i0 < p.Tq; i0 += kAttnBlockQ)
                if (j0 < keys_of_block(i0))
                    backward_step(a, bh, i0, j0, block_rows(a, bh, i0, dbuf(scratch), dl(scratch)), false,
                                  dk != nullptr, dv != nullptr, scratch, scratch + tile);
        });
    if (dq)
        for_tasks<T>(slices * qblocks, scratch_size, [&](int64 task, T* scratch) {
            const int64 bh = task / qblocks, i0 = (task % qblocks) * kAttnBlockQ;
            const BlockRows<T> rows = block_rows(a, bh, i0, dbuf(scratch), dl(scratch));
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
    forward_impl(p, out, lse);
}
void attention_forward(const AttnProblem<double>& p, const AttnResult<double>& out, double* lse) {
    forward_impl(p, out, lse);
}

void attention_backward(const AttnProblem<float>& p, const AttnOperand<float>& out, const float* lse,
                        const AttnOperand<float>& dout, float* dq, float* dk, float* dv) {
    backward_impl(p, out, lse, dout, dq, dk, dv);
}
void attention_backward(const AttnProblem<double>& p, const AttnOperand<double>& out, const double* lse,
                        const AttnOperand<double>& dout, double* dq, double* dk, double* dv) {
    backward_impl(p, out, lse, dout, dq, dk, dv);
}

}  // namespace graft::kernels
