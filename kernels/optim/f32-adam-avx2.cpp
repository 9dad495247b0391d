// float32 Adam/AdamW update, AVX2+FMA: 8 lanes per step, masked tail. Same arithmetic as
// adam_scalar (optim.hpp), rounding aside.
#include "optim/lanes-avx2.hpp"
#include "optim/optim.hpp"

namespace graft::kernels {

namespace {

struct AdamConsts {
    explicit AdamConsts(const AdamCoeffs<float>& c)
        : beta1(_mm256_set1_ps(c.beta1)), beta2(_mm256_set1_ps(c.beta2)),
          one_minus_beta1(_mm256_set1_ps(c.one_minus_beta1)), one_minus_beta2(_mm256_set1_ps(c.one_minus_beta2)),
          l2(_mm256_set1_ps(c.l2)), decay(_mm256_set1_ps(c.decay)), neg_step_size(_mm256_set1_ps(c.neg_step_size)),
          bias_correction2_sqrt(_mm256_set1_ps(c.bias_correction2_sqrt)), eps(_mm256_set1_ps(c.eps)),
          sign(sign_mask8(c.maximize)), has_l2(c.l2 != 0.0f) {}
    __m256 beta1, beta2, one_minus_beta1, one_minus_beta2, l2, decay, neg_step_size, bias_correction2_sqrt, eps, sign;
    bool has_l2;
};

template <class Mem>
inline void adam8(const Mem& mem, const AdamConsts& k, float* p, const float* g, float* m, float* v, float* vmax) {
    __m256 grad = _mm256_xor_ps(mem.load(g), k.sign);
    __m256 param = mem.load(p);
    if (k.has_l2) grad = _mm256_fmadd_ps(k.l2, param, grad);
    param = _mm256_mul_ps(param, k.decay);
    const __m256 mi = _mm256_fmadd_ps(mem.load(m), k.beta1, _mm256_mul_ps(k.one_minus_beta1, grad));
    const __m256 vi = _mm256_fmadd_ps(mem.load(v), k.beta2, _mm256_mul_ps(_mm256_mul_ps(k.one_minus_beta2, grad), grad));
    mem.store(m, mi);
    mem.store(v, vi);
    __m256 second = vi;
    if (vmax != nullptr) {
        second = _mm256_max_ps(vi, mem.load(vmax));
        mem.store(vmax, second);
    }
    const __m256 denom = _mm256_add_ps(_mm256_div_ps(_mm256_sqrt_ps(second), k.bias_correction2_sqrt), k.eps);
    mem.store(p, _mm256_fmadd_ps(k.neg_step_size, _mm256_div_ps(mi, denom), param));
}

}  // namespace

void f32_adam__avx2(int64 n, float* p, const float* g, float* m, float* v, float* vmax, const AdamCoeffs<float>& c) {
    const AdamConsts k(c);
    int64 i = 0;
    for (; i + 8 <= n; i += 8) adam8(Full8{}, k, p + i, g + i, m + i, v + i, vmax ? vmax + i : nullptr);
    if (i < n) adam8(Tail8(n - i), k, p + i, g + i, m + i, v + i, vmax ? vmax + i : nullptr);
}

}  // namespace graft::kernels
