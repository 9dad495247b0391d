// graft/functional/attention.hpp — scaled-dot-product attention, fused and reference.
//
//   auto y = nn::functional::scaled_dot_product_attention(q, k, v, {.causal = true});   // q, k, v [B, H, T, D]
//   auto step = nn::functional::scaled_dot_product_attention(q1, k_cache, v_cache, {.causal = true});  // Tq = 1
//   auto r = nn::functional::scaled_dot_product_attention_reference(q, k, v);   // matmul, softmax, matmul
//   auto y = nn::functional::scaled_dot_product_attention(q, k, v, {.mask = attention_mask.ne(0)});  // bool [B, Tk]
#pragma once

#include <optional>

#include "graft/random.hpp"
#include "graft/tensor.hpp"

namespace graft::nn::functional {

struct AttentionOptions {
    /// Query i attends key j only when j ≤ i + (Tk − Tq): bottom-right aligned, so a KV-cache step
    /// with Tq = 1 sees every cached key. Requires Tk ≥ Tq.
    bool causal = false;
    /// Multiplies q·k before the softmax; default 1/√D.
    std::optional<double> scale = std::nullopt;
    /// Which keys each query sees (undefined: all), broadcast like PyTorch's attn_mask:
    ///   - bool [B, Tk]: a key padding mask (true: a token to attend; Hugging Face's
    ///     attention_mask != 0), the same for every head and query;
    ///   - bool [B|1, H|1, Tq|1, Tk|1]: true = attend, as torch's scaled_dot_product_attention;
    ///   - float32/float64 [B|1, H|1, Tq|1, Tk|1]: added to the scaled scores (−inf hides a key).
    /// A query row that sees no key at all gets a zero output and zero gradients (PyTorch's
    /// softmax gives NaN there). The mask gets no gradient: one that requires grad is a ValueError.
    /// Combined with causal, a key must be visible under both.
    Tensor mask = {};
    /// Dropout on the attention probabilities (HF's attention_probs_dropout_prob), in [0, 1),
    /// inside the fused kernel: the mask is regenerated tile by tile (forward and backward) from
    /// one seed, never stored. The reference drops the same elements for the same generator state.
    double dropout_p = 0.0;
    /// Gives the dropout mask's seed (one next_u64() per call with dropout_p > 0); nullptr: the
    /// default generator.
    Generator* generator = nullptr;
};

/// softmax(scale·q·kᵀ [+ causal mask])·v. q [B, H, Tq, D], k and v [B, H, Tk, D] (any strides;
/// v may have its own last dim Dv) → [B, H, Tq, D] (Dv), laid out [B, Tq, H, D] in memory (as
/// PyTorch's flash kernels do): the result is out.transpose(1, 2) of a contiguous tensor, so
/// merging the heads, y.transpose(1, 2).reshape({B, Tq, H·D}), is a view (y.view of the
/// [B, H, Tq, D] shape needs contiguous() first). Float32 or float64, all three
/// the same dtype. Fused (flash-attention style): the B·H·Tq·Tk scores are never stored; the
/// forward saves the output and one log-sum-exp per query row, and the backward recomputes the
/// probabilities tile by tile, computing only the gradients of inputs that need one.
/// ShapeError for mismatched shapes (the mask's included), ValueError for Tk = 0, D = 0 or causal
/// with Tk < Tq, DTypeError for an integer mask.
Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                    const AttentionOptions& options = {});

/// The unfused reference: matmul, masks, softmax, the dropout factors (the fused op's mask for
/// the same generator state) and matmul through ordinary autograd ops, storing the [B, H, Tq, Tk]
/// probabilities. Same arguments, checks and result as the fused op.
Tensor scaled_dot_product_attention_reference(const Tensor& q, const Tensor& k, const Tensor& v,
                                              const AttentionOptions& options = {});

}  // namespace graft::nn::functional
