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
// The choice is process-wide (the thread count is in parallel.hpp). Nothing here throws: a
// GRAFT_ISA that names no ISA or one this CPU lacks leaves the best ISA active, and the core layer
// (src/core/runtime.cpp) turns that into an error for the program at its first tensor allocation.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

namespace graft::kernels {

/// The instruction sets kernels are compiled for, in increasing order of width.
enum class Isa { Scalar, Avx2, Avx512 };

/// What cpuid and XGETBV report, reduced to the ISA levels graft uses.
struct CpuFeatures {
    bool avx2_fma = false;  ///< AVX, AVX2 and FMA, with YMM state enabled by the OS
    bool avx512 = false;    ///< AVX-512 F, BW, DQ and VL, with ZMM and opmask state enabled by the OS
    bool avx512_bf16 = false;  ///< avx512 and AVX512_BF16 (vdpbf16ps, vcvtne2ps2bf16): the bf16 GEMM's native kernel
};

/// This CPU's features (queried once).
const CpuFeatures& cpu_features();

/// Whether `features` can run kernels compiled for `isa`.
bool isa_supported(Isa isa, const CpuFeatures& features);

/// "scalar", "avx2" or "avx512".
const char* isa_name(Isa isa);

/// The ISA named `name` ("scalar", "avx2", "avx512"), or nullopt.
std::optional<Isa> parse_isa(std::string_view name);

/// The widest ISA `features` runs.
Isa best_isa(const CpuFeatures& features);

/// The ISA chosen for a request (a GRAFT_ISA value, or nullptr/"" for "the best"), and whether
/// the request was honoured: when it was not, `isa` is the best `features` runs.
struct IsaChoice {
    enum Outcome { Honoured, Unknown, Unsupported };
    Isa isa;
    Outcome outcome;
};
IsaChoice select_isa(const char* requested, const CpuFeatures& features);

/// The ISA every dispatched kernel uses (resolved from GRAFT_ISA and cpuid on first call).
Isa active_isa();

/// Forces `isa` for every later kernel call; false (and no change) when this CPU cannot run it.
bool set_active_isa(Isa isa);

/// The ISAs this CPU supports, narrowest first.
std::vector<Isa> supported_isas();

}  // namespace graft::kernels
