// The reference depthwise plane kernels (depthwise.hpp), float and double, compiled for baseline
// x86-64.
#include "kernels/conv/depthwise-body.hpp"

namespace graft::kernels {

template <class T>
void depthwise_forward_scalar(const DepthwisePlane& p, const T* xp, const T* f, T bias, T* yw) {
    depthwise_body::forward(p, xp, f, bias, yw);
}
template <class T>
void depthwise_input_grad_scalar(const DepthwisePlane& p, const T* dyw, const T* f, T* dxp) {
    depthwise_body::input_grad(p, dyw, f, dxp);
}
template <class T>
void depthwise_weight_grad_scalar(const DepthwisePlane& p, const T* xp, const T* dyw, T* df) {
    depthwise_body::weight_grad(p, xp, dyw, df);
}

template void depthwise_forward_scalar<float>(const DepthwisePlane&, const float*, const float*, float, float*);
template void depthwise_forward_scalar<double>(const DepthwisePlane&, const double*, const double*, double, double*);
template void depthwise_input_grad_scalar<float>(const DepthwisePlane&, const float*, const float*, float*);
template void depthwise_input_grad_scalar<double>(const DepthwisePlane&, const double*, const double*, double*);
template void depthwise_weight_grad_scalar<float>(const DepthwisePlane&, const float*, const float*, float*);
template void depthwise_weight_grad_scalar<double>(const DepthwisePlane&, const double*, const double*, double*);

}  // namespace graft::kernels
