// graft/nn/upsample.hpp — Upsample: functional::interpolate as a layer (no parameters).
//
//   nn::Upsample up({.scale_factor = 2.0});                                  // nearest, [N, C, 2H, 2W]
//   nn::Upsample to({.size = nn::Size2{7, 9}, .mode = nn::functional::InterpolateMode::Bilinear});
//   up.repr();   // "Upsample(scale_factor=2.0, mode='nearest')"
#pragma once

#include <string>

#include "graft/functional/interpolate.hpp"
#include "graft/nn/module.hpp"

namespace graft::nn {

/// functional::interpolate over [N, C, H, W] inputs with fixed options.
class Upsample : public Cloneable<Upsample> {
public:
    /// ValueError when both or neither of size and scale_factor are given, or align_corners is
    /// set with Nearest.
    explicit Upsample(const functional::InterpolateOptions& options);
    void reset() override {}
    Tensor forward(const Tensor& x) override { return functional::interpolate(x, options); }
    std::string type_name() const override { return "Upsample"; }
    std::string extra_repr() const override;

    functional::InterpolateOptions options;
};

}  // namespace graft::nn
