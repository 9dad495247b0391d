// The reference GEMM: C = alpha·A·B + beta·C for any strides (contract in gemm.hpp).
//
// B is taken a KC×NC panel at a time, packed row-major into a stack buffer; then each row of
// C's block is accumulated in an i-k-j loop whose innermost loop runs over contiguous panel
// rows: acc[j] += A[i,p] · Bpanel[p,j]. The first K panel applies beta to C; later panels add.
// Clarity over speed: this is the oracle the SIMD variants are checked against.
#include <algorithm>

#include "kernels/gemm/gemm.hpp"

namespace graft::kernels {

namespace {

// A KC×NC panel of B: 64 KiB for double, small enough to stay in L2 while every row of A passes over it.
constexpr int64 KC = 128;
constexpr int64 NC = 64;

/// Bp[p·nc + j] = B[(p0 + p)·rsB + (j0 + j)·csB] for p < kc, j < nc.
template <class T>
void pack_b_panel(const T* B, int64 rsB, int64 csB, int64 p0, int64 j0, int64 kc, int64 nc, T* Bp) {
    for (int64 p = 0; p < kc; ++p) {
        const T* row = B + (p0 + p) * rsB + j0 * csB;
        T* dst = Bp + p * nc;
        for (int64 j = 0; j < nc; ++j) dst[j] = row[j * csB];
    }
}

/// C = beta·C over the whole matrix (zeros when beta == 0, without reading C).
template <class T>
void scale_c(int64 M, int64 N, T beta, T* C, int64 rsC, int64 csC) {
    for (int64 i = 0; i < M; ++i) {
        T* row = C + i * rsC;
        for (int64 j = 0; j < N; ++j) row[j * csC] = beta == T(0) ? T(0) : beta * row[j * csC];
    }
}

}  // namespace

template <class T>
void gemm_scalar(int64 M, int64 N, int64 K, T alpha, const T* A, int64 rsA, int64 csA, const T* B, int64 rsB,
                 int64 csB, T beta, T* C, int64 rsC, int64 csC) {
    if (M <= 0 || N <= 0) return;
    if (K <= 0 || alpha == T(0)) {
        scale_c(M, N, beta, C, rsC, csC);
        return;
    }
    T Bp[KC * NC];
    T acc[NC];
    for (int64 j0 = 0; j0 < N; j0 += NC) {
        const int64 nc = std::min(NC, N - j0);
        for (int64 p0 = 0; p0 < K; p0 += KC) {
            const int64 kc = std::min(KC, K - p0);
            pack_b_panel(B, rsB, csB, p0, j0, kc, nc, Bp);
            const bool first_panel = p0 == 0;
            for (int64 i = 0; i < M; ++i) {
                std::fill_n(acc, nc, T(0));
                const T* a_row = A + i * rsA + p0 * csA;
                for (int64 p = 0; p < kc; ++p) {
                    const T a = a_row[p * csA];
                    const T* b_row = Bp + p * nc;
                    for (int64 j = 0; j < nc; ++j) acc[j] += a * b_row[j];
                }
                T* c_row = C + i * rsC + j0 * csC;
                for (int64 j = 0; j < nc; ++j) {
                    T& c = c_row[j * csC];
                    if (!first_panel)
                        c += alpha * acc[j];
                    else if (beta == T(0))
                        c = alpha * acc[j];
                    else
                        c = alpha * acc[j] + beta * c;
                }
            }
        }
    }
}

template void gemm_scalar<float>(int64, int64, int64, float, const float*, int64, int64, const float*, int64, int64,
                                 float, float*, int64, int64);
template void gemm_scalar<double>(int64, int64, int64, double, const double*, int64, int64, const double*, int64,
                                  int64, double, double*, int64, int64);

}  // namespace graft::kernels
