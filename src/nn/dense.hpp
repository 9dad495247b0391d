// Internal: what the fully connected layers (nn::Linear, nn::Conv1D) share: the checks of their
// feature counts and of an input's last dimension, and how their sizes print.
#pragma once

#include <cstdint>
#include <string>

#include "graft/error.hpp"
#include "graft/tensor.hpp"

namespace graft::nn::detail {

/// "in_features=I, out_features=O", as PyTorch's Linear prints its sizes.
inline std::string features_repr(std::int64_t in, std::int64_t out) {
    return "in_features=" + std::to_string(in) + ", out_features=" + std::to_string(out);
}

/// ValueError naming `layer` unless both feature counts are non-negative.
inline void check_features(const char* layer, std::int64_t in, std::int64_t out) {
    if (in < 0 || out < 0)
        throw ValueError(std::string(layer) + ": in_features and out_features must be non-negative, got " +
                         std::to_string(in) + " and " + std::to_string(out));
}

/// ShapeError "<layer>(in_features=I, out_features=O): input has N features (input shape …)" unless
/// x's last dimension is `in`.
inline void check_input(const char* layer, std::int64_t in, std::int64_t out, const Tensor& x) {
    if (x.dim() == 0 || x.size(-1) != in)
        throw ShapeError(std::string(layer) + "(" + features_repr(in, out) + "): input has " +
                         (x.dim() == 0 ? std::string("no feature dimension") : std::to_string(x.size(-1)) + " features") +
                         " (input shape " + shape_str(x.shape()) + ")");
}

}  // namespace graft::nn::detail
