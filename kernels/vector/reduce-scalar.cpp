// The reference float32 row reductions: sum (accumulated in double) and max (NaN-propagating).
#include <cmath>
#include <limits>

#include "vector/vector.hpp"

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

}  // namespace graft::kernels
