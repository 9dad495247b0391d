// Sum and mean over any set of dims (with keepdim), and sum_to; forward then backward.
// float32 runs the vector sum kernels (kernels/vector, double accumulation, threaded): on x in
// place when it is contiguous and its reduced dims are last, one block ([N, D] over 0), or a
// block then the last dims ([N, C, H, W] over 0, 2, 3); else on a copy with the reduced dims last.
#include "ops/reduce.hpp"

#include "core/dispatch.hpp"
#include "graft/autograd.hpp"
#include "graft/ops.hpp"
#include "graft/profiler.hpp"
#include "kernels/vector/vector.hpp"

namespace graft {

namespace detail {

ReducePlan plan_reduction_shapes(const Tensor& x, const std::vector<std::int64_t>& dims, bool keepdim, const char* op) {
    const std::int64_t nd = x.dim();
    ReducePlan p;
    p.reduced.assign(static_cast<std::size_t>(nd), dims.empty());
    for (std::int64_t d : dims) {
        const std::int64_t w = wrap_dim(d, nd, op);
        if (nd == 0) continue;
        if (p.reduced[static_cast<std::size_t>(w)])
            throw ValueError(std::string(op) + ": dimension " + std::to_string(w) + " appears more than once");
        p.reduced[static_cast<std::size_t>(w)] = true;
    }
    std::vector<std::int64_t>& perm = p.perm;
    p.outer = 1;
    p.inner = 1;
    for (std::int64_t d = 0; d < nd; ++d) {
        if (p.reduced[static_cast<std::size_t>(d)]) {
            p.keep_shape.push_back(1);
            if (keepdim) p.out_shape.push_back(1);
        } else {
            perm.push_back(d);
            p.outer *= x.shape()[d];
            p.keep_shape.push_back(x.shape()[d]);
            p.out_shape.push_back(x.shape()[d]);
        }
    }
    for (std::int64_t d = 0; d < nd; ++d)
        if (p.reduced[static_cast<std::size_t>(d)]) {
            perm.push_back(d);
            p.inner *= x.shape()[d];
        }
    return p;
}

void materialise_rows(ReducePlan& p, const Tensor& x) {
    p.rows = (x.dim() == 0 ? x : x.detach().permute(p.perm)).detach().contiguous();
}

ReducePlan plan_reduction(const Tensor& x, const std::vector<std::int64_t>& dims, bool keepdim, const char* op) {
    ReducePlan p = plan_reduction_shapes(x, dims, keepdim, op);
    materialise_rows(p, x);
    return p;
}

std::optional<InPlaceLayout> in_place_layout(const Tensor& x, const std::vector<bool>& reduced) {
    if (!x.is_contiguous() || x.numel() == 0) return std::nullopt;
    struct Run {
        std::int64_t size;
        bool reduced;
    };
    std::vector<Run> runs;
    for (std::int64_t d = 0; d < x.dim(); ++d) {
        const std::int64_t size = x.shape()[static_cast<std::size_t>(d)];
        const bool r = reduced[static_cast<std::size_t>(d)];
        if (size == 1) continue;
        if (!runs.empty() && runs.back().reduced == r)
            runs.back().size *= size;
        else
            runs.push_back({size, r});
    }
    std::size_t i = 0;
    std::int64_t outer = 1;
    if (!runs.empty() && !runs[0].reduced) outer = runs[i++].size;
    if (runs.size() - i == 2 && runs[i].reduced)
        return InPlaceLayout{InPlaceLayout::Kind::Columns, outer, runs[i].size, runs[i + 1].size, 1};
    if (runs.size() - i == 3 && runs[i].reduced)
        return InPlaceLayout{InPlaceLayout::Kind::RowsThenColumns, outer, runs[i].size, runs[i + 1].size,
                             runs[i + 2].size};
    return std::nullopt;
}

std::vector<double> float32_sums(const Tensor& x, ReducePlan& p) {
    std::vector<double> sums(static_cast<std::size_t>(p.outer));
    const std::optional<InPlaceLayout> l = in_place_layout(x, p.reduced);
    if (!l) {
        materialise_rows(p, x);
        kernels::sum_rows(p.outer, p.inner, p.rows.data_ptr<float>(), sums.data());
    } else if (l->kind == InPlaceLayout::Kind::Columns) {
        kernels::sum_columns(l->outer, l->rows, l->inner, x.data_ptr<float>(), sums.data());
    } else {  // x as [K0, R0, K, R1]: Σ over R1 by rows, then over R0 in order
        std::vector<double> row_sums(static_cast<std::size_t>(l->outer * l->rows * l->inner));
        kernels::sum_rows(l->outer * l->rows * l->inner, l->row_length, x.data_ptr<float>(), row_sums.data());
        for (std::int64_t o = 0; o < l->outer; ++o)
            for (std::int64_t r = 0; r < l->rows; ++r) {
                const double* row = row_sums.data() + (o * l->rows + r) * l->inner;
                double* out = sums.data() + o * l->inner;
                for (std::int64_t k = 0; k < l->inner; ++k) out[k] += row[k];
            }
    }
    return sums;
}

void float32_mean_and_m2(const Tensor& x, const InPlaceLayout& l, std::vector<double>& mean, std::vector<double>& m2) {
    const std::int64_t width = l.inner * l.row_length, results = l.outer * l.inner;
    const auto columns = static_cast<std::size_t>(l.outer * width);
    std::vector<double> acc(columns), column_mean(columns);
    auto add_up = [&](std::vector<double>& out, double divisor) {
        out.assign(static_cast<std::size_t>(results), 0.0);
        for (std::int64_t r = 0; r < results; ++r) {
            double s = 0;
            for (std::int64_t i = 0; i < l.row_length; ++i) s += acc[static_cast<std::size_t>(r * l.row_length + i)];
            out[static_cast<std::size_t>(r)] = s / divisor;
        }
    };
    const float* in = x.data_ptr<float>();
    kernels::sum_columns(l.outer, l.rows, width, in, acc.data());
    add_up(mean, static_cast<double>(l.rows * l.row_length));
    for (std::size_t k = 0; k < columns; ++k) column_mean[k] = mean[k / static_cast<std::size_t>(l.row_length)];
    kernels::squared_deviation_columns(l.outer, l.rows, width, in, column_mean.data(), acc.data());
    add_up(m2, 1.0);
}

}  // namespace detail

namespace {

// out = sum(x, dims)  ⇒  dx = dout (reduced dims restored as 1) expanded to x.shape, times `scale`
struct SumBackward final : Node {
    SumBackward(Shape keep, double s) : keep_shape(std::move(keep)), scale(s) {}
    const char* name() const override { return scale == 1.0 ? "SumBackward" : "MeanBackward"; }
    std::vector<Tensor> apply(const Tensor& g) override {
        Tensor gk = g.reshape(keep_shape);
        if (scale != 1.0) gk = mul(gk, scale);
        return {gk.expand(input_shapes[0])};
    }
    Shape keep_shape;
    double scale;
};

Tensor sum_impl(const Tensor& x, const std::vector<std::int64_t>& dims, bool keepdim, bool mean) {
    GRAFT_PROFILE_SCOPE(mean ? "mean" : "sum");
    const char* op = mean ? "mean" : "sum";
    if (mean && !is_floating(x.dtype()))
        throw DTypeError(std::string("mean: expected a floating-point tensor, got ") + dtype_name(x.dtype()));
    detail::ReducePlan p = detail::plan_reduction_shapes(x, dims, keepdim, op);
    if (x.dtype() != DType::Float32) detail::materialise_rows(p, x);
    const DType out_dtype = is_floating(x.dtype()) ? x.dtype() : DType::Int64;
    Tensor out = empty(p.out_shape, out_dtype);
    auto reduce_rows = [&]<class T, class Acc, class R>() {
        const T* in = p.rows.template data_ptr<T>();
        R* o = out.template data_ptr<R>();
        for (std::int64_t r = 0; r < p.outer; ++r) {
            Acc acc = 0;
            const T* row = in + r * p.inner;
            for (std::int64_t i = 0; i < p.inner; ++i) acc += static_cast<Acc>(row[i]);
            if (mean) acc /= static_cast<Acc>(p.inner);
            o[r] = static_cast<R>(acc);
        }
    };
    switch (x.dtype()) {
        case DType::Float32: {
            const std::vector<double> sums = detail::float32_sums(x, p);
            float* o = out.data_ptr<float>();
            for (std::int64_t r = 0; r < p.outer; ++r)
                o[r] = static_cast<float>(mean ? sums[static_cast<std::size_t>(r)] / static_cast<double>(p.inner)
                                               : sums[static_cast<std::size_t>(r)]);
            break;
        }
        case DType::Float64: reduce_rows.template operator()<double, double, double>(); break;
        case DType::Int64: reduce_rows.template operator()<std::int64_t, std::int64_t, std::int64_t>(); break;
        case DType::Int32: reduce_rows.template operator()<std::int32_t, std::int64_t, std::int64_t>(); break;
        case DType::Bool: reduce_rows.template operator()<bool, std::int64_t, std::int64_t>(); break;
        default:
            throw DTypeError(std::string(op) + ": unsupported dtype " + dtype_name(x.dtype()) +
                             " (convert storage types with .to(DType::Float32))");
    }
    const double scale = mean ? 1.0 / static_cast<double>(p.inner) : 1.0;
    autograd::make_node<SumBackward>({&x}, out, p.keep_shape, scale);
    return out;
}

}  // namespace

Tensor sum(const Tensor& x) { return sum_impl(x, {}, false, false); }
Tensor sum(const Tensor& x, const std::vector<std::int64_t>& dims, bool keepdim) {
    return sum_impl(x, dims, keepdim, false);
}
Tensor mean(const Tensor& x) { return sum_impl(x, {}, false, true); }
Tensor mean(const Tensor& x, const std::vector<std::int64_t>& dims, bool keepdim) {
    return sum_impl(x, dims, keepdim, true);
}

Tensor sum_to(const Tensor& x, const Shape& shape) {
    if (x.shape() == shape) return x;
    const std::int64_t lead = x.dim() - static_cast<std::int64_t>(shape.size());
    if (lead < 0)
        throw ShapeError("sum_to: cannot reduce shape " + shape_str(x.shape()) + " to " + shape_str(shape));
    std::vector<std::int64_t> dims;
    for (std::int64_t d = 0; d < x.dim(); ++d) {
        if (d < lead) {
            dims.push_back(d);
            continue;
        }
        const std::int64_t want = shape[static_cast<std::size_t>(d - lead)];
        if (want == 1 && x.shape()[d] != 1)
            dims.push_back(d);
        else if (want != x.shape()[d])
            throw ShapeError("sum_to: cannot reduce shape " + shape_str(x.shape()) + " to " + shape_str(shape));
    }
    if (dims.empty()) return x.reshape(shape);
    return sum(x, dims, true).reshape(shape);
}

}  // namespace graft
