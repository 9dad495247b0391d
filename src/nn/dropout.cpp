// nn::Dropout and nn::StochasticDepth: graft::dropout and graft::stochastic_depth switched by the
// module's training mode.
#include "graft/nn/dropout.hpp"

#include "graft/ops.hpp"
#include "nn/repr.hpp"

namespace graft::nn {

Dropout::Dropout(double p_) : p(p_) {
    if (!(p >= 0.0 && p <= 1.0))
        throw ValueError("Dropout: probability p must be in [0, 1], got " + pyfmt::py_float(p));
    reset();
}

Tensor Dropout::forward(const Tensor& x) { return dropout(x, p, is_training()); }

std::string Dropout::extra_repr() const { return "p=" + pyfmt::py_float(p) + ", inplace=False"; }

StochasticDepth::StochasticDepth(double p_, StochasticDepthMode mode_) : p(p_), mode(mode_) {
    if (!(p >= 0.0 && p <= 1.0))
        throw ValueError("StochasticDepth: drop probability p must be in [0, 1], got " + pyfmt::py_float(p));
    reset();
}

Tensor StochasticDepth::forward(const Tensor& x) { return stochastic_depth(x, p, mode, is_training()); }

std::string StochasticDepth::extra_repr() const {
    return "p=" + pyfmt::py_float(p) + ", mode=" + (mode == StochasticDepthMode::Row ? "row" : "batch");
}

}  // namespace graft::nn
