// The reference float32 elementwise kernels and their gradients: <cmath> one element at a time,
// with the limits vector.hpp promises at ±inf (sigmoid, gelu) written out.
#include <cmath>

#include "kernels/vector/vector.hpp"

namespace graft::kernels {

namespace {

constexpr float kInvSqrt2 = 0.70710678118654752f;
constexpr float kInvSqrt2Pi = 0.39894228040143267794f;  // 1/√(2π)
constexpr float kSqrt2OverPi = 0.79788456080286535588f;  // √(2/π)

float sigmoid(float v) {
    if (v >= 0) return 1.f / (1.f + std::exp(-v));
    const float e = std::exp(v);
    return e / (1.f + e);
}

// x·Φ(x) = x − h (x ≥ 0) or h (x < 0), h = ½·x·erfc(|x|/√2): no cancellation for negative x.
float gelu(float v) {
    if (std::isinf(v)) return v > 0 ? v : -0.f;
    const float h = 0.5f * v * std::erfc(std::fabs(v) * kInvSqrt2);
    return v >= 0 ? v - h : h;
}

// ½x(1 + tanh u) = x·σ(2u), which loses no digits for negative x. Beyond |x| = 20 the factor is
// 0 or 1 in float; the clamp keeps x³ finite.
float gelu_tanh(float v) {
    if (std::isinf(v)) return v > 0 ? v : -0.f;
    const float c = std::fmin(std::fmax(v, -20.f), 20.f);
    return v * sigmoid(2.f * kSqrt2OverPi * (c + 0.044715f * c * c * c));
}

float apply(UnaryOp op, float v) {
    switch (op) {
        case UnaryOp::Exp: return std::exp(v);
        case UnaryOp::Log: return std::log(v);
        case UnaryOp::Tanh: return std::tanh(v);
        case UnaryOp::Sigmoid: return sigmoid(v);
        case UnaryOp::Relu: return v > 0 || v != v ? v : 0.f;
        case UnaryOp::Gelu: return gelu(v);
        case UnaryOp::GeluTanh: return gelu_tanh(v);
    }
    return v;
}

// Φ(x) + x·φ(x), with Φ(x) = 1 − ½erfc(x/√2) or ½erfc(|x|/√2).
float gelu_grad(float v) {
    if (std::isnan(v)) return v;
    const float c = std::fmin(std::fmax(v, -20.f), 20.f);  // the derivative is 0 / 1 beyond
    const float half_erfc = 0.5f * std::erfc(std::fabs(c) * kInvSqrt2);
    const float cdf = c >= 0 ? 1.f - half_erfc : half_erfc;
    return cdf + c * kInvSqrt2Pi * std::exp(-0.5f * c * c);
}

// ½(1 + t) + ½x(1 − t²)·√(2/π)(1 + 3·0.044715x²), t = tanh u, written with s = ½(1 + t) = σ(2u)
// and ½(1 − t²) = 2·s·σ(−2u), which keeps its digits where t is near ±1.
float gelu_tanh_grad(float v) {
    if (std::isnan(v)) return v;
    const float c = std::fmin(std::fmax(v, -20.f), 20.f);
    const float u2 = 2.f * kSqrt2OverPi * (c + 0.044715f * c * c * c);
    const float s = sigmoid(u2);
    return s + 2.f * c * s * sigmoid(-u2) * kSqrt2OverPi * (1.f + 3.f * 0.044715f * c * c);
}

float derivative(UnaryOp op, float s) {
    switch (op) {
        case UnaryOp::Exp: return s;
        case UnaryOp::Log: return 1.f / s;
        case UnaryOp::Tanh: return 1.f - s * s;
        case UnaryOp::Sigmoid: return s * (1.f - s);
        case UnaryOp::Relu: return s > 0 ? 1.f : 0.f;
        case UnaryOp::Gelu: return gelu_grad(s);
        case UnaryOp::GeluTanh: return gelu_tanh_grad(s);
    }
    return s;
}

}  // namespace

void f32_unary__scalar(UnaryOp op, int64 n, const float* x, float* y) {
    for (int64 i = 0; i < n; ++i) y[i] = apply(op, x[i]);
}

void f32_unary_grad__scalar(UnaryOp op, int64 n, const float* s, const float* dy, float* dx) {
    if (op == UnaryOp::Log) {
        for (int64 i = 0; i < n; ++i) dx[i] = dy[i] / s[i];
        return;
    }
    for (int64 i = 0; i < n; ++i) dx[i] = dy[i] * derivative(op, s[i]);
}

}  // namespace graft::kernels
