// Gradient clipping by global norm and by value, torch.nn.utils.clip_grad_norm_/clip_grad_value_.
#include "graft/optim/clip_grad.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/lane_sum.hpp"
#include "kernels/cpu/parallel.hpp"
#include "graft/autograd.hpp"
#include "graft/ops.hpp"
#include "optim/state_util.hpp"

namespace graft {

namespace {

using optim::detail::number;

std::vector<Tensor> defined_grads(const std::vector<Tensor>& params) {
    std::vector<Tensor> grads;
    for (const Tensor& p : params) {
        if (!p.defined()) continue;
        Tensor g = p.grad();
        if (g.defined()) grads.push_back(g);
    }
    return grads;
}

/// max |x| over a tensor (NaN if any element is NaN).
template <class T>
double max_abs(const T* x, std::int64_t n) {
    double m = 0;
    for (std::int64_t i = 0; i < n; ++i) {
        const double a = std::fabs(static_cast<double>(x[i]));
        if (!(a <= m)) m = a;
    }
    return m;
}

/// Σ f(x[i]) in double: fixed blocks, each in lane_sum's partial sums, spread over the threads
/// and added in block order, so the result does not depend on the thread count.
template <class T, class F>
double block_sum(const T* x, std::int64_t n, F f) {
    constexpr std::int64_t kBlock = std::int64_t{1} << 14;
    const std::int64_t blocks = (n + kBlock - 1) / kBlock;
    std::vector<double> partial(static_cast<std::size_t>(blocks));
    kernels::parallel_for(0, blocks, n, [&](std::int64_t lo, std::int64_t hi) {
        for (std::int64_t b = lo; b < hi; ++b) {
            const T* xb = x + b * kBlock;
            partial[static_cast<std::size_t>(b)] = graft::detail::lane_sum<double>(
                std::min(kBlock, n - b * kBlock), [&](std::int64_t i) { return f(static_cast<double>(xb[i])); });
        }
    });
    double total = 0;
    for (double v : partial) total += v;
    return total;
}

/// (Σ |x|^p)^(1/p), in double.
template <class T>
double p_norm(const T* x, std::int64_t n, double p) {
    if (p == 2.0) return std::sqrt(block_sum(x, n, [](double v) { return v * v; }));
    if (p == 1.0) return block_sum(x, n, [](double v) { return std::fabs(v); });
    return std::pow(block_sum(x, n, [p](double v) { return std::pow(std::fabs(v), p); }), 1.0 / p);
}

double tensor_norm(const Tensor& grad, double p) {
    const Tensor g = grad.contiguous();
    const bool inf = std::isinf(p);
    if (g.dtype() == DType::Float32)
        return inf ? max_abs(g.data_ptr<float>(), g.numel()) : p_norm(g.data_ptr<float>(), g.numel(), p);
    return inf ? max_abs(g.data_ptr<double>(), g.numel()) : p_norm(g.data_ptr<double>(), g.numel(), p);
}

}  // namespace

double clip_grad_norm(const std::vector<Tensor>& params, double max_norm, double norm_type, bool error_if_nonfinite) {
    if (!(max_norm >= 0)) throw ValueError("clip_grad_norm: max_norm must be >= 0, got " + number(max_norm));
    if (!(norm_type > 0))
        throw ValueError("clip_grad_norm: norm_type must be > 0 (or infinity), got " + number(norm_type));
    NoGradGuard guard;
    const std::vector<Tensor> grads = defined_grads(params);
    if (grads.empty()) return 0.0;
    const bool inf = std::isinf(norm_type);
    double total = 0;
    for (const Tensor& g : grads) {
        const double n = tensor_norm(g, norm_type);
        if (inf)
            total = (n > total || std::isnan(n)) ? n : total;
        else
            total += norm_type == 2.0 ? n * n : std::pow(n, norm_type);
    }
    if (!inf) total = norm_type == 2.0 ? std::sqrt(total) : std::pow(total, 1.0 / norm_type);
    if (error_if_nonfinite && !std::isfinite(total))
        throw ValueError("clip_grad_norm: the total " + number(norm_type) + "-norm of " + std::to_string(grads.size()) +
                         " gradients is " + number(total) +
                         ", so they cannot be clipped (pass error_if_nonfinite = false to scale anyway)");
    const double coef = max_norm / (total + 1e-6);
    // torch multiplies by min(coef, 1); skipping coef ≥ 1 is the same, and NaN still propagates.
    if (!(coef >= 1.0))
        for (const Tensor& g : grads) {
            Tensor target = g;
            target.mul_(coef);
        }
    return total;
}

void clip_grad_value(const std::vector<Tensor>& params, double clip_value) {
    if (!(clip_value >= 0)) throw ValueError("clip_grad_value: clip_value must be >= 0, got " + number(clip_value));
    NoGradGuard guard;
    for (Tensor g : defined_grads(params)) g.copy_(clamp(g, -clip_value, clip_value));
}

}  // namespace graft
