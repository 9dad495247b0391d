// graft/functional/attention.hpp — scaled-dot-product attention, fused and reference.
//
//   auto y = nn::functional::scaled_dot_product_attention(q, k, v, {.causal = true});   // q, k, v [B, H, T, D]
//   auto step = nn::functional::scaled_dot_product_attention(q1, k_cache, v_cache, {.causal = true});  // Tq = 1
//   auto r = nn::functional::scaled_dot_product_attention_reference(q, k, v);   // matmul, softmax, matmul
#pragma once

#include <optional>

#include "graft/tensor.hpp"

namespace graft::nn::functional {

struct AttentionOptions {
    /// Query i attends key j only when j ≤ i + (Tk − Tq): bottom-right aligned, so a KV-cache step
    /// with Tq = 1 sees every cached key. Requires Tk ≥ Tq.
    bool causal = false;
    /// Multiplies q·k before the softmax; default 1/√D.
    std::optional<double> scale = std::nullopt;
};

/// softmax(scale·q·kᵀ [+ causal mask])·v. q [B, H, Tq, D], k and v [B, H, Tk, D] (any strides;
/// v may have its own last dim Dv) → [B, H, Tq, D] (Dv), laid out [B, Tq, H, D] in memory (as
/// PyTorch's flash kernels do): the result is out.transpose(1, 2) of a contiguous tensor, so
/// merging the heads, y.transpose(1, 2).reshape({B, Tq, H·D}), is a view (y.view of the
/// [B, H, Tq, D] shape needs contiguous() first). Float32 or float64, all three
/// the same dtype. Fused (flash-attention style): the B·H·Tq·Tk scores are never stored; the
/// forward saves the output and one log-sum-exp per query row, and the backward recomputes the
/// probabilities tile by tile, computing only the gradients of inputs that need one.
/// ShapeError for mismatched shapes, ValueError for Tk = 0, D = 0 or causal with Tk < Tq.
Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                    const AttentionOptions& options = {});

/// The unfused reference: matmul, causal mask, softmax and matmul through ordinary autograd ops,
/// storing the [B, H, Tq, Tk] probabilities. Same arguments, checks and result as the fused op.
Tensor scaled_dot_product_attention_reference(const Tensor& q, const Tensor& k, const Tensor& v,
                                              const AttentionOptions& options = {});

}  // namespace graft::nn::functional
