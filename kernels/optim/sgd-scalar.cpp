// The reference SGD update (float and double): torch.optim 1.13's single-tensor SGD with
// momentum, dampening, Nesterov and weight decay, one element at a time.
#include "kernels/optim/optim.hpp"

namespace graft::kernels {

template <class T>
void sgd_scalar(int64 n, T* p, const T* g, T* buf, const SgdCoeffs<T>& coeffs) {
    const SgdCoeffs<T> c = coeffs;  // a local copy: stores through p cannot alias it, so it stays in registers
    for (int64 i = 0; i < n; ++i) {
        T d = c.maximize ? -g[i] : g[i];
        if (c.weight_decay != T(0)) d = d + c.weight_decay * p[i];
        if (buf != nullptr) {
            const T b = c.init_buffer ? d : buf[i] * c.momentum + c.one_minus_dampening * d;
            buf[i] = b;
            d = c.nesterov ? d + c.momentum * b : b;
        }
        p[i] = p[i] + c.neg_lr * d;
    }
}

template SgdKernel<float> sgd_scalar<float>;
template SgdKernel<double> sgd_scalar<double>;

}  // namespace graft::kernels
