// The channel-interleaved depthwise kernels (depthwise_tile.hpp) compiled for AVX2 (this file's name
// gives it the flags).
#include "kernels/conv/depthwise-tile-body.hpp"

namespace graft::kernels {

void f32_depthwise_tile_pack__avx2(const float* src, std::int64_t stride, std::int64_t count, std::int64_t lanes,
                                  float* dst) {
    depthwise_tile_body::pack(src, stride, count, lanes, dst);
}
void f32_depthwise_tile_unpack__avx2(const float* src, std::int64_t count, std::int64_t lanes, float* dst,
                                    std::int64_t stride) {
    depthwise_tile_body::unpack(src, count, lanes, dst, stride);
}
void f32_depthwise_tile_forward__avx2(const DepthwiseTile& t, const float* xt, const float* ft, const float* bias,
                                     float* yt) {
    depthwise_tile_body::forward(t, xt, ft, bias, yt);
}
void f32_depthwise_tile_input_grad__avx2(const DepthwiseTile& t, const float* dyt, const float* ft, float* dxt) {
    depthwise_tile_body::input_grad(t, dyt, ft, dxt);
}
void f32_depthwise_tile_weight_grad__avx2(const DepthwiseTile& t, const float* xt, const float* dyt, float* dft) {
    depthwise_tile_body::weight_grad(t, xt, dyt, dft);
}

}  // namespace graft::kernels
