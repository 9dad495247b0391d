// Internal: dtype dispatch and strided N-operand loops shared by every op family.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "kernels/cpu/parallel.hpp"
#include "graft/error.hpp"
#include "graft/tensor.hpp"

namespace graft::detail {

/// Calls fn.template operator()<T>() with T = float or double; DTypeError naming `op` otherwise.
template <class F>
decltype(auto) dispatch_floating(DType dtype, const char* op, F&& fn) {
    switch (dtype) {
        case DType::Float32: return fn.template operator()<float>();
        case DType::Float64: return fn.template operator()<double>();
        default:
            throw DTypeError(std::string(op) + ": expected a floating-point tensor (float32 or float64), got " +
                             dtype_name(dtype));
    }
}

/// float, double, int64 or int32; bool and the storage-only types are rejected.
template <class F>
decltype(auto) dispatch_numeric(DType dtype, const char* op, F&& fn) {
    switch (dtype) {
        case DType::Float32: return fn.template operator()<float>();
        case DType::Float64: return fn.template operator()<double>();
        case DType::Int64: return fn.template operator()<std::int64_t>();
        case DType::Int32: return fn.template operator()<std::int32_t>();
        default:
            throw DTypeError(std::string(op) + ": expected a numeric tensor (float32, float64, int64, int32), got " +
                             dtype_name(dtype) +
                             (is_storage_only(dtype) ? " (a storage type: convert with .to(DType::Float32))" : ""));
    }
}

/// Every dtype, bool and the storage-only types included.
template <class F>
decltype(auto) dispatch_all(DType dtype, F&& fn) {
    switch (dtype) {
        case DType::Float32: return fn.template operator()<float>();
        case DType::Float64: return fn.template operator()<double>();
        case DType::Int64: return fn.template operator()<std::int64_t>();
        case DType::Int32: return fn.template operator()<std::int32_t>();
        case DType::Bool: return fn.template operator()<bool>();
        case DType::BFloat16: return fn.template operator()<bfloat16>();
        case DType::Float16: return fn.template operator()<float16>();
    }
    throw DTypeError("unknown dtype");
}

/// Converts any element type to float/double/int for arithmetic.
template <class To, class From>
inline To convert(From v) {
    if constexpr (std::is_same_v<From, bfloat16>) {
        return static_cast<To>(bf16_to_float(v));
    } else if constexpr (std::is_same_v<From, float16>) {
        return static_cast<To>(f16_to_float(v));
    } else if constexpr (std::is_same_v<To, bfloat16>) {
        return float_to_bf16(static_cast<float>(v));
    } else if constexpr (std::is_same_v<To, float16>) {
        return float_to_f16(static_cast<float>(v));
    } else {
        return static_cast<To>(v);
    }
}

/// Whether a floating value, truncated toward zero, is a value of the integer type I (false for
/// NaN and ±inf). Converting any other value to I is undefined behaviour in C++.
template <class I>
inline bool fits_integer(double v) {
    constexpr double lo = static_cast<double>(std::numeric_limits<I>::min());  // −2^63 or −2^31, exact
    const double t = std::trunc(v);
    return t >= lo && t < -lo;
}

/// ValueError naming `op`, the value and both dtypes, for a floating value that fits_integer
/// refused.
[[noreturn]] void throw_integer_conversion(const char* op, double value, DType from, DType to);

/// convert<To>, defined for every input: a floating value that is not finite or outside the range
/// of an integer To is a ValueError naming `op` (throw_integer_conversion); `from` is the dtype
/// the value came from, for the message. Bool targets take any nonzero value (NaN too) as true.
template <class To, class From>
inline To convert_checked(From v, DType from, const char* op) {
    if constexpr (std::is_integral_v<To> && !std::is_same_v<To, bool> && !std::is_integral_v<From>) {
        const double d = convert<double>(v);
        if (!fits_integer<To>(d)) throw_integer_conversion(op, d, from, dtype_of<To>::value);
        return static_cast<To>(d);
    } else {
        return convert<To>(v);
    }
}

/// Broadcast shape of a and b (NumPy rules); ShapeError naming `op` and both shapes.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);

/// Strides that read `t` as if expanded to `shape` (0 along broadcast dimensions).
Shape broadcast_strides(const Tensor& t, const Shape& shape);

/// `shape` and N operands' strides with size-1 dims dropped and adjacent dims merged where every
/// operand allows it (stride[d-1] == stride[d]·shape[d]), so contiguous data is one long row.
template <std::size_t N>
struct CoalescedRows {
    Shape sh;
    std::array<Shape, N> st;
    bool empty = false;  ///< a dimension of size 0: no element at all

    CoalescedRows(const Shape& shape, const std::array<Shape, N>& strides) {
        for (std::size_t d = 0; d < shape.size(); ++d) {
            if (shape[d] == 0) empty = true;
            if (shape[d] == 1) continue;
            if (!sh.empty()) {
                bool merge = true;
                for (std::size_t k = 0; k < N; ++k)
                    if (st[k].back() != strides[k][d] * shape[d]) merge = false;
                if (merge) {
                    sh.back() *= shape[d];
                    for (std::size_t k = 0; k < N; ++k) st[k].back() = strides[k][d];
                    continue;
                }
            }
            sh.push_back(shape[d]);
            for (std::size_t k = 0; k < N; ++k) st[k].push_back(strides[k][d]);
        }
    }
    /// Elements per innermost row (1 for a single element).
    std::int64_t row_length() const { return sh.empty() ? 1 : sh.back(); }
    /// Innermost rows.
    std::int64_t rows() const {
        std::int64_t r = 1;
        for (std::size_t d = 0; d + 1 < sh.size(); ++d) r *= sh[d];
        return r;
    }
    /// Calls fn(offsets, n, inner_strides) for rows [lo, hi) in row-major order.
    template <class F>
    void run(const std::array<std::int64_t, N>& base, std::int64_t lo, std::int64_t hi, F&& fn) const {
        if (lo >= hi) return;
        const std::int64_t n = row_length();
        std::array<std::int64_t, N> inner{};
        if (!sh.empty())
            for (std::size_t k = 0; k < N; ++k) inner[k] = st[k].back();
        const std::size_t outer = sh.empty() ? 0 : sh.size() - 1;
        // Row lo's position in the outer dims, and its offsets.
        Shape counter(outer, 0);
        std::array<std::int64_t, N> off = base;
        for (std::int64_t r = lo, d = static_cast<std::int64_t>(outer) - 1; d >= 0; --d) {
            counter[static_cast<std::size_t>(d)] = r % sh[static_cast<std::size_t>(d)];
            r /= sh[static_cast<std::size_t>(d)];
            for (std::size_t k = 0; k < N; ++k)
                off[k] += counter[static_cast<std::size_t>(d)] * st[k][static_cast<std::size_t>(d)];
        }
        for (std::int64_t row = lo;;) {
            fn(off, n, inner);
            if (++row == hi) return;
            for (std::size_t d = outer; d-- > 0;) {
                ++counter[d];
                for (std::size_t k = 0; k < N; ++k) off[k] += st[k][d];
                if (counter[d] < sh[d]) break;
                for (std::size_t k = 0; k < N; ++k) off[k] -= st[k][d] * sh[d];
                counter[d] = 0;
            }
        }
    }
};

/// Iterates `shape` row by row in row-major order for N operands with the given strides
/// (in elements). fn(offsets, n, inner_strides) handles one innermost row of n elements,
/// where offsets[k] is operand k's element offset of the row's first element.
/// Adjacent dimensions are merged where every operand allows it, so contiguous data
/// arrives as one long row.
template <std::size_t N, class F>
void for_each_row(const Shape& shape, const std::array<Shape, N>& strides, const std::array<std::int64_t, N>& base,
                  F&& fn) {
    const CoalescedRows<N> rows(shape, strides);
    if (!rows.empty) rows.run(base, 0, rows.rows(), fn);
}

/// Elements from which parallel_for_each_row spreads its rows over the threads: what the
/// memory-bound vector kernels take (a smaller copy is done before threads would start).
inline constexpr std::int64_t kParallelRowsMinElements = std::int64_t{1} << 18;

/// for_each_row with the rows split over the threads (kernels::parallel_for) when there are at
/// least kParallelRowsMinElements elements and two rows: for element-wise work where each row
/// writes only its own elements. fn must not throw (it may run inside a parallel region).
template <std::size_t N, class F>
void parallel_for_each_row(const Shape& shape, const std::array<Shape, N>& strides,
                           const std::array<std::int64_t, N>& base, F&& fn) {
    const CoalescedRows<N> rows(shape, strides);
    if (rows.empty) return;
    const std::int64_t count = rows.rows(), elements = count * rows.row_length();
    if (elements < kParallelRowsMinElements) return rows.run(base, 0, count, fn);
    kernels::parallel_for(0, count, elements, [&](std::int64_t lo, std::int64_t hi) { rows.run(base, lo, hi, fn); });
}

/// Element-typed base pointer of a tensor's storage (offset not applied).
template <class T>
inline T* storage_ptr(const Tensor& t) {
    return static_cast<T*>(t.storage()->data());
}

/// A tensor viewing src's storage with the given shape, strides and offset; no autograd.
Tensor make_view(const Tensor& src, Shape shape, Shape strides, std::int64_t offset);

/// The first `count` elements of t in row-major order, as doubles (count ≤ numel).
std::vector<double> leading_values(const Tensor& t, std::int64_t count);

/// Writes src (broadcast to dst's shape, converted to dst's dtype) into dst's elements.
/// No autograd, no checks on writability: the callers check. A floating source with a value that
/// an integer dst cannot hold (NaN, ±inf, out of range) is a ValueError naming `op` and the value,
/// raised before anything is written.
void copy_elements(const Tensor& dst, const Tensor& src, const char* op);

/// dst += src for two float32 or float64 tensors of one shape and dtype (ShapeError otherwise).
/// No autograd, no checks on writability: the autograd engine accumulates gradients with it.
void add_elements(const Tensor& dst, const Tensor& src);

}  // namespace graft::detail
