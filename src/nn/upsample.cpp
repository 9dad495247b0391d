// nn::Upsample: options checked once, forward through functional::interpolate.
#include "graft/nn/upsample.hpp"

#include "nn/repr.hpp"

namespace graft::nn {

Upsample::Upsample(const functional::InterpolateOptions& opts) : options(opts) {
    if (options.size.has_value() == options.scale_factor.has_value())
        throw ValueError("Upsample: give exactly one of size and scale_factor");
    if (options.align_corners && options.mode == functional::InterpolateMode::Nearest)
        throw ValueError("Upsample: align_corners applies to bilinear mode only, not nearest");
}

std::string Upsample::extra_repr() const {
    std::string s;
    if (options.size) {
        s = "size=" + pyfmt::size2_repr(*options.size);
    } else {
        const auto [h, w] = *options.scale_factor;
        s = "scale_factor=" + (h == w ? pyfmt::py_float(h) : "(" + pyfmt::py_float(h) + ", " + pyfmt::py_float(w) + ")");
    }
    s += options.mode == functional::InterpolateMode::Nearest ? ", mode='nearest'" : ", mode='bilinear'";
    return s;
}

}  // namespace graft::nn
