// reference_activation: the GEMM epilogue's activations in double precision, the oracle the GEMM
// kernel tests (fp32 and bf16) hold every variant's epilogue to.
#pragma once

#include <cmath>

#include "kernels/gemm/gemm.hpp"

namespace graft::test {

inline double reference_activation(double v, kernels::Activation act) {
    switch (act) {
        case kernels::Activation::None: return v;
        case kernels::Activation::Relu: return v < 0 ? 0 : v;
        case kernels::Activation::GeluTanh:
            return 0.5 * v * (1 + std::tanh(std::sqrt(2 / M_PI) * (v + 0.044715 * v * v * v)));
        case kernels::Activation::GeluErf: return 0.5 * v * (1 + std::erf(v / std::sqrt(2.0)));
    }
    return v;
}

}  // namespace graft::test
