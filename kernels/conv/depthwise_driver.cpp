// The depthwise plane kernels' variant table (depthwise.hpp). Compiled for baseline x86-64; the
// caller only calls into an ISA's file once cpu_features allows it.
#include "kernels/conv/depthwise.hpp"

namespace graft::kernels {

namespace {

// Narrowest first: f32_depthwise_variant takes the last one the ISA runs.
const F32DepthwiseVariant kVariants[] = {
    {"scalar", Isa::Scalar, depthwise_forward_scalar<float>, depthwise_input_grad_scalar<float>,
     depthwise_weight_grad_scalar<float>},
    {"avx2", Isa::Avx2, f32_depthwise_forward__avx2, f32_depthwise_input_grad__avx2, f32_depthwise_weight_grad__avx2},
    {"avx512", Isa::Avx512, f32_depthwise_forward__avx512, f32_depthwise_input_grad__avx512,
     f32_depthwise_weight_grad__avx512},
};

}  // namespace

const F32DepthwiseVariant& f32_depthwise_variant(Isa isa) {
    const F32DepthwiseVariant* best = &kVariants[0];
    for (const F32DepthwiseVariant& v : kVariants)
        if (v.isa <= isa) best = &v;
    return *best;
}

}  // namespace graft::kernels
