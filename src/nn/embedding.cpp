// nn::Embedding: N(0, 1) rows with a zeroed padding row, checked lookup.
#include "graft/nn/embedding.hpp"

#include "graft/autograd.hpp"
#include "graft/nn/init.hpp"
#include "graft/ops.hpp"

namespace graft::nn {

Embedding::Embedding(std::int64_t num, std::int64_t dim, std::optional<std::int64_t> pad)
    : num_embeddings(num), embedding_dim(dim), padding_idx(pad) {
    if (num < 0 || dim < 0)
        throw ValueError("Embedding: num_embeddings and embedding_dim must be non-negative, got " +
                         std::to_string(num) + " and " + std::to_string(dim));
    if (padding_idx) {
        if (*padding_idx < -num || *padding_idx >= num)
            throw ValueError("Embedding(" + std::to_string(num) + ", " + std::to_string(dim) + "): padding_idx " +
                             std::to_string(*padding_idx) + " must be within [" + std::to_string(-num) + ", " +
                             std::to_string(num) + ")");
        if (*padding_idx < 0) *padding_idx += num;
    }
    try {
        reset();
    } catch (Error& e) {  // a table too large to allocate: say which layer asked
        e.add_context("Embedding(" + extra_repr() + ")");
        throw;
    }
}

void Embedding::reset() {
    weight = register_parameter("weight", empty({num_embeddings, embedding_dim}));
    init::normal_(weight);
    if (padding_idx) {
        NoGradGuard guard;
        weight.select(0, *padding_idx).zero_();
    }
}

Tensor Embedding::forward(const Tensor& indices) {
    if (indices.dtype() != DType::Int64 && indices.dtype() != DType::Int32)
        throw DTypeError("Embedding(" + extra_repr() + "): indices must be int64 or int32, got " +
                         dtype_name(indices.dtype()) + " (input shape " + shape_str(indices.shape()) + ")");
    try {
        return embedding(indices, weight, padding_idx);
    } catch (Error& e) {
        e.add_context("Embedding(" + extra_repr() + ")");
        throw;
    }
}

std::string Embedding::extra_repr() const {
    std::string s = std::to_string(num_embeddings) + ", " + std::to_string(embedding_dim);
    if (padding_idx) s += ", padding_idx=" + std::to_string(*padding_idx);
    return s;
}

}  // namespace graft::nn
