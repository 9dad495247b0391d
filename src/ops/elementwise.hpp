// Internal: the loops behind elementwise ops (map over one, two or three broadcast operands).
#pragma once

#include <array>
#include <type_traits>

#include "core/dispatch.hpp"
#include "kernels/vector/vector.hpp"

namespace graft::detail {

/// out[i] = f(x[i]) over any strides; out is a new contiguous tensor of dtype R.
template <class R, class T, class F>
Tensor unary_map(const Tensor& x, F&& f) {
    Tensor out = empty(x.shape(), dtype_of<R>::value);
    R* o = out.data_ptr<R>();
    const T* in = storage_ptr<T>(x);
    if (x.is_contiguous()) {
        const T* p = in + x.offset();
        for (std::int64_t i = 0, n = x.numel(); i < n; ++i) o[i] = f(p[i]);
        return out;
    }
    for_each_row<2>(x.shape(), {out.strides(), x.strides()}, {0, x.offset()},
                    [&](auto off, std::int64_t n, auto inner) {
                        R* op = o + off[0];
                        const T* ip = in + off[1];
                        for (std::int64_t i = 0; i < n; ++i) op[i * inner[0]] = f(ip[i * inner[1]]);
                    });
    return out;
}

/// out[i] = f(a[i], b[i]) with NumPy broadcasting; a and b of element type T, out of R.
template <class R, class T, class F>
Tensor binary_map(const Tensor& a, const Tensor& b, const char* op, F&& f) {
    const Shape shape = broadcast_shapes(a.shape(), b.shape(), op);
    Tensor out = empty(shape, dtype_of<R>::value);
    R* o = out.data_ptr<R>();
    const T* pa = storage_ptr<T>(a);
    const T* pb = storage_ptr<T>(b);
    const std::array<Shape, 3> strides{out.strides(), broadcast_strides(a, shape), broadcast_strides(b, shape)};
    const auto row = [&](auto off, std::int64_t n, auto inner) {
        R* op_ = o + off[0];
        const T* x = pa + off[1];
        const T* y = pb + off[2];
        if (inner[1] == 1 && inner[2] == 1) {
            for (std::int64_t i = 0; i < n; ++i) op_[i] = f(x[i], y[i]);
        } else if (inner[1] == 1 && inner[2] == 0) {
            const T yv = *y;
            for (std::int64_t i = 0; i < n; ++i) op_[i] = f(x[i], yv);
        } else if (inner[1] == 0 && inner[2] == 1) {
            const T xv = *x;
            for (std::int64_t i = 0; i < n; ++i) op_[i] = f(xv, y[i]);
        } else {
            for (std::int64_t i = 0; i < n; ++i) op_[i] = f(x[i * inner[1]], y[i * inner[2]]);
        }
    };
    // Floating-point rows on several threads (out is new, each row writes only its own elements);
    // integer ops stay on the calling thread, where f may throw (a division by zero).
    if constexpr (std::is_floating_point_v<T>)
        parallel_for_each_row<3>(shape, strides, {0, a.offset(), b.offset()}, row);
    else
        for_each_row<3>(shape, strides, {0, a.offset(), b.offset()}, row);
    return out;
}

/// Throws DTypeError unless a and b have the same dtype.
void check_same_dtype(const Tensor& a, const Tensor& b, const char* op);

/// out = a op b through the float32 binary kernels when the layout is one of their fast paths
/// (float32, contiguous, the same shape, a one-element operand, or a trailing-dims block like a
/// row bias); out must be contiguous float32 of a and b's broadcast shape. Returns false,
/// writing nothing, when the layout is not a fast path. out may be a itself (an in-place
/// update), never a partial overlap.
bool binary_f32_into(const Tensor& a, const Tensor& b, kernels::BinaryOp op, const Tensor& out);

}  // namespace graft::detail
