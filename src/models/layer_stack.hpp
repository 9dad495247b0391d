// Internal: running an encoder's ModuleList of blocks with a key mask (BERT's encoder.layer,
// DistilBERT's transformer.layer).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "graft/error.hpp"
#include "graft/nn/container.hpp"

namespace graft::models::detail {

/// Runs the blocks of `layers` (each a Block) in order on x with the key mask; an error inside
/// one names its path ("layer.3"). ValueError naming `owner` and `block_type` for an entry of
/// another type.
template <class Block>
Tensor run_layers(nn::ModuleList& layers, const Tensor& x, const Tensor& key_mask, const char* owner,
                  const char* block_type) {
    Tensor h = x;
    for (std::int64_t i = 0; i < static_cast<std::int64_t>(layers.size()); ++i) {
        auto block = std::dynamic_pointer_cast<Block>(layers[i]);
        if (!block)
            throw ValueError(std::string(owner) + ": layer." + std::to_string(i) + " is not a " + block_type);
        h = nn::with_module_path("layer." + std::to_string(i), *block, [&] { return block->forward(h, key_mask); });
    }
    return h;
}

}  // namespace graft::models::detail
