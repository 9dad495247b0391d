// float32 SGD update (momentum, dampening, Nesterov, weight decay), AVX512: 16 lanes per step, FMA, masked tail.
// Same arithmetic as sgd_scalar (optim.hpp), rounding aside.
#include "optim/lanes-avx512.hpp"
#include "optim/optim.hpp"

namespace graft::kernels {

namespace {

struct SgdConsts {
    explicit SgdConsts(const SgdCoeffs<float>& c)
        : neg_lr(_mm512_set1_ps(c.neg_lr)), weight_decay(_mm512_set1_ps(c.weight_decay)), momentum(_mm512_set1_ps(c.momentum)),
          one_minus_dampening(_mm512_set1_ps(c.one_minus_dampening)), sign(sign_mask16(c.maximize)),
          has_weight_decay(c.weight_decay != 0.0f), nesterov(c.nesterov), init_buffer(c.init_buffer) {}
    __m512 neg_lr, weight_decay, momentum, one_minus_dampening, sign;
    bool has_weight_decay, nesterov, init_buffer;
};

template <class Mem>
inline void sgd16(const Mem& mem, const SgdConsts& k, float* p, const float* g, float* buf) {
    const __m512 param = mem.load(p);
    __m512 d = _mm512_xor_ps(mem.load(g), k.sign);
    if (k.has_weight_decay) d = _mm512_fmadd_ps(k.weight_decay, param, d);
    if (buf != nullptr) {
        const __m512 b = k.init_buffer ? d : _mm512_fmadd_ps(mem.load(buf), k.momentum, _mm512_mul_ps(k.one_minus_dampening, d));
        mem.store(buf, b);
        d = k.nesterov ? _mm512_fmadd_ps(k.momentum, b, d) : b;
    }
    mem.store(p, _mm512_fmadd_ps(k.neg_lr, d, param));
}

}  // namespace

void f32_sgd__avx512(int64 n, float* p, const float* g, float* buf, const SgdCoeffs<float>& c) {
    const SgdConsts k(c);
    int64 i = 0;
    for (; i + 16 <= n; i += 16) sgd16(Full16{}, k, p + i, g + i, buf ? buf + i : nullptr);
    if (i < n) sgd16(Tail16(n - i), k, p + i, g + i, buf ? buf + i : nullptr);
}

}  // namespace graft::kernels
