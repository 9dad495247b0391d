// graft/autocast.hpp — mixed precision as a scope: the GEMMs compute in bf16.
//
//   {
//       graft::AutocastGuard autocast(graft::DType::BFloat16);
//       Tensor loss = cross_entropy(model.forward(x), y);   // linear/matmul/attention GEMMs in bf16
//       loss.backward();                                    // and their backward GEMMs too
//   }
//   optimizer.step();                                       // fp32, as everything outside the GEMMs
//
// Under the guard every float32 GEMM issued on this thread (matmul, linear, attention's products,
// convolution's column GEMMs, in forward and backward) rounds its operands to bf16 (nearest, ties
// to even) and accumulates in float32 (kernels/gemm/bf16_gemm.hpp). Tensors stay Float32 at the
// API: bf16 is the GEMM's compute format, nothing else changes — norms, softmax, losses,
// reductions, elementwise ops and the optimizers compute in float32, and parameters stay float32
// masters. A node recorded under the guard runs its backward under it too, wherever backward()
// is called, and a node recorded outside runs in float32 (PyTorch's autocast rule). Float64 is
// never affected (gradcheck stays exact). The setting is per thread, like NoGradGuard; the
// library's own worker threads follow the thread that starts them. Guards nest: the inner one's
// dtype holds until it ends, then the outer one's returns; AutocastGuard(DType::Float32) turns
// autocast off inside an autocast scope.
#pragma once

#include "graft/dtype.hpp"

namespace graft {

/// The GEMM compute dtype of this thread: Float32 (autocast off) or BFloat16.
struct Autocast {
    static DType dtype();
    /// ValueError unless dtype is Float32 or BFloat16.
    static void set_dtype(DType dtype);
    static bool enabled() { return dtype() != DType::Float32; }
};

/// Sets the GEMM compute dtype for its lifetime and restores the previous one.
class AutocastGuard {
public:
    explicit AutocastGuard(DType dtype = DType::BFloat16) : prev_(Autocast::dtype()) { Autocast::set_dtype(dtype); }
    ~AutocastGuard() { Autocast::set_dtype(prev_); }
    AutocastGuard(const AutocastGuard&) = delete;
    AutocastGuard& operator=(const AutocastGuard&) = delete;

private:
    DType prev_;
};

}  // namespace graft
