// Classification metrics: top-k accuracy over [N, C] outputs and int64 [N] targets.
#include "graft/train/metrics.hpp"

#include <cmath>
#include <limits>
#include <vector>

#include "graft/error.hpp"

namespace graft::train {

TopKAccuracy::TopKAccuracy(std::int64_t k, std::int64_t ignore_index) : k_(k), ignore_index_(ignore_index) {
    if (k < 1) throw ValueError("TopKAccuracy: k must be at least 1, got " + std::to_string(k));
}

std::string TopKAccuracy::name() const { return "top" + std::to_string(k_) + "_accuracy"; }

void TopKAccuracy::reset() {
    correct_ = 0;
    total_ = 0;
}

void TopKAccuracy::update(const Tensor& output, const Tensor& target) {
    if (output.dim() != 2)
        throw ShapeError(name() + ": output must be [N, C], got " + shape_str(output.shape()));
    if (target.dim() != 1 || target.size(0) != output.size(0))
        throw ShapeError(name() + ": target must be [N] with N = " + std::to_string(output.size(0)) +
                         ", got " + shape_str(target.shape()));
    if (target.dtype() != DType::Int64)
        throw DTypeError(name() + ": target must be int64 class indices, got " + dtype_name(target.dtype()));
    const std::int64_t n = output.size(0), c = output.size(1);
    const std::vector<double> scores = output.detach().to_vector<double>();
    const std::vector<std::int64_t> labels = target.to_vector<std::int64_t>();
    for (std::int64_t i = 0; i < n; ++i) {
        const std::int64_t y = labels[static_cast<std::size_t>(i)];
        if (y == ignore_index_) continue;
        if (y < 0 || y >= c)
            throw IndexError(name() + ": target " + std::to_string(y) + " in row " + std::to_string(i) +
                             " is outside [0, " + std::to_string(c) + ")");
        const double* row = scores.data() + i * c;
        const double s = row[y];
        // The target is in the top k when fewer than k classes beat it (ties count in its favour
        // only for classes after it, so equal scores are ranked by index like a stable sort).
        // A NaN score never counts as correct.
        std::int64_t better = 0;
        for (std::int64_t j = 0; j < c && better < k_; ++j)
            if (row[j] > s || (row[j] == s && j < y)) ++better;
        if (!std::isnan(s) && better < k_) ++correct_;
        ++total_;
    }
}

double TopKAccuracy::compute() const {
    if (total_ == 0) return std::numeric_limits<double>::quiet_NaN();
    return static_cast<double>(correct_) / static_cast<double>(total_);
}

}  // namespace graft::train
