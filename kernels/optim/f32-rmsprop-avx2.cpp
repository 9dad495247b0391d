// float32 RMSprop update (plain, centered, momentum, weight decay), AVX2: 8 lanes per step, FMA, masked tail.
// Same arithmetic as rmsprop_scalar (optim.hpp), rounding aside.
#include "optim/lanes-avx2.hpp"
#include "optim/optim.hpp"

namespace graft::kernels {

namespace {

struct RmspropConsts {
    explicit RmspropConsts(const RmspropCoeffs<float>& c)
        : alpha(_mm256_set1_ps(c.alpha)), one_minus_alpha(_mm256_set1_ps(c.one_minus_alpha)), eps(_mm256_set1_ps(c.eps)),
          weight_decay(_mm256_set1_ps(c.weight_decay)), momentum(_mm256_set1_ps(c.momentum)), neg_lr(_mm256_set1_ps(c.neg_lr)),
          sign(sign_mask8(c.maximize)), has_weight_decay(c.weight_decay != 0.0f) {}
    __m256 alpha, one_minus_alpha, eps, weight_decay, momentum, neg_lr, sign;
    bool has_weight_decay;
};

template <class Mem>
inline void rmsprop8(const Mem& mem, const RmspropConsts& k, float* p, const float* g, float* sq, float* avg_g,
                      float* buf) {
    const __m256 param = mem.load(p);
    __m256 grad = _mm256_xor_ps(mem.load(g), k.sign);
    if (k.has_weight_decay) grad = _mm256_fmadd_ps(k.weight_decay, param, grad);
    const __m256 s = _mm256_fmadd_ps(mem.load(sq), k.alpha, _mm256_mul_ps(_mm256_mul_ps(k.one_minus_alpha, grad), grad));
    mem.store(sq, s);
    __m256 avg;
    if (avg_g != nullptr) {
        const __m256 a = _mm256_fmadd_ps(mem.load(avg_g), k.alpha, _mm256_mul_ps(k.one_minus_alpha, grad));
        mem.store(avg_g, a);
        avg = _mm256_add_ps(_mm256_sqrt_ps(_mm256_fnmadd_ps(a, a, s)), k.eps);
    } else {
        avg = _mm256_add_ps(_mm256_sqrt_ps(s), k.eps);
    }
    const __m256 step = _mm256_div_ps(grad, avg);
    if (buf != nullptr) {
        const __m256 b = _mm256_fmadd_ps(mem.load(buf), k.momentum, step);
        mem.store(buf, b);
        mem.store(p, _mm256_fmadd_ps(k.neg_lr, b, param));
    } else {
        mem.store(p, _mm256_fmadd_ps(k.neg_lr, step, param));
    }
}

}  // namespace

void f32_rmsprop__avx2(int64 n, float* p, const float* g, float* sq, float* avg_g, float* buf,
                       const RmspropCoeffs<float>& c) {
    const RmspropConsts k(c);
    int64 i = 0;
    for (; i + 8 <= n; i += 8)
        rmsprop8(Full8{}, k, p + i, g + i, sq + i, avg_g ? avg_g + i : nullptr, buf ? buf + i : nullptr);
    if (i < n) rmsprop8(Tail8(n - i), k, p + i, g + i, sq + i, avg_g ? avg_g + i : nullptr, buf ? buf + i : nullptr);
}

}  // namespace graft::kernels
