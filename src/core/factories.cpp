// Tensor factories: empty/zeros/ones/full, ranges, random samples, vectors and external buffers.
#include <cmath>
#include <cstring>

#include "core/dispatch.hpp"
#include "graft/random.hpp"
#include "graft/tensor.hpp"

namespace graft {

Tensor empty(const Shape& shape, DType dtype) {
    const std::int64_t n = shape_numel(shape);
    auto impl = std::make_shared<TensorImpl>();
    impl->storage = Storage::allocate(static_cast<std::size_t>(n) * dtype_size(dtype));
    impl->shape = shape;
    impl->strides = contiguous_strides(shape);
    impl->dtype = dtype;
    return Tensor(std::move(impl));
}

namespace {
void fill_contiguous(const Tensor& t, double value) {
    detail::dispatch_all(t.dtype(), [&]<class T>() {
        T* p = static_cast<T*>(t.raw_data());
        const T v = detail::convert<T>(value);
        const std::int64_t n = t.numel();
        for (std::int64_t i = 0; i < n; ++i) p[i] = v;
    });
}
}  // namespace

Tensor zeros(const Shape& shape, DType dtype) {
    Tensor t = empty(shape, dtype);
    std::memset(t.raw_data(), 0, static_cast<std::size_t>(t.numel()) * t.element_size());
    return t;
}

Tensor ones(const Shape& shape, DType dtype) { return full(shape, 1.0, dtype); }

Tensor full(const Shape& shape, double value, DType dtype) {
    Tensor t = empty(shape, dtype);
    fill_contiguous(t, value);
    return t;
}

Tensor empty_like(const Tensor& t) { return empty(t.shape(), t.dtype()); }
Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), t.dtype()); }
Tensor ones_like(const Tensor& t) { return ones(t.shape(), t.dtype()); }
Tensor full_like(const Tensor& t, double value) { return full(t.shape(), value, t.dtype()); }

Tensor arange(double end, DType dtype) { return arange(0.0, end, 1.0, dtype); }

Tensor arange(double start, double end, double step, DType dtype) {
    if (step == 0.0 || !std::isfinite(start) || !std::isfinite(end) || !std::isfinite(step))
        throw ValueError("arange: step must be non-zero and bounds finite (start " + std::to_string(start) +
                         ", end " + std::to_string(end) + ", step " + std::to_string(step) + ")");
    const double count = std::ceil((end - start) / step);
    const std::int64_t n = count > 0 ? static_cast<std::int64_t>(count) : 0;
    Tensor t = empty({n}, dtype);
    detail::dispatch_numeric(dtype, "arange", [&]<class T>() {
        T* p = t.data_ptr<T>();
        for (std::int64_t i = 0; i < n; ++i) p[i] = static_cast<T>(start + static_cast<double>(i) * step);
    });
    return t;
}

Tensor linspace(double start, double end, std::int64_t steps, DType dtype) {
    if (steps < 0) throw ValueError("linspace: steps must be non-negative, got " + std::to_string(steps));
    Tensor t = empty({steps}, dtype);
    detail::dispatch_floating(dtype, "linspace", [&]<class T>() {
        T* p = t.data_ptr<T>();
        const double delta = steps > 1 ? (end - start) / static_cast<double>(steps - 1) : 0.0;
        for (std::int64_t i = 0; i < steps; ++i)
            p[i] = static_cast<T>(i == steps - 1 && steps > 1 ? end : start + delta * static_cast<double>(i));
    });
    return t;
}

Tensor randn(const Shape& shape, DType dtype, Generator* gen) {
    Generator& g = gen ? *gen : default_generator();
    Tensor t = empty(shape, dtype);
    detail::dispatch_floating(dtype, "randn", [&]<class T>() {
        T* p = t.data_ptr<T>();
        for (std::int64_t i = 0, n = t.numel(); i < n; ++i) p[i] = static_cast<T>(g.normal());
    });
    return t;
}

Tensor rand(const Shape& shape, DType dtype, Generator* gen) {
    Generator& g = gen ? *gen : default_generator();
    Tensor t = empty(shape, dtype);
    detail::dispatch_floating(dtype, "rand", [&]<class T>() {
        T* p = t.data_ptr<T>();
        for (std::int64_t i = 0, n = t.numel(); i < n; ++i) {
            T v = static_cast<T>(g.uniform());
            // Rounding to float can reach 1.0; keep the interval half-open.
            p[i] = v < T(1) ? v : std::nextafter(T(1), T(0));
        }
    });
    return t;
}

Tensor randint(std::int64_t low, std::int64_t high, const Shape& shape, DType dtype, Generator* gen) {
    Generator& g = gen ? *gen : default_generator();
    if (high <= low)
        throw ValueError("randint: empty range [" + std::to_string(low) + ", " + std::to_string(high) + ")");
    Tensor t = empty(shape, dtype);
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

Tensor scalar_tensor(double value, DType dtype) { return full({}, value, dtype); }

Tensor from_blob(void* data, const Shape& shape, DType dtype, std::function<void(void*)> deleter, bool writable) {
    const std::int64_t n = shape_numel(shape);
    if (data == nullptr && n > 0) throw ValueError("from_blob: null data pointer for shape " + shape_str(shape));
    auto impl = std::make_shared<TensorImpl>();
    impl->storage = Storage::wrap(data, static_cast<std::size_t>(n) * dtype_size(dtype), std::move(deleter), writable);
    impl->shape = shape;
    impl->strides = contiguous_strides(shape);
    impl->dtype = dtype;
    return Tensor(std::move(impl));
}

}  // namespace graft
