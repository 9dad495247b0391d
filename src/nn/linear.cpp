// nn::Linear: registration, PyTorch's default initialisation, checked forward.
#include "graft/nn/linear.hpp"

#include <cmath>

#include "graft/nn/init.hpp"
#include "graft/ops.hpp"
#include "nn/dense.hpp"
#include "nn/repr.hpp"

namespace graft::nn {

Linear::Linear(std::int64_t in, std::int64_t out, bool bias_)
    : in_features(in), out_features(out), has_bias(bias_) {
    detail::check_features("Linear", in, out);
    reset();
}

void Linear::reset() {
    weight = register_parameter("weight", empty({out_features, in_features}));
    init::kaiming_uniform_(weight, std::sqrt(5.0));
    bias = Tensor();
    if (has_bias) {
        bias = register_parameter("bias", empty({out_features}));
        const double bound = in_features > 0 ? 1.0 / std::sqrt(static_cast<double>(in_features)) : 0.0;
        init::uniform_(bias, -bound, bound);
    }
}

Tensor Linear::forward(const Tensor& x) {
    detail::check_input("Linear", in_features, out_features, x);
    return linear(x, weight, bias);
}

std::string Linear::extra_repr() const {
    return detail::features_repr(in_features, out_features) + ", bias=" + pyfmt::py_bool(has_bias);
}

}  // namespace graft::nn
