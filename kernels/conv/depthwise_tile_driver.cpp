// The channel-interleaved depthwise kernels' variant table (depthwise_tile.hpp). Compiled for
// baseline x86-64; the caller only calls into an ISA's file once cpu_features allows it.
#include "kernels/conv/depthwise_tile.hpp"

namespace graft::kernels {

namespace {

// Narrowest first: f32_depthwise_tile_variant takes the last one the ISA runs.
const F32DepthwiseTileVariant kVariants[] = {
    {"scalar", Isa::Scalar, depthwise_tile_pack_scalar<float>, depthwise_tile_unpack_scalar<float>,
     depthwise_tile_forward_scalar<float>, depthwise_tile_input_grad_scalar<float>,
     depthwise_tile_weight_grad_scalar<float>},
    {"avx2", Isa::Avx2, f32_depthwise_tile_pack__avx2, f32_depthwise_tile_unpack__avx2,
     f32_depthwise_tile_forward__avx2, f32_depthwise_tile_input_grad__avx2, f32_depthwise_tile_weight_grad__avx2},
    {"avx512", Isa::Avx512, f32_depthwise_tile_pack__avx512, f32_depthwise_tile_unpack__avx512,
     f32_depthwise_tile_forward__avx512, f32_depthwise_tile_input_grad__avx512,
     f32_depthwise_tile_weight_grad__avx512},
};

}  // namespace

const F32DepthwiseTileVariant& f32_depthwise_tile_variant(Isa isa) {
    const F32DepthwiseTileVariant* best = &kVariants[0];
    for (const F32DepthwiseTileVariant& v : kVariants)
        if (v.isa <= isa) best = &v;
    return *best;
}

}  // namespace graft::kernels
