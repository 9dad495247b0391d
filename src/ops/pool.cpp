// 2-D pooling — max_pool2d, avg_pool2d, adaptive_avg_pool2d — each forward followed by its
// backward. Every op works plane by plane (one (n, c) of a contiguous [N, C, H, W] input), the
// planes spread over the threads (cpu/parallel.hpp). Each output's window is the product of a row
// span and a column span (its input taps that lie inside the input), tabulated once per call. The
// common 2×2 max-pool at stride 2 (no padding or dilation) runs the dispatched kernels of
// kernels/pool, forward and backward.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/dispatch.hpp"
#include "core/lane_sum.hpp"
#include "kernels/cpu/parallel.hpp"
#include "graft/autograd.hpp"
#include "graft/functional/conv.hpp"
#include "graft/profiler.hpp"
#include "kernels/pool/pool.hpp"

namespace graft::nn::functional {

namespace {

using int64 = std::int64_t;

/// The shapes of one pooling call on a [planes, H, W] view of the input.
struct PoolGeometry {
    int64 N, C, H, W, OH, OW;
    int64 kh, kw, sh, sw, ph, pw, dh, dw;
    int64 planes() const { return N * C; }
};

std::string pair_str(const Size2& s) { return std::to_string(s.h) + "x" + std::to_string(s.w); }

int64 floor_div(int64 a, int64 b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

/// PyTorch's pooling_output_shape: with ceil_mode the last window must start inside the input
/// or its left padding.
int64 pool_output_size(int64 in, int64 k, int64 pad, int64 stride, int64 dil, bool ceil_mode) {
    int64 out = floor_div(in + 2 * pad - dil * (k - 1) - 1 + (ceil_mode ? stride - 1 : 0), stride) + 1;
    if (ceil_mode && (out - 1) * stride >= in + pad) --out;
    return out;
}

/// Validates a window pooling call on a 4-D input and computes its geometry.
PoolGeometry pool_geometry(const char* op, const Tensor& x, Size2 kernel, Size2 stride, Size2 padding,
                           Size2 dilation, bool ceil_mode) {
    const std::string where = std::string(op) + ": ";
    const std::string shapes = " (input " + shape_str(x.shape()) + ", kernel_size " + pair_str(kernel) + ")";
    if (kernel.h < 1 || kernel.w < 1)
        throw ValueError(where + "kernel_size must be positive, got " + pair_str(kernel));
    if (stride.h < 1 || stride.w < 1) throw ValueError(where + "stride must be positive, got " + pair_str(stride));
    if (dilation.h < 1 || dilation.w < 1)
        throw ValueError(where + "dilation must be positive, got " + pair_str(dilation));
    if (padding.h < 0 || padding.w < 0 || padding.h > kernel.h / 2 || padding.w > kernel.w / 2)
        throw ValueError(where + "padding must be between 0 and half the kernel size, got padding " +
                         pair_str(padding) + " for kernel_size " + pair_str(kernel));
    PoolGeometry g{};
    g.N = x.size(0), g.C = x.size(1), g.H = x.size(2), g.W = x.size(3);
    if (g.C < 1 || g.H < 1 || g.W < 1)
        throw ShapeError(where + "expected non-empty channel and spatial dimensions, got input " +
                         shape_str(x.shape()));
    g.kh = kernel.h, g.kw = kernel.w, g.sh = stride.h, g.sw = stride.w;
    g.ph = padding.h, g.pw = padding.w, g.dh = dilation.h, g.dw = dilation.w;
    g.OH = pool_output_size(g.H, g.kh, g.ph, g.sh, g.dh, ceil_mode);
    g.OW = pool_output_size(g.W, g.kw, g.pw, g.sw, g.dw, ceil_mode);
    if (g.OH < 1 || g.OW < 1)
        throw ShapeError(where + "output size " + std::to_string(g.OH) + "x" + std::to_string(g.OW) +
                         " is too small" + shapes);
    return g;
}

/// Runs fn(plane) for every plane, in parallel when the work is large enough.
template <class F>
void for_each_plane(int64 planes, int64 work, F&& fn) {
    kernels::parallel_for(0, planes, work, [&](int64 lo, int64 hi) {
        for (int64 p = lo; p < hi; ++p) fn(p);
    });
}

/// The taps of one output's window along one axis that lie inside the input: first, first + step,
/// … (count of them). padded: the window's extent inside the padded input (avg_pool2d's divisor
/// with count_include_pad).
struct Span {
    int64 first = 0;
    int64 count = 0;
    int64 padded = 0;
};

/// Spans of the dilated windows start = o·stride − pad, taps start + t·dil for t < k.
std::vector<Span> window_spans(int64 out, int64 size, int64 k, int64 stride, int64 pad, int64 dil) {
    std::vector<Span> spans(static_cast<std::size_t>(out));
    for (int64 o = 0; o < out; ++o) {
        const int64 start = o * stride - pad;
        const int64 hi = start >= size ? 0 : std::min(k, (size - 1 - start) / dil + 1);
        const int64 lo = std::min(start >= 0 ? 0 : (-start + dil - 1) / dil, hi);
        // PyTorch's avg-pool divisor counts the window up to the end of the padded input.
        const int64 padded = std::min(start + k, size + pad) - start;
        spans[static_cast<std::size_t>(o)] = {start + lo * dil, hi - lo, padded};
    }
    return spans;
}

/// Spans of adaptive pooling: floor(o·size/out) to ceil((o+1)·size/out) (PyTorch's start_index
/// and end_index, without overflow).
std::vector<Span> adaptive_spans(int64 out, int64 size) {
    std::vector<Span> spans(static_cast<std::size_t>(out));
    for (int64 o = 0; o < out; ++o) {
        const int64 first = (o / out) * size + ((o % out) * size) / out;
        const int64 end = 1 + ((o + 1) * size - 1) / out;
        spans[static_cast<std::size_t>(o)] = {first, end - first, end - first};
    }
    return spans;
}

/// Where each output's window reads: spans along rows (OH of them) and columns (OW).
struct PoolPlan {
    int64 N = 0, C = 0, H = 0, W = 0;
    int64 row_step = 1, col_step = 1;  // the dilation
    std::vector<Span> rows, cols;
    int64 planes() const { return N * C; }
    int64 OH() const { return static_cast<int64>(rows.size()); }
    int64 OW() const { return static_cast<int64>(cols.size()); }
    /// Window elements visited, to decide on threads.
    int64 work() const {
        int64 r = 0, c = 0;
        for (const Span& s : rows) r += s.count;
        for (const Span& s : cols) c += s.count;
        return planes() * std::max<int64>(r, 1) * std::max<int64>(c, 1);
    }
};

PoolPlan window_plan(const PoolGeometry& g) {
    return {g.N,
            g.C,
            g.H,
            g.W,
            g.dh,
            g.dw,
            window_spans(g.OH, g.H, g.kh, g.sh, g.ph, g.dh),
            window_spans(g.OW, g.W, g.kw, g.sw, g.pw, g.dw)};
}

void check_floating_4d(const char* op, const Tensor& x) {
    if (x.dim() != 4)
        throw ShapeError(std::string(op) + ": expected a 3-D [C, H, W] or 4-D [N, C, H, W] input, got " +
                         shape_str(x.shape()));
    if (!is_floating(x.dtype()))
        throw DTypeError(std::string(op) + ": expected a floating-point input, got " + dtype_name(x.dtype()));
}

// ---- max_pool2d ---------------------------------------------------------------------------

/// PyTorch's scan of one window: the first maximum, or the last NaN. Branchy; used for windows
/// holding a NaN only.
template <class T>
std::pair<T, int64> window_max_with_nan(const T* plane, int64 first, int64 row_step, int64 col_step, int64 rows,
                                        int64 cols) {
    T best = -std::numeric_limits<T>::infinity();
    int64 best_at = first;
    for (int64 i = 0; i < rows; ++i)
        for (int64 j = 0; j < cols; ++j) {
            const int64 pos = first + i * row_step + j * col_step;
            if (plane[pos] > best || std::isnan(plane[pos])) {
                best = plane[pos];
                best_at = pos;
            }
        }
    return {best, best_at};
}

// out[p, oh, ow] = max over the window of x[p]; idx = h·W + w of the first maximum (the last NaN
// when there is one, as PyTorch). A null idx skips the positions (no gradient will need them).
template <class T>
void max_pool_forward(const PoolPlan& plan, const T* x, T* y, int64* idx) {
    for_each_plane(plan.planes(), plan.work(), [&](int64 p) {
        // Locals, not plan's fields: the int64 index stores could alias those, forcing reloads.
        const int64 W = plan.W, OW = plan.OW(), OH = plan.OH();
        const int64 row_step = plan.row_step * W, col_step = plan.col_step;
        const Span* rows = plan.rows.data();
        const Span* cols = plan.cols.data();
        const T* plane = x + p * plan.H * W;
        T* yp = y + p * OH * OW;
        int64* ip = idx != nullptr ? idx + p * OH * OW : nullptr;
        for (int64 oh = 0; oh < OH; ++oh) {
            const Span r = rows[oh];
            for (int64 ow = 0; ow < OW; ++ow) {
                const Span c = cols[ow];
                const int64 first = r.first * W + c.first;
                // Without branches on the data (a coin flip on random inputs): the maximum, then
                // its first position by a backward scan of integer selects.
                T best = -std::numeric_limits<T>::infinity();
                bool nan = false;
                for (int64 i = 0; i < r.count; ++i)
                    for (int64 j = 0; j < c.count; ++j) {
                        const T v = plane[first + i * row_step + j * col_step];
                        best = best > v ? best : v;
                        nan |= v != v;
                    }
                if (idx == nullptr) {
                    if (nan) best = window_max_with_nan(plane, first, row_step, col_step, r.count, c.count).first;
                    yp[oh * OW + ow] = best;
                    continue;
                }
                int64 best_at = -1;  // stays -1 only for a window entirely in the padding (output −∞)
                for (int64 i = r.count - 1; i >= 0; --i)
                    for (int64 j = c.count - 1; j >= 0; --j) {
                        const int64 pos = first + i * row_step + j * col_step;
                        best_at = plane[pos] == best ? pos : best_at;
                    }
                if (nan) std::tie(best, best_at) = window_max_with_nan(plane, first, row_step, col_step, r.count, c.count);
                yp[oh * OW + ow] = best;
                ip[oh * OW + ow] = best_at;
            }
        }
    });
}

/// The common 2×2 window at stride 2 without padding or dilation: the windows tile the input, so
/// the loops need no spans and each output reads two adjacent pairs of one row pair.
bool is_max_pool_2x2(const PoolGeometry& g) {
    return g.kh == 2 && g.kw == 2 && g.sh == 2 && g.sw == 2 && g.ph == 0 && g.pw == 0 && g.dh == 1 && g.dw == 1 &&
           2 * g.OH <= g.H && 2 * g.OW <= g.W;
}

// out = x[idx]  ⇒  dx[idx] += dout
struct MaxPool2dBackward final : Node {
    explicit MaxPool2dBackward(const PoolGeometry& geometry) : g(geometry) {}
    const char* name() const override { return "MaxPool2dBackward"; }
    std::vector<Tensor> apply(const Tensor& grad) override {
        const Tensor dy = grad.contiguous();
        const Tensor idx = indices.unpack(name()).contiguous();
        if (is_max_pool_2x2(g)) {
            Tensor dx = empty({g.N, g.C, g.H, g.W}, dy.dtype());
            detail::dispatch_floating(dy.dtype(), name(), [&]<class T>() {
                kernels::max_pool_2x2_backward<T>(g.planes(), g.H, g.W, g.OH, g.OW, dy.data_ptr<T>(),
                                                  idx.data_ptr<int64>(), dx.data_ptr<T>());
            });
            return {dx};
        }
        Tensor dx = zeros({g.N, g.C, g.H, g.W}, dy.dtype());
        detail::dispatch_floating(dy.dtype(), name(), [&]<class T>() {
            const T* d = dy.data_ptr<T>();
            const int64* id = idx.data_ptr<int64>();
            T* out = dx.data_ptr<T>();
            const int64 per_plane = g.OH * g.OW;
            for_each_plane(g.planes(), g.planes() * per_plane, [&](int64 p) {
                T* plane = out + p * g.H * g.W;
                for (int64 k = p * per_plane; k < (p + 1) * per_plane; ++k)
                    if (id[k] >= 0) plane[id[k]] += d[k];
            });
        });
        return {dx};
    }
    void release_saved() override { indices.release(); }
    PoolGeometry g;
    SavedTensor indices;
};

// ---- avg_pool2d and adaptive_avg_pool2d ----------------------------------------------------

/// The count a window's sum is divided by: the whole padded window (count_include_pad) or the
/// input elements in it.
int64 avg_divisor(const Span& r, const Span& c, bool include_pad) {
    return include_pad ? r.padded * c.padded : r.count * c.count;
}

// out[p, oh, ow] = Σ_window x[p] / divisor   (0 for an empty window)
template <class T>
void avg_pool_forward(const PoolPlan& plan, bool include_pad, const T* x, T* y) {
    for_each_plane(plan.planes(), plan.work(), [&](int64 p) {
        const int64 W = plan.W, OW = plan.OW(), OH = plan.OH();
        const T* plane = x + p * plan.H * W;
        T* yp = y + p * OH * OW;
        for (int64 oh = 0; oh < OH; ++oh) {
            const Span r = plan.rows[static_cast<std::size_t>(oh)];
            for (int64 ow = 0; ow < OW; ++ow) {
                const Span c = plan.cols[static_cast<std::size_t>(ow)];
                T s = 0;
                if (c.count == W) {
                    // Whole rows (global pooling: the squeeze-excitation's mean): one contiguous run
                    // summed in vector lanes, where one running sum waits for every add.
                    const T* run = plane + r.first * W;
                    s = static_cast<T>(detail::lane_sum<T>(r.count * W, [&](int64 i) { return run[i]; }));
                } else {
                    for (int64 ih = r.first; ih < r.first + r.count; ++ih)
                        for (int64 iw = c.first; iw < c.first + c.count; ++iw) s += plane[ih * W + iw];
                }
                const int64 divisor = avg_divisor(r, c, include_pad);
                yp[oh * OW + ow] = divisor > 0 ? s / static_cast<T>(divisor) : T(0);
            }
        }
    });
}

// out = Σ_window x / divisor  ⇒  dx[window] += dout / divisor
struct AvgPool2dBackward final : Node {
    AvgPool2dBackward(const char* op, PoolPlan p, bool include) : op_name(op), plan(std::move(p)), include_pad(include) {}
    const char* name() const override { return op_name; }
    std::vector<Tensor> apply(const Tensor& grad) override {
        const Tensor dy = grad.contiguous();
        Tensor dx = zeros({plan.N, plan.C, plan.H, plan.W}, dy.dtype());
        detail::dispatch_floating(dy.dtype(), name(), [&]<class T>() {
            const T* d = dy.data_ptr<T>();
            T* out = dx.data_ptr<T>();
            const int64 W = plan.W, OW = plan.OW(), OH = plan.OH();
            for_each_plane(plan.planes(), plan.work(), [&](int64 p) {
                T* plane = out + p * plan.H * W;
                const T* dp = d + p * OH * OW;
                for (int64 oh = 0; oh < OH; ++oh) {
                    const Span r = plan.rows[static_cast<std::size_t>(oh)];
                    for (int64 ow = 0; ow < OW; ++ow) {
                        const Span c = plan.cols[static_cast<std::size_t>(ow)];
                        const int64 divisor = avg_divisor(r, c, include_pad);
                        if (divisor <= 0) continue;
                        const T share = dp[oh * OW + ow] / static_cast<T>(divisor);
                        for (int64 ih = r.first; ih < r.first + r.count; ++ih)
                            for (int64 iw = c.first; iw < c.first + c.count; ++iw) plane[ih * W + iw] += share;
                    }
                }
            });
        });
        return {dx};
    }
    const char* op_name;
    PoolPlan plan;
    bool include_pad;
};

/// The op on an unbatched [C, H, W] input: run on [1, C, H, W] and drop the batch dim again.
template <class F>
Tensor unbatched(const Tensor& x, F&& op) {
    return op(x.unsqueeze(0)).squeeze(0);
}

/// avg_pool_forward on `plan`, recording a backward named `node_name`.
Tensor run_avg_pool(const char* op, const char* node_name, const Tensor& input, PoolPlan plan, bool include_pad) {
    GRAFT_PROFILE_SCOPE(op);
    Tensor out = detail::dispatch_floating(input.dtype(), op, [&]<class T>() {
        const Tensor xc = input.detach().contiguous();
        Tensor y = empty({plan.N, plan.C, plan.OH(), plan.OW()}, input.dtype());
        avg_pool_forward<T>(plan, include_pad, xc.data_ptr<T>(), y.data_ptr<T>());
        return y;
    });
    autograd::make_node<AvgPool2dBackward>({&input}, out, node_name, std::move(plan), include_pad);
    return out;
}

}  // namespace

namespace {

/// max_pool2d's output and, with want_indices or a gradient to record, its indices (undefined
/// otherwise: the general window loop then skips their scan, which is half its work; the 2×2
/// kernel writes them regardless).
std::pair<Tensor, Tensor> max_pool2d_impl(const Tensor& input, Size2 kernel_size, std::optional<Size2> stride,
                                          Size2 padding, Size2 dilation, bool ceil_mode, bool want_indices) {
    GRAFT_PROFILE_SCOPE("max_pool2d");
    if (input.dim() == 3) {
        auto [y, idx] = max_pool2d_impl(input.unsqueeze(0), kernel_size, stride, padding, dilation, ceil_mode,
                                        want_indices);
        return {y.squeeze(0), idx.defined() ? idx.squeeze(0) : idx};
    }
    check_floating_4d("max_pool2d", input);
    const PoolGeometry g =
        pool_geometry("max_pool2d", input, kernel_size, stride.value_or(kernel_size), padding, dilation, ceil_mode);
    const bool indexed = want_indices || autograd::any_requires_grad({&input}) || is_max_pool_2x2(g);
    Tensor indices = indexed ? empty({g.N, g.C, g.OH, g.OW}, DType::Int64) : Tensor();
    Tensor out = detail::dispatch_floating(input.dtype(), "max_pool2d", [&]<class T>() {
        const Tensor xc = input.detach().contiguous();
        Tensor y = empty({g.N, g.C, g.OH, g.OW}, input.dtype());
        if (is_max_pool_2x2(g))
            kernels::max_pool_2x2<T>(g.planes(), g.H, g.W, g.OH, g.OW, xc.data_ptr<T>(), y.data_ptr<T>(),
                                     indices.data_ptr<int64>());
        else if (std::is_same_v<T, float> && !indexed && g.dh == 1 && g.dw == 1 && kernels::has_max_pool_values())
            kernels::max_pool_values(g.planes(), g.H, g.W, g.OH, g.OW, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw,
                                     xc.data_ptr<float>(), y.data_ptr<float>());
        else
            max_pool_forward<T>(window_plan(g), xc.data_ptr<T>(), y.data_ptr<T>(),
                                indexed ? indices.data_ptr<int64>() : nullptr);
        return y;
    });
    if (auto node = autograd::make_node<MaxPool2dBackward>({&input}, out, g)) node->indices = SavedTensor(indices);
    return {out, indices};
}

}  // namespace

std::pair<Tensor, Tensor> max_pool2d_with_indices(const Tensor& input, Size2 kernel_size, std::optional<Size2> stride,
                                                  Size2 padding, Size2 dilation, bool ceil_mode) {
    return max_pool2d_impl(input, kernel_size, stride, padding, dilation, ceil_mode, /*want_indices=*/true);
}

// Without a gradient to record (a frozen stem, inference) the indices are not computed.
Tensor max_pool2d(const Tensor& input, Size2 kernel_size, std::optional<Size2> stride, Size2 padding, Size2 dilation,
                  bool ceil_mode) {
    return max_pool2d_impl(input, kernel_size, stride, padding, dilation, ceil_mode, /*want_indices=*/false).first;
}

Tensor avg_pool2d(const Tensor& input, Size2 kernel_size, std::optional<Size2> stride, Size2 padding, bool ceil_mode,
                  bool count_include_pad) {
    if (input.dim() == 3)
        return unbatched(input, [&](const Tensor& x4) {
            return avg_pool2d(x4, kernel_size, stride, padding, ceil_mode, count_include_pad);
        });
    check_floating_4d("avg_pool2d", input);
    const PoolGeometry g =
        pool_geometry("avg_pool2d", input, kernel_size, stride.value_or(kernel_size), padding, 1, ceil_mode);
    return run_avg_pool("avg_pool2d", "AvgPool2dBackward", input, window_plan(g), count_include_pad);
}

Tensor adaptive_avg_pool2d(const Tensor& input, Size2 output_size) {
    if (input.dim() == 3)
        return unbatched(input, [&](const Tensor& x4) { return adaptive_avg_pool2d(x4, output_size); });
    check_floating_4d("adaptive_avg_pool2d", input);
    if (output_size.h < 1 || output_size.w < 1)
        throw ValueError("adaptive_avg_pool2d: output_size must be positive, got " + pair_str(output_size));
    const int64 N = input.size(0), C = input.size(1), H = input.size(2), W = input.size(3);
    if (C < 1 || H < 1 || W < 1)
        throw ShapeError("adaptive_avg_pool2d: expected non-empty channel and spatial dimensions, got input " +
                         shape_str(input.shape()));
    PoolPlan plan{N, C, H, W, 1, 1, adaptive_spans(output_size.h, H), adaptive_spans(output_size.w, W)};
    return run_avg_pool("adaptive_avg_pool2d", "AdaptiveAvgPool2dBackward", input, std::move(plan), true);
}

}  // namespace graft::nn::functional
