// nn::Flatten: checked Tensor::flatten.
#include "graft/nn/flatten.hpp"

#include <algorithm>

namespace graft::nn {

Tensor Flatten::forward(const Tensor& x) {
    // A 0-d input counts as one dim, as in torch.flatten.
    const std::int64_t n = std::max<std::int64_t>(x.dim(), 1);
    const auto in_range = [n](std::int64_t d) { return d >= -n && d < n; };
    if (!in_range(start_dim) || !in_range(end_dim) || (start_dim < 0 ? start_dim + n : start_dim) >
                                                          (end_dim < 0 ? end_dim + n : end_dim))
        throw ShapeError("Flatten(" + extra_repr() + "): cannot flatten input of shape " + shape_str(x.shape()) +
                         " (dims out of range or start_dim after end_dim)");
    return x.flatten(start_dim, end_dim);
}

std::string Flatten::extra_repr() const {
    return "start_dim=" + std::to_string(start_dim) + ", end_dim=" + std::to_string(end_dim);
}

}  // namespace graft::nn
