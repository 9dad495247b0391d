// graft/nn/functional/attention.hpp — scaled dot-product attention.
// Temporary composite implementation, replaced by the fused kernel.
//
//   auto y = nn::functional::scaled_dot_product_attention(q, k, v, {.causal = true});
//   // q [B, H, Tq, D], k and v [B, H, Tk, D] → y [B, H, Tq, D]
#pragma once

#include <optional>

#include "graft/tensor.hpp"

namespace graft::nn::functional {

struct AttentionOptions {
    /// Query i attends to keys j ≤ i + Tk − Tq only (the mask is aligned to the bottom right, so
    /// queries that continue a cached prefix of Tk − Tq keys see the whole prefix).
    bool causal = false;
    /// Factor applied to q·kᵀ; 1/√D when absent.
    std::optional<double> scale = std::nullopt;
};

/// softmax(q·kᵀ·scale (masked when causal)) · v over the last two dims, for q [B, H, Tq, D] and
/// k, v [B, H, Tk, D] (same dtype). ShapeError naming the three shapes when they do not fit.
Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                    const AttentionOptions& options = {});

}  // namespace graft::nn::functional
