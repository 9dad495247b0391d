// The max-pool drivers (2×2 stride 2 with positions, and values alone): pick the row kernels (the
// active ISA's variant for float32, the reference for double) and spread the planes over threads
// (cpu/parallel.hpp). Compiled for baseline x86-64; it only calls into an ISA file once
// cpu_features allows it.
#include <algorithm>
#include <limits>
#include <type_traits>
#include <vector>

#include "kernels/cpu/parallel.hpp"
#include "kernels/pool/pool.hpp"

namespace graft::kernels {

namespace {

// Narrowest first: f32_max_pool_variant takes the last one the ISA runs.
const F32MaxPoolVariant kVariants[] = {
    {"scalar", Isa::Scalar, max_pool_2x2_row_scalar<float>, max_pool_2x2_grad_row_scalar<float>,
     nullptr, nullptr},
    {"avx2", Isa::Avx2, f32_max_pool_2x2_row__avx2, f32_max_pool_2x2_grad_row__avx2, nullptr, nullptr},
    {"avx512", Isa::Avx512, f32_max_pool_2x2_row__avx2, f32_max_pool_2x2_grad_row__avx2, f32_max_rows__avx512,
     f32_max_columns__avx512},
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

bool has_max_pool_values() { return f32_max_pool_variant(active_isa()).max_rows != nullptr; }

void max_pool_values(int64 planes, int64 H, int64 W, int64 OH, int64 OW, int64 kh, int64 kw, int64 sh, int64 sw,
                     int64 ph, int64 pw, const float* x, float* y) {
    const F32MaxPoolVariant& v = f32_max_pool_variant(active_isa());
    const int64 width = std::max(pw + W, (OW - 1) * sw + kw) + kMaxPoolScratchSlack;
    parallel_for(0, planes, planes * OH * (kh * W + kw * OW), [&](int64 lo, int64 hi) {
        std::vector<float> m(static_cast<std::size_t>(width), -std::numeric_limits<float>::infinity());
        for (int64 p = lo; p < hi; ++p)
            for (int64 oh = 0; oh < OH; ++oh) {
                const int64 top = oh * sh - ph, r0 = std::max<int64>(top, 0), r1 = std::min(top + kh, H);
                float* out = y + (p * OH + oh) * OW;
                if (r1 <= r0) {
                    std::fill(out, out + OW, -std::numeric_limits<float>::infinity());
                    continue;
                }
                v.max_rows(r1 - r0, W, x + (p * H + r0) * W, W, m.data() + pw);
                v.max_columns(OW, kw, sw, m.data(), out);
            }
    });
}

template void max_pool_2x2<float>(int64, int64, int64, int64, int64, const float*, float*, int64*);
template void max_pool_2x2<double>(int64, int64, int64, int64, int64, const double*, double*, int64*);
template void max_pool_2x2_backward<float>(int64, int64, int64, int64, int64, const float*, const int64*, float*);
template void max_pool_2x2_backward<double>(int64, int64, int64, int64, int64, const double*, const int64*, double*);

}  // namespace graft::kernels
