// The float32 vector-kernel drivers: pick the active ISA's variant and split the work across
// threads (cpu/parallel.hpp) — long arrays into cache-line-aligned chunks, row kernels by rows —
// only when it is large enough to pay for a parallel region (one thread: no region at all).
// Compiled for baseline x86-64; it only calls into an ISA file once cpu_features allows it.
#include <algorithm>
#include <vector>

#include "kernels/cpu/parallel.hpp"
#include "kernels/vector/vector.hpp"

namespace graft::kernels {

namespace {

#define GRAFT_VECTOR_VARIANT(suffix, isa)                                                                       \
    F32VectorVariant {                                                                                          \
        #suffix, isa, f32_unary__##suffix, f32_unary_grad__##suffix, f32_sum__##suffix, f32_max__##suffix,      \
            f32_sum_columns__##suffix, f32_squared_deviation_columns__##suffix, f32_softmax__##suffix,          \
            f32_softmax_grad__##suffix, f32_cross_entropy__##suffix,                                            \
            f32_cross_entropy_grad__##suffix, f32_layer_norm__##suffix, f32_layer_norm_grad__##suffix,          \
            f32_binary__##suffix, f32_binary_scalar__##suffix, f32_affine_activation__##suffix,                 \
            f32_affine_activation_grad__##suffix, f32_channel_grad_sums__##suffix, f32_channel_grad__##suffix   \
    }
const F32VectorVariant kVariants[] = {
    GRAFT_VECTOR_VARIANT(scalar, Isa::Scalar),
    GRAFT_VECTOR_VARIANT(avx2, Isa::Avx2),
    GRAFT_VECTOR_VARIANT(avx512, Isa::Avx512),
};
#undef GRAFT_VECTOR_VARIANT

const F32VectorVariant& active() { return f32_vector_variant(active_isa()); }

/// What a kernel's element costs, for the thread decision. A parallel region costs a few
/// microseconds on an idle machine but can cost milliseconds on a loaded one (a descheduled
/// worker holds up the region's join), so the work must be worth far more than the region:
/// both kinds go parallel from 256 Ki elements. For Math kernels (exp and the like, tens of
/// cycles per element) that is about 100 µs on one core. Stream kernels (a few cycles per
/// element, memory-bound) use the same threshold: the arrays a training step streams were mostly
/// just written by the op before and sit in L2 or L3, where two cores read faster than one
/// (CHANGELOG.md has the measurements).
enum class Cost { Stream, Math };

int64 parallel_min(Cost) { return int64{1} << 18; }

Cost unary_cost(UnaryOp op) { return op == UnaryOp::Relu ? Cost::Stream : Cost::Math; }
Cost unary_grad_cost(UnaryOp op) {
    return op == UnaryOp::Gelu || op == UnaryOp::GeluTanh ? Cost::Math : Cost::Stream;
}
// Elementwise chunks are multiples of 64 floats (four cache lines).
constexpr int64 kChunkAlign = 64;
// LayerNorm's dw/db: rows summed in float within a block, blocks summed in double.
constexpr int64 kRowBlock = 32;
constexpr int64 kMaxRowBlocks = 64;
// Column reductions: at most this many columns a block, so that the block's double sums (64 KiB)
// stay in L2 while the rows stream through; rows of up to this width are read whole, in order
// (2048-column blocks: 18.9 GB/s on [4096, 4096] over dim 0, whole rows: 21.6).
constexpr int64 kColumnBlock = 8192;
// The column kernels read eight rows a step where each row's segment is a stream of its own (at
// least 512 columns, 2 KiB: one core then keeps eight DRAM streams in flight; one row a step:
// 8–11 GB/s on [8192, 4096] over dim 0, eight: 22), and on any width when the whole array is at
// most 8 MiB, what the op before has just written and L2 or L3 still holds ([2048, 768] over 0 at
// two threads, 384-column blocks: 22 GB/s one row a step, 73 eight). Narrow segments of a larger
// array share pages, where interleaved reads defeat the prefetchers: one row after another there
// ([512, 256, 256] over dim 1 at two threads: 60 GB/s, eight rows a step 33).
constexpr int64 kColumnStreamMin = 512, kColumnCachedMaxFloats = int64{2} << 20;
bool column_eight_rows(int64 outer, int64 rows, int64 n, int64 block) {
    return block >= kColumnStreamMin || outer * rows * n <= kColumnCachedMaxFloats;
}

int vector_threads(int64 work, int64 units, Cost cost) {
    if (work < parallel_min(cost) || units < 2) return 1;
    return static_cast<int>(std::min<int64>(num_threads(), units));
}

/// run(begin, count) over [0, n) in one chunk per thread.
template <class F>
void for_chunks(int64 n, Cost cost, F&& run) {
    parallel_chunks(vector_threads(n, n / kChunkAlign, cost), 0, n, kChunkAlign,
                    [&](int64 lo, int64 hi) { run(lo, hi - lo); });
}

/// run(r) for every row r of `rows` rows of n elements.
template <class F>
void for_rows(int64 rows, int64 n, Cost cost, F&& run) {
    parallel_chunks(vector_threads(rows * n, rows, cost), 0, rows, 1, [&](int64 lo, int64 hi) {
        for (int64 r = lo; r < hi; ++r) run(r);
    });
}

/// run(o, begin, len) for every block of columns [begin, begin + len) of every slice o of
/// outer × rows × n: blocks of at most kColumnBlock columns, narrower (multiples of 64) where
/// there are fewer slices than threads. A column's sum never spans two blocks, so the split
/// changes no result.
template <class F>
void for_column_blocks(int64 outer, int64 rows, int64 n, F&& run) {
    const int threads = vector_threads(outer * rows * n, outer * ((n + kChunkAlign - 1) / kChunkAlign), Cost::Stream);
    int64 width = std::min(kColumnBlock, n);
    if (outer < threads)
        width = std::min(width, ((n + threads - 1) / threads + kChunkAlign - 1) / kChunkAlign * kChunkAlign);
    const int64 per_slice = width > 0 ? (n + width - 1) / width : 0;
    parallel_chunks(threads, 0, outer * per_slice, 1, [&](int64 lo, int64 hi) {
        for (int64 unit = lo; unit < hi; ++unit) {
            const int64 o = unit / per_slice, begin = unit % per_slice * width;
            run(o, begin, std::min(width, n - begin));
        }
    });
}

}  // namespace

const F32VectorVariant& f32_vector_variant(Isa isa) {
    for (const F32VectorVariant& v : kVariants)
        if (v.isa == isa) return v;
    return kVariants[0];
}

void unary(UnaryOp op, int64 n, const float* x, float* y) {
    const F32UnaryKernel kernel = active().unary;
    for_chunks(n, unary_cost(op), [&](int64 b, int64 len) { kernel(op, len, x + b, y + b); });
}

void unary_grad(UnaryOp op, int64 n, const float* s, const float* dy, float* dx) {
    const F32UnaryGradKernel kernel = active().unary_grad;
    for_chunks(n, unary_grad_cost(op), [&](int64 b, int64 len) { kernel(op, len, s + b, dy + b, dx + b); });
}

void affine_activation_rows(AffineActivation act, int64 channels, int64 n, int64 lo, int64 hi, const float* x,
                            float* y, const double* scale, const double* shift) {
    active().affine_activation(act, channels, n, lo, hi, x, y, scale, shift);
}

void affine_activation_grad_rows(AffineActivation act, int64 channels, int64 n, int64 lo, int64 hi, const float* x,
                                 const double* scale, const double* shift, const float* dy, float* dz) {
    active().affine_activation_grad(act, channels, n, lo, hi, x, scale, shift, dy, dz);
}

void channel_grad_sums(int64 rows, int64 n, int64 stride, const float* dy, const float* x, float mean, double* sums) {
    active().channel_grad_sums(rows, n, stride, dy, x, mean, sums);
}

void channel_grad(int64 rows, int64 n, int64 stride, const float* dy, const float* x, float a, float b, float e,
                  float* dx) {
    active().channel_grad(rows, n, stride, dy, x, a, b, e, dx);
}

void binary(BinaryOp op, int64 n, const float* a, const float* b, float* y) {
    const F32BinaryKernel kernel = active().binary;
    for_chunks(n, Cost::Stream, [&](int64 begin, int64 len) { kernel(op, len, a + begin, b + begin, y + begin); });
}

void binary_scalar(BinaryOp op, int64 n, const float* a, float s, bool scalar_first, float* y) {
    const F32BinaryScalarKernel kernel = active().binary_scalar;
    for_chunks(n, Cost::Stream, [&](int64 begin, int64 len) { kernel(op, len, a + begin, s, scalar_first, y + begin); });
}

void binary_rows(BinaryOp op, int64 rows, int64 n, const float* a, int64 a_row_stride, const float* b,
                 int64 b_row_stride, float* y) {
    const F32BinaryKernel kernel = active().binary;
    for_rows(rows, n, Cost::Stream,
             [&](int64 r) { kernel(op, n, a + r * a_row_stride, b + r * b_row_stride, y + r * n); });
}

void sum_rows(int64 rows, int64 n, const float* x, double* out) {
    const F32SumKernel kernel = active().sum;
    if (rows == 1) {  // one long row: per-chunk partial sums, added in chunk order
        const int threads = vector_threads(n, n / kChunkAlign, Cost::Stream);
        if (threads <= 1) {
            out[0] = kernel(n, x);
            return;
        }
        std::vector<double> partial(static_cast<std::size_t>(threads), 0.0);
        parallel_region(threads, [&](int tid, int team) {
            const int64 chunk = (n + team - 1) / team, begin = std::min(n, tid * chunk);
            partial[static_cast<std::size_t>(tid)] = kernel(std::min(chunk, n - begin), x + begin);
        });
        double s = 0;
        for (double p : partial) s += p;
        out[0] = s;
        return;
    }
    for_rows(rows, n, Cost::Stream, [&](int64 r) { out[r] = kernel(n, x + r * n); });
}

void max_rows(int64 rows, int64 n, const float* x, float* out) {
    const F32MaxKernel kernel = active().max;
    for_rows(rows, n, Cost::Stream, [&](int64 r) { out[r] = kernel(n, x + r * n); });
}

void sum_columns(int64 outer, int64 rows, int64 n, const float* x, double* out) {
    const F32SumColumnsKernel kernel = active().sum_columns;
    for_column_blocks(outer, rows, n, [&](int64 o, int64 begin, int64 len) {
        double* acc = out + o * n + begin;
        std::fill(acc, acc + len, 0.0);
        kernel(rows, len, n, x + o * rows * n + begin, acc, column_eight_rows(outer, rows, n, len));
    });
}

void squared_deviation_columns(int64 outer, int64 rows, int64 n, const float* x, const double* mean, double* out) {
    const F32SquaredDeviationColumnsKernel kernel = active().squared_deviation_columns;
    for_column_blocks(outer, rows, n, [&](int64 o, int64 begin, int64 len) {
        double* acc = out + o * n + begin;
        std::fill(acc, acc + len, 0.0);
        kernel(rows, len, n, x + o * rows * n + begin, mean + o * n + begin, acc, column_eight_rows(outer, rows, n, len));
    });
}

void softmax_rows(int64 rows, int64 n, const float* x, float* y, bool log) {
    const F32SoftmaxKernel kernel = active().softmax;
    for_rows(rows, n, Cost::Math, [&](int64 r) { kernel(n, x + r * n, y + r * n, log); });
}

void softmax_grad_rows(int64 rows, int64 n, const float* y, const float* dy, float* dx, bool log) {
    const F32SoftmaxGradKernel kernel = active().softmax_grad;
    // log_softmax's backward takes an exp per element.
    for_rows(rows, n, log ? Cost::Math : Cost::Stream,
             [&](int64 r) { kernel(n, y + r * n, dy + r * n, dx + r * n, log); });
}

void cross_entropy_rows(int64 rows, int64 n, const float* x, const int64* target, int64 ignore_index,
                        float smoothing, float* loss, float* max, float* log_sum) {
    const F32CrossEntropyKernel kernel = active().cross_entropy;
    for_rows(rows, n, Cost::Math, [&](int64 r) {
        if (target[r] == ignore_index) {
            loss[r] = max[r] = log_sum[r] = 0.f;
            return;
        }
        loss[r] = kernel(n, x + r * n, target[r], smoothing, max + r, log_sum + r);
    });
}

void cross_entropy_grad_rows(int64 rows, int64 n, const float* x, const float* max, const float* log_sum,
                             const int64* target, int64 ignore_index, float smoothing, const float* scale, float* dx) {
    const F32CrossEntropyGradKernel kernel = active().cross_entropy_grad;
    for_rows(rows, n, Cost::Math, [&](int64 r) {
        float* d = dx + r * n;
        if (target[r] == ignore_index) {
            std::fill(d, d + n, 0.f);
            return;
        }
        kernel(n, x + r * n, max[r], log_sum[r], target[r], smoothing, scale[r], d);
    });
}

void layer_norm_rows(int64 rows, int64 n, const float* x, const float* w, const float* b, float eps, float* y,
                     double* mean, float* rstd) {
    const F32LayerNormKernel kernel = active().layer_norm;
    for_rows(rows, n, Cost::Math, [&](int64 r) { kernel(n, x + r * n, w, b, eps, y + r * n, mean + r, rstd + r); });
}

void layer_norm_grad_rows(int64 rows, int64 n, const float* x, const float* dy, const float* w, const double* mean,
                          const float* rstd, float* dx, float* dw, float* db) {
    const F32LayerNormGradKernel kernel = active().layer_norm_grad;
    if (!dw && !db) {
        for_rows(rows, n, Cost::Math,
                 [&](int64 r) { kernel(n, x + r * n, dy + r * n, w, mean[r], rstd[r], dx + r * n, nullptr, nullptr); });
        return;
    }
    // At most kMaxRowBlocks blocks of at least kRowBlock rows: the partial sums stay small (no
    // page faults, no strided reduction), and the split depends on the sizes only.
    const int64 blocks = std::min(kMaxRowBlocks, (rows + kRowBlock - 1) / kRowBlock);
    const int64 block_rows = blocks > 0 ? (rows + blocks - 1) / blocks : 0;
    const auto width = static_cast<std::size_t>(n);
    std::vector<float> part_w(dw ? static_cast<std::size_t>(blocks) * width : 0, 0.f);
    std::vector<float> part_b(db ? static_cast<std::size_t>(blocks) * width : 0, 0.f);
    for_rows(blocks, block_rows * n, Cost::Math, [&](int64 blk) {
        float* pw = dw ? part_w.data() + static_cast<std::size_t>(blk) * width : nullptr;
        float* pb = db ? part_b.data() + static_cast<std::size_t>(blk) * width : nullptr;
        for (int64 r = blk * block_rows, end = std::min(rows, r + block_rows); r < end; ++r)
            kernel(n, x + r * n, dy + r * n, w, mean[r], rstd[r], dx ? dx + r * n : nullptr, pw, pb);
    });
    // Blocks in order, each a contiguous row of partial sums: the inner loop streams along j.
    for_chunks(n, Cost::Stream, [&](int64 begin, int64 len) {
        for (auto [part, out] : {std::pair{&part_w, dw}, std::pair{&part_b, db}}) {
            if (!out) continue;
            std::vector<double> acc(static_cast<std::size_t>(len), 0.0);
            for (int64 blk = 0; blk < blocks; ++blk) {
                const float* row = part->data() + static_cast<std::size_t>(blk) * width + static_cast<std::size_t>(begin);
                for (int64 j = 0; j < len; ++j) acc[static_cast<std::size_t>(j)] += static_cast<double>(row[j]);
            }
            for (int64 j = 0; j < len; ++j) out[begin + j] = static_cast<float>(acc[static_cast<std::size_t>(j)]);
        }
    });
}

}  // namespace graft::kernels
