// Internal: splitting a projection into attention heads and merging them back, for the model
// families' attention modules.
#pragma once

#include <cstdint>

#include "graft/tensor.hpp"

namespace graft::models::detail {

/// [B, T, H·D] → [B, H, T, D] (a view).
inline Tensor split_heads(const Tensor& x, std::int64_t heads) {
    return x.view({x.size(0), x.size(1), heads, x.size(2) / heads}).transpose(1, 2);
}

/// [B, H, T, D] → [B, T, H·D] (a view of scaled_dot_product_attention's output, a copy otherwise).
inline Tensor merge_heads(const Tensor& x) {
    return x.transpose(1, 2).reshape({x.size(0), x.size(2), x.size(1) * x.size(3)});
}

}  // namespace graft::models::detail
