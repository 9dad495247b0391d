// Internal: the GEMM kernel contract, C = alpha·A·B + beta·C on strided matrices.
//
// BLIS-style: every operand is a base pointer plus a row stride and a column stride, in
// elements, so a transposed operand is the same call with its two strides swapped and a
// broadcast operand has stride 0. A is M×K, B is K×N, C is M×N.
//
//   // C[M,N] = A·Bᵀ with A [M,K] and B [N,K], both row-major:
//   gemm_scalar<float>(M, N, K, 1.f, A, K, 1, B, 1, K, 0.f, C, N, 1);
//
// Every variant (scalar here; ISA variants alongside it) honours the same contract:
//   - beta == 0 never reads C (whatever it holds, NaN included, is overwritten);
//   - alpha == 0 or K == 0 never reads A or B (C becomes beta·C);
//   - M == 0 or N == 0 does nothing; C must not overlap A or B;
//   - accumulation in T; no exceptions, no heap allocation.
#pragma once

#include <cstdint>

namespace graft::kernels {

using int64 = std::int64_t;

/// The reference GEMM every faster variant is tested against; T is float or double.
template <class T>
void gemm_scalar(int64 M, int64 N, int64 K, T alpha, const T* A, int64 rsA, int64 csA, const T* B, int64 rsB,
                 int64 csB, T beta, T* C, int64 rsC, int64 csC);

extern template void gemm_scalar<float>(int64, int64, int64, float, const float*, int64, int64, const float*, int64,
                                        int64, float, float*, int64, int64);
extern template void gemm_scalar<double>(int64, int64, int64, double, const double*, int64, int64, const double*,
                                         int64, int64, double, double*, int64, int64);

}  // namespace graft::kernels
