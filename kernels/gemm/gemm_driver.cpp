// The float32 GEMM driver: BLIS's loops around the active ISA's micro-kernel.
//
//   for jc in N by NC:                 B block, kc×nc, packed once and shared by every thread
//     for pc in K by KC:               (balanced: ⌈K/KC⌉ equal blocks)
//       pack B block into NR-column panels
//       for each task (a chunk of C's rows × the block's panels, or a part of them):
//         pack the chunk's A block into MR-row panels          (private: stays in this core's L2)
//         for jr in the task's B panels:
//           for ir in the A block's panels: micro-kernel(A panel, B panel) → C tile
//         (the two loops swapped for shallow products, so that C is written in row strips)
//
// Packing reads any strides, so op(A)/op(B) cost nothing: a transposed operand is packed with a
// 4×4 SSE transpose instead of a copy. Edge panels are zero-padded in B and cut short in A (the
// kernels have instantiations for fewer rows). beta applies on the first K block only; the
// epilogue (bias, activation) on the last, while the tile is in registers. Under the bf16 pair
// kernel (gemm_on_pairs) a float32 operand is rounded into pair words by the packing itself
// (bf16_pack_pairs__avx512bf16, a whole A block per call), and K counts pairs of k.
//
// Threads claim B panels to pack and then tasks to run from atomic counters — two or more row
// chunks per thread, each keeping its A block in its own core's L2 while all share the packed B
// block — so there are no barriers: a thread waits only for panels being packed and, before
// reusing one of the two B buffers, for the tasks of the block before last. When the OS
// deschedules a thread (a shared machine), the others take over its unclaimed work, and while
// OpenMP's workers are starved of CPU time calls run on one thread (WorkerStarvation; both in
// gemm_tasks.hpp). One thread never opens a parallel region. Small problems (one block in every
// dimension) take the light path: an operand whose layout already is a panel's (A column-major,
// B row-major) is read in place, not packed. Packing buffers are grow-only, 64-byte aligned,
// owned by the calling thread.
//
// SgemmPackedA packs a whole A once, every K block's MR-row panels in the order the loops above
// read them (block pc at pc·⌈M⌉_MR, panel ir at ir·kc within it; kc is balanced from K alone, so
// the layout does not depend on N or the thread count), and sgemm_packed runs the same loops
// reading those panels instead of packing A: the same tiles in the same order, so the same bits
// as sgemm. Row chunks are then cut in multiples of MR, so that each starts on a panel. A
// row-major B of whole panels is then read in place whenever C is one row chunk (one thread,
// M ≤ mc), at any size: each B panel is then read once, so skipping its copy saves a pass; with
// M > mc every row chunk reads B again, and the packed copy's locality wins (CHANGELOG.md
// has the measurements). SgemmPackedB likewise packs a whole B once,
// block (jc, pc) at jc·K + pc·⌈nc⌉_NR (nc and kc depend on N and K alone), and sgemm_packed with
// it skips the B packing and its waits: a frozen layer's weights (ops/frozen_weight_pack.hpp).
#include <emmintrin.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstring>
#include <vector>

#include "kernels/cpu/gemm_precision.hpp"
#include "kernels/cpu/parallel.hpp"
#include "kernels/cpu/workspace.hpp"
#include "kernels/gemm/bf16_gemm.hpp"
#include "kernels/gemm/gemm_tasks.hpp"
#include "kernels/gemm/ukernel.hpp"

namespace graft::kernels {

namespace {

// Blocking per variant, tuned on Zen 4 (bench_gemm): an A block of mc·kc floats (512 KiB for
// AVX-512) takes half the 1 MiB L2, the rest holds the B panel streaming through and C; the B
// block of kc·nc floats (8 MiB) stays in the 32 MiB L3. kc = 512 keeps the 12×kc A panel (24 KiB)
// in L1 and halves C's read-modify-write passes against kc = 256.
constexpr F32GemmVariant VARIANTS[] = {
    {"f32_gemm_4x8__scalar", Isa::Scalar, 4, 8, 128, 256, 2048, &f32_gemm_4x8__scalar},
    {"f32_gemm_6x16__avx2", Isa::Avx2, 6, 16, 256, 512, 4096, &f32_gemm_6x16__avx2},
    {"f32_gemm_12x32__avx512", Isa::Avx512, 12, 32, 256, 512, 4096, &f32_gemm_12x32__avx512},
};

// Below this M·N·K a problem runs on one thread: the parallel region would cost more than it saves.
constexpr int64 PARALLEL_MIN_MNK = 64 * 64 * 64;
// Up to this M·N·K (and within one block in every dimension) a problem takes the light path.
// Beyond it, packing pays: a panel read in place has a large stride (L1 set conflicts, TLB).
constexpr int64 LIGHT_MAX_MNK = 128 * 128 * 128;
// Batched problems below this M·N·K run one per thread rather than each on every thread.
constexpr int64 BATCH_PER_THREAD_MAX_MNK = 256 * 256 * 256;

int64 ceil_div(int64 a, int64 b) { return (a + b - 1) / b; }
int64 round_up(int64 a, int64 b) { return ceil_div(a, b) * b; }

struct Problem {
    int64 M, N, K;
    float alpha;
    const float* A;
    int64 rsA, csA;
    const float* B;
    int64 rsB, csB;
    float beta;
    float* C;
    int64 rsC, csC;
    GemmEpilogue epilogue;
    const float* packed_a = nullptr;  // A already packed (SgemmPackedA); then A, rsA, csA are unused
    const float* packed_b = nullptr;  // B already packed (SgemmPackedB); then B, rsB, csB are unused
    // The bf16 pair kernel's float32 operands (gemm_on_pairs): K counts pair steps, k_values the
    // values of k; an operand flagged here holds float32 values (its k stride is one value's) and
    // is rounded into pair words while it is packed.
    int64 k_values = 0;
    bool a_pairs = false, b_pairs = false;
};

/// The depth of the K blocks: ⌈K/kc⌉ blocks of near-equal depth.
int64 balanced_kc(int64 K, const F32GemmVariant& v) { return ceil_div(K, ceil_div(K, v.kc)); }

// Plan::row_strips: the largest B panel and the most B words of one task (16 KiB, 512 KiB).
constexpr int64 ROW_STRIP_MAX_B_PANEL = 4096, ROW_STRIP_MAX_B_TASK = 128 * 1024;

/// Rows are cut in multiples of 4: any multiple of 4 is an efficient tile height.
constexpr int64 ROW_GRAIN = 4;

/// The block sizes and the task grid for one problem on one variant and thread count.
struct Plan {
    int64 kc, nc;              // balanced block sizes (kc = 0 when K = 0 or alpha = 0: no product)
    int64 chunk;               // rows of C per task: one A block, packed by the task that runs it
    int64 col_chunks;          // tasks per row chunk (they split a B block's panels)
    bool direct_a, direct_b;   // read in place (light path) instead of packing
    bool row_strips;           // a task's tiles row panel by row panel (else B panel by B panel)
    int64 a_floats, b_floats;  // one A block, one B block
};

Plan make_plan(const Problem& g, const F32GemmVariant& v, int threads) {
    Plan p{};
    const bool product = g.K > 0 && g.alpha != 0.f;
    p.kc = product ? balanced_kc(g.K, v) : 0;
    p.nc = std::min(round_up(ceil_div(g.N, ceil_div(g.N, v.nc)), v.nr), round_up(g.N, v.nr));
    // One thread: A blocks of up to mc rows. Several: at least two row chunks per thread, so a
    // thread that runs while another is descheduled takes over its work; columns are split too
    // when there are too few rows for that.
    int64 row_chunks = ceil_div(g.M, v.mc);
    if (threads > 1) {
        row_chunks = 2 * int64{threads};
        while (ceil_div(g.M, row_chunks) > v.mc) row_chunks *= 2;
        row_chunks = std::max<int64>(1, std::min(row_chunks, g.M / v.mr));
    }
    p.chunk = round_up(ceil_div(g.M, row_chunks), g.packed_a ? int64{v.mr} : ROW_GRAIN);
    row_chunks = ceil_div(g.M, p.chunk);
    p.col_chunks = threads > 1 && row_chunks < 2 * int64{threads} ? ceil_div(2 * int64{threads}, row_chunks) : 1;
    const bool light = product && g.K <= v.kc && g.M <= v.mc && g.N <= v.nc && g.M * g.N * g.K <= LIGHT_MAX_MNK;
    p.direct_a = light && g.rsA == 1 && !g.packed_a && !g.a_pairs;
    // With A pre-packed, B is read in place whenever each of its panels is read once (one row chunk).
    const bool read_b_once = g.packed_a && product && row_chunks == 1;
    p.direct_b = !g.packed_b && !g.b_pairs && (light || read_b_once) && g.csB == 1 && g.N % v.nr == 0;
    // A shallow product (a B panel of at most 16 KiB) spends much of its time storing C. Tile by
    // tile down a column of B panels, C is written 128 bytes a row over hundreds of rows, which
    // under a power-of-two row stride fall into few cache sets (the bf16 kernel, [2048, 1024] C
    // with K = 256 at two threads, loses a sixth there). Row panel by row panel, C is written in
    // whole row strips instead; the task's B panels, swept once per row panel, must then stay in
    // L2 (at most half of it).
    const int64 task_panels = ceil_div(ceil_div(p.nc, v.nr), p.col_chunks);
    p.row_strips = product && p.kc * v.nr <= ROW_STRIP_MAX_B_PANEL && task_panels * v.nr * p.kc <= ROW_STRIP_MAX_B_TASK;
    p.a_floats = p.direct_a || g.packed_a ? 0 : round_up(round_up(p.chunk, v.mr) * p.kc, 16);
    p.b_floats = p.direct_b || g.packed_b ? 0 : round_up(p.nc * p.kc, 16);
    return p;
}

/// dst[p·width + r] = src[r·rs_r + p·rs_p] for r < R, p < kc; zero for R ≤ r < width.
void pack_panel(const float* src, int64 rs_r, int64 rs_p, int R, int64 kc, float* dst, int width) {
    if (R < width)
        for (int64 p = 0; p < kc; ++p) std::memset(dst + p * width + R, 0, sizeof(float) * (width - R));
    if (rs_r == 1) {
        // Rows of R ≤ 32 floats: inline 4-float copies, not a memcpy call per row.
        const int R4 = R / 4 * 4;
        for (int64 p = 0; p < kc; ++p) {
            const float* s = src + p * rs_p;
            float* d = dst + p * width;
            // Both cache lines of a 32-float row (B's NR): the rows are rs_p apart, a stride the
            // hardware prefetchers do not follow.
            _mm_prefetch(reinterpret_cast<const char*>(s + 8 * rs_p), _MM_HINT_T0);
            if (R > 16) _mm_prefetch(reinterpret_cast<const char*>(s + 8 * rs_p + 16), _MM_HINT_T0);
            int r = 0;
            for (; r < R4; r += 4) _mm_storeu_ps(d + r, _mm_loadu_ps(s + r));
            for (; r < R; ++r) d[r] = s[r];
        }
        return;
    }
    int r = 0;
    if (rs_p == 1) {
        // Source rows are contiguous in p: 4×4 transposes, 16 values of p (a cache line of each
        // row) at a time, so the source lines and the destination rows they fill stay in L1.
        const int R4 = R / 4 * 4;
        int64 p0 = 0;
        for (; p0 + 16 <= kc; p0 += 16)
            for (r = 0; r < R4; r += 4) {
                const float* s = src + r * rs_r;
                for (int64 p = p0; p < p0 + 16; p += 4) {
                    __m128 r0 = _mm_loadu_ps(s + p), r1 = _mm_loadu_ps(s + rs_r + p);
                    __m128 r2 = _mm_loadu_ps(s + 2 * rs_r + p), r3 = _mm_loadu_ps(s + 3 * rs_r + p);
                    _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
                    _mm_storeu_ps(dst + p * width + r, r0);
                    _mm_storeu_ps(dst + (p + 1) * width + r, r1);
                    _mm_storeu_ps(dst + (p + 2) * width + r, r2);
                    _mm_storeu_ps(dst + (p + 3) * width + r, r3);
                }
            }
        for (r = 0; r < R4; ++r)
            for (int64 p = p0; p < kc; ++p) dst[p * width + r] = src[r * rs_r + p];
        r = R4;
    }
    for (; r < R; ++r)
        for (int64 p = 0; p < kc; ++p) dst[p * width + r] = src[r * rs_r + p * rs_p];
}

/// Packs R lines × kc steps, from step pc on, of an operand whose line 0 is at `line0` (line
/// stride rs_r, step stride rs_p) into ⌈R/width⌉ panels, panel i at dst + i·width·kc: pack_panel
/// per panel, or for a float32 operand of the pair kernel (`pairs`; rs_p is then one value's
/// stride) bf16 rounding into pair words, all panels in one pass over the source.
void pack_panels(const Problem& g, bool pairs, const float* line0, int64 rs_r, int64 rs_p, int64 R, int64 pc,
                 int64 kc, float* dst, int width) {
    if (pairs) {
        bf16_pack_pairs__avx512bf16(line0 + 2 * pc * rs_p, rs_r, rs_p, R, kc, g.k_values - 2 * pc, dst, width);
        return;
    }
    for (int64 r = 0; r < R; r += width)
        pack_panel(line0 + r * rs_r + pc * rs_p, rs_r, rs_p, static_cast<int>(std::min<int64>(width, R - r)), kc,
                   dst + r * kc, width);
}

/// Where share `index` of `parts` near-equal shares of `total` begins.
int64 share_begin(int64 total, int64 parts, int64 index) { return total * index / parts; }

/// Tasks per B block of nc columns: row chunks × column chunks.
int64 tasks_per_block(const Problem& g, const F32GemmVariant& v, const Plan& plan, int64 nc) {
    return ceil_div(g.M, plan.chunk) * std::min(plan.col_chunks, ceil_div(nc, v.nr));
}

/// One thread's part of the blocked GEMM. With `progress` (one per B block) it shares the work
/// with the other threads of the team; without, it does everything.
void run_blocks(const Problem& g, const F32GemmVariant& v, const Plan& plan, BlockProgress* progress,
                float* const b_pack[2], float* a_pack) {
    const bool product = plan.kc > 0;
    const int64 K = product ? g.K : 1;  // with no product, one pass applies beta and the epilogue
    F32GemmTile t{};
    t.rs_c = g.rsC;
    t.cs_c = g.csC;
    t.alpha = g.alpha;
    t.lda = plan.direct_a ? g.csA : v.mr;
    t.ldb = plan.direct_b ? g.rsB : v.nr;
    int64 block = 0, tasks_two_blocks_ago = 0, tasks_last_block = 0;  // tasks of blocks − 2 and − 1
    for (int64 jc = 0; jc < g.N; jc += plan.nc) {
        const int64 nc = std::min(plan.nc, g.N - jc);
        const int64 panels = ceil_div(nc, v.nr);
        const int64 col_chunks = std::min(plan.col_chunks, panels), tasks = tasks_per_block(g, v, plan, nc);
        for (int64 pc = 0; pc < K; pc += std::max<int64>(plan.kc, 1), ++block) {
            const int64 kc = product ? std::min(plan.kc, g.K - pc) : 0;
            // A pre-packed B: block (jc, pc) where SgemmPackedB put it, nothing to pack or wait for.
            const float* bp = g.packed_b ? g.packed_b + jc * g.K + pc * round_up(nc, v.nr) : b_pack[block & 1];
            BlockProgress* shared = progress ? progress + block : nullptr;
            // The B buffer this block packs into was last read by block − 2: wait until it is done.
            if (shared && block >= 2)
                wait_for(progress[block - 2].tasks_done, static_cast<int>(tasks_two_blocks_ago),
                         progress[block - 2].sleepers);
            tasks_two_blocks_ago = tasks_last_block;
            tasks_last_block = tasks;
            if (product && !plan.direct_b && !g.packed_b) {
                for (int64 jb = shared ? shared->pack_next.fetch_add(1) : 0; jb < panels;
                     jb = shared ? shared->pack_next.fetch_add(1) : jb + 1) {
                    const int cols = static_cast<int>(std::min<int64>(v.nr, nc - jb * v.nr));
                    pack_panels(g, g.b_pairs, g.B + (jc + jb * v.nr) * g.csB, g.csB, g.rsB, cols, pc, kc,
                                b_pack[block & 1] + jb * v.nr * kc, v.nr);
                    if (shared) advance(shared->packed, shared->sleepers);
                }
                if (shared) wait_for(shared->packed, static_cast<int>(panels), shared->sleepers);
            }
            const bool last = !product || pc + kc >= g.K;
            t.kc = kc;
            t.beta = pc == 0 ? g.beta : 1.f;
            t.act = last ? g.epilogue.act : Activation::None;
            for (int64 task = shared ? shared->task_next.fetch_add(1) : 0; task < tasks;
                 task = shared ? shared->task_next.fetch_add(1) : task + 1) {
                const int64 ic = task / col_chunks * plan.chunk, mc = std::min(plan.chunk, g.M - ic);
                const int64 cc = task % col_chunks;
                // The previous K block's same task accumulates into the same tile of C: it must be done.
                if (shared && pc > 0)
                    wait_for(progress[block - 1].task_finished[task], 1, progress[block - 1].sleepers);
                const float* a_block = a_pack;
                if (g.packed_a)
                    a_block = g.packed_a + pc * round_up(g.M, v.mr) + ic * kc;
                else if (product && !plan.direct_a)
                    pack_panels(g, g.a_pairs, g.A + ic * g.rsA, g.rsA, g.csA, mc, pc, kc, a_pack, v.mr);
                const int64 jb_begin = share_begin(panels, col_chunks, cc);
                const int64 jb_end = share_begin(panels, col_chunks, cc + 1);
                auto tile = [&](int64 jb, int64 ir) {
                    const int64 j = jc + jb * v.nr;
                    t.b = plan.direct_b ? g.B + pc * g.rsB + j : bp + jb * v.nr * kc;
                    t.cols = static_cast<int>(std::min<int64>(v.nr, g.N - j));
                    t.bias = last && g.epilogue.bias ? g.epilogue.bias + j : nullptr;
                    t.a = plan.direct_a ? g.A + (ic + ir) + pc * g.csA : a_block + ir * kc;
                    t.rows = static_cast<int>(std::min<int64>(v.mr, mc - ir));
                    t.c = g.C + (ic + ir) * g.rsC + j * g.csC;
                    v.ukernel(t);
                };
                if (plan.row_strips)
                    for (int64 ir = 0; ir < mc; ir += v.mr)
                        for (int64 jb = jb_begin; jb < jb_end; ++jb) tile(jb, ir);
                else
                    for (int64 jb = jb_begin; jb < jb_end; ++jb)
                        for (int64 ir = 0; ir < mc; ir += v.mr) tile(jb, ir);
                if (shared) {
                    advance(shared->task_finished[task], shared->sleepers);
                    advance(shared->tasks_done, shared->sleepers);
                }
            }
        }
    }
}

/// The process-wide starvation state of the GEMM calls (gemm/gemm_tasks.hpp).
WorkerStarvation g_starvation;

/// The packing buffers of the calling thread (the driver's own: see cpu/workspace.hpp).
thread_local Workspace tl_workspace;

/// One problem with `threads` threads (1: no parallel region). Buffers come from the caller's workspace.
void run(const Problem& g, const F32GemmVariant& v, int threads) {
    const Plan plan = make_plan(g, v, threads);
    // Two B buffers let threads pack the next B block while others finish the current one.
    const int64 b_buffers = threads > 1 ? 2 : 1;
    float* ws = tl_workspace.reserve(b_buffers * plan.b_floats + threads * plan.a_floats);
    float* const b_pack[2] = {ws, ws + (b_buffers - 1) * plan.b_floats};
    float* const a_base = ws + b_buffers * plan.b_floats;
    if (threads == 1) {
        run_blocks(g, v, plan, nullptr, b_pack, a_base);
        return;
    }
    const int64 k_blocks = plan.kc > 0 ? ceil_div(g.K, plan.kc) : 1;
    std::vector<BlockProgress> progress(static_cast<std::size_t>(ceil_div(g.N, plan.nc) * k_blocks));
    std::vector<std::atomic<int>> task_finished(static_cast<std::size_t>(
        tasks_per_block(g, v, plan, plan.nc) * static_cast<int64>(progress.size())));
    std::atomic<int>* next_flags = task_finished.data();
    for (std::size_t b = 0; b < progress.size(); ++b) {
        const int64 nc = std::min(plan.nc, g.N - static_cast<int64>(b) / k_blocks * plan.nc);
        progress[b].task_finished = next_flags;
        next_flags += tasks_per_block(g, v, plan, nc);
    }
    const int64 start = WorkerStarvation::now_ns();
    int64 entered = start, worked = start;
    parallel_region(threads, [&](int tid, int) {
        if (tid == 0) entered = WorkerStarvation::now_ns();
        run_blocks(g, v, plan, progress.data(), b_pack, a_base + tid * plan.a_floats);
        if (tid == 0) worked = WorkerStarvation::now_ns();
    });
    g_starvation.report(start, entered, worked, WorkerStarvation::now_ns());
}

/// The thread count for one problem of M·N·K: 1 inside another parallel region or when small.
int gemm_threads(int64 M, int64 N, int64 K) {
    const int threads = num_threads();
    if (threads == 1 || in_parallel() || M * N * std::max<int64>(K, 1) < PARALLEL_MIN_MNK) return 1;
    return g_starvation.solo_now() ? 1 : threads;
}

}  // namespace

const F32GemmVariant& f32_gemm_variant(Isa isa) {
    for (const F32GemmVariant& v : VARIANTS)
        if (v.isa == isa) return v;
    return VARIANTS[0];
}

void gemm_on_variant(const F32GemmVariant& v, int64 M, int64 N, int64 K, float alpha, const float* A, int64 rsA,
                     int64 csA, const float* B, int64 rsB, int64 csB, float beta, float* C, int64 rsC, int64 csC,
                     const GemmEpilogue& epilogue) {
    if (M <= 0 || N <= 0) return;
    const Problem g{M, N, K, alpha, A, rsA, csA, B, rsB, csB, beta, C, rsC, csC, epilogue};
    run(g, v, gemm_threads(M, N, K));
}

void gemm_on_pairs(const F32GemmVariant& v, int64 M, int64 N, int64 K, float alpha, const float* A, int64 rsA,
                   int64 csA, bool a_values, const float* B, int64 rsB, int64 csB, bool b_values, float beta, float* C,
                   int64 rsC, int64 csC, const GemmEpilogue& epilogue) {
    if (M <= 0 || N <= 0) return;
    Problem g{M, N, (K + 1) / 2, alpha, A, rsA, csA, B, rsB, csB, beta, C, rsC, csC, epilogue};
    g.k_values = K;
    g.a_pairs = a_values;
    g.b_pairs = b_values;
    run(g, v, gemm_threads(M, N, K));
}

void sgemm(int64 M, int64 N, int64 K, float alpha, const float* A, int64 rsA, int64 csA, const float* B, int64 rsB,
           int64 csB, float beta, float* C, int64 rsC, int64 csC, const GemmEpilogue& epilogue) {
    if (gemm_precision() == GemmPrecision::BFloat16) {
        bf16_gemm(M, N, K, alpha, Bf16Operand::of(A, rsA, csA), Bf16Operand::of(B, rsB, csB), beta, C, rsC, csC,
                  epilogue);
        return;
    }
    gemm_on_variant(f32_gemm_variant(active_isa()), M, N, K, alpha, A, rsA, csA, B, rsB, csB, beta, C, rsC, csC,
                    epilogue);
}

SgemmPackedA::SgemmPackedA(int64 M, int64 K, const float* A, int64 rsA, int64 csA)
    : variant_(&f32_gemm_variant(active_isa())), M_(std::max<int64>(M, 0)), K_(std::max<int64>(K, 0)) {
    const F32GemmVariant& v = *variant_;
    const int64 Mp = round_up(M_, v.mr);
    panels_ = std::make_unique_for_overwrite<float[]>(static_cast<std::size_t>(Mp * K_));
    if (M_ == 0 || K_ == 0) return;
    const int64 kc = balanced_kc(K_, v);
    for (int64 pc = 0; pc < K_; pc += kc) {
        const int64 kb = std::min(kc, K_ - pc);
        for (int64 ir = 0; ir < M_; ir += v.mr)
            pack_panel(A + ir * rsA + pc * csA, rsA, csA, static_cast<int>(std::min<int64>(v.mr, M_ - ir)), kb,
                       panels_.get() + pc * Mp + ir * kb, v.mr);
    }
}

void sgemm_packed(const SgemmPackedA& A, int64 N, float alpha, const float* B, int64 rsB, int64 csB, float beta,
                  float* C, int64 rsC, int64 csC, const GemmEpilogue& epilogue) {
    if (A.M_ <= 0 || N <= 0) return;
    Problem g{A.M_, N, A.K_, alpha, nullptr, 0, 0, B, rsB, csB, beta, C, rsC, csC, epilogue};
    g.packed_a = A.panels_.get();
    run(g, *A.variant_, gemm_threads(A.M_, N, A.K_));
}

SgemmPackedB::SgemmPackedB(int64 K, int64 N, const float* B, int64 rsB, int64 csB)
    : variant_(&f32_gemm_variant(active_isa())), K_(std::max<int64>(K, 0)), N_(std::max<int64>(N, 0)) {
    const F32GemmVariant& v = *variant_;
    // The plan's blocking for any M: nc from N, kc from K (make_plan).
    const Problem shape{1, N_, K_, 1.f, nullptr, 0, 0, nullptr, 0, 0, 0.f, nullptr, 0, 0, {}};
    const Plan plan = make_plan(shape, v, 1);
    panels_ = std::make_unique_for_overwrite<float[]>(static_cast<std::size_t>(round_up(N_, v.nr) * K_));
    if (N_ == 0 || K_ == 0) return;
    for (int64 jc = 0; jc < N_; jc += plan.nc) {
        const int64 nc = std::min(plan.nc, N_ - jc);
        for (int64 pc = 0; pc < K_; pc += plan.kc) {
            const int64 kc = std::min(plan.kc, K_ - pc);
            float* block = panels_.get() + jc * K_ + pc * round_up(nc, v.nr);
            for (int64 jb = 0; jb * v.nr < nc; ++jb)
                pack_panel(B + pc * rsB + (jc + jb * v.nr) * csB, csB, rsB,
                           static_cast<int>(std::min<int64>(v.nr, nc - jb * v.nr)), kc, block + jb * v.nr * kc, v.nr);
        }
    }
}

void sgemm_packed(int64 M, float alpha, const float* A, int64 rsA, int64 csA, const SgemmPackedB& B, float beta,
                  float* C, int64 rsC, int64 csC, const GemmEpilogue& epilogue) {
    if (M <= 0 || B.N_ <= 0) return;
    Problem g{M, B.N_, B.K_, alpha, A, rsA, csA, nullptr, 0, 0, beta, C, rsC, csC, epilogue};
    g.packed_b = B.panels_.get();
    run(g, *B.variant_, gemm_threads(M, B.N_, B.K_));
}

void sgemm_batched(int64 batch, int64 M, int64 N, int64 K, float alpha, const float* A, int64 rsA, int64 csA,
                   int64 bsA, const float* B, int64 rsB, int64 csB, int64 bsB, float beta, float* C, int64 rsC,
                   int64 csC, int64 bsC, const GemmEpilogue& epilogue) {
    const F32GemmVariant& v = f32_gemm_variant(active_isa());
    if (batch <= 0 || M <= 0 || N <= 0) return;
    if (gemm_precision() == GemmPrecision::BFloat16) {
        // One problem after another, each on every thread.
        for (int64 b = 0; b < batch; ++b)
            bf16_gemm(M, N, K, alpha, Bf16Operand::of(A + b * bsA, rsA, csA), Bf16Operand::of(B + b * bsB, rsB, csB),
                      beta, C + b * bsC, rsC, csC, epilogue);
        return;
    }
    auto problem = [&](int64 b) {
        return Problem{M, N, K, alpha, A + b * bsA, rsA, csA, B + b * bsB, rsB, csB, beta, C + b * bsC, rsC, csC,
                       epilogue};
    };
    const int threads = num_threads();
    const int64 mnk = M * N * std::max<int64>(K, 1);
    if (batch == 1 || threads == 1 || in_parallel() || mnk >= BATCH_PER_THREAD_MAX_MNK) {
        const int per_problem = gemm_threads(M, N, K);
        for (int64 b = 0; b < batch; ++b) run(problem(b), v, per_problem);
        return;
    }
    // One problem per thread: every thread runs the serial driver on its own slice of the workspace.
    const Plan plan = make_plan(problem(0), v, 1);
    const int64 slot = plan.b_floats + plan.a_floats;
    float* ws = tl_workspace.reserve(threads * slot);
    // Claimed one at a time: a thread the OS deschedules leaves its remaining problems to the others.
    std::atomic<int64> next{0};
    parallel_region(static_cast<int>(std::min<int64>(threads, batch)), [&](int tid, int) {
        float* mine = ws + tid * slot;
        float* const b_pack[2] = {mine, mine};
        for (int64 b = next.fetch_add(1, std::memory_order_relaxed); b < batch;
             b = next.fetch_add(1, std::memory_order_relaxed))
            run_blocks(problem(b), v, plan, nullptr, b_pack, mine + plan.b_floats);
    });
}

}  // namespace graft::kernels
