// Normalize and compute_mean_std: per-index statistics along a sample's dimension 0.
#include <cmath>
#include <string>

#include "graft/data/transforms.hpp"

namespace graft::data {

namespace {

/// Elements per index along dimension 0 of a shape (1 for a 0-d or 1-D tensor).
std::int64_t inner_size(const Shape& shape) {
    std::int64_t n = 1;
    for (std::size_t d = 1; d < shape.size(); ++d) n *= shape[d];
    return n;
}

std::int64_t leading_size(const Shape& shape) { return shape.empty() ? 1 : shape[0]; }

}  // namespace

Normalize::Normalize(std::vector<float> mean, std::vector<float> std) : mean_(std::move(mean)), std_(std::move(std)) {
    if (mean_.empty() || mean_.size() != std_.size())
        throw ValueError("Normalize: mean has " + std::to_string(mean_.size()) + " values and std " +
                         std::to_string(std_.size()) + "; expected the same positive number");
    for (std::size_t k = 0; k < std_.size(); ++k)
        if (!(std_[k] > 0.0f))
            throw ValueError("Normalize: std[" + std::to_string(k) + "] = " + std::to_string(std_[k]) +
                             " must be positive");
}

Tensor Normalize::operator()(const Tensor& input) const {
    input.check_dtype(DType::Float32, "Normalize");
    const std::int64_t lead = leading_size(input.shape());
    const auto count = static_cast<std::int64_t>(mean_.size());
    if (count != 1 && count != lead)
        throw ShapeError("Normalize: input " + shape_str(input.shape()) + " has " + std::to_string(lead) +
                         " entries along dimension 0, the statistics have " + std::to_string(count));
    const Tensor src = input.contiguous();
    Tensor out = empty(input.shape());
    const float* x = src.data_ptr<float>();
    float* y = out.data_ptr<float>();
    const std::int64_t inner = inner_size(input.shape());
    for (std::int64_t k = 0; k < lead; ++k) {
        const auto s = static_cast<std::size_t>(count == 1 ? 0 : k);
        const float m = mean_[s], sd = std_[s];
        for (std::int64_t i = k * inner; i < (k + 1) * inner; ++i) y[i] = (x[i] - m) / sd;
    }
    return out;
}

MeanStd compute_mean_std(const Dataset& dataset) {
    const std::size_t n = dataset.size();
    if (n == 0) throw ValueError("compute_mean_std: the dataset is empty");
    const Shape first = dataset.get(0).input.shape();
    const std::int64_t lead = leading_size(first);
    const auto k_count = static_cast<std::size_t>(lead);

    // Two passes (mean, then squared deviations) keep the variance accurate when |mean| ≫ std.
    const auto for_each_value = [&](auto&& visit) {
        for (std::size_t i = 0; i < n; ++i) {
            const Tensor input = dataset.get(i).input;
            if (leading_size(input.shape()) != lead)
                throw ShapeError("compute_mean_std: sample " + std::to_string(i) + " has input " +
                                 shape_str(input.shape()) + ", sample 0 has " + shape_str(first) +
                                 " (dimension 0 must agree)");
            const Tensor values = input.to(DType::Float64).contiguous();
            const double* v = values.data_ptr<double>();
            const std::int64_t inner = inner_size(input.shape());
            for (std::int64_t k = 0; k < lead; ++k)
                for (std::int64_t j = 0; j < inner; ++j) visit(static_cast<std::size_t>(k), v[k * inner + j]);
        }
    };
    std::vector<double> sum(k_count, 0.0), counted(k_count, 0.0), squares(k_count, 0.0);
    for_each_value([&](std::size_t k, double v) {
        sum[k] += v;
        counted[k] += 1.0;
    });
    std::vector<double> mean(k_count);
    for (std::size_t k = 0; k < k_count; ++k) mean[k] = counted[k] > 0.0 ? sum[k] / counted[k] : 0.0;
    for_each_value([&](std::size_t k, double v) { squares[k] += (v - mean[k]) * (v - mean[k]); });

    MeanStd stats;
    for (std::size_t k = 0; k < k_count; ++k) {
        stats.mean.push_back(static_cast<float>(mean[k]));
        stats.std.push_back(static_cast<float>(counted[k] > 0.0 ? std::sqrt(squares[k] / counted[k]) : 0.0));
    }
    return stats;
}

}  // namespace graft::data
