// nn::functional::interpolate on [N, C, H, W]: nearest and bilinear, forward then backward. Both
// modes read, for output (oh, ow), at most the 2 × 2 input pixels (ih0|ih1) × (iw0|iw1) with weights
// (h0|h1) · (w0|w1) — nearest is the case ih1 = ih0, h1 = 0 — tabulated once per axis with
// PyTorch's source-index formulas (UpSample.h) in the input's precision. Planes (one (n, c)) are
// spread over the threads.
#include <cmath>
#include <string>
#include <vector>

#include "core/dispatch.hpp"
#include "graft/autograd.hpp"
#include "graft/functional/interpolate.hpp"
#include "graft/profiler.hpp"
#include "kernels/cpu/parallel.hpp"

namespace graft::nn::functional {

namespace {

using int64 = std::int64_t;

/// Output index i along one axis reads inputs i0 and i1 with weights l0 and l1.
template <class T>
struct AxisTaps {
    std::vector<int64> i0, i1;
    std::vector<T> l0, l1;
};

/// `scale` is the user's factor for this axis (0 when a size was given).
template <class T>
AxisTaps<T> axis_taps(int64 in, int64 out, double scale, InterpolateMode mode, bool align_corners) {
    AxisTaps<T> t;
    t.i0.resize(static_cast<std::size_t>(out)), t.i1.resize(static_cast<std::size_t>(out));
    t.l0.resize(static_cast<std::size_t>(out)), t.l1.resize(static_cast<std::size_t>(out));
    if (mode == InterpolateMode::Nearest) {
        // PyTorch's nearest_idx: floorf(i · s) with s = 1/scale or in/out in float, capped at in − 1.
        const float s = scale > 0 ? static_cast<float>(1.0 / scale) : static_cast<float>(in) / static_cast<float>(out);
        for (int64 i = 0; i < out; ++i) {
            const int64 src = out == in ? i
                              : out == 2 * in
                                  ? i >> 1
                                  : std::min(static_cast<int64>(std::floor(static_cast<float>(i) * s)), in - 1);
            t.i0[static_cast<std::size_t>(i)] = t.i1[static_cast<std::size_t>(i)] = src;
            t.l0[static_cast<std::size_t>(i)] = T(1), t.l1[static_cast<std::size_t>(i)] = T(0);
        }
        return t;
    }
    // area_pixel_compute_scale and area_pixel_compute_source_index, in T.
    const T s = align_corners ? (out > 1 ? static_cast<T>(in - 1) / static_cast<T>(out - 1) : T(0))
                : scale > 0   ? static_cast<T>(1.0 / scale)
                              : static_cast<T>(in) / static_cast<T>(out);
    for (int64 i = 0; i < out; ++i) {
        T src = align_corners ? s * static_cast<T>(i) : s * (static_cast<T>(i) + T(0.5)) - T(0.5);
        if (src < T(0)) src = T(0);
        const auto i0 = static_cast<int64>(src);
        const std::size_t k = static_cast<std::size_t>(i);
        t.i0[k] = i0;
        t.i1[k] = i0 + (i0 < in - 1 ? 1 : 0);
        t.l1[k] = src - static_cast<T>(i0);
        t.l0[k] = T(1) - t.l1[k];
    }
    return t;
}

/// The checked call: output size and each axis's factor (0 when a size was given).
struct Geometry {
    int64 N, C, H, W, OH, OW;
    double scale_h, scale_w;
    InterpolateMode mode;
    bool align_corners;
    int64 planes() const { return N * C; }
};

Geometry geometry(const Tensor& input, const InterpolateOptions& o) {
    if (input.dim() != 4)
        throw ShapeError("interpolate: expects a 4-D input [N, C, H, W], got " + shape_str(input.shape()));
    if (!is_floating(input.dtype()))
        throw DTypeError(std::string("interpolate: expects float32 or float64, got ") + dtype_name(input.dtype()));
    Geometry g{input.size(0), input.size(1), input.size(2), input.size(3), 0, 0, 0, 0, o.mode, o.align_corners};
    if (g.H < 1 || g.W < 1)
        throw ShapeError("interpolate: expected non-empty spatial dimensions, got input " + shape_str(input.shape()));
    if (o.size.has_value() == o.scale_factor.has_value())
        throw ValueError("interpolate: give exactly one of size and scale_factor");
    if (o.align_corners && o.mode == InterpolateMode::Nearest)
        throw ValueError("interpolate: align_corners applies to bilinear mode only, not nearest");
    if (o.size) {
        g.OH = o.size->h, g.OW = o.size->w;
        if (g.OH < 1 || g.OW < 1)
            throw ValueError("interpolate: size " + std::to_string(g.OH) + "x" + std::to_string(g.OW) +
                             " must be positive");
    } else {
        g.scale_h = o.scale_factor->h, g.scale_w = o.scale_factor->w;
        if (!(g.scale_h > 0) || !(g.scale_w > 0) || !std::isfinite(g.scale_h) || !std::isfinite(g.scale_w))
            throw ValueError("interpolate: scale_factor (" + std::to_string(g.scale_h) + ", " +
                             std::to_string(g.scale_w) + ") must be positive and finite");
        g.OH = static_cast<int64>(std::floor(static_cast<double>(g.H) * g.scale_h));
        g.OW = static_cast<int64>(std::floor(static_cast<double>(g.W) * g.scale_w));
        if (g.OH < 1 || g.OW < 1)
            throw ValueError("interpolate: scale_factor (" + std::to_string(g.scale_h) + ", " +
                             std::to_string(g.scale_w) + ") gives an empty output " + std::to_string(g.OH) + "x" +
                             std::to_string(g.OW) + " for input " + shape_str(input.shape()));
    }
    // With align_corners PyTorch ignores the factor in the source coordinates.
    if (g.align_corners) g.scale_h = g.scale_w = 0;
    return g;
}

template <class T>
AxisTaps<T> rows_of(const Geometry& g) {
    return axis_taps<T>(g.H, g.OH, g.scale_h, g.mode, g.align_corners);
}
template <class T>
AxisTaps<T> cols_of(const Geometry& g) {
    return axis_taps<T>(g.W, g.OW, g.scale_w, g.mode, g.align_corners);
}

// y[p, oh, ow] = h0·(w0·x[ih0, iw0] + w1·x[ih0, iw1]) + h1·(w0·x[ih1, iw0] + w1·x[ih1, iw1])
template <class T>
void interpolate_forward(const Geometry& g, const T* x, T* y) {
    const AxisTaps<T> r = rows_of<T>(g), c = cols_of<T>(g);
    kernels::parallel_for(0, g.planes(), g.planes() * g.OH * g.OW * 4, [&](int64 lo, int64 hi) {
        for (int64 p = lo; p < hi; ++p) {
            const T* plane = x + p * g.H * g.W;
            T* out = y + p * g.OH * g.OW;
            for (int64 oh = 0; oh < g.OH; ++oh) {
                const std::size_t a = static_cast<std::size_t>(oh);
                const T* row0 = plane + r.i0[a] * g.W;
                const T* row1 = plane + r.i1[a] * g.W;
                for (int64 ow = 0; ow < g.OW; ++ow) {
                    const std::size_t b = static_cast<std::size_t>(ow);
                    out[oh * g.OW + ow] = r.l0[a] * (c.l0[b] * row0[c.i0[b]] + c.l1[b] * row0[c.i1[b]]) +
                                          r.l1[a] * (c.l0[b] * row1[c.i0[b]] + c.l1[b] * row1[c.i1[b]]);
                }
            }
        }
    });
}

// ⇒ dx[ihα, iwβ] += hα·wβ·dy[oh, ow] for α, β ∈ {0, 1}
struct InterpolateBackward final : Node {
    explicit InterpolateBackward(const Geometry& geometry) : g(geometry) {}
    const char* name() const override { return "InterpolateBackward"; }
    std::vector<Tensor> apply(const Tensor& grad) override {
        const Tensor dy = grad.contiguous();
        Tensor dx = zeros({g.N, g.C, g.H, g.W}, dy.dtype());
        detail::dispatch_floating(dy.dtype(), name(), [&]<class T>() {
            const AxisTaps<T> r = rows_of<T>(g), c = cols_of<T>(g);
            const T* d = dy.data_ptr<T>();
            T* out = dx.data_ptr<T>();
            kernels::parallel_for(0, g.planes(), g.planes() * g.OH * g.OW * 4, [&](int64 lo, int64 hi) {
                for (int64 p = lo; p < hi; ++p) {
                    T* plane = out + p * g.H * g.W;
                    const T* dp = d + p * g.OH * g.OW;
                    for (int64 oh = 0; oh < g.OH; ++oh) {
                        const std::size_t a = static_cast<std::size_t>(oh);
                        T* row0 = plane + r.i0[a] * g.W;
                        T* row1 = plane + r.i1[a] * g.W;
                        for (int64 ow = 0; ow < g.OW; ++ow) {
                            const std::size_t b = static_cast<std::size_t>(ow);
                            const T v = dp[oh * g.OW + ow];
                            row0[c.i0[b]] += r.l0[a] * c.l0[b] * v;
                            row0[c.i1[b]] += r.l0[a] * c.l1[b] * v;
                            row1[c.i0[b]] += r.l1[a] * c.l0[b] * v;
                            row1[c.i1[b]] += r.l1[a] * c.l1[b] * v;
                        }
                    }
                }
            });
        });
        return {dx};
    }
    Geometry g;
};

}  // namespace

Tensor interpolate(const Tensor& input, const InterpolateOptions& options) {
    GRAFT_PROFILE_SCOPE("interpolate");
    const Geometry g = geometry(input, options);
    Tensor out = detail::dispatch_floating(input.dtype(), "interpolate", [&]<class T>() {
        const Tensor xc = input.detach().contiguous();
        Tensor y = empty({g.N, g.C, g.OH, g.OW}, input.dtype());
        interpolate_forward<T>(g, xc.data_ptr<T>(), y.data_ptr<T>());
        return y;
    });
    autograd::make_node<InterpolateBackward>({&input}, out, g);
    return out;
}

}  // namespace graft::nn::functional
