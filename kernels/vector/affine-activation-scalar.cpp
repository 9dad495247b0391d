// The reference float32 per-channel affine with an activation and its gradient, and a BatchNorm
// channel's backward sums and input gradient: one element at a time, z = std::fma(x, a, b) (one
// rounding, as the vector variants' fused multiply-add), the activations as <algorithm>'s max and
// min order them, σ the scalar unary kernel's; the sums in one double running sum each.
#include <algorithm>
#include <cmath>

#include "kernels/vector/vector.hpp"

namespace graft::kernels {

namespace {

float sigmoid(float z) {
    float s;
    f32_unary__scalar(UnaryOp::Sigmoid, 1, &z, &s);
    return s;
}

float activate(AffineActivation act, float z) {
    switch (act) {
        case AffineActivation::None: return z;
        case AffineActivation::ReLU: return z > 0 || z != z ? z : 0.f;
        case AffineActivation::ReLU6: return std::min(std::max(z, 0.f), 6.f);
        case AffineActivation::Hardswish: return z * std::min(std::max(z + 3.f, 0.f), 6.f) / 6.f;
        case AffineActivation::SiLU: return z * sigmoid(z);
    }
    return z;
}

float derivative(AffineActivation act, float z) {
    switch (act) {
        case AffineActivation::None: return 1.f;
        case AffineActivation::ReLU: return z > 0 ? 1.f : 0.f;
        case AffineActivation::ReLU6: return z > 0 && z < 6 ? 1.f : 0.f;
        case AffineActivation::Hardswish: return z < -3 ? 0.f : z <= 3 ? z / 3.f + 0.5f : 1.f;
        case AffineActivation::SiLU: {
            const float s = sigmoid(z);
            return s * std::fma(z, 1.f - s, 1.f);
        }
    }
    return 1.f;
}

}  // namespace

void f32_affine_activation__scalar(AffineActivation act, int64 channels, int64 n, int64 lo, int64 hi, const float* x,
                                   float* y, const double* scale, const double* shift) {
    for (int64 r = lo; r < hi; ++r) {
        const float a = static_cast<float>(scale[r % channels]), b = static_cast<float>(shift[r % channels]);
        for (int64 i = r * n; i < (r + 1) * n; ++i) y[i] = activate(act, std::fma(x[i], a, b));
    }
}

void f32_affine_activation_grad__scalar(AffineActivation act, int64 channels, int64 n, int64 lo, int64 hi,
                                        const float* x, const double* scale, const double* shift, const float* dy,
                                        float* dz) {
    for (int64 r = lo; r < hi; ++r) {
        const float a = static_cast<float>(scale[r % channels]), b = static_cast<float>(shift[r % channels]);
        for (int64 i = r * n; i < (r + 1) * n; ++i) dz[i] = dy[i] * derivative(act, std::fma(x[i], a, b));
    }
}

void f32_channel_grad_sums__scalar(int64 rows, int64 n, int64 stride, const float* dy, const float* x, float mean,
                                   double* sums) {
    double sdy = 0, sdyx = 0;
    for (int64 r = 0; r < rows; ++r)
        for (int64 i = r * stride; i < r * stride + n; ++i) {
            sdy += static_cast<double>(dy[i]);
            if (x != nullptr) sdyx += static_cast<double>(dy[i] * (x[i] - mean));
        }
    sums[0] = sdy;
    sums[1] = sdyx;
}

void f32_channel_grad__scalar(int64 rows, int64 n, int64 stride, const float* dy, const float* x, float a, float b,
                              float e, float* dx) {
    for (int64 r = 0; r < rows; ++r)
        for (int64 i = r * stride; i < r * stride + n; ++i)
            dx[i] = x == nullptr ? a * dy[i] : std::fma(a, dy[i], std::fma(b, x[i], e));
}

}  // namespace graft::kernels
