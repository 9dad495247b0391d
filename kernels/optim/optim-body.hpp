// Internal: the float32 optimizer update kernels (Adam/AdamW, SGD, RMSprop) written once over a
// lane type S from kernels/vector (simd-avx2.hpp or simd-avx512.hpp, included first), walking the
// arrays with for_lanes (full vectors, then one masked tail). The arithmetic is the scalar
// references' (optim.hpp) with FMA, so the variants differ from them only by rounding.
#pragma once

#include "kernels/optim/optim.hpp"
#include "kernels/vector/lanes.hpp"

namespace graft::kernels {
namespace {

/// −0 flips a sign with xor (maximize), +0 leaves it.
template <class S>
typename S::V sign_flip(bool maximize) {
    return S::set1(maximize ? -0.0f : 0.0f);
}

template <class S>
void adam_kernel(int64 n, float* p, const float* g, float* m, float* v, float* vmax, const AdamCoeffs<float>& c) {
    using V = typename S::V;
    const V beta1 = S::set1(c.beta1), beta2 = S::set1(c.beta2), one_minus_beta1 = S::set1(c.one_minus_beta1),
            one_minus_beta2 = S::set1(c.one_minus_beta2), l2 = S::set1(c.l2), decay = S::set1(c.decay),
            neg_step_size = S::set1(c.neg_step_size), bias_correction2_sqrt = S::set1(c.bias_correction2_sqrt),
            eps = S::set1(c.eps), sign = sign_flip<S>(c.maximize);
    const bool has_l2 = c.l2 != 0.0f;
    for_lanes<S>(n, [&](int64 i, const auto& lanes) {
        V grad = S::xor_bits(lanes.load(g + i), sign);
        V param = lanes.load(p + i);
        if (has_l2) grad = S::fmadd(l2, param, grad);
        param = S::mul(param, decay);
        const V mi = S::fmadd(lanes.load(m + i), beta1, S::mul(one_minus_beta1, grad));
        const V vi = S::fmadd(lanes.load(v + i), beta2, S::mul(S::mul(one_minus_beta2, grad), grad));
        lanes.store(m + i, mi);
        lanes.store(v + i, vi);
        V second = vi;
        if (vmax != nullptr) {
            second = S::max(vi, lanes.load(vmax + i));
            lanes.store(vmax + i, second);
        }
        const V denom = S::add(S::div(S::sqrt(second), bias_correction2_sqrt), eps);
        lanes.store(p + i, S::fmadd(neg_step_size, S::div(mi, denom), param));
    });
}

template <class S>
void sgd_kernel(int64 n, float* p, const float* g, float* buf, const SgdCoeffs<float>& c) {
    using V = typename S::V;
    const V neg_lr = S::set1(c.neg_lr), weight_decay = S::set1(c.weight_decay), momentum = S::set1(c.momentum),
            one_minus_dampening = S::set1(c.one_minus_dampening), sign = sign_flip<S>(c.maximize);
    const bool has_weight_decay = c.weight_decay != 0.0f;
    for_lanes<S>(n, [&](int64 i, const auto& lanes) {
        const V param = lanes.load(p + i);
        V d = S::xor_bits(lanes.load(g + i), sign);
        if (has_weight_decay) d = S::fmadd(weight_decay, param, d);
        if (buf != nullptr) {
            const V b = c.init_buffer ? d : S::fmadd(lanes.load(buf + i), momentum, S::mul(one_minus_dampening, d));
            lanes.store(buf + i, b);
            d = c.nesterov ? S::fmadd(momentum, b, d) : b;
        }
        lanes.store(p + i, S::fmadd(neg_lr, d, param));
    });
}

template <class S>
void rmsprop_kernel(int64 n, float* p, const float* g, float* sq, float* avg_g, float* buf,
                    const RmspropCoeffs<float>& c) {
    using V = typename S::V;
    const V alpha = S::set1(c.alpha), one_minus_alpha = S::set1(c.one_minus_alpha), eps = S::set1(c.eps),
            weight_decay = S::set1(c.weight_decay), momentum = S::set1(c.momentum), neg_lr = S::set1(c.neg_lr),
            sign = sign_flip<S>(c.maximize);
    const bool has_weight_decay = c.weight_decay != 0.0f;
    for_lanes<S>(n, [&](int64 i, const auto& lanes) {
        const V param = lanes.load(p + i);
        V grad = S::xor_bits(lanes.load(g + i), sign);
        if (has_weight_decay) grad = S::fmadd(weight_decay, param, grad);
        const V s = S::fmadd(lanes.load(sq + i), alpha, S::mul(S::mul(one_minus_alpha, grad), grad));
        lanes.store(sq + i, s);
        V avg;
        if (avg_g != nullptr) {
            const V a = S::fmadd(lanes.load(avg_g + i), alpha, S::mul(one_minus_alpha, grad));
            lanes.store(avg_g + i, a);
            avg = S::add(S::sqrt(S::fnmadd(a, a, s)), eps);
        } else {
            avg = S::add(S::sqrt(s), eps);
        }
        const V step = S::div(grad, avg);
        if (buf != nullptr) {
            const V b = S::fmadd(lanes.load(buf + i), momentum, step);
            lanes.store(buf + i, b);
            lanes.store(p + i, S::fmadd(neg_lr, b, param));
        } else {
            lanes.store(p + i, S::fmadd(neg_lr, step, param));
        }
    });
}

}  // namespace
}  // namespace graft::kernels
