// Internal: running one transformer block, checkpointed or not, and an encoder's ModuleList of
// blocks with a key mask (BERT's encoder.layer, DistilBERT's transformer.layer).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "graft/autograd.hpp"
#include "graft/autograd/checkpoint.hpp"
#include "graft/error.hpp"
#include "graft/nn/container.hpp"

namespace graft::models::detail {

/// fn(x), one block's forward, with errors naming the block's `path`. With `checkpointed` (and grad
/// mode on) it runs through autograd::checkpoint: the block keeps only x for the backward, which
/// recomputes it. fn is kept until that backward, so it captures what it uses by value.
template <class F>
Tensor run_block(const std::string& path, const std::shared_ptr<nn::Module>& block, bool checkpointed, const Tensor& x,
                 F fn) {
    auto call = [path, block, fn = std::move(fn)](const Tensor& h) {
        return nn::with_module_path(path, *block, [&] { return fn(h); });
    };
    if (checkpointed && GradMode::is_enabled()) return autograd::checkpoint(call, x);
    return call(x);
}

/// Runs the blocks of `layers` (each a Block) in order on x with the key mask; an error inside
/// one names its path ("layer.3"). ValueError naming `owner` and `block_type` for an entry of
/// another type. `checkpointed`: each block through autograd::checkpoint (run_block).
template <class Block>
Tensor run_layers(nn::ModuleList& layers, const Tensor& x, const Tensor& key_mask, bool checkpointed,
                  const char* owner, const char* block_type) {
    Tensor h = x;
    for (std::int64_t i = 0; i < static_cast<std::int64_t>(layers.size()); ++i) {
        auto block = std::dynamic_pointer_cast<Block>(layers[i]);
        if (!block)
            throw ValueError(std::string(owner) + ": layer." + std::to_string(i) + " is not a " + block_type);
        h = run_block("layer." + std::to_string(i), block, checkpointed, h,
                      [block, key_mask](const Tensor& in) { return block->forward(in, key_mask); });
    }
    return h;
}

}  // namespace graft::models::detail
