// f32_gemm_6x16__avx2: the AVX2+FMA float32 GEMM micro-kernel (contract in ukernel.hpp),
// ukernel-body.hpp instantiated over the 8-lane Simd of vector/simd-avx2.hpp.
//
// A 6×16 tile of C in 12 ymm accumulators: per step of k, 2 loads of the B panel, 6 broadcasts
// of the A panel and 12 FMAs, enough independent chains to fill two 256-bit FMA pipes at 4-cycle
// latency. A row of the B panel is one cache line; it is prefetched 8 steps ahead on every other
// step (the hardware prefetcher follows the contiguous panel).
#include "kernels/vector/simd-avx2.hpp"
#include "kernels/gemm/ukernel-body.hpp"

namespace graft::kernels {

void f32_gemm_6x16__avx2(const F32GemmTile& tile) {
    gemm_ukernel<Simd, GemmTileShape<Simd, 6, 16, /*PREFETCH_EVERY=*/2>>(tile);
}

}  // namespace graft::kernels
