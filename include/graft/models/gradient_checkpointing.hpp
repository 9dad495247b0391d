// graft/models/gradient_checkpointing.hpp — the per-block checkpointing switch of the transformer
// families.
//
//   auto model = models::GPT2LMHead::from_pretrained("gpt2");
//   models::set_gradient_checkpointing(model, true);   // every block recomputed in the backward
//
// With the switch on, each transformer block runs through autograd::checkpoint while grad mode is
// on: between forward and backward a block keeps only its input, and the backward runs its forward
// once more (dropout replayed). Logits and gradients equal those with the switch off, bit for bit;
// the saved activations shrink to one hidden state per block, for about one more forward of time.
#pragma once

#include <cstddef>

#include "graft/nn/module.hpp"

namespace graft::models {

/// Sets the gradient_checkpointing flag of every block stack inside `model` (GPT2Model,
/// LlamaModel, BertEncoder, DistilBERT's Transformer; the model itself or any submodule) and
/// returns how many it set. ValueError when `model` holds none.
std::size_t set_gradient_checkpointing(nn::Module& model, bool enabled);

/// Whether some block stack inside `model` has gradient checkpointing on (false when it holds none).
bool gradient_checkpointing_enabled(nn::Module& model);

}  // namespace graft::models
