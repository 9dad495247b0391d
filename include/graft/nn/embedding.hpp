// graft/nn/embedding.hpp — a lookup table of learned vectors.
//
//   nn::Embedding tok(30522, 768, /*padding_idx=*/0);   // weight [30522, 768] ~ N(0, 1), row 0 zero
//   auto h = tok.forward(ids);                         // ids int64 [B, T] → [B, T, 768]
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "graft/nn/module.hpp"

namespace graft::nn {

/// Rows of "weight" [num_embeddings, embedding_dim] picked by integer indices. The padding row
/// (if any) starts at zero and gets no gradient.
class Embedding : public Cloneable<Embedding> {
public:
    /// padding_idx may be negative (counted from the end); it is stored wrapped.
    Embedding(std::int64_t num_embeddings, std::int64_t embedding_dim,
              std::optional<std::int64_t> padding_idx = std::nullopt);

    /// Creates and registers weight, draws it from N(0, 1) and zeroes the padding row.
    void reset() override;
    /// indices (int64 or int32, any shape) → [*indices.shape, embedding_dim].
    Tensor forward(const Tensor& indices) override;
    std::string type_name() const override { return "Embedding"; }
    std::vector<std::string> bf16_weight_names() const override { return {"weight"}; }
    std::string extra_repr() const override;

    std::int64_t num_embeddings;
    std::int64_t embedding_dim;
    std::optional<std::int64_t> padding_idx;
    Tensor weight;
};

}  // namespace graft::nn
