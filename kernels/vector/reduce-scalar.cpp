// The reference float32 reductions: row sum (accumulated in double) and max (NaN-propagating);
// column sums and squared deviations, accumulated in double one row after another.
#include <cmath>
#include <limits>

#include "kernels/vector/vector.hpp"

namespace graft::kernels {

double f32_sum__scalar(int64 n, const float* x) {
    double s = 0;
    for (int64 i = 0; i < n; ++i) s += static_cast<double>(x[i]);
    return s;
}

float f32_max__scalar(int64 n, const float* x) {
    float m = -std::numeric_limits<float>::infinity();
    for (int64 i = 0; i < n; ++i) {
        if (std::isnan(x[i])) return x[i];
        if (x[i] > m) m = x[i];
    }
    return m;
}

void f32_sum_columns__scalar(int64 rows, int64 n, int64 stride, const float* x, double* acc, bool) {
    for (int64 r = 0; r < rows; ++r)
        for (int64 j = 0; j < n; ++j) acc[j] += static_cast<double>(x[r * stride + j]);
}

void f32_squared_deviation_columns__scalar(int64 rows, int64 n, int64 stride, const float* x, const double* mean,
                                           double* acc, bool) {
    for (int64 r = 0; r < rows; ++r)
        for (int64 j = 0; j < n; ++j) {
            const double d = static_cast<double>(x[r * stride + j]) - mean[j];
            acc[j] += d * d;
        }
}

}  // namespace graft::kernels
