// The autocast dtype (graft/autocast.hpp): the public face of the kernels' per-thread GEMM precision.
#include "graft/autocast.hpp"

#include <string>

#include "graft/error.hpp"
#include "kernels/cpu/gemm_precision.hpp"

namespace graft {

DType Autocast::dtype() {
    return kernels::gemm_precision() == kernels::GemmPrecision::BFloat16 ? DType::BFloat16 : DType::Float32;
}

void Autocast::set_dtype(DType dtype) {
    if (dtype != DType::Float32 && dtype != DType::BFloat16)
        throw ValueError(std::string("autocast: the GEMM compute dtype must be float32 or bfloat16, got ") +
                         dtype_name(dtype));
    kernels::set_gemm_precision(dtype == DType::BFloat16 ? kernels::GemmPrecision::BFloat16
                                                         : kernels::GemmPrecision::Float32);
}

}  // namespace graft
