// cumsum along one dimension, accumulated in double for floating tensors (as PyTorch's CPU
// kernel does) and in int64 for integer ones; backward is the reversed cumulative sum.
#include <string>
#include <type_traits>

#include "core/dispatch.hpp"
#include "graft/autograd.hpp"
#include "graft/ops.hpp"
#include "graft/profiler.hpp"
#include "ops/dim_slices.hpp"

namespace graft {

namespace {

/// out[.., i, ..] = Σ_{j ≤ i} x[.., j, ..] (reverse: Σ_{j ≥ i}) in `out_dtype`, no graph.
Tensor cumulative_sum(const Tensor& x, std::int64_t dim, bool reverse, DType out_dtype) {
    const Tensor xc = x.detach().contiguous();
    const detail::DimSlices slices = detail::dim_slices(xc.shape(), dim);
    const std::int64_t outer = slices.outer, len = slices.len, inner = slices.inner;
    Tensor out = empty(xc.shape(), out_dtype);
    detail::dispatch_numeric(xc.dtype(), "cumsum", [&]<class T>() {
        using Acc = std::conditional_t<std::is_floating_point_v<T>, double, std::int64_t>;
        using Out = std::conditional_t<std::is_floating_point_v<T>, T, std::int64_t>;
        const T* p = xc.template data_ptr<T>();
        Out* o = out.template data_ptr<Out>();
        for (std::int64_t a = 0; a < outer; ++a)
            for (std::int64_t b = 0; b < inner; ++b) {
                Acc acc = 0;
                for (std::int64_t step = 0; step < len; ++step) {
                    const std::int64_t i = reverse ? len - 1 - step : step;
                    const std::int64_t at = (a * len + i) * inner + b;
                    acc += static_cast<Acc>(p[at]);
                    o[at] = static_cast<Out>(acc);
                }
            }
    });
    return out;
}

// out = cumsum(x)  ⇒  dx[i] = Σ_{j ≥ i} dout[j]
struct CumsumBackward final : Node {
    explicit CumsumBackward(std::int64_t d) : dim(d) {}
    const char* name() const override { return "CumsumBackward"; }
    std::vector<Tensor> apply(const Tensor& g) override { return {cumulative_sum(g, dim, /*reverse=*/true, g.dtype())}; }
    std::int64_t dim;
};

}  // namespace

Tensor cumsum(const Tensor& x, std::int64_t dim) {
    GRAFT_PROFILE_SCOPE("cumsum");
    dim = wrap_dim(dim, x.dim(), "cumsum");
    const DType out_dtype = is_floating(x.dtype()) ? x.dtype() : DType::Int64;
    Tensor out = cumulative_sum(x, dim, /*reverse=*/false, out_dtype);
    autograd::make_node<CumsumBackward>({&x}, out, dim);
    return out;
}

}  // namespace graft
