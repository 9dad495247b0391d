// Internal: the float32 row and column reductions written once over a lane type S
// (simd-avx2.hpp / simd-avx512.hpp), instantiated by f32-reduce-avx2.cpp / -avx512.cpp; the row
// ones are also used by the softmax and LayerNorm bodies. sum widens to double lanes (two
// accumulators, two vectors a step); max keeps two running maxima and a NaN flag, since vector
// max drops a NaN operand. The column kernels run SIMD across a row's columns, each lane its own
// column's double accumulator, loaded from and stored back to memory once per step of rows.
#pragma once

#include <limits>
#include <type_traits>

#include "kernels/vector/lanes.hpp"

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

/// acc[j] += Σ_r (x[r·stride + j] folded in by add(a, value, j, lanes)) for j < n: one double
/// operation per element and row, each column's rows in order — the order of the scalar
/// reference, so the sums are bit for bit the same on every variant and any step. eight_rows
/// (the driver's choice, vector_driver.cpp): eight rows a step, the accumulators loaded and
/// stored once per eight rows; else one row after another.
template <class S, class Add>
void columns_kernel(std::int64_t rows, std::int64_t n, std::int64_t stride, const float* x, double* acc,
                    bool eight_rows, Add&& add) {
    auto step = [&]<int K>(std::integral_constant<int, K>, const float* p) {
        for_lanes<S>(n, [&](std::int64_t j, const auto& lanes) {
            typename S::Acc a = lanes.load(acc + j);
            for (int k = 0; k < K; ++k) add(a, lanes.load(p + k * stride + j), j, lanes);
            lanes.store(acc + j, a);
        });
    };
    std::int64_t r = 0;
    if (eight_rows)
        for (; r + 8 <= rows; r += 8) step(std::integral_constant<int, 8>{}, x + r * stride);
    for (; r < rows; ++r) step(std::integral_constant<int, 1>{}, x + r * stride);
}

template <class S>
void sum_columns_kernel(std::int64_t rows, std::int64_t n, std::int64_t stride, const float* x, double* acc,
                        bool eight_rows) {
    columns_kernel<S>(rows, n, stride, x, acc, eight_rows,
                      [](typename S::Acc& a, typename S::V v, std::int64_t, const auto&) { S::acc_add(a, v); });
}

template <class S>
void squared_deviation_columns_kernel(std::int64_t rows, std::int64_t n, std::int64_t stride, const float* x,
                                      const double* mean, double* acc, bool eight_rows) {
    columns_kernel<S>(rows, n, stride, x, acc, eight_rows,
                      [&](typename S::Acc& a, typename S::V v, std::int64_t j, const auto& lanes) {
                          S::acc_add_squared_difference(a, v, lanes.load(mean + j));
                      });
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
