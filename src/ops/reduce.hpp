// Internal: planning a reduction as rows of contiguous elements.
#pragma once

#include <vector>

#include "graft/tensor.hpp"

namespace graft::detail {

/// A reduction over `dims` of x, laid out as `outer` contiguous rows of `inner` elements each
/// (the reduced dims moved last and made contiguous).
struct ReducePlan {
    Tensor rows;          // contiguous, numel = outer · inner
    std::int64_t outer;   // number of results
    std::int64_t inner;   // elements reduced into each result
    Shape out_shape;      // result shape (keepdim honoured)
    Shape keep_shape;     // result shape with reduced dims kept as 1
    std::vector<bool> reduced;  // per input dim
};

/// Empty dims means all dims. Negative dims wrap; repeated dims are an error naming `op`.
ReducePlan plan_reduction(const Tensor& x, const std::vector<std::int64_t>& dims, bool keepdim, const char* op);

}  // namespace graft::detail
