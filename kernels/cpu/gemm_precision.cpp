// The calling thread's GEMM precision (gemm_precision.hpp).
#include "kernels/cpu/gemm_precision.hpp"

namespace graft::kernels {

namespace {
thread_local GemmPrecision tl_precision = GemmPrecision::Float32;
}  // namespace

GemmPrecision gemm_precision() { return tl_precision; }

void set_gemm_precision(GemmPrecision precision) { tl_precision = precision; }

}  // namespace graft::kernels
