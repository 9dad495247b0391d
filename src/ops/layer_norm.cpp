// layer_norm and rms_norm over the trailing dims (statistics in double), forward followed by the
// fused backward they share (rms_norm is layer_norm without centring and without bias).
// float32 layer_norm runs the vector row kernels (kernels/vector): statistics in float (the mean
// summed in double), dx, dw and db from one fused backward pass per row.
#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "core/dispatch.hpp"
#include "kernels/cpu/parallel.hpp"
#include "graft/autograd.hpp"
#include "graft/functional/norm.hpp"
#include "graft/profiler.hpp"
#include "ops/elementwise.hpp"
#include "kernels/vector/vector.hpp"

namespace graft::nn::functional {

namespace {

/// Columns per task in the dweight/dbias reduction.
constexpr std::int64_t kColumnBlock = 32;

/// x is [rows, n] contiguous; w and b are [n] or null; y is [rows, n].
/// mean[r] = Σ x/n (0 when not centered), rstd[r] = 1/√(Σ (x − mean)²/n + eps), y = (x − mean)·rstd·w + b.
template <class T>
void layer_norm_forward_kernel(const T* x, const T* w, const T* b, T* y, double* mean, double* rstd,
                               std::int64_t rows, std::int64_t n, double eps, bool centered) {
    kernels::parallel_for(0, rows, rows * n, [&](std::int64_t lo, std::int64_t hi) {
        for (std::int64_t r = lo; r < hi; ++r) {
            const T* xr = x + r * n;
            T* yr = y + r * n;
            double s = 0.0;
            if (centered)
                for (std::int64_t j = 0; j < n; ++j) s += static_cast<double>(xr[j]);
            const double m = s / static_cast<double>(n);
            double ss = 0.0;
            for (std::int64_t j = 0; j < n; ++j) {
                const double d = static_cast<double>(xr[j]) - m;
                ss += d * d;
            }
            const double rs = 1.0 / std::sqrt(ss / static_cast<double>(n) + eps);
            mean[r] = m;
            rstd[r] = rs;
            for (std::int64_t j = 0; j < n; ++j) {
                double h = (static_cast<double>(xr[j]) - m) * rs;
                if (w) h *= static_cast<double>(w[j]);
                if (b) h += static_cast<double>(b[j]);
                yr[j] = static_cast<T>(h);
            }
        }
    });
}

/// dx = rstd·(g·w − mean(g·w) − x̂·mean(g·w·x̂)) per row, x̂ = (x − mean)·rstd; w may be null (= 1).
/// Not centered (rms_norm, mean = 0): dx = rstd·(g·w − x̂·mean(g·w·x̂)).
template <class T>
void layer_norm_backward_input_kernel(const T* x, const T* g, const T* w, const double* mean, const double* rstd,
                                      T* dx, std::int64_t rows, std::int64_t n, bool centered) {
    const double inv_n = 1.0 / static_cast<double>(n);
    kernels::parallel_for(0, rows, rows * n, [&](std::int64_t lo, std::int64_t hi) {
        for (std::int64_t r = lo; r < hi; ++r) {
            const T* xr = x + r * n;
            const T* gr = g + r * n;
            T* dr = dx + r * n;
            const double m = mean[r], rs = rstd[r];
            double sum_gw = 0.0, sum_gwx = 0.0;
            for (std::int64_t j = 0; j < n; ++j) {
                const double gw = static_cast<double>(gr[j]) * (w ? static_cast<double>(w[j]) : 1.0);
                sum_gw += gw;
                sum_gwx += gw * (static_cast<double>(xr[j]) - m) * rs;
            }
            const double a = centered ? sum_gw * inv_n : 0.0, c = sum_gwx * inv_n;
            for (std::int64_t j = 0; j < n; ++j) {
                const double gw = static_cast<double>(gr[j]) * (w ? static_cast<double>(w[j]) : 1.0);
                const double xh = (static_cast<double>(xr[j]) - m) * rs;
                dr[j] = static_cast<T>(rs * (gw - a - xh * c));
            }
        }
    });
}

/// dw = Σ_rows g·x̂ and db = Σ_rows g; either output may be null (x, mean and rstd are only read
/// for dw). Threads split the columns, so the sums are deterministic whatever the thread count.
template <class T>
void layer_norm_backward_params_kernel(const T* x, const T* g, const double* mean, const double* rstd, T* dw, T* db,
                                       std::int64_t rows, std::int64_t n) {
    const std::int64_t blocks = (n + kColumnBlock - 1) / kColumnBlock;
    kernels::parallel_for(0, blocks, rows * n, [&](std::int64_t lo, std::int64_t hi) {
        for (std::int64_t blk = lo; blk < hi; ++blk) {
            const std::int64_t c0 = blk * kColumnBlock, width = std::min(kColumnBlock, n - c0);
            double acc_w[kColumnBlock] = {}, acc_b[kColumnBlock] = {};
            for (std::int64_t r = 0; r < rows; ++r) {
                const T* gr = g + r * n + c0;
                if (dw) {
                    const T* xr = x + r * n + c0;
                    const double m = mean[r], rs = rstd[r];
                    for (std::int64_t j = 0; j < width; ++j)
                        acc_w[j] += static_cast<double>(gr[j]) * (static_cast<double>(xr[j]) - m) * rs;
                }
                if (db)
                    for (std::int64_t j = 0; j < width; ++j) acc_b[j] += static_cast<double>(gr[j]);
            }
            for (std::int64_t j = 0; j < width; ++j) {
                if (dw) dw[c0 + j] = static_cast<T>(acc_w[j]);
                if (db) db[c0 + j] = static_cast<T>(acc_b[j]);
            }
        }
    });
}

// y = (x − mean)·rstd·w + b over rows of n elements
//   ⇒  dx = rstd·(g·w − mean(g·w) − x̂·mean(g·w·x̂)),  dw = Σ_rows g·x̂,  db = Σ_rows g
// rms_norm: mean = 0 and no bias, so the mean(g·w) term drops out of dx.
struct LayerNormBackward final : Node {
    explicit LayerNormBackward(bool c) : centered(c) {}
    const char* name() const override { return centered ? "LayerNormBackward" : "RmsNormBackward"; }
    std::vector<Tensor> apply(const Tensor& g) override {
        const bool need_dx = needs_input_grad(0), need_dw = needs_input_grad(1), need_db = needs_input_grad(2);
        const Tensor gc = g.contiguous();
        const Tensor xc = (need_dx || need_dw) ? x.unpack(name()) : Tensor();
        const Tensor wc = (need_dx && has_weight) ? weight.unpack(name()).contiguous() : Tensor();
        Tensor dx, dw, db;
        if (gc.dtype() == DType::Float32 && centered && (need_dx || need_dw)) {  // db alone: the column sums below
            if (need_dx) dx = empty(input_shapes[0], gc.dtype());
            if (need_dw) dw = empty(input_shapes[1], gc.dtype());
            if (need_db) db = empty(input_shapes[2], gc.dtype());
            kernels::layer_norm_grad_rows(rows, n, xc.data_ptr<float>(), gc.data_ptr<float>(),
                                          has_weight && need_dx ? wc.data_ptr<float>() : nullptr, mean.data(),
                                          rstd32.data(), need_dx ? dx.data_ptr<float>() : nullptr,
                                          need_dw ? dw.data_ptr<float>() : nullptr, need_db ? db.data_ptr<float>() : nullptr);
            return {dx, dw, db};
        }
        detail::dispatch_floating(gc.dtype(), name(), [&]<class T>() {
            const T* gp = gc.data_ptr<T>();
            if (need_dx) {
                dx = empty(input_shapes[0], gc.dtype());
                layer_norm_backward_input_kernel<T>(xc.data_ptr<T>(), gp, has_weight ? wc.data_ptr<T>() : nullptr,
                                                    mean.data(), rstd.data(), dx.data_ptr<T>(), rows, n,
                                                    centered);
            }
            if (need_dw || need_db) {
                if (need_dw) dw = empty(input_shapes[1], gc.dtype());
                if (need_db) db = empty(input_shapes[2], gc.dtype());
                layer_norm_backward_params_kernel<T>(need_dw ? xc.data_ptr<T>() : nullptr, gp, mean.data(), rstd.data(),
                                                     need_dw ? dw.data_ptr<T>() : nullptr,
                                                     need_db ? db.data_ptr<T>() : nullptr, rows, n);
            }
        });
        return {dx, dw, db};
    }
    void release_saved() override {
        x.release();
        weight.release();
        mean = {};
        rstd = {};
        rstd32 = {};
    }
    SavedTensor x;       // contiguous [rows, n] view of the input; for dx and dw
    SavedTensor weight;  // for dx, when the op has a weight
    bool has_weight = false;
    bool centered;
    std::vector<double> mean, rstd;
    std::vector<float> rstd32;  // instead of rstd for float32 layer_norm (the vector kernels)
    std::int64_t rows = 0, n = 0;
};

void check_norm_args(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, const Tensor& bias,
                     const char* op) {
    const std::string name(op);
    const std::int64_t k = static_cast<std::int64_t>(normalized_shape.size());
    if (k == 0) throw ShapeError(name + ": normalized_shape must have at least one dimension, got []");
    const bool suffix_matches =
        x.dim() >= k && std::equal(normalized_shape.begin(), normalized_shape.end(), x.shape().end() - k);
    if (!suffix_matches)
        throw ShapeError(name + ": input of shape " + shape_str(x.shape()) + " does not end with normalized_shape " +
                         shape_str(normalized_shape));
    for (const auto& [t, what] : {std::pair{&weight, "weight"}, std::pair{&bias, "bias"}}) {
        if (!t->defined()) continue;
        if (t->shape() != normalized_shape)
            throw ShapeError(name + ": " + what + " has shape " + shape_str(t->shape()) +
                             ", expected normalized_shape " + shape_str(normalized_shape));
        detail::check_same_dtype(x, *t, op);
    }
}

/// layer_norm (centered) or rms_norm (not centered, no bias) over the trailing normalized_shape.
Tensor norm_impl(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, const Tensor& bias, double eps,
                 bool centered, const char* op) {
    GRAFT_PROFILE_SCOPE(op);
    check_norm_args(x, normalized_shape, weight, bias, op);
    const std::int64_t n = shape_numel(normalized_shape);
    std::int64_t rows = 1;
    for (std::size_t d = 0; d + normalized_shape.size() < x.shape().size(); ++d) rows *= x.shape()[d];
    const Tensor xc = x.detach().contiguous();
    const Tensor wc = weight.defined() ? weight.detach().contiguous() : Tensor();
    const Tensor bc = bias.defined() ? bias.detach().contiguous() : Tensor();
    // The vector kernels implement the centred form only; float32 rms_norm takes the generic loops.
    const bool f32 = x.dtype() == DType::Float32 && centered;
    std::vector<double> mean(static_cast<std::size_t>(rows)), rstd(f32 ? 0 : static_cast<std::size_t>(rows));
    std::vector<float> rstd32(f32 ? static_cast<std::size_t>(rows) : 0);
    Tensor out = empty(x.shape(), x.dtype());
    if (f32) {
        kernels::layer_norm_rows(rows, n, xc.data_ptr<float>(), wc.defined() ? wc.data_ptr<float>() : nullptr,
                                 bc.defined() ? bc.data_ptr<float>() : nullptr, static_cast<float>(eps),
                                 out.data_ptr<float>(), mean.data(), rstd32.data());
    } else {
        detail::dispatch_floating(x.dtype(), op, [&]<class T>() {
            layer_norm_forward_kernel<T>(xc.data_ptr<T>(), wc.defined() ? wc.data_ptr<T>() : nullptr,
                                         bc.defined() ? bc.data_ptr<T>() : nullptr, out.data_ptr<T>(), mean.data(),
                                         rstd.data(), rows, n, eps, centered);
        });
    }
    if (auto node = autograd::make_node<LayerNormBackward>({&x, &weight, &bias}, out, centered)) {
        if (node->needs_input_grad(0) || node->needs_input_grad(1)) {
            node->x = SavedTensor(xc);
            node->mean = std::move(mean);
            node->rstd = std::move(rstd);
            node->rstd32 = std::move(rstd32);
        }
        node->has_weight = weight.defined();
        if (node->needs_input_grad(0) && weight.defined()) node->weight = SavedTensor(weight.detach());
        node->rows = rows;
        node->n = n;
    }
    return out;
}

}  // namespace

Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, const Tensor& bias,
                  double eps) {
    return norm_impl(x, normalized_shape, weight, bias, eps, true, "layer_norm");
}

Tensor rms_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, std::optional<double> eps) {
    if (eps && !(*eps >= 0.0)) throw ValueError("rms_norm: eps must be non-negative, got " + std::to_string(*eps));
    const double e = eps.value_or(x.dtype() == DType::Float64 ? std::numeric_limits<double>::epsilon()
                                                              : static_cast<double>(std::numeric_limits<float>::epsilon()));
    return norm_impl(x, normalized_shape, weight, Tensor(), e, false, "rms_norm");
}

}  // namespace graft::nn::functional
