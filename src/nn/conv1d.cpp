// nn::Conv1D: Hugging Face's transposed-weight linear layer (GPT-2's c_attn, c_proj, c_fc).
#include "graft/nn/conv1d.hpp"

#include "graft/nn/init.hpp"
#include "graft/ops.hpp"
#include "nn/dense.hpp"

namespace graft::nn {

Conv1D::Conv1D(std::int64_t in, std::int64_t out) : in_features(in), out_features(out) {
    detail::check_features("Conv1D", in, out);
    reset();
}

void Conv1D::reset() {
    weight = register_parameter("weight", empty({in_features, out_features}));
    init::normal_(weight, 0.0, 0.02);
    bias = register_parameter("bias", zeros({out_features}));
}

Tensor Conv1D::forward(const Tensor& x) {
    detail::check_input("Conv1D", in_features, out_features, x);
    // matmul's backward forms xᵀ·dy, which is already the weight's [in, out] layout
    return add(matmul(x, weight), bias);
}

std::string Conv1D::extra_repr() const {
    return detail::features_repr(in_features, out_features);
}

}  // namespace graft::nn
