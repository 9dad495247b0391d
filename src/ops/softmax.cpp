// softmax and log_softmax over any dim (max-subtracted; the generic loops accumulate in double), each forward
// followed by its fused backward. float32 over the last dim (or any dim with nothing after it)
// runs the vector row kernels (kernels/vector).
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "core/dispatch.hpp"
#include "kernels/cpu/parallel.hpp"
#include "graft/autograd.hpp"
#include "graft/ops.hpp"
#include "graft/profiler.hpp"
#include "kernels/vector/vector.hpp"

namespace graft {

namespace {

/// A contiguous tensor seen as [outer, size, inner] around the softmax dim.
struct DimLayout {
    std::int64_t outer = 1, size = 1, inner = 1;
};

DimLayout layout_around(const Shape& shape, std::int64_t dim) {
    DimLayout l;
    for (std::int64_t d = 0; d < static_cast<std::int64_t>(shape.size()); ++d) {
        const std::int64_t s = shape[static_cast<std::size_t>(d)];
        if (d < dim)
            l.outer *= s;
        else if (d == dim)
            l.size = s;
        else
            l.inner *= s;
    }
    return l;
}

/// y = softmax(x) or log_softmax(x) along the middle axis of layout l; x and y contiguous.
/// Each slab [size, inner] is processed with per-column running max and sum, so every pass
/// walks memory contiguously whatever the dim.
template <class T>
void softmax_kernel(const T* x, T* y, DimLayout l, bool log) {
    const std::int64_t slab = l.size * l.inner;
    kernels::parallel_for(0, l.outer, l.outer * slab, [&](std::int64_t lo, std::int64_t hi) {
        std::vector<double> mx(static_cast<std::size_t>(l.inner)), sm(static_cast<std::size_t>(l.inner));
        for (std::int64_t a = lo; a < hi; ++a) {
            const T* xs = x + a * slab;
            T* ys = y + a * slab;
            std::fill(mx.begin(), mx.end(), -std::numeric_limits<double>::infinity());
            std::fill(sm.begin(), sm.end(), 0.0);
            for (std::int64_t j = 0; j < l.size; ++j)
                for (std::int64_t c = 0; c < l.inner; ++c) {
                    const double v = static_cast<double>(xs[j * l.inner + c]);
                    if (v > mx[c]) mx[c] = v;  // a NaN still propagates through the sum
                }
            for (std::int64_t j = 0; j < l.size; ++j)
                for (std::int64_t c = 0; c < l.inner; ++c) {
                    const T e = std::exp(static_cast<T>(static_cast<double>(xs[j * l.inner + c]) - mx[c]));
                    if (!log) ys[j * l.inner + c] = e;
                    sm[c] += static_cast<double>(e);
                }
            if (log) {
                for (std::int64_t c = 0; c < l.inner; ++c) mx[c] += std::log(sm[c]);
                for (std::int64_t j = 0; j < l.size; ++j)
                    for (std::int64_t c = 0; c < l.inner; ++c)
                        ys[j * l.inner + c] = static_cast<T>(static_cast<double>(xs[j * l.inner + c]) - mx[c]);
            } else {
                for (std::int64_t c = 0; c < l.inner; ++c) sm[c] = 1.0 / sm[c];
                for (std::int64_t j = 0; j < l.size; ++j)
                    for (std::int64_t c = 0; c < l.inner; ++c)
                        ys[j * l.inner + c] = static_cast<T>(static_cast<double>(ys[j * l.inner + c]) * sm[c]);
            }
        }
    });
}

/// softmax:      dx = y·(dy − Σ dy·y)
/// log_softmax:  dx = dy − exp(y)·Σ dy
template <class T>
void softmax_backward_kernel(const T* y, const T* dy, T* dx, DimLayout l, bool log) {
    const std::int64_t slab = l.size * l.inner;
    kernels::parallel_for(0, l.outer, l.outer * slab, [&](std::int64_t lo, std::int64_t hi) {
        std::vector<double> s(static_cast<std::size_t>(l.inner));
        for (std::int64_t a = lo; a < hi; ++a) {
            const T* ys = y + a * slab;
            const T* gs = dy + a * slab;
            T* ds = dx + a * slab;
            std::fill(s.begin(), s.end(), 0.0);
            for (std::int64_t j = 0; j < l.size; ++j)
                for (std::int64_t c = 0; c < l.inner; ++c) {
                    const std::int64_t k = j * l.inner + c;
                    s[c] += log ? static_cast<double>(gs[k]) : static_cast<double>(gs[k]) * static_cast<double>(ys[k]);
                }
            for (std::int64_t j = 0; j < l.size; ++j)
                for (std::int64_t c = 0; c < l.inner; ++c) {
                    const std::int64_t k = j * l.inner + c;
                    const double yv = static_cast<double>(ys[k]), gv = static_cast<double>(gs[k]);
                    ds[k] = static_cast<T>(log ? gv - std::exp(yv) * s[c] : yv * (gv - s[c]));
                }
        }
    });
}

// y = softmax(x, dim)      ⇒  dx = y·(dy − Σ_dim dy·y)
// y = log_softmax(x, dim)  ⇒  dx = dy − exp(y)·Σ_dim dy
struct SoftmaxBackward final : Node {
    SoftmaxBackward(bool lg, std::int64_t d) : log(lg), dim(d) {}
    const char* name() const override { return log ? "LogSoftmaxBackward" : "SoftmaxBackward"; }
    std::vector<Tensor> apply(const Tensor& g) override {
        const Tensor y = output.unpack(name());
        const Tensor gc = g.contiguous();
        Tensor dx = empty(y.shape(), y.dtype());
        const DimLayout l = layout_around(y.shape(), dim);
        if (y.dtype() == DType::Float32 && l.inner == 1) {
            kernels::softmax_grad_rows(l.outer, l.size, y.data_ptr<float>(), gc.data_ptr<float>(), dx.data_ptr<float>(),
                                       log);
            return {dx};
        }
        detail::dispatch_floating(y.dtype(), name(), [&]<class T>() {
            softmax_backward_kernel<T>(y.template data_ptr<T>(), gc.template data_ptr<T>(), dx.template data_ptr<T>(),
                                       l, log);
        });
        return {dx};
    }
    void release_saved() override { output.release(); }
    bool log;
    std::int64_t dim;
    SavedTensor output;
};

Tensor softmax_impl(const Tensor& x, std::int64_t dim, bool log) {
    GRAFT_PROFILE_SCOPE((log ? "log_softmax" : "softmax"));
    const char* op = log ? "log_softmax" : "softmax";
    const std::int64_t d = wrap_dim(dim, x.dim(), op);
    Tensor out = detail::dispatch_floating(x.dtype(), op, [&]<class T>() {
        const Tensor xc = x.is_contiguous() ? x : x.detach().contiguous();
        Tensor y = empty(x.shape(), x.dtype());
        const DimLayout l = layout_around(x.shape(), d);
        if constexpr (std::is_same_v<T, float>) {
            if (l.inner == 1) {
                kernels::softmax_rows(l.outer, l.size, xc.data_ptr<float>(), y.data_ptr<float>(), log);
                return y;
            }
        }
        softmax_kernel<T>(xc.template data_ptr<T>(), y.template data_ptr<T>(), l, log);
        return y;
    });
    if (auto node = autograd::make_node<SoftmaxBackward>({&x}, out, log, d)) node->output = SavedTensor(out);
    return out;
}

}  // namespace

Tensor softmax(const Tensor& x, std::int64_t dim) { return softmax_impl(x, dim, false); }
Tensor log_softmax(const Tensor& x, std::int64_t dim) { return softmax_impl(x, dim, true); }

}  // namespace graft
