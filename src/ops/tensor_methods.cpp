// The Tensor members that are differentiable ops: each forwards to the free function of
// graft/ops.hpp.
#include "graft/ops.hpp"

namespace graft {

Tensor Tensor::sum() const { return graft::sum(*this); }
Tensor Tensor::mean() const { return graft::mean(*this); }
Tensor Tensor::sum(const std::vector<std::int64_t>& dims, bool keepdim) const { return graft::sum(*this, dims, keepdim); }
Tensor Tensor::mean(const std::vector<std::int64_t>& dims, bool keepdim) const {
    return graft::mean(*this, dims, keepdim);
}

}  // namespace graft
