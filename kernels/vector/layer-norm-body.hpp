// Internal: the float32 LayerNorm row kernels written once over a lane type S and instantiated
// by f32-layer-norm-avx2.cpp / -avx512.cpp. Forward: the mean summed in double lanes and kept in
// double, the variance as Σ(x − mean)² (two passes, no cancellation), then y. Backward: one pass for the
// two row sums, one that writes dx and accumulates dw and db.
#pragma once

#include <cmath>

#include "kernels/vector/reduce-body.hpp"

namespace graft::kernels {
namespace {

/// x − mean with the double mean split into float hi + lo: x − hi is exact near the mean.
template <class S>
struct Centre {
    explicit Centre(double mean)
        : hi(static_cast<float>(mean)), lo(static_cast<float>(mean - static_cast<double>(hi))), vhi(S::set1(hi)),
          vlo(S::set1(lo)) {}
    typename S::V operator()(typename S::V x) const { return S::sub(S::sub(x, vhi), vlo); }
    float hi, lo;
    typename S::V vhi, vlo;
};

template <class S>
void layer_norm_kernel(std::int64_t n, const float* x, const float* w, const float* b, float eps, float* y,
                       double* mean, float* rstd) {
    using V = typename S::V;
    const double m = sum_kernel<S>(n, x) / static_cast<double>(n);
    const Centre<S> centre(m);
    const float ss = sum_lanes<S>(n, [&](std::int64_t i, const auto& lanes) {
        const V d = centre(lanes.load(x + i, centre.hi));  // lanes past the end: −lo, squared ≈ 0
        return S::mul(d, d);
    });
    const float rs = 1.f / std::sqrt(ss / static_cast<float>(n) + eps);
    *mean = m;
    *rstd = rs;
    const V vrs = S::set1(rs);
    for_lanes<S>(n, [&](std::int64_t i, const auto& lanes) {
        V h = S::mul(centre(lanes.load(x + i)), vrs);
        if (w) h = S::mul(h, lanes.load(w + i));
        if (b) h = S::add(h, lanes.load(b + i));
        lanes.store(y + i, h);
    });
}

template <class S>
void layer_norm_grad_kernel(std::int64_t n, const float* x, const float* dy, const float* w, double mean, float rstd,
                            float* dx, float* dw_acc, float* db_acc) {
    using V = typename S::V;
    const Centre<S> centre(mean);
    const V vrs = S::set1(rstd);
    V a = S::set1(0.f), c = a;
    if (dx) {
        V sum_g = S::set1(0.f), sum_gx = sum_g;
        for_lanes<S>(n, [&](std::int64_t i, const auto& lanes) {
            const V g = w ? S::mul(lanes.load(dy + i), lanes.load(w + i)) : lanes.load(dy + i);  // 0 past the end
            sum_g = S::add(sum_g, g);
            sum_gx = S::fmadd(g, S::mul(centre(lanes.load(x + i)), vrs), sum_gx);
        });
        const float inv_n = 1.f / static_cast<float>(n);
        a = S::set1(S::hsum(sum_g) * inv_n);
        c = S::set1(S::hsum(sum_gx) * inv_n);
    }
    // This second pass reads L1; prefetching the next row (x + n, dy + n: the drivers' rows are
    // contiguous, and a prefetch past the end is harmless) keeps memory busy meanwhile.
    for_lanes<S>(n, [&](std::int64_t i, const auto& lanes) {
        S::prefetch(x + n + i);
        S::prefetch(dy + n + i);
        const V d = lanes.load(dy + i);
        const V xhat = S::mul(centre(lanes.load(x + i)), vrs);
        if (dx) {
            const V g = w ? S::mul(d, lanes.load(w + i)) : d;
            lanes.store(dx + i, S::mul(vrs, S::fnmadd(xhat, c, S::sub(g, a))));
        }
        if (dw_acc) lanes.store(dw_acc + i, S::fmadd(d, xhat, lanes.load(dw_acc + i)));
        if (db_acc) lanes.store(db_acc + i, S::add(d, lanes.load(db_acc + i)));
    });
}

}  // namespace
}  // namespace graft::kernels
