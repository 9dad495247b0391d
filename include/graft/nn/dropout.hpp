// graft/nn/dropout.hpp — dropout as a layer: active in train(), the identity in eval().
//
//   nn::Sequential head{nn::Dropout(0.1), nn::Linear(768, 2)};
//   head.eval();   // Dropout passes its input through unchanged
#pragma once

#include <string>

#include "graft/nn/module.hpp"

namespace graft::nn {

/// In training mode zeroes each element with probability p (the default generator) and scales the
/// rest by 1/(1 − p); in eval mode returns its input.
class Dropout : public Cloneable<Dropout> {
public:
    /// ValueError unless 0 ≤ p ≤ 1.
    explicit Dropout(double p = 0.5);

    void reset() override {}
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "Dropout"; }
    std::string extra_repr() const override;

    double p;
};

}  // namespace graft::nn
