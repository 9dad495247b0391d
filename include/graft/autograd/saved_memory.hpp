// graft/autograd/saved_memory.hpp — how much memory the recorded graphs hold for their backward.
//
//   auto before = autograd::saved_tensor_bytes();
//   auto loss = loss_fn(model.forward(x), y);
//   auto held = autograd::saved_tensor_bytes() - before;   // what this step's graph keeps alive
//   loss.backward();                                       // frees it
#pragma once

#include <cstddef>

namespace graft::autograd {

/// Bytes of all storages that at least one live SavedTensor views, each storage counted once,
/// process-wide: the memory the recorded graphs keep for their backward. A saved view of part of
/// a buffer counts the whole buffer (it keeps it alive); a parameter an op saved counts too
/// (subtract what belongs to parameters for the activations alone). Gradient checkpointing shrinks
/// this figure; the dry-run planner reads it.
std::size_t saved_tensor_bytes();

}  // namespace graft::autograd
