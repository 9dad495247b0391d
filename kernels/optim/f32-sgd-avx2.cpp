// float32 SGD update (momentum, dampening, Nesterov, weight decay), AVX2: 8 lanes per step, FMA, masked tail.
// Same arithmetic as sgd_scalar (optim.hpp), rounding aside.
#include "optim/lanes-avx2.hpp"
#include "optim/optim.hpp"

namespace graft::kernels {

namespace {

struct SgdConsts {
    explicit SgdConsts(const SgdCoeffs<float>& c)
        : neg_lr(_mm256_set1_ps(c.neg_lr)), weight_decay(_mm256_set1_ps(c.weight_decay)), momentum(_mm256_set1_ps(c.momentum)),
          one_minus_dampening(_mm256_set1_ps(c.one_minus_dampening)), sign(sign_mask8(c.maximize)),
          has_weight_decay(c.weight_decay != 0.0f), nesterov(c.nesterov), init_buffer(c.init_buffer) {}
    __m256 neg_lr, weight_decay, momentum, one_minus_dampening, sign;
    bool has_weight_decay, nesterov, init_buffer;
};

template <class Mem>
inline void sgd8(const Mem& mem, const SgdConsts& k, float* p, const float* g, float* buf) {
    const __m256 param = mem.load(p);
    __m256 d = _mm256_xor_ps(mem.load(g), k.sign);
    if (k.has_weight_decay) d = _mm256_fmadd_ps(k.weight_decay, param, d);
    if (buf != nullptr) {
        const __m256 b = k.init_buffer ? d : _mm256_fmadd_ps(mem.load(buf), k.momentum, _mm256_mul_ps(k.one_minus_dampening, d));
        mem.store(buf, b);
        d = k.nesterov ? _mm256_fmadd_ps(k.momentum, b, d) : b;
    }
    mem.store(p, _mm256_fmadd_ps(k.neg_lr, d, param));
}

}  // namespace

void f32_sgd__avx2(int64 n, float* p, const float* g, float* buf, const SgdCoeffs<float>& c) {
    const SgdConsts k(c);
    int64 i = 0;
    for (; i + 8 <= n; i += 8) sgd8(Full8{}, k, p + i, g + i, buf ? buf + i : nullptr);
    if (i < n) sgd8(Tail8(n - i), k, p + i, g + i, buf ? buf + i : nullptr);
}

}  // namespace graft::kernels
