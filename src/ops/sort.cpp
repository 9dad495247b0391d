// sort and topk along one dimension: the order is computed per slice on the values, then the
// values are gather(x, dim, indices), so their gradient is gather's (each value's gradient goes
// back to the element it came from). NaN sorts as larger than every number, as in PyTorch.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <type_traits>
#include <string>
#include <vector>

#include "core/dispatch.hpp"
#include "graft/ops.hpp"
#include "graft/profiler.hpp"
#include "ops/dim_slices.hpp"

namespace graft {

namespace {

/// Indices [.., k, ..] of the first k elements of each slice along dim in the order `descending`
/// (or ascending), stable among equal values.
Tensor order_indices(const Tensor& x, std::int64_t dim, std::int64_t k, bool descending, const char* op) {
    const Tensor xc = x.detach().contiguous();
    const detail::DimSlices slices = detail::dim_slices(xc.shape(), dim);
    const std::int64_t outer = slices.outer, len = slices.len, inner = slices.inner;
    Shape out_shape = xc.shape();
    if (!out_shape.empty()) out_shape[static_cast<std::size_t>(dim)] = k;
    Tensor out = empty(out_shape, DType::Int64);
    std::int64_t* o = out.data_ptr<std::int64_t>();
    detail::dispatch_numeric(xc.dtype(), op, [&]<class T>() {
        const T* p = xc.template data_ptr<T>();
        std::vector<std::int64_t> order(static_cast<std::size_t>(len));
        for (std::int64_t a = 0; a < outer; ++a)
            for (std::int64_t b = 0; b < inner; ++b) {
                const T* row = p + a * len * inner + b;
                // "less" with NaN above every number: a < b, or b is NaN and a is not.
                auto less = [&](std::int64_t i, std::int64_t j) {
                    const T u = row[i * inner], v = row[j * inner];
                    if constexpr (std::is_floating_point_v<T>) {
                        if (std::isnan(u)) return false;
                        if (std::isnan(v)) return true;
                    }
                    return u < v;
                };
                std::iota(order.begin(), order.end(), std::int64_t{0});
                if (descending)
                    std::stable_sort(order.begin(), order.end(), [&](std::int64_t i, std::int64_t j) { return less(j, i); });
                else
                    std::stable_sort(order.begin(), order.end(), less);
                for (std::int64_t j = 0; j < k; ++j) o[(a * k + j) * inner + b] = order[static_cast<std::size_t>(j)];
            }
    });
    return out;
}

}  // namespace

std::pair<Tensor, Tensor> sort(const Tensor& x, std::int64_t dim, bool descending, bool /*stable*/) {
    GRAFT_PROFILE_SCOPE("sort");
    dim = wrap_dim(dim, x.dim(), "sort");
    const std::int64_t len = x.dim() == 0 ? 1 : x.size(dim);
    Tensor indices = order_indices(x, dim, len, descending, "sort");
    return {gather(x, dim, indices), indices};
}

std::pair<Tensor, Tensor> topk(const Tensor& x, std::int64_t k, std::int64_t dim, bool largest, bool /*sorted*/) {
    GRAFT_PROFILE_SCOPE("topk");
    dim = wrap_dim(dim, x.dim(), "topk");
    const std::int64_t len = x.dim() == 0 ? 1 : x.size(dim);
    if (k < 0 || k > len)
        throw ValueError("topk: k = " + std::to_string(k) + " is out of range for dimension " + std::to_string(dim) +
                         " of size " + std::to_string(len) + " (input shape " + shape_str(x.shape()) + ")");
    Tensor indices = order_indices(x, dim, k, largest, "topk");
    return {gather(x, dim, indices), indices};
}

}  // namespace graft
