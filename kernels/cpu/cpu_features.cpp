// cpuid/XGETBV feature detection and the process-wide ISA choice.
// Compiled for baseline x86-64: it must run on any CPU, before any wider code is chosen.
#include "kernels/cpu/cpu_features.hpp"

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define GRAFT_X86 1
#endif

namespace graft::kernels {

namespace {

#ifdef GRAFT_X86
/// XCR0: which register states the OS saves on a context switch. Only valid when OSXSAVE is set.
std::uint64_t read_xcr0() {
    std::uint32_t lo = 0, hi = 0;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (static_cast<std::uint64_t>(hi) << 32) | lo;
}

CpuFeatures detect() {
    CpuFeatures f;
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return f;
    const bool osxsave = ecx & (1u << 27), avx = ecx & (1u << 28), fma = ecx & (1u << 12);
    if (!osxsave || !avx) return f;
    const std::uint64_t xcr0 = read_xcr0();
    const bool ymm_state = (xcr0 & 0x6) == 0x6;                 // SSE and AVX state
    const bool zmm_state = ymm_state && (xcr0 & 0xE0) == 0xE0;  // opmask, ZMM_Hi256, Hi16_ZMM
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return f;
    const bool avx2 = ebx & (1u << 5);
    const bool avx512f = ebx & (1u << 16), avx512dq = ebx & (1u << 17);
    const bool avx512bw = ebx & (1u << 30), avx512vl = ebx & (1u << 31);
    f.avx2_fma = ymm_state && avx2 && fma;
    f.avx512 = f.avx2_fma && zmm_state && avx512f && avx512dq && avx512bw && avx512vl;
    // Leaf 7 sub-leaf 1, EAX bit 5: AVX512_BF16.
    if (f.avx512 && __get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx)) f.avx512_bf16 = eax & (1u << 5);
    return f;
}
#else
CpuFeatures detect() { return {}; }
#endif

// -1 while unresolved; otherwise the Isa value. Resolution is idempotent, so a race only repeats it.
std::atomic<int> g_isa{-1};

}  // namespace

Isa best_isa(const CpuFeatures& f) { return f.avx512 ? Isa::Avx512 : f.avx2_fma ? Isa::Avx2 : Isa::Scalar; }

const CpuFeatures& cpu_features() {
    static const CpuFeatures features = detect();
    return features;
}

bool isa_supported(Isa isa, const CpuFeatures& features) {
    switch (isa) {
        case Isa::Scalar: return true;
        case Isa::Avx2: return features.avx2_fma;
        case Isa::Avx512: return features.avx512;
    }
    return false;
}

const char* isa_name(Isa isa) {
    switch (isa) {
        case Isa::Scalar: return "scalar";
        case Isa::Avx2: return "avx2";
        case Isa::Avx512: return "avx512";
    }
    return "unknown";
}

std::optional<Isa> parse_isa(std::string_view name) {
    for (Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Avx512})
        if (name == isa_name(isa)) return isa;
    return std::nullopt;
}

IsaChoice select_isa(const char* requested, const CpuFeatures& features) {
    const Isa best = best_isa(features);
    if (requested == nullptr || *requested == '\0') return {best, IsaChoice::Honoured};
    const std::optional<Isa> isa = parse_isa(requested);
    if (!isa) return {best, IsaChoice::Unknown};
    if (!isa_supported(*isa, features)) return {best, IsaChoice::Unsupported};
    return {*isa, IsaChoice::Honoured};
}

Isa active_isa() {
    int isa = g_isa.load(std::memory_order_relaxed);
    if (isa < 0) {
        isa = static_cast<int>(select_isa(std::getenv("GRAFT_ISA"), cpu_features()).isa);
        g_isa.store(isa, std::memory_order_relaxed);
    }
    return static_cast<Isa>(isa);
}

bool set_active_isa(Isa isa) {
    if (!isa_supported(isa, cpu_features())) return false;
    g_isa.store(static_cast<int>(isa), std::memory_order_relaxed);
    return true;
}

std::vector<Isa> supported_isas() {
    std::vector<Isa> out;
    for (Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Avx512})
        if (isa_supported(isa, cpu_features())) out.push_back(isa);
    return out;
}

}  // namespace graft::kernels
