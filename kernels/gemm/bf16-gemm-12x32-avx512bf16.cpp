// bf16_gemm_12x32__avx512bf16: the bf16 GEMM micro-kernel on AVX512_BF16 (contract in ukernel.hpp,
// panels of bf16 pairs as bf16_gemm.hpp lays them out), ukernel-body.hpp instantiated over the
// 16-lane Simd of vector/simd-avx512.hpp with the product replaced by vdpbf16ps.
//
// Each 32-bit element of the A and B panels holds two bf16 values of consecutive k (the even k in
// the low half), so one step of the body covers two steps of k: the A pair is broadcast to all 16
// lanes and vdpbf16ps adds a0·b0 + a1·b1 to each fp32 accumulator. The tile (12×32 in 24 zmm),
// the prefetches and the fp32 epilogue are the fp32 kernel's. vdpbf16ps treats subnormal inputs
// as zero and flushes subnormal results (the instruction's definition).
#include "kernels/vector/simd-avx512.hpp"
#include "kernels/gemm/ukernel-body.hpp"

namespace graft::kernels {
namespace {

/// The fp32 kernel's 12×32 tile with the pair dot product as the step's product.
struct Bf16PairTile : GemmTileShape<Simd, 12, 32, /*PREFETCH_EVERY=*/1> {
    [[gnu::always_inline]] static __m512 madd(__m512 a, __m512 b, __m512 acc) {
        return _mm512_dpbf16_ps(acc, reinterpret_cast<__m512bh&>(a), reinterpret_cast<__m512bh&>(b));
    }
};

}  // namespace

void bf16_gemm_12x32__avx512bf16(const F32GemmTile& tile) { gemm_ukernel<Simd, Bf16PairTile>(tile); }

}  // namespace graft::kernels
