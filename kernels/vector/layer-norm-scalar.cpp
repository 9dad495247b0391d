// The reference float32 LayerNorm row kernels: forward (two-pass mean and variance, the mean
// summed and kept in double, applied as x − hi − lo) saving mean and rstd, and the fused backward
// (dx, dw and db accumulation).
#include <cmath>

#include "kernels/vector/vector.hpp"

namespace graft::kernels {

void f32_layer_norm__scalar(int64 n, const float* x, const float* w, const float* b, float eps, float* y,
                            double* mean, float* rstd) {
    const double m = f32_sum__scalar(n, x) / static_cast<double>(n);
    const float hi = static_cast<float>(m), lo = static_cast<float>(m - static_cast<double>(hi));
    float ss = 0;
    for (int64 i = 0; i < n; ++i) ss += ((x[i] - hi) - lo) * ((x[i] - hi) - lo);
    const float rs = 1.f / std::sqrt(ss / static_cast<float>(n) + eps);
    *mean = m;
    *rstd = rs;
    for (int64 i = 0; i < n; ++i) {
        float h = ((x[i] - hi) - lo) * rs;
        if (w) h *= w[i];
        if (b) h += b[i];
        y[i] = h;
    }
}

void f32_layer_norm_grad__scalar(int64 n, const float* x, const float* dy, const float* w, double mean, float rstd,
                                 float* dx, float* dw_acc, float* db_acc) {
    const float hi = static_cast<float>(mean), lo = static_cast<float>(mean - static_cast<double>(hi));
    if (dx) {
        float sum_g = 0, sum_gx = 0;
        for (int64 i = 0; i < n; ++i) {
            const float g = w ? dy[i] * w[i] : dy[i];
            sum_g += g;
            sum_gx += g * ((x[i] - hi) - lo) * rstd;
        }
        const float a = sum_g / static_cast<float>(n), c = sum_gx / static_cast<float>(n);
        for (int64 i = 0; i < n; ++i) {
            const float g = w ? dy[i] * w[i] : dy[i];
            dx[i] = rstd * (g - a - ((x[i] - hi) - lo) * rstd * c);
        }
    }
    for (int64 i = 0; i < n; ++i) {
        if (dw_acc) dw_acc[i] += dy[i] * ((x[i] - hi) - lo) * rstd;
        if (db_acc) db_acc[i] += dy[i];
    }
}

}  // namespace graft::kernels
