// Internal: the settings the kernels read from the environment (GRAFT_ISA, GRAFT_NUM_THREADS),
// checked by the core layer. The kernels never throw: a setting they cannot honour leaves their
// default in place, and the first tensor allocation reports it through check_environment().
#pragma once

#include "kernels/cpu/cpu_features.hpp"

namespace graft::detail {

/// The ISA a setting selects on `features` (`requested` null or empty: the best). ValueError
/// starting with `what` for an unknown name; graft::Error for one this CPU cannot run.
kernels::Isa isa_for_setting(const char* requested, const kernels::CpuFeatures& features, const char* what);

/// Throws what isa_for_setting throws for this process's GRAFT_ISA, and ValueError for a
/// GRAFT_NUM_THREADS that is no positive integer; once it passed, costs one relaxed atomic load. Called by Storage::allocate, so a bad setting fails at first use.
void check_environment();

}  // namespace graft::detail
