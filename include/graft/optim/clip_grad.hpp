// graft/optim/clip_grad.hpp — gradient clipping by global norm and by value (torch.nn.utils).
//
//   opt.zero_grad(); loss.backward();
//   double norm = clip_grad_norm(model.trainable_parameters(), 1.0);   // the norm before clipping
//   clip_grad_value(model.trainable_parameters(), 0.5);
//   opt.step();
//
// Parameters without a gradient are skipped. Gradients are scaled in place.
#pragma once

#include <limits>
#include <vector>

#include "graft/tensor.hpp"

namespace graft {

/// The p-norm of all gradients together (norm_type = 2 by default; infinity for the largest
/// |g|), computed as torch does: the norm of the per-tensor norms, in double. When
/// max_norm / (total + 1e-6) < 1 every gradient is multiplied by that coefficient.
/// Returns the total norm before clipping (0 when no parameter has a gradient).
/// ValueError for max_norm < 0 or norm_type ≤ 0, and, with error_if_nonfinite, for a NaN or
/// infinite total norm (then nothing is scaled).
double clip_grad_norm(const std::vector<Tensor>& params, double max_norm, double norm_type = 2.0,
                      bool error_if_nonfinite = false);

/// Clamps every gradient element into [−clip_value, clip_value]; ValueError for clip_value < 0.
void clip_grad_value(const std::vector<Tensor>& params, double clip_value);

}  // namespace graft
