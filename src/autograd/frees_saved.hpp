// Internal: whether the node whose apply() runs now has its saved tensors freed right after it.
#pragma once

namespace graft::autograd::detail {

/// True while the backward running on this thread applies a node whose saved tensors it frees as
/// soon as apply() returns (retain_graph=false). Such an apply() may then write its result into a
/// saved buffer that nothing else holds (cross_entropy's gradient into its saved logits): nobody
/// can read that buffer again.
bool frees_saved_after_apply();

}  // namespace graft::autograd::detail
