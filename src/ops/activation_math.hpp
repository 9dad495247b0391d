// Internal to ops: the elementwise formulas of the piecewise activations and SiLU, value and
// derivative, shared by their unary ops (ops/unary.cpp) and by batch_norm's fused activation
// (ops/batch_norm.cpp), so that a fused BatchNorm + activation computes the same bits as the two
// ops one after the other.
#pragma once

#include <algorithm>
#include <cmath>

namespace graft::detail {

/// min(max(v, lo), hi), NaN kept.
template <class T>
T hardtanh_value(T v, T lo, T hi) {
    return v != v ? v : std::min(std::max(v, lo), hi);
}

/// PyTorch's hardtanh_backward: 1 strictly inside (lo, hi), 0 at and beyond the bounds.
template <class T, class Bound>
T hardtanh_derivative(T v, Bound lo, Bound hi) {
    return static_cast<T>(v > lo && v < hi);
}

/// v · min(max(v + 3, 0), 6) / 6.
template <class T>
T hardswish_value(T v) {
    return v * std::min(std::max(v + T(3), T(0)), T(6)) / T(6);
}

/// PyTorch's hardswish_backward: 0 below −3, v/3 + ½ up to 3, 1 above.
template <class T>
T hardswish_derivative(T v) {
    if (v < T(-3)) return T(0);
    if (v <= T(3)) return v / T(3) + T(0.5);
    return T(1);
}

/// 1/(1 + e⁻ᵛ), stable on both tails.
template <class T>
T sigmoid_value(T v) {
    if (v >= 0) return T(1) / (T(1) + std::exp(-v));
    const T e = std::exp(v);
    return e / (T(1) + e);
}

/// v·σ(v).
template <class T>
T silu_value(T v) {
    return v * sigmoid_value(v);
}

/// σ(v)·(1 + v·(1 − σ(v))).
template <class T>
T silu_derivative(T v) {
    const T s = sigmoid_value(v);
    return s * (1 + v * (1 - s));
}

}  // namespace graft::detail
