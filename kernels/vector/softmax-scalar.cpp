// The reference float32 row kernels of softmax, log_softmax and the fused softmax cross-entropy,
// forward and backward: max-subtracted, sums in float, one element at a time.
#include <cmath>

#include "kernels/vector/vector.hpp"

namespace graft::kernels {

void f32_softmax__scalar(int64 n, const float* x, float* y, bool log) {
    const float m = f32_max__scalar(n, x);
    float sum = 0;
    for (int64 i = 0; i < n; ++i) {
        const float e = std::exp(x[i] - m);
        if (!log) y[i] = e;
        sum += e;
    }
    if (log) {
        const float log_sum = std::log(sum);
        for (int64 i = 0; i < n; ++i) y[i] = (x[i] - m) - log_sum;
    } else {
        const float inv = 1.f / sum;
        for (int64 i = 0; i < n; ++i) y[i] *= inv;
    }
}

void f32_softmax_grad__scalar(int64 n, const float* y, const float* dy, float* dx, bool log) {
    float s = 0;
    for (int64 i = 0; i < n; ++i) s += log ? dy[i] : dy[i] * y[i];
    for (int64 i = 0; i < n; ++i) dx[i] = log ? dy[i] - std::exp(y[i]) * s : y[i] * (dy[i] - s);
}

// Σ_c (lse − x[c]) = Σ_c (log_sum − (x[c] − max)): every term relative to the max.
float f32_cross_entropy__scalar(int64 n, const float* x, int64 target, float smoothing, float* max,
                                float* log_sum) {
    const float m = f32_max__scalar(n, x);
    float sum_exp = 0, sum_shifted = 0;
    for (int64 i = 0; i < n; ++i) {
        sum_exp += std::exp(x[i] - m);
        sum_shifted += x[i] - m;
    }
    const float ls = std::log(sum_exp);
    *max = m;
    *log_sum = ls;
    const float nll = ls - (x[target] - m);
    if (smoothing == 0.f) return nll;
    return (1.f - smoothing) * nll + smoothing / static_cast<float>(n) * (static_cast<float>(n) * ls - sum_shifted);
}

void f32_cross_entropy_grad__scalar(int64 n, const float* x, float max, float log_sum, int64 target, float smoothing,
                                    float scale, float* dx) {
    const float off = smoothing / static_cast<float>(n);
    for (int64 i = 0; i < n; ++i) {
        const float hot = i == target ? 1.f - smoothing : 0.f;
        dx[i] = scale * (std::exp((x[i] - max) - log_sum) - off - hot);
    }
}

}  // namespace graft::kernels
