// The reference 2×2 stride-2 max-pool row kernels: one window at a time, its top pair, its
// bottom pair, then the two; and the reference max_rows / max_columns of the values-only pool
// (contracts in pool.hpp).
#include "kernels/pool/pool.hpp"

namespace graft::kernels {

void max_rows_scalar(int64 count, int64 W, const float* x, int64 row_step, float* m) {
    for (int64 w = 0; w < W; ++w) m[w] = x[w];
    for (int64 i = 1; i < count; ++i)
        for (int64 w = 0; w < W; ++w) {
            const float v = x[i * row_step + w];
            if (max_pool_replaces(v, m[w])) m[w] = v;
        }
}

void max_columns_scalar(int64 OW, int64 kw, int64 sw, const float* m, float* y) {
    for (int64 ow = 0; ow < OW; ++ow) {
        float best = m[ow * sw];
        for (int64 j = 1; j < kw; ++j)
            if (max_pool_replaces(m[ow * sw + j], best)) best = m[ow * sw + j];
        y[ow] = best;
    }
}

template <class T>
void max_pool_2x2_row_scalar(int64 OW, const T* r0, int64 W, int64 base, T* y, int64* idx) {
    const T* r1 = r0 + W;
    for (int64 ow = 0; ow < OW; ++ow) {
        const T a = r0[2 * ow], b = r0[2 * ow + 1], c = r1[2 * ow], d = r1[2 * ow + 1];
        const bool take_b = max_pool_replaces(b, a), take_d = max_pool_replaces(d, c);
        const T top = take_b ? b : a, bottom = take_d ? d : c;
        const bool take_bottom = max_pool_replaces(bottom, top);
        y[ow] = take_bottom ? bottom : top;
        idx[ow] = base + 2 * ow + (take_bottom ? W + take_d : int64{take_b});
    }
}

template <class T>
void max_pool_2x2_grad_row_scalar(int64 OW, const T* dy, const int64* idx, int64 W, int64 base, T* r0) {
    T* r1 = r0 + W;
    for (int64 ow = 0; ow < OW; ++ow) {
        const int64 off = idx[ow] - (base + 2 * ow);
        const T v = dy[ow];
        r0[2 * ow] = off == 0 ? v : T(0);
        r0[2 * ow + 1] = off == 1 ? v : T(0);
        r1[2 * ow] = off == W ? v : T(0);
        r1[2 * ow + 1] = off == W + 1 ? v : T(0);
    }
}

template void max_pool_2x2_row_scalar<float>(int64, const float*, int64, int64, float*, int64*);
template void max_pool_2x2_row_scalar<double>(int64, const double*, int64, int64, double*, int64*);
template void max_pool_2x2_grad_row_scalar<float>(int64, const float*, const int64*, int64, int64, float*);
template void max_pool_2x2_grad_row_scalar<double>(int64, const double*, const int64*, int64, int64, double*);

}  // namespace graft::kernels
