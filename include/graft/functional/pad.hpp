// graft/functional/pad.hpp — torch.nn.functional.pad: constant, reflect and replicate padding.
//
//   auto y = nn::functional::pad(x, {1, 2});                    // last dim: 1 before, 2 after, zeros
//   auto z = nn::functional::pad(x, {1, 1, 2, 0}, nn::functional::PadMode::Reflect);   // W by 1|1, H by 2|0
//   auto c = nn::functional::pad(x, {-1, -1}, nn::functional::PadMode::Constant);      // negative: crop
#pragma once

#include <cstdint>
#include <vector>

#include "graft/tensor.hpp"

namespace graft::nn::functional {

/// What fills the border: a constant value, the input mirrored without repeating the edge
/// (reflect: [a b c] padded by 2 on the left is [c b a b c]), or the edge repeated (replicate).
enum class PadMode { Constant, Reflect, Replicate };

/// Pads `input` as torch.nn.functional.pad does: `pads` holds (before, after) pairs starting
/// from the last dimension ({left, right} pads W, {left, right, top, bottom} pads W and H, …),
/// at most one pair per dimension. Constant padding accepts negative sizes (they crop); reflect
/// needs every size below the dimension it pads, replicate a non-empty dimension. Differentiable:
/// the gradient of each output element flows to the input element it copies (reflect and
/// replicate add several into one). ValueError naming the sizes and the shape otherwise.
Tensor pad(const Tensor& input, const std::vector<std::int64_t>& pads, PadMode mode = PadMode::Constant,
           double value = 0.0);

}  // namespace graft::nn::functional
