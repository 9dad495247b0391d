// Internal: packed copies of frozen float32 weight matrices, so that a layer whose weights get no
// gradient (frozen for fine-tuning) does not repack them for the GEMM on every forward.
//
//   if (auto packed = detail::frozen_weight_pack(w))            // w [N, K], requires_grad false
//       kernels::sgemm_packed(M, 1.f, x, K, 1, *packed, 0.f, y, N, 1, {bias});   // y = x·wᵀ + bias
//
// A pack is found again only for the same storage (held weakly: a freed weight's pack is never
// reused), offset, shape, strides, storage version (an in-place write such as an optimizer step
// or a load repacks) and active ISA. The cache is bounded (kFrozenPackBytes, least recently used
// first out) and guarded by a mutex, so concurrent forwards may share it.
#pragma once

#include <memory>

#include "kernels/gemm/gemm.hpp"
#include "graft/tensor.hpp"

namespace graft::detail {

/// Most bytes the packs of all frozen weights may hold together.
constexpr std::size_t kFrozenPackBytes = std::size_t{256} << 20;

/// Bᵀ = wᵀ [K, N] packed for the GEMM, for a 2-D float32 w [N, K] that does not require grad and
/// is large enough for packing to matter; nullptr otherwise, and under autocast (graft/autocast.hpp:
/// the GEMM then rounds w to bf16 itself), so the caller runs the plain GEMM.
std::shared_ptr<const kernels::SgemmPackedB> frozen_weight_pack(const Tensor& w);

/// Drops every pack (tests; memory pressure).
void clear_frozen_weight_packs();

}  // namespace graft::detail
