// nn::LayerNorm and nn::RMSNorm: affine parameters, checked forwards on functional::layer_norm / rms_norm.
#include "graft/nn/normalization.hpp"

#include <algorithm>

#include "graft/functional/norm.hpp"
#include "graft/nn/init.hpp"
#include "nn/repr.hpp"

namespace graft::nn {

namespace {

/// ValueError naming `layer` unless normalized_shape has a dimension and no negative size, and
/// eps (when given) is non-negative.
void check_options(const char* layer, const Shape& normalized_shape, std::optional<double> eps) {
    if (normalized_shape.empty())
        throw ValueError(std::string(layer) + ": normalized_shape must have at least one dimension, got ()");
    if (std::any_of(normalized_shape.begin(), normalized_shape.end(), [](std::int64_t s) { return s < 0; }))
        throw ValueError(std::string(layer) + ": normalized_shape " + pyfmt::py_tuple(normalized_shape) +
                         " has a negative size");
    if (eps && !(*eps >= 0.0))
        throw ValueError(std::string(layer) + ": eps must be non-negative, got " + pyfmt::py_float(*eps));
}

/// ShapeError naming the layer and its options unless x's trailing dimensions are normalized_shape.
void check_input(const Module& m, const Shape& normalized_shape, const Tensor& x) {
    const std::size_t k = normalized_shape.size();
    if (x.shape().size() < k || !std::equal(normalized_shape.begin(), normalized_shape.end(), x.shape().end() - k))
        throw ShapeError(m.type_name() + "(" + m.extra_repr() + "): input shape " + shape_str(x.shape()) +
                         " does not end with normalized_shape " + shape_str(normalized_shape));
}

}  // namespace

LayerNorm::LayerNorm(Shape shape, double eps_, bool affine, bool bias_)
    : normalized_shape(std::move(shape)), eps(eps_), elementwise_affine(affine), has_bias(bias_) {
    check_options("LayerNorm", normalized_shape, eps);
    reset();
}

LayerNorm::LayerNorm(std::int64_t size) : LayerNorm(Shape{size}) {}

void LayerNorm::reset() {
    weight = Tensor();
    bias = Tensor();
    if (!elementwise_affine) return;
    weight = register_parameter("weight", empty(normalized_shape));
    init::ones_(weight);
    if (has_bias) {
        bias = register_parameter("bias", empty(normalized_shape));
        init::zeros_(bias);
    }
}

Tensor LayerNorm::forward(const Tensor& x) {
    check_input(*this, normalized_shape, x);
    return functional::layer_norm(x, normalized_shape, weight, bias, eps);
}

std::string LayerNorm::extra_repr() const {
    std::string s = pyfmt::py_tuple(normalized_shape) + ", eps=" + pyfmt::py_float(eps) +
                    ", elementwise_affine=" + pyfmt::py_bool(elementwise_affine);
    if (elementwise_affine && !has_bias) s += ", bias=False";
    return s;
}

RMSNorm::RMSNorm(Shape shape, std::optional<double> eps_, bool affine)
    : normalized_shape(std::move(shape)), eps(eps_), elementwise_affine(affine) {
    check_options("RMSNorm", normalized_shape, eps);
    reset();
}

RMSNorm::RMSNorm(std::int64_t size, std::optional<double> eps_) : RMSNorm(Shape{size}, eps_) {}

void RMSNorm::reset() {
    weight = Tensor();
    if (!elementwise_affine) return;
    weight = register_parameter("weight", empty(normalized_shape));
    init::ones_(weight);
}

Tensor RMSNorm::forward(const Tensor& x) {
    check_input(*this, normalized_shape, x);
    return functional::rms_norm(x, normalized_shape, weight, eps);
}

std::string RMSNorm::extra_repr() const {
    return pyfmt::py_tuple(normalized_shape) + ", eps=" + (eps ? pyfmt::py_float(*eps) : std::string("None")) +
           ", elementwise_affine=" + pyfmt::py_bool(elementwise_affine);
}

}  // namespace graft::nn
