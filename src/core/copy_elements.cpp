// Raw element routines of the core layer: broadcasting shapes and strides, copying and
// converting elements between tensors, adding one tensor into another. No autograd, no
// in-place guards: the differentiable forms (src/ops/copy.cpp) and the engine build on these.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

#include "core/dispatch.hpp"
#include "kernels/vector/vector.hpp"

namespace graft {

namespace detail {

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
    const std::size_t n = std::max(a.size(), b.size());
    Shape out(n);
    for (std::size_t i = 0; i < n; ++i) {
        const std::int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
        const std::int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
        if (da != db && da != 1 && db != 1)
            throw ShapeError(std::string(op) + ": shapes " + shape_str(a) + " and " + shape_str(b) +
                             " cannot be broadcast (dimension " + std::to_string(i) + ": " + std::to_string(da) +
                             " vs " + std::to_string(db) + ")");
        out[i] = da == 1 ? db : da;
    }
    return out;
}

Shape broadcast_strides(const Tensor& t, const Shape& shape) {
    const std::size_t n = shape.size();
    const std::size_t k = static_cast<std::size_t>(t.dim());
    Shape st(n, 0);
    for (std::size_t i = 0; i < k; ++i) {
        const std::size_t j = n - k + i;
        st[j] = t.shape()[i] == 1 && shape[j] != 1 ? 0 : t.strides()[i];
    }
    return st;
}

void throw_integer_conversion(const char* op, double value, DType from, DType to) {
    char text[64];  // the shortest form that reads back as the value: "nan", "-inf", "3e+09", "2147483648"
    *std::to_chars(text, text + sizeof text - 1, value).ptr = '\0';
    std::string why = "not finite";
    if (std::isnan(value)) {
        why = "not a number";
    } else if (std::isfinite(value)) {
        const bool wide = to == DType::Int64;
        why = "outside [" +
              std::to_string(wide ? std::numeric_limits<std::int64_t>::min() : std::numeric_limits<std::int32_t>::min()) +
              ", " +
              std::to_string(wide ? std::numeric_limits<std::int64_t>::max() : std::numeric_limits<std::int32_t>::max()) +
              "]";
    }
    throw ValueError(std::string(op) + ": " + dtype_name(from) + " value " + text + " cannot be converted to " +
                     dtype_name(to) + " (" + why + ")");
}

void copy_elements(const Tensor& dst, const Tensor& src, const char* op) {
    if (broadcast_shapes(src.shape(), dst.shape(), op) != dst.shape())
        throw ShapeError(std::string(op) + ": source of shape " + shape_str(src.shape()) +
                         " cannot be broadcast to destination " + shape_str(dst.shape()));
    const std::array<Shape, 2> strides{dst.strides(), broadcast_strides(src, dst.shape())};
    const std::array<std::int64_t, 2> base{dst.offset(), src.offset()};
    dispatch_all(dst.dtype(), [&]<class D>() {
        D* d = storage_ptr<D>(dst);
        dispatch_all(src.dtype(), [&]<class S>() {
            const S* s = storage_ptr<S>(src);
            if constexpr (std::is_integral_v<D> && !std::is_same_v<D, bool> && !std::is_integral_v<S>) {
                // Floating to integer: every value is checked before any is written, so that a
                // failed copy_ leaves its destination as it was.
                for_each_row<2>(dst.shape(), strides, base, [&](auto off, std::int64_t n, auto inner) {
                    const S* sp = s + off[1];
                    for (std::int64_t i = 0; i < n; ++i) {
                        const double v = convert<double>(sp[i * inner[1]]);
                        if (!fits_integer<D>(v)) throw_integer_conversion(op, v, src.dtype(), dst.dtype());
                    }
                });
            }
            // Rows on several threads where no row can read what another writes.
            const auto rows = [&](auto&& fn) {
                if (dst.shares_storage(src))
                    for_each_row<2>(dst.shape(), strides, base, fn);
                else
                    parallel_for_each_row<2>(dst.shape(), strides, base, fn);
            };
            rows([&](auto off, std::int64_t n, auto inner) {
                D* dp = d + off[0];
                const S* sp = s + off[1];
                if constexpr (std::is_same_v<D, S>) {
                    if (inner[0] == 1 && inner[1] == 1) {
                        std::memcpy(dp, sp, static_cast<std::size_t>(n) * sizeof(D));
                        return;
                    }
                    if (inner[0] == 1 && inner[1] == 0) {  // fill_, a broadcast value
                        std::fill_n(dp, n, *sp);
                        return;
                    }
                }
                for (std::int64_t i = 0; i < n; ++i) {
                    if constexpr (std::is_same_v<D, bool>)
                        dp[i * inner[0]] = convert<double>(sp[i * inner[1]]) != 0.0;
                    else if constexpr (std::is_same_v<S, bool>)
                        dp[i * inner[0]] = convert<D>(sp[i * inner[1]] ? 1.0f : 0.0f);
                    else if constexpr (std::is_same_v<D, S>)
                        dp[i * inner[0]] = sp[i * inner[1]];
                    else if constexpr (std::is_same_v<S, bfloat16> || std::is_same_v<S, float16> ||
                                       std::is_same_v<D, bfloat16> || std::is_same_v<D, float16>)
                        dp[i * inner[0]] = convert<D>(convert<float>(sp[i * inner[1]]));
                    else
                        dp[i * inner[0]] = static_cast<D>(sp[i * inner[1]]);
                }
            });
        });
    });
}

void add_elements(const Tensor& dst, const Tensor& src) {
    if (dst.shape() != src.shape() || dst.dtype() != src.dtype())
        throw ShapeError("add_elements: destination " + shape_str(dst.shape()) + " " + dtype_name(dst.dtype()) +
                         " and source " + shape_str(src.shape()) + " " + dtype_name(src.dtype()) + " differ");
    if (dst.dtype() == DType::Float32 && dst.is_contiguous() && src.is_contiguous()) {
        float* d = static_cast<float*>(dst.raw_data());
        kernels::binary(kernels::BinaryOp::Add, dst.numel(), d, static_cast<const float*>(src.raw_data()), d);
        return;
    }
    const std::array<Shape, 2> strides{dst.strides(), src.strides()};
    const std::array<std::int64_t, 2> base{dst.offset(), src.offset()};
    dispatch_floating(dst.dtype(), "add_elements", [&]<class T>() {
        T* d = storage_ptr<T>(dst);
        const T* s = storage_ptr<T>(src);
        const auto row = [&](auto off, std::int64_t n, auto inner) {
            for (std::int64_t i = 0; i < n; ++i) d[off[0] + i * inner[0]] += s[off[1] + i * inner[1]];
        };
        if (dst.shares_storage(src))
            for_each_row<2>(dst.shape(), strides, base, row);
        else
            parallel_for_each_row<2>(dst.shape(), strides, base, row);
    });
}

}  // namespace detail

}  // namespace graft
