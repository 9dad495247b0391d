// Internal: the float32 softmax, log_softmax and fused softmax cross-entropy row kernels, forward
// and backward, written once over a lane type S and instantiated by f32-softmax-avx2.cpp /
// -avx512.cpp. Forward: a max pass, an exp-and-sum pass, a scale (or shift) pass. The
// cross-entropy never stores the probabilities: the forward keeps the max and log Σ exp(x − max)
// per row, the backward recomputes exp(x − max − log_sum) and writes scale·(p − ε/n − (1 − ε)·onehot) in one pass.
#pragma once

#include <cmath>
#include <limits>

#include "kernels/vector/reduce-body.hpp"
#include "kernels/vector/vector.hpp"

namespace graft::kernels {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

template <class S>
void softmax_kernel(std::int64_t n, const float* x, float* y, bool log) {
    using V = typename S::V;
    const float m = max_kernel<S>(n, x);
    const V vm = S::set1(m);
    // Lanes past the end read −inf: exp(−inf − m) = 0 adds nothing.
    const float sum = sum_lanes<S>(n, [&](std::int64_t i, const auto& lanes) {
        const V e = S::exp(S::sub(lanes.load(x + i, kNegInf), vm));
        if (!log) lanes.store(y + i, e);
        return e;
    });
    if (log) {  // (x − m) is exact; m + log Σ would round at the magnitude of x
        const V log_sum = S::set1(std::log(sum));
        for_lanes<S>(n, [&](std::int64_t i, const auto& lanes) {
            lanes.store(y + i, S::sub(S::sub(lanes.load(x + i), vm), log_sum));
        });
    } else {
        const V inv = S::set1(1.f / sum);
        for_lanes<S>(n, [&](std::int64_t i, const auto& lanes) { lanes.store(y + i, S::mul(lanes.load(y + i), inv)); });
    }
}

template <class S>
void softmax_grad_kernel(std::int64_t n, const float* y, const float* dy, float* dx, bool log) {
    using V = typename S::V;
    const V s = S::set1(sum_lanes<S>(n, [&](std::int64_t i, const auto& lanes) {
        return log ? lanes.load(dy + i) : S::mul(lanes.load(dy + i), lanes.load(y + i));
    }));
    for_lanes<S>(n, [&](std::int64_t i, const auto& lanes) {
        const V g = lanes.load(dy + i), v = lanes.load(y + i);
        lanes.store(dx + i, log ? S::fnmadd(S::exp(v), s, g) : S::mul(v, S::sub(g, s)));
    });
}

/// The largest non-NaN x[i] (−inf if none), two running maxima: a NaN is dropped here (it costs
/// max_kernel's check) and reaches the caller's sum of exponentials instead.
template <class S>
float max_ignoring_nan(std::int64_t n, const float* x) {
    using V = typename S::V;
    V a = S::set1(kNegInf), b = a;
    std::int64_t i = 0;
    for (; i + 2 * S::W <= n; i += 2 * S::W) {  // max(u, a) returns a when u is NaN
        a = S::max(S::load(x + i), a);
        b = S::max(S::load(x + i + S::W), b);
    }
    for_lanes<S>(n - i, [&](std::int64_t j, const auto& lanes) { a = S::max(lanes.load(x + i + j, kNegInf), a); });
    return S::hmax(S::max(a, b));
}

// A max pass, then one pass of exp(x − max) (the sum's terms, exp_nonpositive), and of x − max
// with label smoothing. A NaN anywhere makes the sum, log_sum and the loss NaN (the max may stay
// finite); an inf makes x − max NaN.
template <class S>
float cross_entropy_kernel(std::int64_t n, const float* x, std::int64_t target, float smoothing, float* max,
                           float* log_sum) {
    using V = typename S::V;
    const float m = max_ignoring_nan<S>(n, x);
    const V vm = S::set1(m);
    V sum_exp = S::set1(0.f), sum_shifted = S::set1(0.f);
    // Lanes past the end read −inf: exp_nonpositive(−inf) is 1.2e-38, below the sum's last digit.
    if (smoothing == 0.f) {
        for_lanes<S>(n, [&](std::int64_t i, const auto& lanes) {
            sum_exp = S::add(sum_exp, S::exp_nonpositive(S::sub(lanes.load(x + i, kNegInf), vm)));
        });
    } else {
        for_lanes<S>(n, [&](std::int64_t i, const auto& lanes) {
            sum_exp = S::add(sum_exp, S::exp_nonpositive(S::sub(lanes.load(x + i, kNegInf), vm)));
            sum_shifted = S::add(sum_shifted, S::sub(lanes.load(x + i, m), vm));  // 0 past the end
        });
    }
    const float ls = std::log(S::hsum(sum_exp));
    *max = m;
    *log_sum = ls;
    const float nll = ls - (x[target] - m);
    if (smoothing == 0.f) return nll;
    const float count = static_cast<float>(n);
    return (1.f - smoothing) * nll + smoothing / count * (count * ls - S::hsum(sum_shifted));
}

template <class S>
void cross_entropy_grad_kernel(std::int64_t n, const float* x, float max, float log_sum, std::int64_t target,
                               float smoothing, float scale, float* dx) {
    using V = typename S::V;
    const V vm = S::set1(max), vls = S::set1(log_sum), vscale = S::set1(scale);
    const V off = S::set1(smoothing / static_cast<float>(n));
    for_lanes<S>(n, [&](std::int64_t i, const auto& lanes) {
        const V p = S::exp(S::sub(S::sub(lanes.load(x + i), vm), vls));
        lanes.store(dx + i, S::mul(vscale, S::sub(p, off)));
    });
    dx[target] -= scale * (1.f - smoothing);
}

}  // namespace
}  // namespace graft::kernels
