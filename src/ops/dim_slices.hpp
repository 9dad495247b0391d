// Internal: a contiguous tensor seen as [outer, len, inner] around one dimension, for the ops that
// work on each 1-D slice along it (sort, topk, cumsum).
#pragma once

#include <cstdint>

#include "graft/tensor.hpp"

namespace graft::detail {

/// Element (a, i, b) of the slices is at (a·len + i)·inner + b in the contiguous tensor.
struct DimSlices {
    std::int64_t outer = 1;  // product of the dims before `dim`
    std::int64_t len = 1;    // shape[dim] (1 for a 0-d tensor)
    std::int64_t inner = 1;  // product of the dims after `dim`
};

/// `dim` must be wrapped already (0 for a 0-d shape).
inline DimSlices dim_slices(const Shape& shape, std::int64_t dim) {
    DimSlices s;
    const std::size_t d = static_cast<std::size_t>(dim);
    for (std::size_t i = 0; i < shape.size(); ++i) {
        if (i < d) s.outer *= shape[i];
        if (i == d) s.len = shape[i];
        if (i > d) s.inner *= shape[i];
    }
    return s;
}

}  // namespace graft::detail
