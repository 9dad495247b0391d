// graft/nn/checkpoint.hpp — gradient checkpointing over the children of a Sequential.
//
//   nn::Sequential net{…};                           // say 8 children
//   auto y = nn::checkpoint_sequential(net, 4, x);   // children 0–1, 2–3, 4–5 checkpointed, 6–7 not
//
// Each segment but the last runs through autograd::checkpoint (graft/autograd/checkpoint.hpp):
// between forward and backward it keeps only its input, and the backward recomputes it. The last
// segment runs as usual, since its backward comes first and recomputing it would only cost time.
// Outputs and gradients equal net.forward(x)'s bit for bit, dropout included.
#pragma once

#include <cstdint>

#include "graft/nn/container.hpp"
#include "graft/tensor.hpp"

namespace graft::nn {

/// seq's children run on x in `segments` runs of consecutive children, as even as they divide
/// (the first size % segments runs one child longer), every run but the last checkpointed.
/// ValueError unless 1 ≤ segments ≤ seq.size(). Under NoGradGuard it is seq.forward(x).
Tensor checkpoint_sequential(Sequential& seq, std::int64_t segments, const Tensor& x);

}  // namespace graft::nn
