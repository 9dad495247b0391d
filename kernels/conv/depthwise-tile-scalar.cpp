// The reference channel-interleaved depthwise kernels (depthwise_tile.hpp), float and double,
// compiled for baseline x86-64.
#include "kernels/conv/depthwise-tile-body.hpp"

namespace graft::kernels {

template <class T>
void depthwise_tile_pack_scalar(const T* src, std::int64_t stride, std::int64_t count, std::int64_t lanes, T* dst) {
    depthwise_tile_body::pack(src, stride, count, lanes, dst);
}
template <class T>
void depthwise_tile_unpack_scalar(const T* src, std::int64_t count, std::int64_t lanes, T* dst, std::int64_t stride) {
    depthwise_tile_body::unpack(src, count, lanes, dst, stride);
}
template <class T>
void depthwise_tile_forward_scalar(const DepthwiseTile& t, const T* xt, const T* ft, const T* bias, T* yt) {
    depthwise_tile_body::forward(t, xt, ft, bias, yt);
}
template <class T>
void depthwise_tile_input_grad_scalar(const DepthwiseTile& t, const T* dyt, const T* ft, T* dxt) {
    depthwise_tile_body::input_grad(t, dyt, ft, dxt);
}
template <class T>
void depthwise_tile_weight_grad_scalar(const DepthwiseTile& t, const T* xt, const T* dyt, T* dft) {
    depthwise_tile_body::weight_grad(t, xt, dyt, dft);
}

template void depthwise_tile_pack_scalar<float>(const float*, std::int64_t, std::int64_t, std::int64_t, float*);
template void depthwise_tile_pack_scalar<double>(const double*, std::int64_t, std::int64_t, std::int64_t, double*);
template void depthwise_tile_unpack_scalar<float>(const float*, std::int64_t, std::int64_t, float*, std::int64_t);
template void depthwise_tile_unpack_scalar<double>(const double*, std::int64_t, std::int64_t, double*, std::int64_t);
template void depthwise_tile_forward_scalar<float>(const DepthwiseTile&, const float*, const float*, const float*,
                                                   float*);
template void depthwise_tile_forward_scalar<double>(const DepthwiseTile&, const double*, const double*, const double*,
                                                    double*);
template void depthwise_tile_input_grad_scalar<float>(const DepthwiseTile&, const float*, const float*, float*);
template void depthwise_tile_input_grad_scalar<double>(const DepthwiseTile&, const double*, const double*, double*);
template void depthwise_tile_weight_grad_scalar<float>(const DepthwiseTile&, const float*, const float*, float*);
template void depthwise_tile_weight_grad_scalar<double>(const DepthwiseTile&, const double*, const double*, double*);

}  // namespace graft::kernels
