// The optimizer update drivers: pick the float32 variant of the active ISA (double always runs
// the scalar reference) and split long tensors into chunks across threads (cpu/parallel.hpp).
// Compiled for baseline x86-64; it only calls into an ISA file once cpu_features allows it.
#include <algorithm>

#include "kernels/cpu/parallel.hpp"
#include "kernels/optim/optim.hpp"

namespace graft::kernels {

namespace {

// Updates are memory-bound: below this many elements a second thread costs more than it saves.
constexpr int64 kParallelMin = int64{1} << 16;
// Chunks are multiples of 64 elements (whole cache lines for float and double).
constexpr int64 kChunkAlign = 64;

/// Calls run(begin, count) over [0, n), split into one chunk per thread when n is large.
template <class F>
void for_chunks(int64 n, F&& run) {
    parallel_chunks(n >= kParallelMin ? num_threads() : 1, 0, n, kChunkAlign,
                    [&](int64 lo, int64 hi) { run(lo, hi - lo); });
}

template <class T>
T* offset(T* base, int64 begin) {
    return base != nullptr ? base + begin : nullptr;
}

const F32OptimVariant kVariants[] = {
    {"scalar", Isa::Scalar, adam_scalar<float>, sgd_scalar<float>, rmsprop_scalar<float>},
    {"avx2", Isa::Avx2, f32_adam__avx2, f32_sgd__avx2, f32_rmsprop__avx2},
    {"avx512", Isa::Avx512, f32_adam__avx512, f32_sgd__avx512, f32_rmsprop__avx512},
};

}  // namespace

const F32OptimVariant& f32_optim_variant(Isa isa) {
    for (const F32OptimVariant& v : kVariants)
        if (v.isa == isa) return v;
    return kVariants[0];
}

void adam_update(int64 n, float* p, const float* g, float* m, float* v, float* vmax, const AdamCoeffs<float>& c) {
    AdamKernel<float>* const kernel = f32_optim_variant(active_isa()).adam;
    for_chunks(n, [&](int64 b, int64 len) { kernel(len, p + b, g + b, m + b, v + b, offset(vmax, b), c); });
}

void adam_update(int64 n, double* p, const double* g, double* m, double* v, double* vmax,
                 const AdamCoeffs<double>& c) {
    for_chunks(n, [&](int64 b, int64 len) { adam_scalar(len, p + b, g + b, m + b, v + b, offset(vmax, b), c); });
}

void sgd_update(int64 n, float* p, const float* g, float* buf, const SgdCoeffs<float>& c) {
    SgdKernel<float>* const kernel = f32_optim_variant(active_isa()).sgd;
    for_chunks(n, [&](int64 b, int64 len) { kernel(len, p + b, g + b, offset(buf, b), c); });
}

void sgd_update(int64 n, double* p, const double* g, double* buf, const SgdCoeffs<double>& c) {
    for_chunks(n, [&](int64 b, int64 len) { sgd_scalar(len, p + b, g + b, offset(buf, b), c); });
}

void rmsprop_update(int64 n, float* p, const float* g, float* sq, float* avg_g, float* buf,
                    const RmspropCoeffs<float>& c) {
    RmspropKernel<float>* const kernel = f32_optim_variant(active_isa()).rmsprop;
    for_chunks(n, [&](int64 b, int64 len) { kernel(len, p + b, g + b, sq + b, offset(avg_g, b), offset(buf, b), c); });
}

void rmsprop_update(int64 n, double* p, const double* g, double* sq, double* avg_g, double* buf,
                    const RmspropCoeffs<double>& c) {
    for_chunks(n, [&](int64 b, int64 len) {
        rmsprop_scalar(len, p + b, g + b, sq + b, offset(avg_g, b), offset(buf, b), c);
    });
}

}  // namespace graft::kernels
