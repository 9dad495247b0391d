// graft/nn/flatten.hpp — shape adapters: Flatten and Identity.
//
//   nn::Sequential head{nn::Flatten(), nn::Linear(64 * 7 * 7, 10)};   // [N, 64, 7, 7] → [N, 3136]
//   model.replace("fc", nn::Identity());                               // drop a layer, keep the names
#pragma once

#include <cstdint>
#include <string>

#include "graft/nn/module.hpp"

namespace graft::nn {

/// Merges dims start_dim..end_dim into one (a view when the strides allow it).
class Flatten : public Cloneable<Flatten> {
public:
    explicit Flatten(std::int64_t start_dim = 1, std::int64_t end_dim = -1) : start_dim(start_dim), end_dim(end_dim) {
        reset();
    }
    void reset() override {}
    /// ShapeError naming the layer and the input shape when a dim is out of range or start > end.
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "Flatten"; }
    std::string extra_repr() const override;

    std::int64_t start_dim;
    std::int64_t end_dim;
};

/// Returns its input.
class Identity : public Cloneable<Identity> {
public:
    Identity() { reset(); }
    void reset() override {}
    Tensor forward(const Tensor& x) override { return x; }
    std::string type_name() const override { return "Identity"; }
};

}  // namespace graft::nn
