// float32 Adam/AdamW update, AVX-512: 16 lanes per step, FMA, masked tail. Same arithmetic as
// adam_scalar (optim.hpp), rounding aside.
#include "optim/lanes-avx512.hpp"
#include "optim/optim.hpp"

namespace graft::kernels {

namespace {

struct AdamConsts {
    explicit AdamConsts(const AdamCoeffs<float>& c)
        : beta1(_mm512_set1_ps(c.beta1)), beta2(_mm512_set1_ps(c.beta2)),
          one_minus_beta1(_mm512_set1_ps(c.one_minus_beta1)), one_minus_beta2(_mm512_set1_ps(c.one_minus_beta2)),
          l2(_mm512_set1_ps(c.l2)), decay(_mm512_set1_ps(c.decay)), neg_step_size(_mm512_set1_ps(c.neg_step_size)),
          bias_correction2_sqrt(_mm512_set1_ps(c.bias_correction2_sqrt)), eps(_mm512_set1_ps(c.eps)),
          sign(sign_mask16(c.maximize)), has_l2(c.l2 != 0.0f) {}
    __m512 beta1, beta2, one_minus_beta1, one_minus_beta2, l2, decay, neg_step_size, bias_correction2_sqrt, eps, sign;
    bool has_l2;
};

template <class Mem>
inline void adam16(const Mem& mem, const AdamConsts& k, float* p, const float* g, float* m, float* v, float* vmax) {
    __m512 grad = _mm512_xor_ps(mem.load(g), k.sign);
    __m512 param = mem.load(p);
    if (k.has_l2) grad = _mm512_fmadd_ps(k.l2, param, grad);
    param = _mm512_mul_ps(param, k.decay);
    const __m512 mi = _mm512_fmadd_ps(mem.load(m), k.beta1, _mm512_mul_ps(k.one_minus_beta1, grad));
    const __m512 vi = _mm512_fmadd_ps(mem.load(v), k.beta2, _mm512_mul_ps(_mm512_mul_ps(k.one_minus_beta2, grad), grad));
    mem.store(m, mi);
    mem.store(v, vi);
    __m512 second = vi;
    if (vmax != nullptr) {
        second = _mm512_max_ps(vi, mem.load(vmax));
        mem.store(vmax, second);
    }
    const __m512 denom = _mm512_add_ps(_mm512_div_ps(_mm512_sqrt_ps(second), k.bias_correction2_sqrt), k.eps);
    mem.store(p, _mm512_fmadd_ps(k.neg_step_size, _mm512_div_ps(mi, denom), param));
}

}  // namespace

void f32_adam__avx512(int64 n, float* p, const float* g, float* m, float* v, float* vmax,
                      const AdamCoeffs<float>& c) {
    const AdamConsts k(c);
    int64 i = 0;
    for (; i + 16 <= n; i += 16) adam16(Full16{}, k, p + i, g + i, m + i, v + i, vmax ? vmax + i : nullptr);
    if (i < n) adam16(Tail16(n - i), k, p + i, g + i, m + i, v + i, vmax ? vmax + i : nullptr);
}

}  // namespace graft::kernels
