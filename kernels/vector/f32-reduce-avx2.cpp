// float32 row sum (double accumulation) and max (NaN-propagating), AVX2: reduce-body.hpp over the
// lanes of simd-avx2.hpp.
#include "vector/simd-avx2.hpp"
#include "vector/reduce-body.hpp"
#include "vector/vector.hpp"

namespace graft::kernels {

double f32_sum__avx2(int64 n, const float* x) { return sum_kernel<Simd>(n, x); }

float f32_max__avx2(int64 n, const float* x) { return max_kernel<Simd>(n, x); }

}  // namespace graft::kernels
