// Internal: the float32 binary arithmetic kernels (add, sub, mul, div), written once over a lane
// type S (simd-avx2.hpp / simd-avx512.hpp) and instantiated by f32-binary-avx2.cpp / -avx512.cpp.
// One vector instruction per element op — the same IEEE single operation as scalar code, so the
// results are bit-identical to it. Lanes past a tail read 1 (never stored): no 0/0 on them.
#pragma once

#include "kernels/vector/lanes.hpp"
#include "kernels/vector/vector.hpp"

namespace graft::kernels {
namespace {

template <class S>
struct BinaryMath {
    using V = typename S::V;

    template <BinaryOp Op>
    static V apply(V a, V b) {
        if constexpr (Op == BinaryOp::Add) return S::add(a, b);
        if constexpr (Op == BinaryOp::Sub) return S::sub(a, b);
        if constexpr (Op == BinaryOp::Mul) return S::mul(a, b);
        if constexpr (Op == BinaryOp::Div) return S::div(a, b);
    }

    template <BinaryOp Op>
    static void map(std::int64_t n, const float* a, const float* b, float* y) {
        for_lanes<S>(n, [&](std::int64_t i, const auto& lanes) {
            lanes.store(y + i, apply<Op>(lanes.load(a + i, 1.f), lanes.load(b + i, 1.f)));
        });
    }

    template <BinaryOp Op, bool ScalarFirst>
    static void map_scalar(std::int64_t n, const float* a, float s, float* y) {
        const V sv = S::set1(s);
        for_lanes<S>(n, [&](std::int64_t i, const auto& lanes) {
            const V x = lanes.load(a + i, 1.f);
            lanes.store(y + i, ScalarFirst ? apply<Op>(sv, x) : apply<Op>(x, sv));
        });
    }
};

/// Calls body.template operator()<Op>() with op as a compile-time constant.
template <class Body>
inline void with_binary_op(BinaryOp op, Body&& body) {
    switch (op) {
        case BinaryOp::Add: return body.template operator()<BinaryOp::Add>();
        case BinaryOp::Sub: return body.template operator()<BinaryOp::Sub>();
        case BinaryOp::Mul: return body.template operator()<BinaryOp::Mul>();
        case BinaryOp::Div: return body.template operator()<BinaryOp::Div>();
    }
}

template <class S>
void binary_kernel(BinaryOp op, std::int64_t n, const float* a, const float* b, float* y) {
    with_binary_op(op, [&]<BinaryOp Op>() { BinaryMath<S>::template map<Op>(n, a, b, y); });
}

template <class S>
void binary_scalar_kernel(BinaryOp op, std::int64_t n, const float* a, float s, bool scalar_first, float* y) {
    with_binary_op(op, [&]<BinaryOp Op>() {
        if (scalar_first)
            BinaryMath<S>::template map_scalar<Op, true>(n, a, s, y);
        else
            BinaryMath<S>::template map_scalar<Op, false>(n, a, s, y);
    });
}

}  // namespace
}  // namespace graft::kernels
