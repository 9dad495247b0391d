// The reference attention row kernels (float and double): online softmax and exp against the
// saved log-sum-exp, one row at a time.
#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels/attention/attention.hpp"

namespace graft::kernels {

template <class T>
void attn_softmax_rows_scalar(int64 m, int64 n, T* s, int64 lds, T* mx, T* l, T* rescale) {
    for (int64 r = 0; r < m; ++r) {
        T* row = s + r * lds;
        T next = mx[r];
        for (int64 j = 0; j < n; ++j) next = std::max(next, row[j]);
        const T factor = mx[r] == -std::numeric_limits<T>::infinity() ? T(0) : std::exp(mx[r] - next);
        T sum = 0;
        for (int64 j = 0; j < n; ++j) {
            row[j] = std::exp(row[j] - next);  // exp(−inf) = 0: masked keys drop out
            sum += row[j];
        }
        rescale[r] = factor;
        l[r] = l[r] * factor + sum;
        mx[r] = next;
    }
}

template <class T>
void attn_exp_rows_scalar(int64 m, int64 n, T* s, int64 lds, const T* lse) {
    for (int64 r = 0; r < m; ++r) {
        T* row = s + r * lds;
        for (int64 j = 0; j < n; ++j) row[j] = std::exp(row[j] - lse[r]);
    }
}

template void attn_softmax_rows_scalar<float>(int64, int64, float*, int64, float*, float*, float*);
template void attn_softmax_rows_scalar<double>(int64, int64, double*, int64, double*, double*, double*);
template void attn_exp_rows_scalar<float>(int64, int64, float*, int64, const float*);
template void attn_exp_rows_scalar<double>(int64, int64, double*, int64, const double*);

}  // namespace graft::kernels
