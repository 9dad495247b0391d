// Internal: what the CPU can run and which instruction set the kernels use.
//
// Every kernel family has a scalar variant and may have AVX2+FMA and AVX-512 variants, each
// compiled in its own file with its own flags (*-avx2.cpp, *-avx512.cpp). Which one runs is
// decided once, here, from cpuid plus the OS's XGETBV answer (the OS must save the wider
// registers); nothing compiled for a wider ISA executes before this decision.
//
//   const Isa isa = active_isa();          // the best supported, or GRAFT_ISA=scalar|avx2|avx512
//   set_active_isa(Isa::Avx2);             // tests and benches force a variant
//
// The choice is process-wide (the thread count is in parallel.hpp). Errors (an unknown GRAFT_ISA,
// an ISA the CPU lacks) are graft::Error / ValueError raised at first use.
#pragma once

#include <string_view>
#include <vector>

namespace graft::kernels {

/// The instruction sets kernels are compiled for, in increasing order of width.
enum class Isa { Scalar, Avx2, Avx512 };

/// What cpuid and XGETBV report, reduced to the ISA levels graft uses.
struct CpuFeatures {
    bool avx2_fma = false;  ///< AVX, AVX2 and FMA, with YMM state enabled by the OS
    bool avx512 = false;    ///< AVX-512 F, BW, DQ and VL, with ZMM and opmask state enabled by the OS
};

/// This CPU's features (queried once).
const CpuFeatures& cpu_features();

/// Whether `features` can run kernels compiled for `isa`.
bool isa_supported(Isa isa, const CpuFeatures& features);

/// "scalar", "avx2" or "avx512".
const char* isa_name(Isa isa);

/// The ISA named `name` ("scalar", "avx2", "avx512"); ValueError starting with `what` (the
/// setting being parsed) and listing the valid names otherwise.
Isa parse_isa(std::string_view name, const char* what);

/// The ISA to run given an optional request (a GRAFT_ISA value, or nullptr for "the best"):
/// graft::Error naming the ISA and the CPU's best when the request cannot run on `features`.
Isa select_isa(const char* requested, const CpuFeatures& features);

/// The ISA every dispatched kernel uses (resolved from GRAFT_ISA and cpuid on first call).
Isa active_isa();

/// Forces `isa` for every later kernel call; graft::Error when this CPU cannot run it.
void set_active_isa(Isa isa);

/// The ISAs this CPU supports, narrowest first.
std::vector<Isa> supported_isas();

}  // namespace graft::kernels
