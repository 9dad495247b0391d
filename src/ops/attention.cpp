// scaled_dot_product_attention: temporary composite implementation, replaced by the fused kernel.
// Built from differentiable ops (matmul, masked_fill, softmax, matmul), so its backward is theirs
// and the [B, H, Tq, Tk] scores are materialised.
#include "graft/nn/functional/attention.hpp"

#include <cmath>
#include <limits>
#include <string>

#include "graft/ops.hpp"

namespace graft::nn::functional {

namespace {

void check_attention_shapes(const Tensor& q, const Tensor& k, const Tensor& v) {
    const std::string shapes =
        " (q " + shape_str(q.shape()) + ", k " + shape_str(k.shape()) + ", v " + shape_str(v.shape()) + ")";
    if (q.dim() != 4 || k.dim() != 4 || v.dim() != 4)
        throw ShapeError("scaled_dot_product_attention: q, k and v must be 4-D [B, H, T, D]" + shapes);
    if (k.shape() != v.shape())
        throw ShapeError("scaled_dot_product_attention: k and v must have the same shape" + shapes);
    if (q.size(0) != k.size(0) || q.size(1) != k.size(1) || q.size(3) != k.size(3))
        throw ShapeError("scaled_dot_product_attention: q and k must agree in batch, heads and head size" + shapes);
}

}  // namespace

// q [B, H, Tq, D], k/v [B, H, Tk, D] → softmax(q·kᵀ·scale, masked) · v [B, H, Tq, D]
Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                    const AttentionOptions& options) {
    check_attention_shapes(q, k, v);
    const std::int64_t tq = q.size(2), tk = k.size(2);
    const double scale = options.scale.value_or(1.0 / std::sqrt(static_cast<double>(q.size(3))));
    Tensor scores = mul(matmul(q, k.transpose(-2, -1)), scale);
    if (options.causal) {
        // masked where key j lies after query i's position i + (tk − tq)
        const Tensor query_pos = arange(tk - tq, tk, 1, DType::Int64).unsqueeze(1);
        const Tensor key_pos = arange(0, tk, 1, DType::Int64).unsqueeze(0);
        scores = masked_fill(scores, gt(key_pos, query_pos), -std::numeric_limits<double>::infinity());
    }
    return matmul(softmax(scores, -1), v);
}

}  // namespace graft::nn::functional
