// Internal: a backward run from inside another one (checkpoint's recomputed segment).
#pragma once

#include <vector>

#include "graft/tensor.hpp"

namespace graft::autograd::detail {

/// Runs the backward of `roots` seeded with `grads` and frees that graph, as run_backward does,
/// except that callbacks queued during it (autograd::queue_callback) join those of the backward
/// already running on this thread, so they run once when the outermost backward ends.
void run_nested_backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& grads);

}  // namespace graft::autograd::detail
