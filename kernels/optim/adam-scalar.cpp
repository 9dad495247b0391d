// The reference Adam/AdamW update (float and double): torch.optim 1.13's single-tensor Adam,
// one element at a time. Every float32 variant is tested against it.
#include <algorithm>
#include <cmath>

#include "kernels/optim/optim.hpp"

namespace graft::kernels {

template <class T>
void adam_scalar(int64 n, T* p, const T* g, T* m, T* v, T* vmax, const AdamCoeffs<T>& coeffs) {
    const AdamCoeffs<T> c = coeffs;  // a local copy: stores through p cannot alias it, so it stays in registers
    for (int64 i = 0; i < n; ++i) {
        T grad = c.maximize ? -g[i] : g[i];
        T param = p[i];
        if (c.l2 != T(0)) grad = grad + c.l2 * param;
        param = param * c.decay;
        const T mi = m[i] * c.beta1 + c.one_minus_beta1 * grad;
        const T vi = v[i] * c.beta2 + c.one_minus_beta2 * grad * grad;
        m[i] = mi;
        v[i] = vi;
        T second = vi;
        if (vmax != nullptr) {
            second = std::max(vmax[i], vi);
            vmax[i] = second;
        }
        const T denom = std::sqrt(second) / c.bias_correction2_sqrt + c.eps;
        p[i] = param + c.neg_step_size * (mi / denom);
    }
}

template AdamKernel<float> adam_scalar<float>;
template AdamKernel<double> adam_scalar<double>;

}  // namespace graft::kernels
