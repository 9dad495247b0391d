// The depthwise plane kernels (depthwise.hpp) compiled for AVX2 (this file's name gives it the flags).
#include "kernels/conv/depthwise-body.hpp"

namespace graft::kernels {

void f32_depthwise_forward__avx2(const DepthwisePlane& p, const float* xp, const float* f, float bias, float* yw) {
    depthwise_body::forward(p, xp, f, bias, yw);
}
void f32_depthwise_input_grad__avx2(const DepthwisePlane& p, const float* dyw, const float* f, float* dxp) {
    depthwise_body::input_grad(p, dyw, f, dxp);
}
void f32_depthwise_weight_grad__avx2(const DepthwisePlane& p, const float* xp, const float* dyw, float* df) {
    depthwise_body::weight_grad(p, xp, dyw, df);
}

}  // namespace graft::kernels
