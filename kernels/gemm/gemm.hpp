// Internal: the GEMM kernel contract, C = alpha·A·B + beta·C on strided matrices.
//
// BLIS-style: every operand is a base pointer plus a row stride and a column stride, in
// elements, so a transposed operand is the same call with its two strides swapped and a
// broadcast operand has stride 0. A is M×K, B is K×N, C is M×N.
//
//   // C[M,N] = A·Bᵀ with A [M,K] and B [N,K], both row-major:
//   gemm_scalar<float>(M, N, K, 1.f, A, K, 1, B, 1, K, 0.f, C, N, 1);
//
// gemm<T> is the one entry the ops and drivers call, for float and double alike: float runs
// sgemm, a BLIS-style blocked driver (gemm_driver.cpp) over the micro-kernel of the active ISA
// (f32-gemm-*.cpp, chosen once by kernels/cpu), threaded through cpu/parallel.hpp over
// num_threads(); double runs the reference gemm_scalar on the calling thread. Both add an
// optional bias row, float in sgemm's epilogue, while each tile of C is in registers:
//
//   // Y[B,out] = X[B,in]·Wᵀ + bias, W [out,in] row-major:
//   gemm<T>(B, out, in, T(1), X, in, 1, W, 1, in, T(0), Y, out, 1, bias);
//
// sgemm itself (the float path with a full epilogue, bias then activation) serves callers that
// fuse an activation:
//
//   sgemm(B, out, in, 1.f, X, in, 1, W, 1, in, 0.f, Y, out, 1, {bias, Activation::Relu});
//
// Under GemmPrecision::BFloat16 (the calling thread's setting, kernels/cpu/gemm_precision.hpp:
// graft's autocast) sgemm, sgemm_batched and so gemm<float> run bf16_gemm (bf16_gemm.hpp): the
// operands rounded to bf16, products summed in float32. The pre-packed entries (SgemmPackedA/B)
// hold float32 panels and stay float32; their callers do not pack under autocast.
//
// Every variant (scalar gemm_scalar, sgemm on each ISA) honours the same contract:
//   - beta == 0 never reads C (whatever it holds, NaN included, is overwritten);
//   - alpha == 0 or K == 0 never reads A or B (C becomes beta·C, then sgemm's epilogue);
//   - M == 0 or N == 0 does nothing; C must not overlap A or B;
//   - accumulation in T; gemm_scalar neither throws nor allocates. sgemm resolves the ISA and
//     thread count on first use (graft::Error for a bad GRAFT_ISA / GRAFT_NUM_THREADS) and keeps
//     grow-only packing buffers per calling thread (std::bad_alloc if they cannot grow).
#pragma once

#include <cstdint>
#include <memory>
#include <type_traits>
#include <vector>

namespace graft::kernels {

struct F32GemmVariant;

using int64 = std::int64_t;

/// The reference GEMM every faster variant is tested against; T is float or double.
template <class T>
void gemm_scalar(int64 M, int64 N, int64 K, T alpha, const T* A, int64 rsA, int64 csA, const T* B, int64 rsB,
                 int64 csB, T beta, T* C, int64 rsC, int64 csC);

extern template void gemm_scalar<float>(int64, int64, int64, float, const float*, int64, int64, const float*, int64,
                                        int64, float, float*, int64, int64);
extern template void gemm_scalar<double>(int64, int64, int64, double, const double*, int64, int64, const double*,
                                         int64, int64, double, double*, int64, int64);

/// The activation an sgemm epilogue applies after the bias.
enum class Activation { None, Relu, GeluTanh, GeluErf };

/// Fused into the store of C: C = act(alpha·A·B + beta·C + bias), bias[j] added to column j.
struct GemmEpilogue {
    const float* bias = nullptr;  ///< N contiguous floats, or nullptr for none
    Activation act = Activation::None;
};

/// float32 C = act(alpha·A·B + beta·C + bias) on the active ISA, threaded; strides as gemm_scalar.
void sgemm(int64 M, int64 N, int64 K, float alpha, const float* A, int64 rsA, int64 csA, const float* B, int64 rsB,
           int64 csB, float beta, float* C, int64 rsC, int64 csC, const GemmEpilogue& epilogue = {});

/// C = alpha·A·B + beta·C (+ bias[j] on column j when bias is not null) for T = float (sgemm: the
/// active ISA, threaded, the bias in the epilogue) or double (gemm_scalar on the calling thread,
/// then the bias); strides and contract as gemm_scalar.
template <class T>
void gemm(int64 M, int64 N, int64 K, T alpha, const T* A, int64 rsA, int64 csA, const T* B, int64 rsB, int64 csB,
          T beta, T* C, int64 rsC, int64 csC, const T* bias = nullptr) {
    static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "gemm: T is float or double");
    if constexpr (std::is_same_v<T, float>) {
        sgemm(M, N, K, alpha, A, rsA, csA, B, rsB, csB, beta, C, rsC, csC, {bias, Activation::None});
    } else {
        gemm_scalar<T>(M, N, K, alpha, A, rsA, csA, B, rsB, csB, beta, C, rsC, csC);
        if (bias != nullptr)
            for (int64 i = 0; i < M; ++i)
                for (int64 j = 0; j < N; ++j) C[i * rsC + j * csC] += bias[j];
    }
}

/// A [M, K] (any strides) packed once for the active ISA's micro-kernel, to multiply many B
/// matrices without packing it again: a convolution's weights against every image's columns.
/// Immutable once built, so threads may share it; it owns its panels (std::bad_alloc if they
/// cannot be had). It keeps the ISA that was active when it was packed.
class SgemmPackedA {
public:
    SgemmPackedA(int64 M, int64 K, const float* A, int64 rsA, int64 csA);
    int64 rows() const { return M_; }
    int64 depth() const { return K_; }

private:
    friend void sgemm_packed(const SgemmPackedA&, int64, float, const float*, int64, int64, float, float*, int64,
                             int64, const GemmEpilogue&);
    const F32GemmVariant* variant_;
    int64 M_, K_;
    std::unique_ptr<float[]> panels_;  // every element written by the packing: not zeroed first
};

/// sgemm with a packed A: C [A.rows(), N] = act(alpha·A·B + beta·C + bias), B [A.depth(), N].
/// The same bits as sgemm on the matrix A was packed from, under that ISA and thread count.
void sgemm_packed(const SgemmPackedA& A, int64 N, float alpha, const float* B, int64 rsB, int64 csB, float beta,
                  float* C, int64 rsC, int64 csC, const GemmEpilogue& epilogue = {});

/// B [K, N] (any strides) packed once for the active ISA's micro-kernel, to be multiplied by
/// many A matrices without packing it again: a frozen layer's weights (Linear's Wᵀ) against every
/// batch. The panels follow sgemm's blocking, which depends on K and N only: block (jc, pc) at
/// jc·K + pc·⌈nc⌉_NR, its NR-column panels kc·NR floats apart. Immutable once built (threads may
/// share it); owns its panels (std::bad_alloc if they cannot be had); keeps the ISA that was active
/// when it was packed.
class SgemmPackedB {
public:
    SgemmPackedB(int64 K, int64 N, const float* B, int64 rsB, int64 csB);
    int64 depth() const { return K_; }
    int64 cols() const { return N_; }

private:
    friend void sgemm_packed(int64, float, const float*, int64, int64, const SgemmPackedB&, float, float*, int64,
                             int64, const GemmEpilogue&);
    const F32GemmVariant* variant_;
    int64 K_, N_;
    std::unique_ptr<float[]> panels_;  // every element written by the packing: not zeroed first
};

/// sgemm with a packed B: C [M, B.cols()] = act(alpha·A·B + beta·C + bias), A [M, B.depth()].
/// The same bits as sgemm on the matrix B was packed from, under that ISA and thread count.
void sgemm_packed(int64 M, float alpha, const float* A, int64 rsA, int64 csA, const SgemmPackedB& B, float beta,
                  float* C, int64 rsC, int64 csC, const GemmEpilogue& epilogue = {});

/// `batch` independent sgemm problems; problem b's operands start at A + b·bsA, B + b·bsB and
/// C + b·bsC (bsA or bsB may be 0 to share an operand; the C matrices must not overlap). Small
/// problems run one per thread, large ones one after another with every thread on each.
void sgemm_batched(int64 batch, int64 M, int64 N, int64 K, float alpha, const float* A, int64 rsA, int64 csA,
                   int64 bsA, const float* B, int64 rsB, int64 csB, int64 bsB, float beta, float* C, int64 rsC,
                   int64 csC, int64 bsC, const GemmEpilogue& epilogue = {});

}  // namespace graft::kernels
