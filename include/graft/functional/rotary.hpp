// graft/functional/rotary.hpp — rotary position embedding (RoPE), "rotate half" convention.
//
//   auto qr = nn::functional::apply_rotary(q, /*position_offset=*/0);           // q [B, H, T, D]
//   auto kr = nn::functional::apply_rotary(k_step, /*position_offset=*/past);   // a KV-cache step
//   auto pr = nn::functional::apply_rotary(q, position_ids);    // position_ids int64 [B, T], per row
#pragma once

#include <cstdint>

#include "graft/tensor.hpp"

namespace graft::nn::functional {

/// Rotates x [B, H, T, D] (any [..., T, D], any strides; D even) by position, GPT-NeoX / Llama
/// "rotate half" style: channel i pairs with channel i + D/2 (not the interleaved 2i, 2i+1 of
/// the RoFormer paper), and with θ_i = base^(−2i/D) and p = position_offset + t,
///   y[i]       = x[i]·cos(p·θ_i) − x[i + D/2]·sin(p·θ_i)
///   y[i + D/2] = x[i + D/2]·cos(p·θ_i) + x[i]·sin(p·θ_i)        for i < D/2.
/// Angles are computed in double. Returns a contiguous tensor; the backward rotates the gradient
/// by −p·θ_i. ValueError for an odd D, a negative position_offset or a base ≤ 0.
Tensor apply_rotary(const Tensor& x, std::int64_t position_offset = 0, double base = 10000.0);

/// The same rotation with one position per batch row and step: x [B, ..., T, D], position_ids
/// integer [B, T] (Hugging Face's position_ids; left-padded batches number each row from its first
/// real token). ShapeError for other position_ids shapes, ValueError for a negative position.
Tensor apply_rotary(const Tensor& x, const Tensor& position_ids, double base = 10000.0);

}  // namespace graft::nn::functional
