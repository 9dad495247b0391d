// float32 row sum (double accumulation) and max (NaN-propagating), column sums and squared
// deviations (double accumulation), AVX2: reduce-body.hpp over the lanes of simd-avx2.hpp.
#include "kernels/vector/simd-avx2.hpp"
#include "kernels/vector/reduce-body.hpp"
#include "kernels/vector/vector.hpp"

namespace graft::kernels {

double f32_sum__avx2(int64 n, const float* x) { return sum_kernel<Simd>(n, x); }

float f32_max__avx2(int64 n, const float* x) { return max_kernel<Simd>(n, x); }

void f32_sum_columns__avx2(int64 rows, int64 n, int64 stride, const float* x, double* acc, bool eight_rows) {
    sum_columns_kernel<Simd>(rows, n, stride, x, acc, eight_rows);
}

void f32_squared_deviation_columns__avx2(int64 rows, int64 n, int64 stride, const float* x, const double* mean,
                                         double* acc, bool eight_rows) {
    squared_deviation_columns_kernel<Simd>(rows, n, stride, x, mean, acc, eight_rows);
}

}  // namespace graft::kernels
