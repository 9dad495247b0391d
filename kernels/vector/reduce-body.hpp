// Internal: the float32 row reductions written once over a lane type S (simd-avx2.hpp /
// simd-avx512.hpp), instantiated by f32-reduce-avx2.cpp / -avx512.cpp and used by the softmax
// and LayerNorm bodies. sum widens to double lanes (two accumulators, two vectors a step);
// max keeps two running maxima and a NaN flag, since vector max drops a NaN operand.
#pragma once

#include <limits>

#include "vector/lanes.hpp"

namespace graft::kernels {
namespace {

template <class S>
double sum_kernel(std::int64_t n, const float* x) {
    typename S::Acc a, b;
    std::int64_t i = 0;
    for (; i + 2 * S::W <= n; i += 2 * S::W) {
        S::acc_add(a, S::load(x + i));
        S::acc_add(b, S::load(x + i + S::W));
    }
    for_lanes<S>(n - i, [&](std::int64_t j, const auto& lanes) { S::acc_add(a, lanes.load(x + i + j, 0.f)); });
    return S::acc_total(a, b);
}

template <class S>
float max_kernel(std::int64_t n, const float* x) {
    constexpr float kNegInf = -std::numeric_limits<float>::infinity();
    typename S::V a = S::set1(kNegInf), b = a;
    typename S::M nan = S::no_lanes();
    std::int64_t i = 0;
    for (; i + 2 * S::W <= n; i += 2 * S::W) {
        const typename S::V u = S::load(x + i), v = S::load(x + i + S::W);
        a = S::max(a, u);
        b = S::max(b, v);
        nan = S::mask_or(nan, S::mask_or(S::is_nan(u), S::is_nan(v)));
    }
    for_lanes<S>(n - i, [&](std::int64_t j, const auto& lanes) {
        const typename S::V u = lanes.load(x + i + j, kNegInf);
        a = S::max(a, u);
        nan = S::mask_or(nan, S::is_nan(u));
    });
    if (S::any(nan)) return std::numeric_limits<float>::quiet_NaN();
    return S::hmax(S::max(a, b));
}

/// Σ f(i, lanes) over n elements in float lanes; f returns a vector whose lanes past the end are 0.
template <class S, class F>
float sum_lanes(std::int64_t n, F&& f) {
    typename S::V acc = S::set1(0.f);
    for_lanes<S>(n, [&](std::int64_t i, const auto& lanes) { acc = S::add(acc, f(i, lanes)); });
    return S::hsum(acc);
}

}  // namespace
}  // namespace graft::kernels
