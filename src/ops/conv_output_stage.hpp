// Internal: a per-channel affine and activation that a forward convolution applies to its output
// rows as soon as it has written them, while they are still in cache: a frozen eval-mode
// BatchNorm (a constant per-channel affine) and its activation folded into the convolution, so
// that they cost no pass over the output of their own (ops/conv_batch_norm.cpp).
#pragma once

#include <cstdint>

#include "ops/channel_affine_activation.hpp"
#include "ops/conv_geometry.hpp"

namespace graft::nn::functional {

/// y = act(y·scale[o] + shift[o]) on rows of the output [N, O, P] (row r = n·O + o).
struct ConvOutputStage {
    const double* scale;
    const double* shift;
    BatchNormActivation act;

    /// Rows [r0, r1) of y, the convolution's whole output.
    template <class T>
    void apply(const ConvGeometry& g, T* y, std::int64_t r0, std::int64_t r1) const {
        graft::detail::with_activation(act, [&]<graft::detail::Act A>(std::integral_constant<graft::detail::Act, A>) {
            graft::detail::affine_activate_rows<A, T>(g.O, g.P(), r0, r1, y, y, scale, shift);
        });
    }
};

/// stage->apply(g, y, r0, r1) when there is a stage.
template <class T>
void finish_rows(const ConvOutputStage* stage, const ConvGeometry& g, T* y, std::int64_t r0, std::int64_t r1) {
    if (stage != nullptr) stage->apply(g, y, r0, r1);
}

}  // namespace graft::nn::functional
