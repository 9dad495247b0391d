// nn::BatchNorm1d / BatchNorm2d: parameters, running-statistic buffers, and torch's _BatchNorm
// forward (num_batches_tracked, the cumulative-average momentum) on functional::batch_norm.
#include "graft/nn/batchnorm.hpp"

#include "graft/autograd.hpp"
#include "graft/functional/batch_norm.hpp"
#include "graft/nn/init.hpp"
#include "nn/repr.hpp"

namespace graft::nn {

template <class Derived>
BatchNormBase<Derived>::BatchNormBase(std::int64_t features, const BatchNormOptions& options)
    : num_features(features),
      eps(options.eps),
      momentum(options.momentum),
      affine(options.affine),
      track_running_stats(options.track_running_stats) {
    const std::string where = "BatchNorm(" + std::to_string(features) + "): ";
    if (features < 1) throw ValueError(where + "num_features must be positive");
    if (!(eps >= 0.0)) throw ValueError(where + "eps must be non-negative, got " + pyfmt::py_float(eps));
    this->reset();
}

template <class Derived>
void BatchNormBase<Derived>::reset() {
    weight = bias = running_mean = running_var = num_batches_tracked = Tensor();
    if (affine) {
        weight = this->register_parameter("weight", empty({num_features}));
        bias = this->register_parameter("bias", empty({num_features}));
    }
    if (track_running_stats) {
        running_mean = this->register_buffer("running_mean", empty({num_features}));
        running_var = this->register_buffer("running_var", empty({num_features}));
        num_batches_tracked = this->register_buffer("num_batches_tracked", empty({}, DType::Int64));
    }
    reset_parameters();
}

template <class Derived>
void BatchNormBase<Derived>::reset_running_stats() {
    if (!track_running_stats) return;
    NoGradGuard guard;
    running_mean.zero_();
    running_var.fill_(1.0);
    num_batches_tracked.zero_();
}

template <class Derived>
void BatchNormBase<Derived>::reset_parameters() {
    reset_running_stats();
    if (!affine) return;
    init::ones_(weight);
    init::zeros_(bias);
}

template <class Derived>
Tensor BatchNormBase<Derived>::forward(const Tensor& x) {
    return forward_activation(x, functional::BatchNormActivation::None);
}

template <class Derived>
Tensor BatchNormBase<Derived>::forward_activation(const Tensor& x, functional::BatchNormActivation activation) {
    check_input_dim(x);
    if (x.size(1) != num_features)
        throw ShapeError(this->type_name() + "(" + std::to_string(num_features) + "): input has " +
                         std::to_string(x.size(1)) + " channels, layer expects " + std::to_string(num_features) +
                         " (input shape " + shape_str(x.shape()) + ")");
    const bool training = this->is_training();
    double factor = momentum.value_or(0.0);
    if (training && track_running_stats) {
        {
            NoGradGuard guard;
            num_batches_tracked.add_(1.0);
        }
        if (!momentum) factor = 1.0 / num_batches_tracked.item<double>();
    }
    // Without running statistics the batch's are used in eval too.
    return functional::batch_norm(x, running_mean, running_var, weight, bias, training || !track_running_stats,
                                  factor, eps, activation);
}

template <class Derived>
std::string BatchNormBase<Derived>::extra_repr() const {
    return std::to_string(num_features) + ", eps=" + pyfmt::py_float(eps) +
           ", momentum=" + (momentum ? pyfmt::py_float(*momentum) : std::string("None")) +
           ", affine=" + pyfmt::py_bool(affine) + ", track_running_stats=" + pyfmt::py_bool(track_running_stats);
}

void BatchNorm1d::check_input_dim(const Tensor& x) const {
    if (x.dim() != 2 && x.dim() != 3)
        throw ShapeError("BatchNorm1d(" + std::to_string(num_features) +
                         "): expected a 2-D [N, C] or 3-D [N, C, L] input, got shape " + shape_str(x.shape()));
}

void BatchNorm2d::check_input_dim(const Tensor& x) const {
    if (x.dim() != 4)
        throw ShapeError("BatchNorm2d(" + std::to_string(num_features) +
                         "): expected a 4-D [N, C, H, W] input, got shape " + shape_str(x.shape()));
}

template class BatchNormBase<BatchNorm1d>;
template class BatchNormBase<BatchNorm2d>;

}  // namespace graft::nn
