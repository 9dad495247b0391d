// conv2d, forward followed by its backward, choosing the algorithm per shape:
// - depthwise (groups = in channels): channel-interleaved tiles on small maps and strides, direct
//   loops per plane otherwise (conv_depthwise.cpp);
// - float32 3×3 convolutions with stride 1, padding 1, at least 16 channels in and out and
//   enough tiles (winograd_eligible): Winograd F(2×2, 3×3) (conv_winograd.cpp) for the forward
//   and the input gradient, chunks of images spread over the threads; their weight gradient
//   stays on im2col. Non-finite inputs or weights take im2col too (see winograd_conv);
// - small output maps (at most kBatchedMaxPixels per image, more than one image): im2col of the
//   whole batch side by side, one GEMM per group over N·OH·OW columns (the deep stages of CNNs);
// - otherwise im2col image by image: one GEMM per group, out[g] [Og, OH·OW] = W[g] [Og,
//   Cg·kh·kw] · col[g] [Cg·kh·kw, OH·OW]; images are spread over the threads, each with its own
//   column buffer (reused from image to image) and, in the backward, its own partial weight
//   gradient, summed once at the end.
// In float32 the weights, the A operand of the forward (W) and of the input gradient (Wᵀ), are
// packed for the micro-kernel once per call and shared by every GEMM (kernels::SgemmPackedA) where
// several GEMMs per group read them; a batched call in one chunk leaves the packing to its GEMM.
// Under autocast (graft/autocast.hpp) every GEMM rounds its operands to bf16: no float32 packs,
// and no Winograd (its products are float32 only).
// With stride 1 and OW = W (a "same" convolution, 3×3 with padding 1), every row of col is the
// input plane shifted by a constant offset: im2col copies it in one run and zeroes the columns
// that fall in the padding, col2im adds it back in one run. Other geometries with at most
// kGatherMaxPixels output pixels per image read through a per-call table of input offsets;
// larger ones go row by row. Image by image, a weight gradient whose columns pass kBandColBytes
// (the 7×7/2 stem) builds and multiplies them in bands of output rows that stay in L2.
// conv2d_folded_batch_norm runs the same paths with an output stage (ops/conv_output_stage.hpp):
// each path applies a frozen BatchNorm's affine and its activation to the rows it has just written.
#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/dispatch.hpp"
#include "core/scratch_array.hpp"
#include "kernels/cpu/parallel.hpp"
#include "kernels/gemm/gemm.hpp"
#include "graft/autocast.hpp"
#include "graft/autograd.hpp"
#include "graft/functional/conv.hpp"
#include "graft/functional/pad.hpp"
#include "graft/ops.hpp"
#include "graft/profiler.hpp"
#include "graft/runtime.hpp"
#include "ops/bf16_weight.hpp"
#include "ops/conv_depthwise.hpp"
#include "ops/conv_folded_batch_norm.hpp"
#include "ops/conv_geometry.hpp"
#include "ops/conv_output_stage.hpp"
#include "ops/conv_winograd.hpp"
#include "ops/elementwise.hpp"

namespace graft::nn::functional {

namespace {

using int64 = std::int64_t;

/// op(W[g]) for every group g, the A operand that every image's GEMM shares: W[g] [Og, Kg] for
/// the forward, W[g]ᵀ [Kg, Og] for the input gradient. float32 packs each group once
/// (kernels::SgemmPackedA) outside autocast when `shared` (more than one GEMM per group will read
/// it); double, and a W read by one GEMM, go through kernels::gemm, which packs as it goes.
template <class T>
class GroupWeights {
public:
    GroupWeights(const ConvGeometry& g, const T* w, bool transpose, bool shared = true)
        : w_(w), M_(transpose ? g.Kg() : g.Og()), K_(transpose ? g.Og() : g.Kg()), rs_(transpose ? 1 : g.Kg()),
          cs_(transpose ? g.Kg() : 1), group_stride_(g.Og() * g.Kg()) {
        if constexpr (std::is_same_v<T, float>) {
            // Under autocast the GEMM rounds W to bf16 itself: no float32 panels.
            if (shared && !Autocast::enabled()) {
                packed_.reserve(static_cast<std::size_t>(g.groups));
                for (int64 grp = 0; grp < g.groups; ++grp)
                    packed_.emplace_back(M_, K_, w + grp * group_stride_, rs_, cs_);
            }
        }
    }

    /// C [rows, N] = op(W[grp]) · B [depth, N] + beta·C, B and C row-major with row strides ldb, ldc.
    void multiply(int64 grp, int64 N, const T* B, int64 ldb, T beta, T* C, int64 ldc) const {
        if constexpr (std::is_same_v<T, float>)
            if (!packed_.empty()) {
                kernels::sgemm_packed(packed_[static_cast<std::size_t>(grp)], N, 1.f, B, ldb, 1, beta, C, ldc, 1);
                return;
            }
        kernels::gemm<T>(M_, N, K_, T(1), w_ + grp * group_stride_, rs_, cs_, B, ldb, 1, beta, C, ldc, 1);
    }

private:
    struct None {};
    const T* w_;
    int64 M_, K_, rs_, cs_, group_stride_;
    std::vector<std::conditional_t<std::is_same_v<T, float>, kernels::SgemmPackedA, None>> packed_;
};

/// Output pixels per image up to which im2col and col2im, for geometries that are not shifted
/// planes (strides other than 1, or an output width other than the input's), go through a
/// per-call table of input offsets instead of row by row. On such maps a row of col is a handful
/// of runs of 4–8 pixels (a 3×3/2 conv onto 4×4 or 7×7), whose bounds, fills and loop set-up cost
/// more than the copies. On larger maps the rows' vectorised stride-2 copies are as fast or
/// faster than the table, and for shifted planes their whole-plane runs always are.
constexpr int64 kGatherMaxPixels = 64;

/// For tap t = i·kw + j and output pixel p, the offset in an input plane that col's row (c, i, j)
/// reads at p (ih·W + iw), or −1 in the padding: [kh·kw][P]. Empty (row-by-row copies) for
/// shifted-planes geometries (`taps` not empty), 1×1 convolutions read in place, and maps over
/// kGatherMaxPixels.
std::vector<std::int32_t> gather_table(const ConvGeometry& g, const std::vector<ShiftedRow>& taps) {
    if (!taps.empty() || g.direct() || g.P() > kGatherMaxPixels || g.H * g.W > INT32_MAX) return {};
    std::vector<std::int32_t> idx(static_cast<std::size_t>(g.kh * g.kw * g.P()));
    std::int32_t* out = idx.data();
    for (int64 i = 0; i < g.kh; ++i)
        for (int64 j = 0; j < g.kw; ++j)
            for (int64 oh = 0; oh < g.OH; ++oh)
                for (int64 ow = 0; ow < g.OW; ++ow) {
                    const int64 ih = oh * g.sh - g.ph + i * g.dh, iw = ow * g.sw - g.pw + j * g.dw;
                    const bool inside = ih >= 0 && ih < g.H && iw >= 0 && iw < g.W;
                    *out++ = inside ? static_cast<std::int32_t>(ih * g.W + iw) : -1;
                }
    return idx;
}

/// Output rows [oh0, oh1) of im2col's general path: col [C·kh·kw, (oh1 − oh0)·OW], rows `ld` apart,
/// row (c, i, j) holding x[c, oh·sh − ph + i·dh, ow·sw − pw + j·dw] at column (oh − oh0)·OW + ow.
template <class T>
void im2col_rows(const ConvGeometry& g, const T* x, T* col, int64 ld, int64 oh0, int64 oh1) {
    for (int64 c = 0; c < g.C; ++c)
        for (int64 i = 0; i < g.kh; ++i)
            for (int64 j = 0; j < g.kw; ++j) {
                T* row = col + ((c * g.kh + i) * g.kw + j) * ld;
                const int64 row_off = i * g.dh - g.ph, col_off = j * g.dw - g.pw;
                const auto [lo, hi] = valid_range(col_off, g.sw, g.W, g.OW);
                // Plain loops, not std::fill/std::copy: the rows are short (OW of 8 to 32 floats
                // in a small CNN), so a library call per row would cost more than the copy.
                const int64 OW = g.OW, sw = g.sw;
                for (int64 oh = oh0; oh < oh1; ++oh) {
                    T* out = row + (oh - oh0) * OW;
                    const int64 ih = oh * g.sh + row_off;
                    if (ih < 0 || ih >= g.H) {
                        for (int64 ow = 0; ow < OW; ++ow) out[ow] = T(0);
                        continue;
                    }
                    const T* src = x + (c * g.H + ih) * g.W + col_off;
                    for (int64 ow = 0; ow < lo; ++ow) out[ow] = T(0);
                    // Stride 2 (every downsampling conv of a ResNet, the 7×7 stem) with the stride
                    // known to the compiler: the even elements taken by vector shuffles, not one by one.
                    if (sw == 1)
                        for (int64 ow = lo; ow < hi; ++ow) out[ow] = src[ow];
                    else if (sw == 2)
                        for (int64 ow = lo; ow < hi; ++ow) out[ow] = src[2 * ow];
                    else
                        for (int64 ow = lo; ow < hi; ++ow) out[ow] = src[ow * sw];
                    for (int64 ow = hi; ow < OW; ++ow) out[ow] = T(0);
                }
            }
}

/// col [C·kh·kw, OH·OW] from one image x [C, H, W]: row (c, i, j) holds x[c, oh·sh − ph + i·dh,
/// ow·sw − pw + j·dw] for every output pixel (oh, ow), 0 in the padding. taps: shifted_rows(g).
/// Rows are `ld` elements apart (ld ≥ OH·OW): the images of a batch side by side in one matrix.
/// gather: gather_table(g, taps).
template <class T>
void im2col(const ConvGeometry& g, const std::vector<ShiftedRow>& taps, const std::vector<std::int32_t>& gather,
            const T* x, T* col, int64 ld) {
    if (!taps.empty()) {
        const int64 P = g.P();
        // Channel by channel: its plane stays in L1 while its kh·kw rows are written.
        for (int64 c = 0; c < g.C; ++c) {
            const T* plane = x + c * g.H * g.W;
            T* out = col + c * g.kh * g.kw * ld;
            for (const ShiftedRow& s : taps) {
                std::fill(out, out + s.first, T(0));
                std::copy(plane + (s.first + s.shift), plane + (s.last + s.shift), out + s.first);
                std::fill(out + s.last, out + P, T(0));
                s.zero_gaps(g, out);
                out += ld;
            }
        }
        return;
    }
    if (!gather.empty()) {
        const int64 P = g.P(), K = g.kh * g.kw;
        for (int64 c = 0; c < g.C; ++c) {
            const T* plane = x + c * g.H * g.W;
            for (int64 t = 0; t < K; ++t) {
                const std::int32_t* idx = gather.data() + t * P;
                T* out = col + (c * K + t) * ld;
                for (int64 p = 0; p < P; ++p) out[p] = idx[p] < 0 ? T(0) : plane[idx[p]];
            }
        }
        return;
    }
    im2col_rows(g, x, col, ld, 0, g.OH);
}

/// The adjoint of im2col: dx [C, H, W] = the sum of every entry of dcol at the input pixel it was
/// read from (0 where none was). dcol is scratch: its padding entries may be overwritten. taps:
/// shifted_rows(g). Rows of dcol are `ld` elements apart, as im2col writes them. gather:
/// gather_table(g, taps). Only the planes of channels [c0, c1) are written.
template <class T>
void col2im(const ConvGeometry& g, const std::vector<ShiftedRow>& taps, const std::vector<std::int32_t>& gather,
            T* dcol, T* dx, int64 ld, int64 c0, int64 c1) {
    const int64 HW = g.H * g.W;
    for (int64 c = c0; c < c1; ++c) {
        // One plane at a time, zeroed just before its sums: it stays in L1 for them.
        T* plane = dx + c * HW;
        std::fill(plane, plane + HW, T(0));
        if (!taps.empty()) {
            T* row = dcol + c * g.kh * g.kw * ld;
            for (const ShiftedRow& s : taps) {
                s.zero_gaps(g, row);
                for (int64 k = s.first; k < s.last; ++k) plane[k + s.shift] += row[k];
                row += ld;
            }
            continue;
        }
        if (!gather.empty()) {
            // Within one tap the output pixels read distinct input pixels: no two adds collide.
            const int64 P = g.P(), K = g.kh * g.kw;
            for (int64 t = 0; t < K; ++t) {
                const std::int32_t* idx = gather.data() + t * P;
                const T* row = dcol + (c * K + t) * ld;
                for (int64 p = 0; p < P; ++p)
                    if (idx[p] >= 0) plane[idx[p]] += row[p];
            }
            continue;
        }
        for (int64 i = 0; i < g.kh; ++i)
            for (int64 j = 0; j < g.kw; ++j) {
                const T* row = dcol + ((c * g.kh + i) * g.kw + j) * ld;
                const int64 row_off = i * g.dh - g.ph, col_off = j * g.dw - g.pw;
                const auto [lo, hi] = valid_range(col_off, g.sw, g.W, g.OW);
                for (int64 oh = 0; oh < g.OH; ++oh) {
                    const int64 ih = oh * g.sh + row_off;
                    if (ih < 0 || ih >= g.H) continue;
                    const T* in = row + oh * g.OW;
                    T* dst = dx + (c * g.H + ih) * g.W + col_off;
                    if (g.sw == 2)  // as in im2col
                        for (int64 ow = lo; ow < hi; ++ow) dst[2 * ow] += in[ow];
                    else
                        for (int64 ow = lo; ow < hi; ++ow) dst[ow * g.sw] += in[ow];
                }
            }
    }
}

/// Kg below which the weight gradient is computed as dW[g]ᵀ [Kg, Og] (C written column by column):
/// a Kg narrower than the micro-tile's 32 columns would leave most of each tile idle as the N side
/// (the first conv of a CNN, 3 channels in: Kg = 27, measured 88 vs 78 GFLOP/s); from there on dW's
/// own layout wins, its contiguous stores beating the strided ones the more the larger dW is
/// (measured on one thread: Og 2048, Kg 1024, depth 128 121 vs 43 GFLOP/s; 128 × 64 × 3136 135 vs 122).
constexpr int64 kTransposedWeightGradMaxKg = 32;

/// dW[g] [Og, Kg] += dY[g] [Og, depth] · col[g]ᵀ (col [Kg, depth]), with row strides ldy and ldcol.
template <class T>
void weight_grad_gemm(int64 Og, int64 Kg, int64 depth, const T* dy, int64 ldy, const T* col, int64 ldcol, T* dw) {
    if (Kg < kTransposedWeightGradMaxKg && Kg < Og)
        kernels::gemm<T>(Kg, Og, depth, T(1), col, ldcol, 1, dy, 1, ldy, T(1), dw, 1, Kg);  // dW[g]ᵀ = col · dYᵀ
    else
        kernels::gemm<T>(Og, Kg, depth, T(1), dy, ldy, 1, col, 1, ldcol, T(1), dw, Kg, 1);
}

/// Bytes of an image's column matrix above which the per-image weight gradient builds it and
/// multiplies it in bands of output rows (im2col's general path only: strided or unpadded
/// convolutions): a band stays in the L2 between im2col writing it and the GEMM's transposing
/// pack reading it (the 7×7 stem on 112×112 images has 1.8 MB of columns per image). The forward
/// keeps whole images: its pack copies rows of col rather than transposing them.
constexpr int64 kBandColBytes = int64(512) << 10;

/// Output rows per band of the per-image weight gradient (OH: one band).
template <class T>
int64 band_rows(const ConvGeometry& g, const std::vector<ShiftedRow>& taps) {
    if (g.direct() || !taps.empty() || g.col_size() * int64(sizeof(T)) <= kBandColBytes) return g.OH;
    const int64 row_bytes = g.C * g.kh * g.kw * g.OW * int64(sizeof(T));
    return std::clamp<int64>(kBandColBytes / row_bytes, 1, g.OH);
}

/// Multiply-adds below which a call stays on one thread (a parallel region costs more than it saves).
constexpr int64 kParallelMinMacs = 1 << 18;

/// Threads to spread the images over: one per image at most, and one for small problems.
int image_threads(const ConvGeometry& g) {
    if (g.N * g.O * g.P() * g.Kg() < kParallelMinMacs) return 1;
    return static_cast<int>(std::max<int64>(1, std::min<int64>(get_num_threads(), g.N)));
}

/// body(thread, n) for every image n, spread statically over `threads` threads (thread < threads):
/// each thread gets the same images on every call, so the per-thread weight-gradient sums, and
/// the result, are reproducible. The first exception a body throws is rethrown here once every
/// thread has finished.
template <class F>
void for_each_image(int64 N, int threads, F&& body) {
    kernels::parallel_region(threads, [&](int t, int team) {
        const int64 first = N * t / team, last = N * (t + 1) / team;
        for (int64 n = first; n < last; ++n) body(t, n);
    });
}

/// Whether the float32 forward and input gradient of g take the Winograd path.
bool use_winograd(const ConvGeometry& g) {
    // Winograd's transformed-domain products are float32 only: under autocast the GEMMs run on im2col.
    return !Autocast::enabled() && winograd_eligible(g.N, g.C, g.O, g.H, g.W, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, g.dh, g.dw, g.groups);
}

/// y [N, O', H, W] = the Winograd 3×3 conv of x [N, C', H, W]: g's forward (C' = C, O' = O, w as
/// it is), or with `flip` its input gradient (x = dy, C' = O, O' = C, w transposed and turned).
/// Chunks of images are spread over the threads as for_each_image spreads images. Returns false,
/// with y partly written, when w or x holds a non-finite value (all_finite): the caller then takes
/// the im2col path, which gives what a direct convolution gives (inf where Winograd gives NaN).
/// Each chunk of x is checked just before its input transform reads it, while it is in cache.
bool winograd_conv(const ConvGeometry& g, const float* x, const float* w, bool flip, const float* b, float* y,
                   const ConvOutputStage* stage = nullptr) {
    if (g.N == 0) return true;
    if (!all_finite(w, g.weight_size())) return false;
    const int64 Cin = flip ? g.O : g.C, Cout = flip ? g.C : g.O;
    const Winograd3x3 wino(Cin, Cout, g.H, g.W, w, flip);
    int threads = image_threads(g);
    const int64 per_chunk = wino.chunk_images(g.N, threads);
    const int64 chunks = (g.N + per_chunk - 1) / per_chunk;
    threads = static_cast<int>(std::min<int64>(threads, chunks));
    std::atomic<bool> finite{true};
    for_each_image(chunks, threads, [&](int, int64 k) {
        if (!finite.load(std::memory_order_relaxed)) return;
        const int64 n0 = k * per_chunk, images = std::min(per_chunk, g.N - n0);
        const float* xk = x + n0 * Cin * g.H * g.W;
        if (!all_finite(xk, images * Cin * g.H * g.W)) {
            finite.store(false, std::memory_order_relaxed);
            return;
        }
        wino.run(images, xk, b, y + n0 * Cout * g.H * g.W);
        finish_rows(stage, g, y, n0 * Cout, (n0 + images) * Cout);
    });
    return finite.load();
}

/// Output pixels per image up to which a call multiplies a whole batch at once instead of image
/// by image (the deep stages of a CNN: 1×1 to 16×16 maps, 256 to 2048 channels). Image by image,
/// such a GEMM is only P columns wide (poor micro-tile use, B packed for a handful of columns),
/// the threads can only share images, and each thread needs a full-size partial weight gradient.
/// Batched, col [Cg·kh·kw, N·P] holds the images side by side: one GEMM per group, N·P columns
/// wide for the forward and the input gradient, N·P deep for the weight gradient, threaded inside
/// the GEMM, at the cost of copying y (dy) between [N, O, P] and [O, N·P].
constexpr int64 kBatchedMaxPixels = 256;
/// Bytes of the batched column matrix above which the batch is taken in chunks of images.
constexpr int64 kBatchedColBytes = int64(8) << 20;

/// Weights (floats) from which maps of kBatchedSmallPixels to kBatchedMaxPixels pixels are batched:
/// below, the per-thread partials are cheap and each image's columns stay in L2, so image by image
/// wins (the CNN workload's 64→128 3×3 on 8×8 maps measured 6 % slower batched).
constexpr int64 kBatchedMinWeights = int64(1) << 17;
/// Output pixels per image up to which a call is batched whatever its weights.
constexpr int64 kBatchedSmallPixels = 32;

/// Grouped convolutions (ResNeXt's 32 groups) stay image by image: their per-group GEMMs are
/// small either way, and the batched layout copies cost more than they save (measured: 0.86×).
bool use_batched(const ConvGeometry& g) {
    if (g.N < 2 || g.groups != 1 || g.P() > kBatchedMaxPixels) return false;
    return g.P() <= kBatchedSmallPixels || g.weight_size() >= kBatchedMinWeights;
}

/// Images per chunk of the batched path: as many as kBatchedColBytes of columns hold, at least one.
template <class T>
int64 batched_chunk(const ConvGeometry& g) {
    const int64 per_image = std::max<int64>(1, g.col_size() * int64(sizeof(T)));
    return std::clamp<int64>(kBatchedColBytes / per_image, 1, g.N);
}

/// Threads for the batched path's per-image loops (im2col, col2im, the layout copies): these are
/// memory passes, worth a second thread from kParallelGrain elements on.
int batched_copy_threads(const ConvGeometry& g, int64 images) {
    if (images * (g.col_size() + g.O * g.P()) < kernels::kParallelGrain) return 1;
    return static_cast<int>(std::max<int64>(1, std::min<int64>(get_num_threads(), images)));
}

// Batched forward, chunk by chunk of nb images from n0 (ld = nb·P):
//   col [C·kh·kw, ld], image m's columns at m·P;  Y[g] [Og, ld] = W[g] · col[g];
//   y[n0 + m, o, p] = Y[o, m·P + p] + b[o]
template <class T>
void conv2d_forward_batched(const ConvGeometry& g, const T* x, const T* w, const T* b, T* y,
                            const ConvOutputStage* stage) {
    const int64 P = g.P(), chunk = batched_chunk<T>(g), rows = g.C * g.kh * g.kw;
    // One chunk: one GEMM per group, which packs W itself; pre-packed panels (a W-sized buffer,
    // zero-filled, then packed over) would only add a pass (512→512 3×3 on 4×4 maps: 9.4 MB).
    const GroupWeights<T> weights(g, w, /*transpose=*/false, /*shared=*/chunk < g.N);
    const std::vector<ShiftedRow> taps = shifted_rows(g);
    const std::vector<std::int32_t> gather = gather_table(g, taps);
    detail::ScratchArray<T> col(static_cast<std::size_t>(rows * chunk * P)), out(static_cast<std::size_t>(g.O * chunk * P));
    for (int64 n0 = 0; n0 < g.N; n0 += chunk) {
        const int64 nb = std::min(chunk, g.N - n0), ld = nb * P;
        const int threads = batched_copy_threads(g, nb);
        for_each_image(nb, threads,
                       [&](int, int64 m) { im2col(g, taps, gather, x + (n0 + m) * g.image_size(), col.data() + m * P, ld); });
        for (int64 grp = 0; grp < g.groups; ++grp)
            weights.multiply(grp, ld, col.data() + grp * g.Kg() * ld, ld, T(0), out.data() + grp * g.Og() * ld, ld);
        for_each_image(nb, threads, [&](int, int64 m) {
            T* yn = y + (n0 + m) * g.O * P;
            for (int64 o = 0; o < g.O; ++o) {
                const T* src = out.data() + o * ld + m * P;
                const T bo = b != nullptr ? b[o] : T(0);
                for (int64 p = 0; p < P; ++p) yn[o * P + p] = src[p] + bo;
            }
            finish_rows(stage, g, y, (n0 + m) * g.O, (n0 + m + 1) * g.O);
        });
    }
}

// Batched backward, chunk by chunk as the forward (dY [O, ld] is dy's chunk side by side):
//   dW[g] += dY[g] · col[g]ᵀ        one GEMM N·P deep, accumulated over the chunks (dw zeroed by the caller)
//   dcol[g] = W[g]ᵀ · dY[g],  dx[n0 + m] = col2im(dcol's columns of image m)
template <class T>
void conv2d_backward_batched(const ConvGeometry& g, const T* x, const T* w, const T* dy, T* dx, T* dw) {
    const int64 P = g.P(), Og = g.Og(), Kg = g.Kg(), chunk = batched_chunk<T>(g), rows = g.C * g.kh * g.kw;
    std::optional<GroupWeights<T>> weights_t;  // Wᵀ, for dx only; packed ahead only for several chunks
    if (dx != nullptr) weights_t.emplace(g, w, /*transpose=*/true, /*shared=*/chunk < g.N);
    const std::vector<ShiftedRow> taps = shifted_rows(g);
    const std::vector<std::int32_t> gather = gather_table(g, taps);
    detail::ScratchArray<T> col(static_cast<std::size_t>(rows * chunk * P)), dys(static_cast<std::size_t>(g.O * chunk * P));
    for (int64 n0 = 0; n0 < g.N; n0 += chunk) {
        const int64 nb = std::min(chunk, g.N - n0), ld = nb * P;
        const int threads = batched_copy_threads(g, nb);
        for_each_image(nb, threads, [&](int, int64 m) {
            const T* src = dy + (n0 + m) * g.O * P;
            for (int64 o = 0; o < g.O; ++o) std::copy(src + o * P, src + (o + 1) * P, dys.data() + o * ld + m * P);
        });
        if (dw != nullptr) {
            for_each_image(nb, threads, [&](int, int64 m) {
                im2col(g, taps, gather, x + (n0 + m) * g.image_size(), col.data() + m * P, ld);
            });
            for (int64 grp = 0; grp < g.groups; ++grp) {
                const T* dyg = dys.data() + grp * Og * ld;
                const T* colg = col.data() + grp * Kg * ld;
                weight_grad_gemm<T>(Og, Kg, ld, dyg, ld, colg, ld, dw + grp * Og * Kg);
            }
        }
        if (dx != nullptr) {
            for (int64 grp = 0; grp < g.groups; ++grp)
                weights_t->multiply(grp, ld, dys.data() + grp * Og * ld, ld, T(0), col.data() + grp * Kg * ld, ld);
            // Channel by channel with every image inside: the kh·kw rows of a channel are read
            // whole and in order. Image by image, each would read a P-float piece of every row,
            // rows ld floats apart, a stride the hardware prefetchers do not follow.
            kernels::parallel_chunks(threads, 0, g.C, 1, [&](int64 c0, int64 c1) {
                for (int64 c = c0; c < c1; ++c)
                    for (int64 m = 0; m < nb; ++m)
                        col2im(g, taps, gather, col.data() + m * P, dx + (n0 + m) * g.image_size(), ld, c, c + 1);
            });
        }
    }
}

// y[n, g] = W[g] · im2col(x[n])[g] + b   (x, w, y contiguous; b may be null)
template <class T>
void conv2d_forward(const ConvGeometry& g, const T* x, const T* w, const T* b, T* y,
                    const ConvOutputStage* stage = nullptr) {
    if (is_depthwise(g)) return depthwise_forward(g, x, w, b, y, stage);
    if constexpr (std::is_same_v<T, float>)
        if (use_winograd(g) && winograd_conv(g, x, w, /*flip=*/false, b, y, stage)) return;
    if (use_batched(g)) return conv2d_forward_batched(g, x, w, b, y, stage);
    const int threads = image_threads(g);
    detail::ScratchArray<T> cols(g.direct() ? 0 : static_cast<std::size_t>(threads * g.col_size()));
    const int64 P = g.P();
    const GroupWeights<T> weights(g, w, /*transpose=*/false);
    const std::vector<ShiftedRow> taps = shifted_rows(g);
    const std::vector<std::int32_t> gather = gather_table(g, taps);
    for_each_image(g.N, threads, [&](int t, int64 n) {
        const T* xn = x + n * g.image_size();
        const T* col = xn;
        if (!g.direct()) {
            T* buf = cols.data() + t * g.col_size();
            im2col(g, taps, gather, xn, buf, P);
            col = buf;
        }
        T* yn = y + n * g.O * P;
        for (int64 grp = 0; grp < g.groups; ++grp)
            weights.multiply(grp, P, col + grp * g.Kg() * P, P, T(0), yn + grp * g.Og() * P, P);
        // The bias after the product (beta = 0), in one pass while y[n] is in cache: filling y with
        // it and accumulating (beta = 1) made the GEMM read C, which costs the most when K is
        // small (the first conv of a CNN, K = 27). Each element is still (Σ) + b (with one K block,
        // the same bits; with several, b is no longer added to the first block's partial sum).
        if (b != nullptr)
            for (int64 o = 0; o < g.O; ++o) {
                T* row = yn + o * P;
                const T bo = b[o];
                for (int64 p = 0; p < P; ++p) row[p] += bo;
            }
        finish_rows(stage, g, y, n * g.O, (n + 1) * g.O);
    });
}

// y[n, g] = W[g] · col[n, g] + b
//   ⇒ dcol[n, g] = W[g]ᵀ · dy[n, g], dx[n] = col2im(dcol[n])   (only with dx)
//     dW[g] = Σₙ dy[n, g] · col[n, g]ᵀ                          (only with dw; per-thread partial sums;
//                                                              weight_grad_gemm picks the orientation)
// x is needed for dw only, w for dx only; dx and dw may be null.
template <class T>
void conv2d_backward(const ConvGeometry& g, const T* x, const T* w, const T* dy, T* dx, T* dw) {
    if (is_depthwise(g)) return depthwise_backward(g, x, w, dy, dx, dw);
    if constexpr (std::is_same_v<T, float>)
        // dx = conv(dy, W flipped and transposed), padding 1; col2im below rewrites all of dx when
        // Winograd declines.
        if (dx != nullptr && use_winograd(g) && winograd_conv(g, dy, w, /*flip=*/true, nullptr, dx)) {
            dx = nullptr;
            if (dw == nullptr) return;
        }
    if (use_batched(g)) return conv2d_backward_batched(g, x, w, dy, dx, dw);
    const int threads = image_threads(g);
    const int64 Og = g.Og(), Kg = g.Kg(), P = g.P(), wsize = g.weight_size();
    detail::ScratchArray<T> cols(g.direct() ? 0 : static_cast<std::size_t>(threads * g.col_size()));
    std::optional<GroupWeights<T>> weights_t;  // Wᵀ, for dx only
    if (dx != nullptr) weights_t.emplace(g, w, /*transpose=*/true);
    const std::vector<ShiftedRow> taps = shifted_rows(g);
    const std::vector<std::int32_t> gather = gather_table(g, taps);
    const int64 band = band_rows<T>(g, taps);
    // Thread 0 accumulates straight into dw (zeroed by the caller); the others into their own.
    detail::ScratchArray<T> partial(dw != nullptr ? static_cast<std::size_t>((threads - 1) * wsize) : 0);
    if (partial.data() != nullptr) std::fill(partial.data(), partial.data() + (threads - 1) * wsize, T(0));
    for_each_image(g.N, threads, [&](int t, int64 n) {
        const T* dyn = dy + n * g.O * P;
        T* buf = g.direct() ? nullptr : cols.data() + t * g.col_size();
        if (dw != nullptr) {
            const T* xn = x + n * g.image_size();
            T* dwt = t == 0 ? dw : partial.data() + (t - 1) * wsize;
            if (band < g.OH) {
                for (int64 oh0 = 0; oh0 < g.OH; oh0 += band) {
                    const int64 oh1 = std::min(g.OH, oh0 + band), width = (oh1 - oh0) * g.OW;
                    im2col_rows(g, xn, buf, width, oh0, oh1);
                    for (int64 grp = 0; grp < g.groups; ++grp)
                        weight_grad_gemm<T>(Og, Kg, width, dyn + grp * Og * P + oh0 * g.OW, P,
                                            buf + grp * Kg * width, width, dwt + grp * Og * Kg);
                }
            } else {
                const T* col = xn;
                if (!g.direct()) {
                    im2col(g, taps, gather, xn, buf, P);
                    col = buf;
                }
                for (int64 grp = 0; grp < g.groups; ++grp)
                    weight_grad_gemm<T>(Og, Kg, P, dyn + grp * Og * P, P, col + grp * Kg * P, P, dwt + grp * Og * Kg);
            }
        }
        if (dx != nullptr) {
            T* dxn = dx + n * g.image_size();
            T* dcol = g.direct() ? dxn : buf;
            for (int64 grp = 0; grp < g.groups; ++grp)
                weights_t->multiply(grp, P, dyn + grp * Og * P, P, T(0), dcol + grp * Kg * P, P);
            if (!g.direct()) col2im(g, taps, gather, dcol, dxn, P, 0, g.C);
        }
    });
    if (dw != nullptr && threads > 1)
        for (int t = 1; t < threads; ++t) {
            const T* part = partial.data() + (t - 1) * wsize;
            for (int64 i = 0; i < wsize; ++i) dw[i] += part[i];
        }
}

struct Conv2dBackward final : Node {
    explicit Conv2dBackward(const ConvGeometry& geometry) : g(geometry) {}
    const char* name() const override { return "Conv2dBackward"; }
    std::vector<std::int64_t> attributes() const override { return {g.sh, g.sw, g.ph, g.pw, g.dh, g.dw, g.groups}; }
    std::vector<Tensor> apply(const Tensor& grad) override {
        std::vector<Tensor> grads(3);
        const Tensor dy = grad.contiguous();
        detail::dispatch_floating(dy.dtype(), name(), [&]<class T>() {
            Tensor xc, wc;
            T* dx = nullptr;
            T* dw = nullptr;
            if (needs_input_grad(0)) {
                const Tensor wt = w.unpack(name());
                wc = wt.dtype() == DType::BFloat16 ? detail::widen_bf16_weight(wt) : wt.contiguous();
                grads[0] = empty({g.N, g.C, g.H, g.W}, dy.dtype());
                dx = grads[0].data_ptr<T>();
            }
            if (needs_input_grad(1)) {
                xc = x.unpack(name()).contiguous();
                grads[1] = zeros({g.O, g.Cg(), g.kh, g.kw}, dy.dtype());
                dw = grads[1].data_ptr<T>();
            }
            if (dx != nullptr || dw != nullptr)
                conv2d_backward<T>(g, xc.defined() ? xc.data_ptr<T>() : nullptr,
                                   wc.defined() ? wc.data_ptr<T>() : nullptr, dy.data_ptr<T>(), dx, dw);
        });
        // db[o] = Σ_{n, p} dy[n, o, p]: the reduction reads dy in place (row sums, then over n).
        if (needs_input_grad(2)) grads[2] = sum(dy.view({g.N, g.O, g.P()}), {0, 2});
        return grads;
    }
    void release_saved() override {
        x.release();
        w.release();
    }
    ConvGeometry g;
    SavedTensor x, w;
};

std::string pair_str(const Size2& s) { return std::to_string(s.h) + "x" + std::to_string(s.w); }

/// Validates the arguments and computes the geometry of a 4-D input.
ConvGeometry conv2d_geometry(const Tensor& x, const Tensor& w, const Tensor& b, Size2 stride, Size2 padding,
                             Size2 dilation, int64 groups) {
    const std::string shapes = "(input " + shape_str(x.shape()) + ", weight " + shape_str(w.shape()) + ")";
    if (w.dim() != 4)
        throw ShapeError("conv2d: weight must be 4-D [out_channels, in_channels/groups, kh, kw], got " +
                         shape_str(w.shape()));
    if (groups < 1) throw ValueError("conv2d: groups must be positive, got " + std::to_string(groups));
    if (stride.h < 1 || stride.w < 1) throw ValueError("conv2d: stride must be positive, got " + pair_str(stride));
    if (dilation.h < 1 || dilation.w < 1)
        throw ValueError("conv2d: dilation must be positive, got " + pair_str(dilation));
    if (padding.h < 0 || padding.w < 0)
        throw ValueError("conv2d: padding must be non-negative, got " + pair_str(padding));
    ConvGeometry g{};
    g.N = x.size(0), g.C = x.size(1), g.H = x.size(2), g.W = x.size(3);
    g.O = w.size(0), g.kh = w.size(2), g.kw = w.size(3);
    g.sh = stride.h, g.sw = stride.w, g.ph = padding.h, g.pw = padding.w, g.dh = dilation.h, g.dw = dilation.w;
    g.groups = groups;
    if (g.O % groups != 0)
        throw ShapeError("conv2d: weight has " + std::to_string(g.O) + " output channels, not divisible by groups " +
                         std::to_string(groups) + " " + shapes);
    if (g.C != w.size(1) * groups)
        throw ShapeError("conv2d: input has " + std::to_string(g.C) + " channels, weight expects " +
                         std::to_string(w.size(1) * groups) +
                         (groups > 1 ? " (" + std::to_string(w.size(1)) + " per group, groups " +
                                           std::to_string(groups) + ") "
                                     : " ") +
                         shapes);
    if (b.defined() && (b.dim() != 1 || b.size(0) != g.O))
        throw ShapeError("conv2d: bias has shape " + shape_str(b.shape()) + ", expected [" + std::to_string(g.O) +
                         "] " + shapes);
    const int64 eff_h = g.dh * (g.kh - 1) + 1, eff_w = g.dw * (g.kw - 1) + 1;
    const int64 padded_h = g.H + 2 * g.ph, padded_w = g.W + 2 * g.pw;
    if (eff_h > padded_h || eff_w > padded_w)
        throw ShapeError("conv2d: kernel " + pair_str({g.kh, g.kw}) + " with dilation " + pair_str(dilation) +
                         " spans " + pair_str({eff_h, eff_w}) + ", larger than the padded input " +
                         pair_str({padded_h, padded_w}) + " " + shapes);
    g.OH = (padded_h - eff_h) / g.sh + 1;
    g.OW = (padded_w - eff_w) / g.sw + 1;
    return g;
}

/// ShapeError unless input is 4-D (conv2d's entries take a 3-D one as a batch of one first).
void check_batched_input(const Tensor& input) {
    if (input.dim() != 4)
        throw ShapeError("conv2d: expected a 3-D [C, H, W] or 4-D [N, C, H, W] input, got " +
                         shape_str(input.shape()));
}

/// conv2d's output for the 4-D input of geometry g (no autograd node), with the stage, when
/// given, applied to it.
Tensor conv2d_output(const ConvGeometry& g, const Tensor& input, const Tensor& weight, const Tensor& bias,
                     const ConvOutputStage* stage) {
    // A frozen bf16 weight (ops/bf16_weight.hpp) is widened to float32 for the call: convolution
    // weights are small next to their activations, and every path (im2col, Winograd, depthwise)
    // then runs as for a float32 weight holding the same values.
    const bool w_bf16 = detail::is_bf16_weight(input, weight, "conv2d");
    if (!w_bf16) detail::check_same_dtype(input, weight, "conv2d");
    if (bias.defined()) detail::check_same_dtype(input, bias, "conv2d");
    Tensor out = detail::dispatch_floating(input.dtype(), "conv2d", [&]<class T>() {
        const Tensor xc = input.detach().contiguous();
        const Tensor wc = w_bf16 ? detail::widen_bf16_weight(weight) : weight.detach().contiguous();
        const Tensor bc = bias.defined() ? bias.detach().contiguous() : Tensor();
        Tensor y = empty({g.N, g.O, g.OH, g.OW}, input.dtype());
        if (y.numel() > 0)
            conv2d_forward<T>(g, xc.data_ptr<T>(), wc.data_ptr<T>(), bc.defined() ? bc.data_ptr<T>() : nullptr,
                              y.data_ptr<T>(), stage);
        return y;
    });
    return out;
}

}  // namespace

Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias, Size2 stride, Size2 padding,
              Size2 dilation, std::int64_t groups) {
    GRAFT_PROFILE_SCOPE("conv2d");
    if (input.dim() == 3) return conv2d(input.unsqueeze(0), weight, bias, stride, padding, dilation, groups).squeeze(0);
    check_batched_input(input);
    const ConvGeometry g = conv2d_geometry(input, weight, bias, stride, padding, dilation, groups);
    Tensor out = conv2d_output(g, input, weight, bias, nullptr);
    if (auto node = autograd::make_node<Conv2dBackward>({&input, &weight, &bias}, out, g)) {
        if (node->needs_input_grad(0)) node->w = SavedTensor(weight);
        if (node->needs_input_grad(1)) node->x = SavedTensor(input);
    }
    return out;
}

// "same": total padding dil·(k − 1) per dimension, before = total/2, after = the rest. A symmetric
// total goes to conv2d's own padding; an odd one pads the input first (the extra zero at the end).
Tensor conv2d_padding_mode(const Tensor& input, const Tensor& weight, const Tensor& bias, Size2 stride,
                           std::string_view padding, Size2 dilation, std::int64_t groups) {
    if (padding == "valid") return conv2d(input, weight, bias, stride, Size2(0), dilation, groups);
    if (padding != "same")
        throw ValueError("conv2d: padding must be \"same\" or \"valid\" (or sizes), got \"" + std::string(padding) + "\"");
    if (stride != Size2(1))
        throw ValueError("conv2d: padding=\"same\" needs stride 1, got stride " + pair_str(stride) +
                         " (input shape " + shape_str(input.shape()) + ")");
    if (weight.dim() != 4)
        throw ShapeError("conv2d: weight must be [O, C/groups, kh, kw], got " + shape_str(weight.shape()));
    const int64 total_h = dilation.h * (weight.size(2) - 1), total_w = dilation.w * (weight.size(3) - 1);
    const int64 before_h = total_h / 2, before_w = total_w / 2;
    if (total_h % 2 == 0 && total_w % 2 == 0)
        return conv2d(input, weight, bias, 1, Size2(before_h, before_w), dilation, groups);
    if (input.dim() != 3 && input.dim() != 4)
        throw ShapeError("conv2d: expected a 3-D [C, H, W] or 4-D [N, C, H, W] input, got " +
                         shape_str(input.shape()));
    const Tensor padded = pad(input, {before_w, total_w - before_w, before_h, total_h - before_h});
    return conv2d(padded, weight, bias, 1, Size2(0), dilation, groups);
}

}  // namespace graft::nn::functional

namespace graft::detail {

// scale = w·σᵣ⁻¹ and shift = b − μᵣ·scale (batch_norm_affine, as batch_norm computes them in eval
// mode), then y·scale + shift on the convolution's output (bias included) while it is in cache.
Tensor conv2d_folded_batch_norm(const Tensor& input, const Tensor& weight, const Tensor& bias, nn::Size2 stride,
                                nn::Size2 padding, nn::Size2 dilation, std::int64_t groups, const Tensor& running_mean,
                                const Tensor& running_var, const Tensor& bn_weight, const Tensor& bn_bias, double eps,
                                nn::functional::BatchNormActivation activation) {
    using namespace nn::functional;
    GRAFT_PROFILE_SCOPE("conv2d_batch_norm");
    if (input.dim() == 3)
        return conv2d_folded_batch_norm(input.unsqueeze(0), weight, bias, stride, padding, dilation, groups,
                                        running_mean, running_var, bn_weight, bn_bias, eps, activation)
            .squeeze(0);
    check_batched_input(input);
    if (GradMode::is_enabled())
        for (const Tensor* t : {&input, &weight, &bias, &bn_weight, &bn_bias})
            if (t->defined() && t->requires_grad())
                throw Error("conv2d_batch_norm: an operand requires grad; the folded BatchNorm has no backward");
    const ConvGeometry g = conv2d_geometry(input, weight, bias, stride, padding, dilation, groups);
    if (!running_mean.defined() || !running_var.defined())
        throw ValueError("conv2d_batch_norm: running_mean and running_var are needed");
    for (const Tensor* t : {&running_mean, &running_var, &bn_weight, &bn_bias})
        if (t->defined() && (t->dim() != 1 || t->size(0) != g.O))
            throw ShapeError("conv2d_batch_norm: a BatchNorm tensor has shape " + shape_str(t->shape()) +
                             ", expected [" + std::to_string(g.O) + "] for the convolution's " +
                             std::to_string(g.O) + " output channels");
    if (!(eps >= 0)) throw ValueError("conv2d_batch_norm: eps must be non-negative, got " + std::to_string(eps));
    const auto O = static_cast<std::size_t>(g.O);
    const std::vector<double> mean = running_mean.to_vector<double>(), var = running_var.to_vector<double>();
    std::vector<double> scale(O, 1.0), shift(O, 0.0);
    if (bn_weight.defined()) scale = bn_weight.to_vector<double>();
    if (bn_bias.defined()) shift = bn_bias.to_vector<double>();
    batch_norm_affine(mean, var, eps, scale, shift, nullptr);
    const ConvOutputStage stage{scale.data(), shift.data(), activation};
    return conv2d_output(g, input, weight, bias, &stage);
}

}  // namespace graft::detail
