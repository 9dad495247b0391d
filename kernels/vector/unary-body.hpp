// Internal: the float32 elementwise kernels and their gradients, written once over a lane type S
// (simd-avx2.hpp / simd-avx512.hpp) and instantiated by f32-unary-avx2.cpp / -avx512.cpp.
//   log:     x = m·2^e, m folded into [√½, √2), Cephes' logf polynomial on m − 1, e·ln2 added
//            in two parts; 0 → −inf, negative → NaN, inf → inf.
//   tanh:    |x| < 0.625: Cephes' odd polynomial; beyond, 1 − 2/(e^{2|x|} + 1) with x's sign.
//   sigmoid: 1/(1 + e) or e/(1 + e) with e = exp(−|x|): no overflow, full relative accuracy.
//   gelu, gelu_tanh and exp: f32-activation-*.hpp's (shared with the GEMM epilogue).
#pragma once

#include <limits>

#include "kernels/vector/lanes.hpp"
#include "kernels/vector/vector.hpp"

namespace graft::kernels {
namespace {

template <class S>
struct UnaryMath {
    using V = typename S::V;

    static V log(V x) {
        V m, e;
        S::split_exponent(x, m, e);
        const auto above = S::ge(m, S::set1(1.41421356237f));
        m = S::select(above, S::mul(m, S::set1(0.5f)), m);
        e = S::select(above, S::add(e, S::set1(1.f)), e);
        const V f = S::sub(m, S::set1(1.f));
        const V z = S::mul(f, f);
        V p = S::set1(7.0376836292e-2f);
        p = S::fmadd(p, f, S::set1(-1.1514610310e-1f));
        p = S::fmadd(p, f, S::set1(1.1676998740e-1f));
        p = S::fmadd(p, f, S::set1(-1.2420140846e-1f));
        p = S::fmadd(p, f, S::set1(1.4249322787e-1f));
        p = S::fmadd(p, f, S::set1(-1.6668057665e-1f));
        p = S::fmadd(p, f, S::set1(2.0000714765e-1f));
        p = S::fmadd(p, f, S::set1(-2.4999993993e-1f));
        p = S::fmadd(p, f, S::set1(3.3333331174e-1f));
        V y = S::mul(S::mul(f, z), p);
        y = S::fmadd(e, S::set1(-2.12194440e-4f), y);
        y = S::fnmadd(z, S::set1(0.5f), y);
        V r = S::fmadd(e, S::set1(0.693359375f), S::add(f, y));
        const V zero = S::set1(0.f);
        r = S::select(S::eq(x, zero), S::set1(-std::numeric_limits<float>::infinity()), r);
        r = S::select(S::lt(x, zero), S::set1(std::numeric_limits<float>::quiet_NaN()), r);
        r = S::select(S::eq(x, S::set1(std::numeric_limits<float>::infinity())), x, r);
        return S::select(S::is_nan(x), x, r);
    }

    static V tanh(V x) {
        const V a = S::abs(x);
        const V z = S::mul(x, x);
        V p = S::set1(-5.70498872745e-3f);
        p = S::fmadd(p, z, S::set1(2.06390887954e-2f));
        p = S::fmadd(p, z, S::set1(-5.37397155531e-2f));
        p = S::fmadd(p, z, S::set1(1.33314422036e-1f));
        p = S::fmadd(p, z, S::set1(-3.33332819422e-1f));
        const V small = S::fmadd(S::mul(x, z), p, x);
        const V e = S::exp(S::add(a, a));  // inf for large |x|: 2/inf = 0
        const V large = S::fnmadd(S::set1(2.f), S::div(S::set1(1.f), S::add(e, S::set1(1.f))), S::set1(1.f));
        return S::select(S::lt(a, S::set1(0.625f)), small, S::xor_bits(large, S::sign_bits(x)));
    }

    static V sigmoid(V x) {
        const V e = S::exp(S::sub(S::set1(0.f), S::abs(x)));
        const V r = S::div(S::set1(1.f), S::add(S::set1(1.f), e));
        return S::select(S::ge(x, S::set1(0.f)), r, S::mul(e, r));
    }

    /// Φ(x) + x·φ(x); beyond |x| = 20 it is 0 or 1 in float. φ and erfc(|x|/√2) share exp(−x²/2).
    static V gelu_grad(V x) {
        const V c = S::min(S::set1(20.f), S::max(S::set1(-20.f), x));
        const V e = S::exp(S::mul(S::set1(-0.5f), S::mul(c, c)));
        const V half_erfc = S::mul(S::mul(S::set1(0.5f), e), S::erfc_scaled(S::mul(S::abs(c), S::set1(0.70710678118654752f))));
        const V cdf = S::select(S::ge(c, S::set1(0.f)), S::sub(S::set1(1.f), half_erfc), half_erfc);
        return S::fmadd(c, S::mul(S::set1(0.39894228040143268f), e), cdf);
    }

    /// s + 2x·s(1 − s)·√(2/π)(1 + 3·0.044715x²), s = σ(2u) = ½(1 + tanh u) = 1/(1 + e), e = exp(−2u),
    /// with 1 − s taken as e·s (no cancellation where s is near 1).
    static V gelu_tanh_grad(V x) {
        const V c = S::min(S::set1(20.f), S::max(S::set1(-20.f), x));
        const V c2 = S::mul(c, c);
        const V u2 = S::mul(S::fmadd(S::mul(c2, c), S::set1(0.044715f), c), S::set1(1.59576912160573071f));
        const V e = S::exp(S::sub(S::set1(0.f), u2));
        const V s = S::div(S::set1(1.f), S::add(S::set1(1.f), e));
        const V du = S::mul(S::set1(1.59576912160573071f), S::fmadd(c2, S::set1(3.f * 0.044715f), S::set1(1.f)));
        // e = inf where s = 0: the product is then 0·inf, so take the limit 0 instead.
        const V tail = S::select(S::lt(s, S::set1(1e-30f)), S::set1(0.f), S::mul(e, s));
        return S::fmadd(S::mul(S::mul(c, du), s), tail, s);
    }

    template <UnaryOp Op>
    static V apply(V x) {
        if constexpr (Op == UnaryOp::Exp) return S::exp(x);
        if constexpr (Op == UnaryOp::Log) return log(x);
        if constexpr (Op == UnaryOp::Tanh) return tanh(x);
        if constexpr (Op == UnaryOp::Sigmoid) return sigmoid(x);
        if constexpr (Op == UnaryOp::Relu) return S::max(S::set1(0.f), x);  // NaN (the second operand) kept
        if constexpr (Op == UnaryOp::Gelu) return S::gelu_erf(x);
        if constexpr (Op == UnaryOp::GeluTanh) return S::gelu_tanh(x);
    }

    /// dy·op'(…) from s (op's output or input, see grad_reads_output).
    template <UnaryOp Op>
    static V grad(V s, V dy) {
        if constexpr (Op == UnaryOp::Exp) return S::mul(dy, s);
        if constexpr (Op == UnaryOp::Log) return S::div(dy, s);
        if constexpr (Op == UnaryOp::Tanh) return S::mul(dy, S::fnmadd(s, s, S::set1(1.f)));
        if constexpr (Op == UnaryOp::Sigmoid) return S::mul(S::mul(dy, s), S::sub(S::set1(1.f), s));
        if constexpr (Op == UnaryOp::Relu) return S::select(S::lt(S::set1(0.f), s), dy, S::set1(0.f));
        if constexpr (Op == UnaryOp::Gelu) return S::mul(dy, gelu_grad(s));
        if constexpr (Op == UnaryOp::GeluTanh) return S::mul(dy, gelu_tanh_grad(s));
    }

    template <UnaryOp Op>
    static void map(std::int64_t n, const float* x, float* y) {
        for_lanes<S>(n, [&](std::int64_t i, const auto& lanes) { lanes.store(y + i, apply<Op>(lanes.load(x + i))); });
    }

    template <UnaryOp Op>
    static void map_grad(std::int64_t n, const float* s, const float* dy, float* dx) {
        for_lanes<S>(n, [&](std::int64_t i, const auto& lanes) {
            lanes.store(dx + i, grad<Op>(lanes.load(s + i, 1.f), lanes.load(dy + i)));
        });
    }
};

/// Calls body.template operator()<Op>() with op as a compile-time constant.
template <class Body>
inline void with_unary_op(UnaryOp op, Body&& body) {
    switch (op) {
        case UnaryOp::Exp: return body.template operator()<UnaryOp::Exp>();
        case UnaryOp::Log: return body.template operator()<UnaryOp::Log>();
        case UnaryOp::Tanh: return body.template operator()<UnaryOp::Tanh>();
        case UnaryOp::Sigmoid: return body.template operator()<UnaryOp::Sigmoid>();
        case UnaryOp::Relu: return body.template operator()<UnaryOp::Relu>();
        case UnaryOp::Gelu: return body.template operator()<UnaryOp::Gelu>();
        case UnaryOp::GeluTanh: return body.template operator()<UnaryOp::GeluTanh>();
    }
}

template <class S>
void unary_kernel(UnaryOp op, std::int64_t n, const float* x, float* y) {
    with_unary_op(op, [&]<UnaryOp Op>() { UnaryMath<S>::template map<Op>(n, x, y); });
}

template <class S>
void unary_grad_kernel(UnaryOp op, std::int64_t n, const float* s, const float* dy, float* dx) {
    with_unary_op(op, [&]<UnaryOp Op>() { UnaryMath<S>::template map_grad<Op>(n, s, dy, dx); });
}

}  // namespace
}  // namespace graft::kernels
