// Tensor factories: empty/zeros/ones/full, ranges, random samples, vectors and external buffers.
#include <cmath>
#include <cstring>
#include <limits>

#include "core/dispatch.hpp"
#include "graft/random.hpp"
#include "graft/tensor.hpp"

namespace graft {

namespace {

/// The bytes of `shape` elements of `dtype`; errors name `op`, the shape and the dtype: ShapeError
/// when the element count or the byte count overflows.
std::size_t shape_nbytes(const Shape& shape, DType dtype, const char* op) {
    std::int64_t n = 0;
    try {
        n = shape_numel(shape);
    } catch (Error& e) {
        e.add_context(op);
        throw;
    }
    const std::size_t element = dtype_size(dtype);
    if (static_cast<std::uint64_t>(n) > std::numeric_limits<std::size_t>::max() / element)
        throw ShapeError(std::string(op) + ": shape " + shape_str(shape) + " " + dtype_name(dtype) + ": " +
                         std::to_string(n) + " elements of " + std::to_string(element) +
                         " bytes overflow a 64-bit byte count");
    return static_cast<std::size_t>(n) * element;
}

/// A new uninitialised contiguous tensor; errors name `op`, the shape and the dtype (ShapeError
/// for a size that overflows, MemoryError for one the machine cannot provide).
Tensor empty_for(const char* op, const Shape& shape, DType dtype) {
    const std::size_t nbytes = shape_nbytes(shape, dtype, op);
    auto impl = std::make_shared<TensorImpl>();
    try {
        impl->storage = Storage::allocate(nbytes);
    } catch (MemoryError& e) {
        e.add_context(std::string(op) + ": shape " + shape_str(shape) + " " + dtype_name(dtype));
        throw;
    }
    impl->shape = shape;
    impl->strides = contiguous_strides(shape);
    impl->dtype = dtype;
    return Tensor(std::move(impl));
}

/// A tensor filled with `value`, converted to dtype (checked, for an integer dtype, before
/// anything is allocated).
Tensor full_for(const char* op, const Shape& shape, double value, DType dtype) {
    return detail::dispatch_all(dtype, [&]<class T>() {
        const T v = detail::convert_checked<T>(value, DType::Float64, op);
        Tensor t = empty_for(op, shape, dtype);
        T* p = static_cast<T*>(t.raw_data());
        const std::int64_t n = t.numel();
        for (std::int64_t i = 0; i < n; ++i) p[i] = v;
        return t;
    });
}

}  // namespace

Tensor empty(const Shape& shape, DType dtype) { return empty_for("empty", shape, dtype); }

Tensor zeros(const Shape& shape, DType dtype) {
    Tensor t = empty_for("zeros", shape, dtype);
    std::memset(t.raw_data(), 0, static_cast<std::size_t>(t.numel()) * t.element_size());
    return t;
}

Tensor ones(const Shape& shape, DType dtype) { return full_for("ones", shape, 1.0, dtype); }

Tensor full(const Shape& shape, double value, DType dtype) { return full_for("full", shape, value, dtype); }

Tensor empty_like(const Tensor& t) { return empty_for("empty_like", t.shape(), t.dtype()); }
Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), t.dtype()); }
Tensor ones_like(const Tensor& t) { return ones(t.shape(), t.dtype()); }
Tensor full_like(const Tensor& t, double value) { return full(t.shape(), value, t.dtype()); }

Tensor arange(double end, DType dtype) { return arange(0.0, end, 1.0, dtype); }

Tensor arange(double start, double end, double step, DType dtype) {
    if (step == 0.0 || !std::isfinite(start) || !std::isfinite(end) || !std::isfinite(step))
        throw ValueError("arange: step must be non-zero and bounds finite (start " + std::to_string(start) +
                         ", end " + std::to_string(end) + ", step " + std::to_string(step) + ")");
    const double count = std::ceil((end - start) / step);
    if (!(count < 0x1p63))
        throw ShapeError("arange: start " + std::to_string(start) + ", end " + std::to_string(end) + ", step " +
                         std::to_string(step) + " give " + std::to_string(count) + " elements, too many");
    const std::int64_t n = count > 0 ? static_cast<std::int64_t>(count) : 0;
    Tensor t = empty_for("arange", {n}, dtype);
    detail::dispatch_numeric(dtype, "arange", [&]<class T>() {
        T* p = t.data_ptr<T>();
        for (std::int64_t i = 0; i < n; ++i)
            p[i] = detail::convert_checked<T>(start + static_cast<double>(i) * step, DType::Float64, "arange");
    });
    return t;
}

Tensor linspace(double start, double end, std::int64_t steps, DType dtype) {
    if (steps < 0) throw ValueError("linspace: steps must be non-negative, got " + std::to_string(steps));
    Tensor t = empty_for("linspace", {steps}, dtype);
    detail::dispatch_floating(dtype, "linspace", [&]<class T>() {
        T* p = t.data_ptr<T>();
        const double delta = steps > 1 ? (end - start) / static_cast<double>(steps - 1) : 0.0;
        for (std::int64_t i = 0; i < steps; ++i)
            p[i] = static_cast<T>(i == steps - 1 && steps > 1 ? end : start + delta * static_cast<double>(i));
    });
    return t;
}

namespace {

/// A floating tensor of `shape` whose elements are draw.template operator()<T>(g), in order.
template <class Draw>
Tensor random_floating(const char* op, const Shape& shape, DType dtype, Generator* gen, Draw&& draw) {
    Generator& g = gen ? *gen : default_generator();
    Tensor t = empty_for(op, shape, dtype);
    detail::dispatch_floating(dtype, op, [&]<class T>() {
        T* p = t.data_ptr<T>();
        for (std::int64_t i = 0, n = t.numel(); i < n; ++i) p[i] = draw.template operator()<T>(g);
    });
    return t;
}

}  // namespace

Tensor randn(const Shape& shape, DType dtype, Generator* gen) {
    return random_floating("randn", shape, dtype, gen, []<class T>(Generator& g) { return static_cast<T>(g.normal()); });
}

Tensor rand(const Shape& shape, DType dtype, Generator* gen) {
    return random_floating("rand", shape, dtype, gen, []<class T>(Generator& g) {
        const T v = static_cast<T>(g.uniform());
        return v < T(1) ? v : std::nextafter(T(1), T(0));  // rounding to float can reach 1.0; keep [0, 1)
    });
}

Tensor randint(std::int64_t low, std::int64_t high, const Shape& shape, DType dtype, Generator* gen) {
    Generator& g = gen ? *gen : default_generator();
    if (high <= low)
        throw ValueError("randint: empty range [" + std::to_string(low) + ", " + std::to_string(high) + ")");
    Tensor t = empty_for("randint", shape, dtype);
    detail::dispatch_numeric(dtype, "randint", [&]<class T>() {
        T* p = t.data_ptr<T>();
        for (std::int64_t i = 0, n = t.numel(); i < n; ++i) p[i] = static_cast<T>(g.randint(low, high));
    });
    return t;
}

Tensor randn_like(const Tensor& t, Generator* gen) { return randn(t.shape(), t.dtype(), gen); }
Tensor rand_like(const Tensor& t, Generator* gen) { return rand(t.shape(), t.dtype(), gen); }

template <class T>
Tensor from_vector(const std::vector<T>& values, const Shape& shape) {
    const Shape s = shape.empty() ? Shape{static_cast<std::int64_t>(values.size())} : shape;
    if (shape_numel(s) != static_cast<std::int64_t>(values.size()))
        throw ShapeError("from_vector: " + std::to_string(values.size()) + " values do not fill shape " +
                         shape_str(s));
    Tensor t = empty(s, dtype_of<T>::value);
    if constexpr (std::is_same_v<T, bool>) {
        auto* p = static_cast<bool*>(t.raw_data());
        for (std::size_t i = 0; i < values.size(); ++i) p[i] = values[i];
    } else {
        if (!values.empty()) std::memcpy(t.raw_data(), values.data(), values.size() * sizeof(T));
    }
    return t;
}
template Tensor from_vector<float>(const std::vector<float>&, const Shape&);
template Tensor from_vector<double>(const std::vector<double>&, const Shape&);
template Tensor from_vector<std::int64_t>(const std::vector<std::int64_t>&, const Shape&);
template Tensor from_vector<std::int32_t>(const std::vector<std::int32_t>&, const Shape&);
template Tensor from_vector<bool>(const std::vector<bool>&, const Shape&);
template Tensor from_vector<bfloat16>(const std::vector<bfloat16>&, const Shape&);
template Tensor from_vector<float16>(const std::vector<float16>&, const Shape&);

Tensor scalar_tensor(double value, DType dtype) { return full_for("scalar_tensor", {}, value, dtype); }

Tensor from_blob(void* data, const Shape& shape, DType dtype, std::function<void(void*)> deleter, bool writable) {
    const std::size_t nbytes = shape_nbytes(shape, dtype, "from_blob");
    if (data == nullptr && nbytes > 0) throw ValueError("from_blob: null data pointer for shape " + shape_str(shape));
    auto impl = std::make_shared<TensorImpl>();
    impl->storage = Storage::wrap(data, nbytes, std::move(deleter), writable);
    impl->shape = shape;
    impl->strides = contiguous_strides(shape);
    impl->dtype = dtype;
    return Tensor(std::move(impl));
}

}  // namespace graft
