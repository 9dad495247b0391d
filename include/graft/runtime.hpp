// graft/runtime.hpp — threads and the instruction set the kernels use.
//
//   graft::set_num_threads(1);            // or GRAFT_NUM_THREADS=1; default: the cores available
//   graft::set_isa("avx2");               // or GRAFT_ISA=avx2; default: the best this CPU runs
//   std::cout << graft::active_isa();     // "avx512"
//
// Both settings are process-wide and read by every kernel call that follows.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace graft {

/// Sets how many threads the kernels use (n ≥ 1); ValueError otherwise.
void set_num_threads(int n);

/// The thread count kernels use: set_num_threads, else GRAFT_NUM_THREADS, else the cores available.
int get_num_threads();

/// The instruction set the kernels run: "scalar", "avx2" or "avx512".
const char* active_isa();

/// Forces the kernels' instruction set ("scalar", "avx2", "avx512"): ValueError for an unknown
/// name, graft::Error when this CPU cannot run it.
void set_isa(std::string_view name);

/// The instruction sets this CPU can run, narrowest first ("scalar" is always there).
std::vector<std::string> available_isas();

}  // namespace graft
