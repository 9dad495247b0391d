// The 2×2 stride-2 max-pool drivers: pick the row kernels (the active ISA's variant for float32,
// the reference for double) and spread the planes over threads (cpu/parallel.hpp). Compiled for
// baseline x86-64; it only calls into an ISA file once cpu_features allows it.
#include <algorithm>
#include <type_traits>

#include "kernels/cpu/parallel.hpp"
#include "kernels/pool/pool.hpp"

namespace graft::kernels {

namespace {

// Narrowest first: f32_max_pool_variant takes the last one the ISA runs.
const F32MaxPoolVariant kVariants[] = {
    {"scalar", Isa::Scalar, max_pool_2x2_row_scalar<float>, max_pool_2x2_grad_row_scalar<float>},
    {"avx2", Isa::Avx2, f32_max_pool_2x2_row__avx2, f32_max_pool_2x2_grad_row__avx2},
};

/// The row kernels of one driver call: the active ISA's variant for float, the reference for double.
template <class T>
struct RowKernels {
    MaxPool2x2RowKernel<T> forward;
    MaxPool2x2GradRowKernel<T> backward;
};

template <class T>
RowKernels<T> row_kernels() {
    if constexpr (std::is_same_v<T, float>) {
        const F32MaxPoolVariant& v = f32_max_pool_variant(active_isa());
        return {v.forward_row, v.backward_row};
    } else {
        return {max_pool_2x2_row_scalar<T>, max_pool_2x2_grad_row_scalar<T>};
    }
}

}  // namespace

const F32MaxPoolVariant& f32_max_pool_variant(Isa isa) {
    const F32MaxPoolVariant* best = &kVariants[0];
    for (const F32MaxPoolVariant& v : kVariants)
        if (v.isa <= isa) best = &v;
    return *best;
}

template <class T>
void max_pool_2x2(int64 planes, int64 H, int64 W, int64 OH, int64 OW, const T* x, T* y, int64* idx) {
    const MaxPool2x2RowKernel<T> row = row_kernels<T>().forward;
    parallel_for(0, planes, planes * OH * OW * 4, [&](int64 lo, int64 hi) {
        for (int64 p = lo; p < hi; ++p)
            for (int64 oh = 0; oh < OH; ++oh) {
                const int64 base = 2 * oh * W;
                row(OW, x + p * H * W + base, W, base, y + (p * OH + oh) * OW, idx + (p * OH + oh) * OW);
            }
    });
}

template <class T>
void max_pool_2x2_backward(int64 planes, int64 H, int64 W, int64 OH, int64 OW, const T* dy, const int64* idx, T* dx) {
    const MaxPool2x2GradRowKernel<T> row = row_kernels<T>().backward;
    parallel_for(0, planes, planes * H * W, [&](int64 lo, int64 hi) {
        for (int64 p = lo; p < hi; ++p) {
            T* plane = dx + p * H * W;
            for (int64 oh = 0; oh < OH; ++oh) {
                const int64 base = 2 * oh * W;
                T* r0 = plane + base;
                row(OW, dy + (p * OH + oh) * OW, idx + (p * OH + oh) * OW, W, base, r0);
                // An odd width leaves a last column out of every window.
                for (int64 w = 2 * OW; w < W; ++w) r0[w] = r0[W + w] = T(0);
            }
            std::fill(plane + 2 * OH * W, plane + H * W, T(0));
        }
    });
}

template void max_pool_2x2<float>(int64, int64, int64, int64, int64, const float*, float*, int64*);
template void max_pool_2x2<double>(int64, int64, int64, int64, int64, const double*, double*, int64*);
template void max_pool_2x2_backward<float>(int64, int64, int64, int64, int64, const float*, const int64*, float*);
template void max_pool_2x2_backward<double>(int64, int64, int64, int64, int64, const double*, const int64*, double*);

}  // namespace graft::kernels
