// float32 RMSprop update (plain, centered, momentum, weight decay), AVX512: 16 lanes per step, FMA, masked tail.
// Same arithmetic as rmsprop_scalar (optim.hpp), rounding aside.
#include "optim/lanes-avx512.hpp"
#include "optim/optim.hpp"

namespace graft::kernels {

namespace {

struct RmspropConsts {
    explicit RmspropConsts(const RmspropCoeffs<float>& c)
        : alpha(_mm512_set1_ps(c.alpha)), one_minus_alpha(_mm512_set1_ps(c.one_minus_alpha)), eps(_mm512_set1_ps(c.eps)),
          weight_decay(_mm512_set1_ps(c.weight_decay)), momentum(_mm512_set1_ps(c.momentum)), neg_lr(_mm512_set1_ps(c.neg_lr)),
          sign(sign_mask16(c.maximize)), has_weight_decay(c.weight_decay != 0.0f) {}
    __m512 alpha, one_minus_alpha, eps, weight_decay, momentum, neg_lr, sign;
    bool has_weight_decay;
};

template <class Mem>
inline void rmsprop16(const Mem& mem, const RmspropConsts& k, float* p, const float* g, float* sq, float* avg_g,
                      float* buf) {
    const __m512 param = mem.load(p);
    __m512 grad = _mm512_xor_ps(mem.load(g), k.sign);
    if (k.has_weight_decay) grad = _mm512_fmadd_ps(k.weight_decay, param, grad);
    const __m512 s = _mm512_fmadd_ps(mem.load(sq), k.alpha, _mm512_mul_ps(_mm512_mul_ps(k.one_minus_alpha, grad), grad));
    mem.store(sq, s);
    __m512 avg;
    if (avg_g != nullptr) {
        const __m512 a = _mm512_fmadd_ps(mem.load(avg_g), k.alpha, _mm512_mul_ps(k.one_minus_alpha, grad));
        mem.store(avg_g, a);
        avg = _mm512_add_ps(_mm512_sqrt_ps(_mm512_fnmadd_ps(a, a, s)), k.eps);
    } else {
        avg = _mm512_add_ps(_mm512_sqrt_ps(s), k.eps);
    }
    const __m512 step = _mm512_div_ps(grad, avg);
    if (buf != nullptr) {
        const __m512 b = _mm512_fmadd_ps(mem.load(buf), k.momentum, step);
        mem.store(buf, b);
        mem.store(p, _mm512_fmadd_ps(k.neg_lr, b, param));
    } else {
        mem.store(p, _mm512_fmadd_ps(k.neg_lr, step, param));
    }
}

}  // namespace

void f32_rmsprop__avx512(int64 n, float* p, const float* g, float* sq, float* avg_g, float* buf,
                       const RmspropCoeffs<float>& c) {
    const RmspropConsts k(c);
    int64 i = 0;
    for (; i + 16 <= n; i += 16)
        rmsprop16(Full16{}, k, p + i, g + i, sq + i, avg_g ? avg_g + i : nullptr, buf ? buf + i : nullptr);
    if (i < n) rmsprop16(Tail16(n - i), k, p + i, g + i, sq + i, avg_g ? avg_g + i : nullptr, buf ? buf + i : nullptr);
}

}  // namespace graft::kernels
