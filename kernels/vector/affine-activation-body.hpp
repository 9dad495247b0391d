// Internal: the per-channel affine with an activation, y = act(fma(x, a, b)), and its gradient,
// and a BatchNorm channel's backward sums and input gradient, written once over a lane type S (simd-avx2.hpp / simd-avx512.hpp) and instantiated by
// f32-affine-activation-avx2.cpp / -avx512.cpp. Each comparison and select is written in the
// order of the scalar reference's (affine-activation-scalar.cpp), so every activation but SiLU
// gives the same bits on every variant; SiLU's σ is the variant's own (unary-body.hpp's).
#pragma once

#include "kernels/vector/lanes.hpp"
#include "kernels/vector/unary-body.hpp"
#include "kernels/vector/vector.hpp"

namespace graft::kernels {
namespace {

template <class S>
struct AffineActivationMath {
    using V = typename S::V;

    template <AffineActivation A>
    static V apply(V z) {
        const V zero = S::set1(0.f), six = S::set1(6.f);
        if constexpr (A == AffineActivation::None) return z;
        if constexpr (A == AffineActivation::ReLU) return S::select(S::mask_or(S::lt(zero, z), S::is_nan(z)), z, zero);
        if constexpr (A == AffineActivation::ReLU6) {
            const V low = S::select(S::lt(z, zero), zero, z);  // std::max(z, 0)
            return S::select(S::lt(six, low), six, low);       // std::min(·, 6)
        }
        if constexpr (A == AffineActivation::Hardswish) {
            const V t = S::add(z, S::set1(3.f));
            const V low = S::select(S::lt(t, zero), zero, t);
            return S::div(S::mul(z, S::select(S::lt(six, low), six, low)), six);
        }
        if constexpr (A == AffineActivation::SiLU) return S::mul(z, UnaryMath<S>::sigmoid(z));
    }

    template <AffineActivation A>
    static V derivative(V z) {
        const V zero = S::set1(0.f), one = S::set1(1.f);
        if constexpr (A == AffineActivation::None) return one;
        if constexpr (A == AffineActivation::ReLU) return S::select(S::lt(zero, z), one, zero);
        if constexpr (A == AffineActivation::ReLU6)
            return S::select(S::lt(zero, z), S::select(S::lt(z, S::set1(6.f)), one, zero), zero);
        if constexpr (A == AffineActivation::Hardswish) {
            const V middle = S::add(S::div(z, S::set1(3.f)), S::set1(0.5f));
            return S::select(S::lt(z, S::set1(-3.f)), zero, S::select(S::ge(S::set1(3.f), z), middle, one));
        }
        if constexpr (A == AffineActivation::SiLU) {
            const V s = UnaryMath<S>::sigmoid(z);
            return S::mul(s, S::fmadd(z, S::sub(one, s), one));
        }
    }

    template <AffineActivation A>
    static void rows(int64 channels, int64 n, int64 lo, int64 hi, const float* x, float* y, const double* scale,
                     const double* shift) {
        for (int64 r = lo; r < hi; ++r) {
            const V a = S::set1(static_cast<float>(scale[r % channels])), b = S::set1(static_cast<float>(shift[r % channels]));
            const float* xr = x + r * n;
            float* yr = y + r * n;
            for_lanes<S>(n, [&](int64 i, const auto& lanes) { lanes.store(yr + i, apply<A>(S::fmadd(lanes.load(xr + i), a, b))); });
        }
    }

    template <AffineActivation A>
    static void grad_rows(int64 channels, int64 n, int64 lo, int64 hi, const float* x, const double* scale,
                          const double* shift, const float* dy, float* dz) {
        for (int64 r = lo; r < hi; ++r) {
            const V a = S::set1(static_cast<float>(scale[r % channels])), b = S::set1(static_cast<float>(shift[r % channels]));
            const float* xr = x + r * n;
            const float* dyr = dy + r * n;
            float* dzr = dz + r * n;
            for_lanes<S>(n, [&](int64 i, const auto& lanes) {
                const V z = S::fmadd(lanes.load(xr + i), a, b);
                lanes.store(dzr + i, S::mul(lanes.load(dyr + i), derivative<A>(z)));
            });
        }
    }
};

/// One BatchNorm channel's backward sums: Σ dy and Σ dy·(x − mean) (0 when x is null), in double lanes.
template <class S>
void channel_grad_sums_kernel(int64 rows, int64 n, int64 stride, const float* dy, const float* x, float mean,
                              double* sums) {
    using V = typename S::V;
    typename S::Acc sdy, sdyx, unused;
    const V m = S::set1(mean);
    for (int64 r = 0; r < rows; ++r) {
        const float* d = dy + r * stride;
        const float* xr = x == nullptr ? nullptr : x + r * stride;
        if (x == nullptr) {
            for_lanes<S>(n, [&](int64 i, const auto& lanes) { S::acc_add(sdy, lanes.load(d + i)); });
            continue;
        }
        for_lanes<S>(n, [&](int64 i, const auto& lanes) {
            const V g = lanes.load(d + i);
            S::acc_add(sdy, g);
            S::acc_add(sdyx, S::mul(g, S::sub(lanes.load(xr + i), m)));
        });
    }
    sums[0] = S::acc_total(sdy, unused);
    sums[1] = S::acc_total(sdyx, unused);
}

/// dx = fma(a, dy, fma(b, x, e)) over one channel's rows (x unread when null: dx = a·dy).
template <class S>
void channel_grad_kernel(int64 rows, int64 n, int64 stride, const float* dy, const float* x, float a, float b, float e,
                         float* dx) {
    using V = typename S::V;
    const V av = S::set1(a), bv = S::set1(b), ev = S::set1(e);
    for (int64 r = 0; r < rows; ++r) {
        const float* d = dy + r * stride;
        float* out = dx + r * stride;
        if (x == nullptr) {
            for_lanes<S>(n, [&](int64 i, const auto& lanes) { lanes.store(out + i, S::mul(av, lanes.load(d + i))); });
        } else {
            const float* xr = x + r * stride;
            for_lanes<S>(n, [&](int64 i, const auto& lanes) {
                lanes.store(out + i, S::fmadd(av, lanes.load(d + i), S::fmadd(bv, lanes.load(xr + i), ev)));
            });
        }
    }
}

/// Calls body.template operator()<A>() with act as a compile-time constant.
template <class Body>
inline void with_affine_activation(AffineActivation act, Body&& body) {
    switch (act) {
        case AffineActivation::None: return body.template operator()<AffineActivation::None>();
        case AffineActivation::ReLU: return body.template operator()<AffineActivation::ReLU>();
        case AffineActivation::ReLU6: return body.template operator()<AffineActivation::ReLU6>();
        case AffineActivation::Hardswish: return body.template operator()<AffineActivation::Hardswish>();
        case AffineActivation::SiLU: return body.template operator()<AffineActivation::SiLU>();
    }
}

template <class S>
void affine_activation_kernel(AffineActivation act, int64 channels, int64 n, int64 lo, int64 hi, const float* x,
                              float* y, const double* scale, const double* shift) {
    with_affine_activation(act, [&]<AffineActivation A>() {
        AffineActivationMath<S>::template rows<A>(channels, n, lo, hi, x, y, scale, shift);
    });
}

template <class S>
void affine_activation_grad_kernel(AffineActivation act, int64 channels, int64 n, int64 lo, int64 hi, const float* x,
                                   const double* scale, const double* shift, const float* dy, float* dz) {
    with_affine_activation(act, [&]<AffineActivation A>() {
        AffineActivationMath<S>::template grad_rows<A>(channels, n, lo, hi, x, scale, shift, dy, dz);
    });
}

}  // namespace
}  // namespace graft::kernels
