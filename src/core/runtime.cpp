// The public face of kernels/cpu: thread count and instruction-set choice.
#include "graft/runtime.hpp"

#include "cpu/cpu_features.hpp"
#include "cpu/parallel.hpp"

namespace graft {

void set_num_threads(int n) { kernels::set_num_threads(n); }

int get_num_threads() { return kernels::num_threads(); }

const char* active_isa() { return kernels::isa_name(kernels::active_isa()); }

void set_isa(std::string_view name) { kernels::set_active_isa(kernels::parse_isa(name, "set_isa")); }

std::vector<std::string> available_isas() {
    std::vector<std::string> names;
    for (kernels::Isa isa : kernels::supported_isas()) names.emplace_back(kernels::isa_name(isa));
    return names;
}

}  // namespace graft
