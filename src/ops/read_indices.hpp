// Reading an integer index tensor for the indexing ops (index_select, embedding, gather, scatter,
// index_add, one_hot).
#pragma once

#include <cstdint>
#include <vector>

#include "graft/tensor.hpp"

namespace graft::detail {

/// The elements of an int64/int32 index tensor in row-major order; DTypeError naming `op` otherwise.
std::vector<std::int64_t> read_indices(const Tensor& index, const char* op);

}  // namespace graft::detail
