// Internal, for the generic kernels/vector bodies: walks n elements a full vector at a time and
// finishes with one masked tail, handing the step a lane accessor for each, so one step body
// serves both:   for_lanes<S>(n, [&](int64 i, const auto& lanes) { lanes.store(y + i, f(lanes.load(x + i))); });
// S is a lane type from simd-avx2.hpp or simd-avx512.hpp; included only after one of them.
#pragma once

#include <cstdint>

namespace graft::kernels {
namespace {

template <class S>
struct FullLanes {
    typename S::V load(const float* p, float /*fill*/ = 0.f) const { return S::load(p); }
    void store(float* p, typename S::V v) const { S::store(p, v); }
    /// The double lanes (S::Acc) at p, for the kernels that accumulate per element in double.
    typename S::Acc load(const double* p) const { return S::acc_load(p); }
    void store(double* p, const typename S::Acc& a) const { S::acc_store(p, a); }
};

template <class S>
struct TailLanes {
    /// Lanes past the end read as `fill` and are never written.
    typename S::V load(const float* p, float fill = 0.f) const { return S::load_tail(p, count, fill); }
    void store(float* p, typename S::V v) const { S::store_tail(p, count, v); }
    typename S::Acc load(const double* p) const { return S::acc_load_tail(p, count); }
    void store(double* p, const typename S::Acc& a) const { S::acc_store_tail(p, count, a); }
    std::int64_t count;
};

template <class S, class Step>
inline void for_lanes(std::int64_t n, Step&& step) {
    std::int64_t i = 0;
    for (; i + S::W <= n; i += S::W) step(i, FullLanes<S>{});
    if (i < n) step(i, TailLanes<S>{n - i});
}

}  // namespace
}  // namespace graft::kernels
