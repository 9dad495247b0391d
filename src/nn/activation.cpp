// Activation layers: thin modules over the ops in graft/ops.hpp.
#include "graft/nn/activation.hpp"

#include "nn/repr.hpp"

namespace graft::nn {

Tensor ReLU::forward(const Tensor& x) { return relu(x); }

Tensor ReLU6::forward(const Tensor& x) { return relu6(x); }

Tensor Hardswish::forward(const Tensor& x) { return hardswish(x); }

Tensor Hardsigmoid::forward(const Tensor& x) { return hardsigmoid(x); }

Tensor GELU::forward(const Tensor& x) { return gelu(x, approximate); }

std::string GELU::extra_repr() const {
    return approximate == GeluApprox::Tanh ? "approximate='tanh'" : "approximate='none'";
}

Tensor SiLU::forward(const Tensor& x) { return silu(x); }

Tensor Tanh::forward(const Tensor& x) { return tanh(x); }

Tensor Sigmoid::forward(const Tensor& x) { return sigmoid(x); }

Tensor LeakyReLU::forward(const Tensor& x) { return leaky_relu(x, negative_slope); }

std::string LeakyReLU::extra_repr() const { return "negative_slope=" + pyfmt::py_float(negative_slope); }

Tensor Softmax::forward(const Tensor& x) {
    const std::int64_t n = x.dim();
    if (dim < -n || dim >= n || n == 0)
        throw IndexError("Softmax(dim=" + std::to_string(dim) + "): dim out of range for input of shape " +
                         shape_str(x.shape()));
    return softmax(x, dim);
}

std::string Softmax::extra_repr() const { return "dim=" + std::to_string(dim); }

}  // namespace graft::nn
