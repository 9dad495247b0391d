// f32_gemm_12x32__avx512: the AVX-512 float32 GEMM micro-kernel (contract in ukernel.hpp),
// ukernel-body.hpp instantiated over the 16-lane Simd of vector/simd-avx512.hpp.
//
// A 12×32 tile of C in 24 zmm accumulators: per step of k, 2 loads of the B panel and 12
// broadcasts of the A panel folded into the FMAs ({1to16} memory operands), 24 FMAs for 2 loads,
// so the kernel runs at Zen 4's one 512-bit FMA per cycle. A row of the B panel is two cache
// lines; both are prefetched 8 steps ahead on every step.
#include "kernels/vector/simd-avx512.hpp"
#include "kernels/gemm/ukernel-body.hpp"

namespace graft::kernels {

void f32_gemm_12x32__avx512(const F32GemmTile& tile) {
    gemm_ukernel<Simd, GemmTileShape<Simd, 12, 32, /*PREFETCH_EVERY=*/1>>(tile);
}

}  // namespace graft::kernels
