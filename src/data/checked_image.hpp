// Internal: the input check every image transform starts with.
#pragma once

#include <string>

#include "graft/tensor.hpp"

namespace graft::data::detail {

/// The image as a contiguous float32 [C, H, W]; ShapeError/DTypeError naming `who` otherwise.
inline Tensor checked_image(const Tensor& image, const char* who) {
    if (image.dim() != 3)
        throw ShapeError(std::string(who) + ": expects an image [C, H, W], got " + shape_str(image.shape()));
    image.check_dtype(DType::Float32, who);
    return image.contiguous();
}

}  // namespace graft::data::detail
