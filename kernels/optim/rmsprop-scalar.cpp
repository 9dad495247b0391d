// The reference RMSprop update (float and double): torch.optim 1.13's single-tensor RMSprop,
// plain, centered and with momentum, one element at a time.
#include <cmath>

#include "kernels/optim/optim.hpp"

namespace graft::kernels {

template <class T>
void rmsprop_scalar(int64 n, T* p, const T* g, T* sq, T* avg_g, T* buf, const RmspropCoeffs<T>& coeffs) {
    const RmspropCoeffs<T> c = coeffs;  // a local copy: stores through p cannot alias it, so it stays in registers
    for (int64 i = 0; i < n; ++i) {
        T grad = c.maximize ? -g[i] : g[i];
        if (c.weight_decay != T(0)) grad = grad + c.weight_decay * p[i];
        const T s = sq[i] * c.alpha + c.one_minus_alpha * grad * grad;
        sq[i] = s;
        T avg;
        if (avg_g != nullptr) {
            const T a = avg_g[i] * c.alpha + c.one_minus_alpha * grad;
            avg_g[i] = a;
            avg = std::sqrt(s - a * a) + c.eps;
        } else {
            avg = std::sqrt(s) + c.eps;
        }
        if (buf != nullptr) {
            const T b = buf[i] * c.momentum + grad / avg;
            buf[i] = b;
            p[i] = p[i] + c.neg_lr * b;
        } else {
            p[i] = p[i] + c.neg_lr * (grad / avg);
        }
    }
}

template RmspropKernel<float> rmsprop_scalar<float>;
template RmspropKernel<double> rmsprop_scalar<double>;

}  // namespace graft::kernels
