// nn::Conv1D: Hugging Face's transposed-weight linear layer (GPT-2's c_attn, c_proj, c_fc).
#include "graft/nn/conv1d.hpp"

#include "graft/nn/init.hpp"
#include "graft/ops.hpp"

namespace graft::nn {

Conv1D::Conv1D(std::int64_t in, std::int64_t out) : in_features(in), out_features(out) {
    if (in < 0 || out < 0)
        throw ValueError("Conv1D: in_features and out_features must be non-negative, got " + std::to_string(in) +
                         " and " + std::to_string(out));
    reset();
}

void Conv1D::reset() {
    weight = register_parameter("weight", empty({in_features, out_features}));
    init::normal_(weight, 0.0, 0.02);
    bias = register_parameter("bias", zeros({out_features}));
}

Tensor Conv1D::forward(const Tensor& x) {
    if (x.dim() == 0 || x.size(-1) != in_features)
        throw ShapeError("Conv1D(" + extra_repr() + "): input has " +
                         (x.dim() == 0 ? std::string("no feature dimension") : std::to_string(x.size(-1)) + " features") +
                         " (input shape " + shape_str(x.shape()) + ")");
    // matmul's backward forms xᵀ·dy, which is already the weight's [in, out] layout
    return add(matmul(x, weight), bias);
}

std::string Conv1D::extra_repr() const {
    return "in_features=" + std::to_string(in_features) + ", out_features=" + std::to_string(out_features);
}

}  // namespace graft::nn
