// logsumexp over dimensions, composed of differentiable ops around a detached shift:
// log Σ exp(x − m) + m with m the maximum over the dimensions (0 where it is ±inf, so that an
// all −inf slice gives −inf and one holding +inf gives +inf, as PyTorch).
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "graft/autograd.hpp"
#include "graft/ops.hpp"
#include "graft/profiler.hpp"

namespace graft {

Tensor logsumexp(const Tensor& x, const std::vector<std::int64_t>& dims, bool keepdim) {
    GRAFT_PROFILE_SCOPE("logsumexp");
    if (!is_floating(x.dtype()))
        throw DTypeError(std::string("logsumexp: expected a floating-point tensor (float32 or float64), got ") +
                         dtype_name(x.dtype()) + " " + shape_str(x.shape()));
    std::vector<std::int64_t> wrapped;
    if (dims.empty())
        for (std::int64_t d = 0; d < x.dim(); ++d) wrapped.push_back(d);
    for (std::int64_t d : dims) {
        const std::int64_t w = wrap_dim(d, x.dim(), "logsumexp");
        for (std::int64_t seen : wrapped)
            if (seen == w) throw ValueError("logsumexp: dimension " + std::to_string(d) + " given twice");
        wrapped.push_back(w);
    }
    for (std::int64_t d : wrapped)
        if (x.dim() > 0 && x.size(d) == 0) {  // an empty sum: log 0
            Tensor s = sum(x.detach(), wrapped, keepdim);
            return full(s.shape(), -std::numeric_limits<double>::infinity(), x.dtype());
        }
    Tensor m = x.detach();
    if (x.dim() > 0)
        for (std::int64_t d : wrapped) m = max(m, d, /*keepdim=*/true).first;
    m = masked_fill(m, eq(abs(m), std::numeric_limits<double>::infinity()), 0.0);
    const Tensor s = sum(exp(sub(x, m)), wrapped, keepdim);
    return add(log(s), m.reshape(s.shape()));
}

}  // namespace graft
