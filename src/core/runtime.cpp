// The public face of kernels/cpu (thread count, instruction-set choice) and the checks that turn
// the kernels' silent fallbacks into errors a program sees.
#include "graft/runtime.hpp"

#include <atomic>
#include <cstdlib>
#include <string>

#include "core/environment.hpp"
#include "graft/error.hpp"
#include "kernels/cpu/cpu_features.hpp"
#include "kernels/cpu/parallel.hpp"

namespace graft {

namespace detail {

kernels::Isa isa_for_setting(const char* requested, const kernels::CpuFeatures& features, const char* what) {
    const kernels::IsaChoice choice = kernels::select_isa(requested, features);
    switch (choice.outcome) {
        case kernels::IsaChoice::Honoured: return choice.isa;
        case kernels::IsaChoice::Unknown:
            throw ValueError(std::string(what) + ": unknown instruction set '" + requested +
                             "' (expected scalar, avx2 or avx512)");
        case kernels::IsaChoice::Unsupported: {
            const kernels::Isa isa = *kernels::parse_isa(requested);
            throw Error(std::string(what) + ": this CPU cannot run " + kernels::isa_name(isa) + " kernels (" +
                        (isa == kernels::Isa::Avx512 ? "needs AVX-512 F/BW/DQ/VL" : "needs AVX2 and FMA") +
                        " with OS support); the best it supports is " +
                        kernels::isa_name(kernels::best_isa(features)));
        }
    }
    return choice.isa;
}

void check_environment() {
    static std::atomic<bool> checked{false};
    if (checked.load(std::memory_order_relaxed)) return;
    isa_for_setting(std::getenv("GRAFT_ISA"), kernels::cpu_features(), "GRAFT_ISA");
    const char* threads = std::getenv("GRAFT_NUM_THREADS");
    if (threads != nullptr && *threads != '\0' && !kernels::parse_thread_count(threads))
        throw ValueError(std::string("GRAFT_NUM_THREADS: expected a positive integer, got '") + threads + "'");
    checked.store(true, std::memory_order_relaxed);
}

}  // namespace detail

void set_num_threads(int n) {
    if (n < 1) throw ValueError("set_num_threads: expected n >= 1, got " + std::to_string(n));
    kernels::set_num_threads(n);
}

int get_num_threads() {
    detail::check_environment();
    return kernels::num_threads();
}

const char* active_isa() {
    detail::check_environment();
    return kernels::isa_name(kernels::active_isa());
}

void set_isa(std::string_view name) {
    const std::string value(name);
    kernels::set_active_isa(detail::isa_for_setting(value.c_str(), kernels::cpu_features(), "set_isa"));
}

std::vector<std::string> available_isas() {
    std::vector<std::string> names;
    for (kernels::Isa isa : kernels::supported_isas()) names.emplace_back(kernels::isa_name(isa));
    return names;
}

}  // namespace graft
