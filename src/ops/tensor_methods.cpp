// The Tensor members that are differentiable ops (declared in graft/tensor.hpp under "method
// forms of ops"): each forwards to the free function of graft/ops.hpp. They live in the ops
// layer so that the core Tensor does not depend on it.
#include "graft/ops.hpp"

namespace graft {

// ---- unary math ------------------------------------------------------------------------
Tensor Tensor::neg() const { return graft::neg(*this); }
Tensor Tensor::exp() const { return graft::exp(*this); }
Tensor Tensor::log() const { return graft::log(*this); }
Tensor Tensor::sqrt() const { return graft::sqrt(*this); }
Tensor Tensor::rsqrt() const { return graft::rsqrt(*this); }
Tensor Tensor::abs() const { return graft::abs(*this); }
Tensor Tensor::pow(double exponent) const { return graft::pow(*this, exponent); }
Tensor Tensor::clamp(std::optional<double> min, std::optional<double> max) const {
    return graft::clamp(*this, min, max);
}
Tensor Tensor::relu() const { return graft::relu(*this); }
Tensor Tensor::sigmoid() const { return graft::sigmoid(*this); }
Tensor Tensor::tanh() const { return graft::tanh(*this); }
Tensor Tensor::gelu() const { return graft::gelu(*this); }
Tensor Tensor::gelu(GeluApprox approximate) const { return graft::gelu(*this, approximate); }
Tensor Tensor::silu() const { return graft::silu(*this); }
Tensor Tensor::softmax(std::int64_t dim) const { return graft::softmax(*this, dim); }
Tensor Tensor::log_softmax(std::int64_t dim) const { return graft::log_softmax(*this, dim); }

// ---- binary ------------------------------------------------------------------------------
Tensor Tensor::add(const Tensor& other, double alpha) const { return graft::add(*this, other, alpha); }
Tensor Tensor::add(double other) const { return graft::add(*this, other); }
Tensor Tensor::sub(const Tensor& other, double alpha) const { return graft::sub(*this, other, alpha); }
Tensor Tensor::sub(double other) const { return graft::sub(*this, other); }
Tensor Tensor::mul(const Tensor& other) const { return graft::mul(*this, other); }
Tensor Tensor::mul(double other) const { return graft::mul(*this, other); }
Tensor Tensor::div(const Tensor& other) const { return graft::div(*this, other); }
Tensor Tensor::div(double other) const { return graft::div(*this, other); }
Tensor Tensor::maximum(const Tensor& other) const { return graft::maximum(*this, other); }
Tensor Tensor::minimum(const Tensor& other) const { return graft::minimum(*this, other); }
Tensor Tensor::matmul(const Tensor& other) const { return graft::matmul(*this, other); }

// ---- comparisons and selection -------------------------------------------------------------
Tensor Tensor::eq(const Tensor& other) const { return graft::eq(*this, other); }
Tensor Tensor::ne(const Tensor& other) const { return graft::ne(*this, other); }
Tensor Tensor::lt(const Tensor& other) const { return graft::lt(*this, other); }
Tensor Tensor::le(const Tensor& other) const { return graft::le(*this, other); }
Tensor Tensor::gt(const Tensor& other) const { return graft::gt(*this, other); }
Tensor Tensor::ge(const Tensor& other) const { return graft::ge(*this, other); }
Tensor Tensor::eq(double other) const { return graft::eq(*this, other); }
Tensor Tensor::ne(double other) const { return graft::ne(*this, other); }
Tensor Tensor::lt(double other) const { return graft::lt(*this, other); }
Tensor Tensor::le(double other) const { return graft::le(*this, other); }
Tensor Tensor::gt(double other) const { return graft::gt(*this, other); }
Tensor Tensor::ge(double other) const { return graft::ge(*this, other); }
Tensor Tensor::logical_and(const Tensor& other) const { return graft::logical_and(*this, other); }
Tensor Tensor::logical_or(const Tensor& other) const { return graft::logical_or(*this, other); }
Tensor Tensor::logical_not() const { return graft::logical_not(*this); }
Tensor Tensor::masked_fill(const Tensor& mask, double value) const { return graft::masked_fill(*this, mask, value); }
Tensor Tensor::where(const Tensor& condition, const Tensor& other) const {
    return graft::where(condition, *this, other);
}
Tensor Tensor::index_select(std::int64_t dim, const Tensor& index) const {
    return graft::index_select(*this, dim, index);
}

// ---- reductions ------------------------------------------------------------------------------
Tensor Tensor::sum() const { return graft::sum(*this); }
Tensor Tensor::mean() const { return graft::mean(*this); }
Tensor Tensor::sum(const std::vector<std::int64_t>& dims, bool keepdim) const {
    return graft::sum(*this, dims, keepdim);
}
Tensor Tensor::mean(const std::vector<std::int64_t>& dims, bool keepdim) const {
    return graft::mean(*this, dims, keepdim);
}
Tensor Tensor::var(const std::vector<std::int64_t>& dims, std::int64_t correction, bool keepdim) const {
    return graft::var(*this, dims, correction, keepdim);
}
Tensor Tensor::std(const std::vector<std::int64_t>& dims, std::int64_t correction, bool keepdim) const {
    return graft::std(*this, dims, correction, keepdim);
}
Tensor Tensor::max() const { return graft::max(*this); }
Tensor Tensor::min() const { return graft::min(*this); }
std::pair<Tensor, Tensor> Tensor::max(std::int64_t dim, bool keepdim) const { return graft::max(*this, dim, keepdim); }
std::pair<Tensor, Tensor> Tensor::min(std::int64_t dim, bool keepdim) const { return graft::min(*this, dim, keepdim); }
Tensor Tensor::argmax(std::optional<std::int64_t> dim, bool keepdim) const {
    return graft::argmax(*this, dim, keepdim);
}
Tensor Tensor::argmin(std::optional<std::int64_t> dim, bool keepdim) const {
    return graft::argmin(*this, dim, keepdim);
}

// ---- tiling ----------------------------------------------------------------------------------
Tensor Tensor::repeat(const std::vector<std::int64_t>& repeats) const { return graft::repeat(*this, repeats); }

}  // namespace graft
