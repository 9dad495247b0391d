// Internal: the precision the float32 GEMMs of the calling thread compute in.
//
//   set_gemm_precision(GemmPrecision::BFloat16);   // AutocastGuard (graft/autocast.hpp) does this
//   sgemm(...);                                    // operands rounded to bf16, fp32 accumulation
//
// A thread-local setting, like autograd's grad mode: sgemm and sgemm_batched read it on the
// calling thread (kernels/gemm/gemm.hpp), and parallel_region hands the caller's setting to every
// thread of its team, so a GEMM issued from a worker (the attention driver's tiles) follows the
// thread that opened the region. Nothing else in kernels/ reads it.
#pragma once

#include <cstdint>

namespace graft::kernels {

/// What the float32 GEMMs compute in: float32 throughout, or bf16 products with fp32 accumulation.
enum class GemmPrecision : std::uint8_t { Float32, BFloat16 };

/// The calling thread's GEMM precision (Float32 unless set).
GemmPrecision gemm_precision();

/// Sets the calling thread's GEMM precision.
void set_gemm_precision(GemmPrecision precision);

}  // namespace graft::kernels
