// Max and min (of the whole tensor, or along a dim with int64 indices), argmax/argmin, and
// var/std over any set of dims; each forward followed by its backward. float32 max finds each
// row's value with the vector max kernel (kernels/vector), then the first index holding it;
// float32 var/std on a contiguous input whose reduced dims are one block ([N, D] over 0) or a
// block then the last dims (NCHW over 0, 2, 3) run the vector column kernels on it in place.
#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "core/dispatch.hpp"
#include "graft/autograd.hpp"
#include "graft/ops.hpp"
#include "graft/profiler.hpp"
#include "ops/elementwise.hpp"
#include "ops/reduce.hpp"
#include "kernels/vector/vector.hpp"

namespace graft {

namespace {

template <class T>
bool is_nan(T v) {
    if constexpr (std::is_floating_point_v<T>)
        return std::isnan(v);
    else
        return false;
}

/// Index of the largest (IsMax) or smallest element of row[0..n): the first NaN if there is
/// one (NaN propagates, as in PyTorch), else the first occurrence of the extreme value.
template <bool IsMax, class T>
std::int64_t extreme_index(const T* row, std::int64_t n) {
    std::int64_t best = 0;
    if (is_nan(row[0])) return 0;
    for (std::int64_t i = 1; i < n; ++i) {
        const T v = row[i];
        if (is_nan(v)) return i;
        if (IsMax ? v > row[best] : v < row[best]) best = i;
    }
    return best;
}

/// Calls fn(r, i) with the extreme's index i in each of p.outer rows of the plan.
template <class T, class F>
void for_each_extreme(const detail::ReducePlan& p, bool is_max, F&& fn) {
    const T* in = p.rows.template data_ptr<T>();
    if constexpr (std::is_same_v<T, float>) {
        if (is_max && p.inner > 0) {  // the same index as extreme_index: the first NaN, else the first max
            std::vector<float> maxima(static_cast<std::size_t>(p.outer));
            kernels::max_rows(p.outer, p.inner, in, maxima.data());
            for (std::int64_t r = 0; r < p.outer; ++r) {
                const float* row = in + r * p.inner;
                const float m = maxima[static_cast<std::size_t>(r)];
                std::int64_t i = 0;
                while (i + 1 < p.inner && !(std::isnan(m) ? std::isnan(row[i]) : row[i] == m)) ++i;
                fn(r, row, i);
            }
            return;
        }
    }
    for (std::int64_t r = 0; r < p.outer; ++r) {
        const T* row = in + r * p.inner;
        fn(r, row, is_max ? extreme_index<true>(row, p.inner) : extreme_index<false>(row, p.inner));
    }
}

/// The reduced dim must not be empty (there is no identity for max/min).
std::int64_t checked_dim(const Tensor& x, std::int64_t dim, const char* op) {
    const std::int64_t d = wrap_dim(dim, x.dim(), op);
    if (x.dim() > 0 && x.shape()[static_cast<std::size_t>(d)] == 0)
        throw IndexError(std::string(op) + ": cannot reduce dimension " + std::to_string(d) + " of size 0 (input " +
                         shape_str(x.shape()) + "): the reduction has no identity");
    return d;
}

void check_nonempty(const Tensor& x, const char* op) {
    if (x.numel() == 0)
        throw ValueError(std::string(op) + ": cannot reduce an empty tensor of shape " + shape_str(x.shape()) +
                         " (the reduction has no identity)");
}

// ---- max(x) / min(x) ---------------------------------------------------------------
// out = max(x) (0-d)  ⇒  dx = dout / k at the k elements equal to out (the NaNs if out is NaN), 0 elsewhere
struct ExtremeAllBackward final : Node {
    explicit ExtremeAllBackward(bool m) : is_max(m) {}
    const char* name() const override { return is_max ? "MaxBackward" : "MinBackward"; }
    std::vector<Tensor> apply(const Tensor& g) override {
        const Tensor xv = input.unpack(name());
        const Tensor rv = result.unpack(name());
        return {detail::dispatch_floating(xv.dtype(), name(), [&]<class T>() {
            const T r = rv.template data_ptr<T>()[0];
            const bool nan_result = is_nan(r);
            std::int64_t count = 0;
            Tensor mask = detail::unary_map<T, T>(xv, [&](T v) {
                const bool hit = nan_result ? is_nan(v) : v == r;
                count += hit;
                return hit ? T(1) : T(0);
            });
            return mul(mask, div(g, static_cast<double>(count)));
        })};
    }
    void release_saved() override {
        input.release();
        result.release();
    }
    bool is_max;
    SavedTensor input, result;
};

Tensor extreme_all(const Tensor& x, bool is_max) {
    GRAFT_PROFILE_SCOPE((is_max ? "max" : "min"));
    const char* op = is_max ? "max" : "min";
    Tensor out = detail::dispatch_numeric(x.dtype(), op, [&]<class T>() {
        check_nonempty(x, op);
        const detail::ReducePlan p = detail::plan_reduction(x, {}, false, op);
        Tensor o = empty({}, x.dtype());
        for_each_extreme<T>(p, is_max,
                            [&](std::int64_t, const T* row, std::int64_t i) { o.template data_ptr<T>()[0] = row[i]; });
        return o;
    });
    if (auto node = autograd::make_node<ExtremeAllBackward>({&x}, out, is_max)) {
        node->input = SavedTensor(x);
        node->result = SavedTensor(out);
    }
    return out;
}

// ---- max(x, dim) / min(x, dim) -------------------------------------------------------
// (values, indices) = max(x, dim)  ⇒  dx = zeros(x.shape) with dout scattered to x[…, indices, …] along dim
struct ExtremeDimBackward final : Node {
    ExtremeDimBackward(bool m, std::int64_t d) : is_max(m), dim(d) {}
    const char* name() const override { return is_max ? "MaxDimBackward" : "MinDimBackward"; }
    std::vector<Tensor> apply(const Tensor& g) override {
        const Tensor idx = indices.unpack(name()).contiguous();
        const Shape& shape = input_shapes[0];
        std::int64_t pre = 1, size = 1, post = 1;
        for (std::int64_t d = 0; d < static_cast<std::int64_t>(shape.size()); ++d) {
            const std::int64_t s = shape[static_cast<std::size_t>(d)];
            if (d < dim)
                pre *= s;
            else if (d == dim)
                size = s;
            else
                post *= s;
        }
        Tensor dx = zeros(shape, g.dtype());
        detail::dispatch_floating(g.dtype(), name(), [&]<class T>() {
            const Tensor gc = g.contiguous();
            const T* gp = gc.template data_ptr<T>();
            const std::int64_t* ip = idx.template data_ptr<std::int64_t>();
            T* dp = dx.template data_ptr<T>();
            for (std::int64_t a = 0; a < pre; ++a)
                for (std::int64_t c = 0; c < post; ++c) {
                    const std::int64_t o = a * post + c;
                    dp[(a * size + ip[o]) * post + c] = gp[o];
                }
        });
        return {dx};
    }
    void release_saved() override { indices.release(); }
    bool is_max;
    std::int64_t dim;
    SavedTensor indices;
};

std::pair<Tensor, Tensor> extreme_dim(const Tensor& x, std::int64_t dim, bool keepdim, bool is_max) {
    GRAFT_PROFILE_SCOPE((is_max ? "max" : "min"));
    const char* op = is_max ? "max" : "min";
    const std::int64_t d = checked_dim(x, dim, op);
    Tensor values, indices;
    detail::dispatch_numeric(x.dtype(), op, [&]<class T>() {
        const detail::ReducePlan p = detail::plan_reduction(x, {d}, keepdim, op);
        values = empty(p.out_shape, x.dtype());
        indices = empty(p.out_shape, DType::Int64);
        T* vp = values.template data_ptr<T>();
        std::int64_t* ip = indices.template data_ptr<std::int64_t>();
        for_each_extreme<T>(p, is_max, [&](std::int64_t r, const T* row, std::int64_t i) {
            vp[r] = row[i];
            ip[r] = i;
        });
    });
    if (auto node = autograd::make_node<ExtremeDimBackward>({&x}, values, is_max, d))
        node->indices = SavedTensor(indices);
    return {values, indices};
}

// ---- argmax / argmin (no gradient) ------------------------------------------------------
Tensor arg_extreme(const Tensor& x, std::optional<std::int64_t> dim, bool keepdim, bool is_max) {
    GRAFT_PROFILE_SCOPE((is_max ? "argmax" : "argmin"));
    const char* op = is_max ? "argmax" : "argmin";
    std::vector<std::int64_t> dims;
    if (dim)
        dims.push_back(checked_dim(x, *dim, op));
    else
        check_nonempty(x, op);
    return detail::dispatch_numeric(x.dtype(), op, [&]<class T>() {
        const detail::ReducePlan p = detail::plan_reduction(x, dims, keepdim, op);
        Tensor out = empty(p.out_shape, DType::Int64);
        std::int64_t* o = out.data_ptr<std::int64_t>();
        for_each_extreme<T>(p, is_max, [&](std::int64_t r, const T*, std::int64_t i) { o[r] = i; });
        return out;
    });
}

// ---- var / std ----------------------------------------------------------------------------
// out = Σ(x − mean)² / (N − correction)  ⇒  dx = dout · 2(x − mean) / (N − correction)
// out = √var                             ⇒  dx = dout · (x − mean) / ((N − correction) · out)
struct VarBackward final : Node {
    VarBackward(bool s, Shape keep, std::vector<std::int64_t> d, double den)
        : is_std(s), keep_shape(std::move(keep)), dims(std::move(d)), denom(den) {}
    const char* name() const override { return is_std ? "StdBackward" : "VarBackward"; }
    std::vector<Tensor> apply(const Tensor& g) override {
        const Tensor xv = input.unpack(name());
        const Tensor centered = sub(xv, mean(xv, dims, true));
        Tensor coef = g.reshape(keep_shape);
        if (is_std)
            coef = mul(div(coef, result.unpack(name()).reshape(keep_shape)), 1.0 / denom);
        else
            coef = mul(coef, 2.0 / denom);
        return {mul(centered, coef)};
    }
    void release_saved() override {
        input.release();
        result.release();
    }
    bool is_std;
    Shape keep_shape;
    std::vector<std::int64_t> dims;
    double denom;
    SavedTensor input, result;
};

/// out[r] = Σ(row r − its mean)² / denom (its square root with take_sqrt), two passes in double.
void var_rows(const detail::ReducePlan& p, double denom, bool take_sqrt, Tensor& out) {
    detail::dispatch_floating(out.dtype(), take_sqrt ? "std" : "var", [&]<class T>() {
        const T* in = p.rows.template data_ptr<T>();
        T* o = out.template data_ptr<T>();
        for (std::int64_t r = 0; r < p.outer; ++r) {
            const T* row = in + r * p.inner;
            double s = 0;
            for (std::int64_t i = 0; i < p.inner; ++i) s += static_cast<double>(row[i]);
            const double m = s / static_cast<double>(p.inner);
            double m2 = 0;
            for (std::int64_t i = 0; i < p.inner; ++i) {
                const double dv = static_cast<double>(row[i]) - m;
                m2 += dv * dv;
            }
            const double v = m2 / denom;
            o[r] = static_cast<T>(take_sqrt ? std::sqrt(v) : v);
        }
    });
}

Tensor var_impl(const Tensor& x, const std::vector<std::int64_t>& dims, std::int64_t correction, bool keepdim,
                bool take_sqrt) {
    GRAFT_PROFILE_SCOPE(take_sqrt ? "std" : "var");
    const char* op = take_sqrt ? "std" : "var";
    if (!is_floating(x.dtype()))
        throw DTypeError(std::string(op) + ": expected a floating-point tensor (float32 or float64), got " +
                         dtype_name(x.dtype()));
    detail::ReducePlan p = detail::plan_reduction_shapes(x, dims, keepdim, op);
    // PyTorch divides by max(0, N − correction): 0/0 gives NaN, a positive sum over 0 gives inf.
    const double denom = static_cast<double>(std::max<std::int64_t>(0, p.inner - correction));
    Tensor out = empty(p.out_shape, x.dtype());
    const std::optional<detail::InPlaceLayout> l =
        x.dtype() == DType::Float32 ? detail::in_place_layout(x, p.reduced) : std::nullopt;
    if (l) {  // both passes down the columns of x in place
        std::vector<double> mean, m2;
        detail::float32_mean_and_m2(x, *l, mean, m2);
        float* o = out.data_ptr<float>();
        for (std::size_t r = 0; r < m2.size(); ++r) {
            const double v = m2[r] / denom;
            o[r] = static_cast<float>(take_sqrt ? std::sqrt(v) : v);
        }
    } else {
        detail::materialise_rows(p, x);
        var_rows(p, denom, take_sqrt, out);
    }
    std::vector<std::int64_t> reduced_dims;
    for (std::size_t d = 0; d < p.reduced.size(); ++d)
        if (p.reduced[d]) reduced_dims.push_back(static_cast<std::int64_t>(d));
    if (auto node = autograd::make_node<VarBackward>({&x}, out, take_sqrt, p.keep_shape, reduced_dims, denom)) {
        node->input = SavedTensor(x);
        if (take_sqrt) node->result = SavedTensor(out);
    }
    return out;
}

}  // namespace

Tensor max(const Tensor& x) { return extreme_all(x, true); }
Tensor min(const Tensor& x) { return extreme_all(x, false); }
std::pair<Tensor, Tensor> max(const Tensor& x, std::int64_t dim, bool keepdim) {
    return extreme_dim(x, dim, keepdim, true);
}
std::pair<Tensor, Tensor> min(const Tensor& x, std::int64_t dim, bool keepdim) {
    return extreme_dim(x, dim, keepdim, false);
}
Tensor argmax(const Tensor& x, std::optional<std::int64_t> dim, bool keepdim) {
    return arg_extreme(x, dim, keepdim, true);
}
Tensor argmin(const Tensor& x, std::optional<std::int64_t> dim, bool keepdim) {
    return arg_extreme(x, dim, keepdim, false);
}
Tensor var(const Tensor& x, const std::vector<std::int64_t>& dims, std::int64_t correction, bool keepdim) {
    return var_impl(x, dims, correction, keepdim, false);
}
Tensor std(const Tensor& x, const std::vector<std::int64_t>& dims, std::int64_t correction, bool keepdim) {
    return var_impl(x, dims, correction, keepdim, true);
}

}  // namespace graft
