// Tensor metadata, element access, and the autograd fields a tensor carries (grad, grad_fn).
// What needs the engine or the Node type (backward, requires_grad_, retain_grad, printing) is in
// src/autograd/tensor_autograd.cpp.
#include "graft/tensor.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>

#include "core/dispatch.hpp"

namespace graft {

std::string shape_str(const Shape& shape) {
    std::string s = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) {
        if (i) s += ", ";
        s += std::to_string(shape[i]);
    }
    return s + "]";
}

std::int64_t shape_numel(const Shape& shape) {
    std::int64_t n = 1;
    for (std::int64_t s : shape) {
        if (s < 0) throw ShapeError("invalid shape " + shape_str(shape) + ": negative size");
        if (s != 0 && n > INT64_MAX / s) throw ShapeError("invalid shape " + shape_str(shape) + ": too many elements");
        n *= s;
    }
    return n;
}

Shape contiguous_strides(const Shape& shape) {
    Shape st(shape.size());
    std::int64_t acc = 1;
    for (std::size_t i = shape.size(); i-- > 0;) {
        st[i] = acc;
        acc *= std::max<std::int64_t>(shape[i], 1);
    }
    return st;
}

std::int64_t wrap_dim(std::int64_t dim, std::int64_t ndim, const char* op) {
    const std::int64_t n = std::max<std::int64_t>(ndim, 1);
    if (dim < -n || dim >= n)
        throw IndexError(std::string(op) + ": dimension " + std::to_string(dim) + " out of range for a " +
                         std::to_string(ndim) + "-d tensor");
    return dim < 0 ? dim + n : dim;
}

TensorImpl& Tensor::impl() const {
    if (!impl_) throw ValueError("operation on an undefined tensor");
    return *impl_;
}

std::int64_t Tensor::size(std::int64_t d) const { return impl().shape[wrap_dim(d, dim(), "size")]; }

std::int64_t Tensor::stride(std::int64_t d) const { return impl().strides[wrap_dim(d, dim(), "stride")]; }

std::int64_t Tensor::numel() const {
    std::int64_t n = 1;
    for (std::int64_t s : impl().shape) n *= s;
    return n;
}

bool Tensor::is_contiguous() const {
    std::int64_t expected = 1;
    const auto& sh = impl().shape;
    const auto& st = impl().strides;
    for (std::size_t i = sh.size(); i-- > 0;) {
        if (sh[i] == 1) continue;
        if (st[i] != expected) return false;
        expected *= sh[i];
    }
    return true;
}

void* Tensor::raw_data() const {
    return static_cast<char*>(impl().storage->data()) + impl().offset * static_cast<std::int64_t>(element_size());
}

void Tensor::check_dtype(DType want, const char* op) const {
    if (dtype() != want)
        throw DTypeError(std::string(op) + ": expected dtype " + dtype_name(want) + ", tensor has " +
                         dtype_name(dtype()) + " (shape " + shape_str(shape()) + ")");
}

double Tensor::item_double() const {
    if (numel() != 1)
        throw ShapeError("item: tensor must hold exactly one element, has shape " + shape_str(shape()));
    return detail::dispatch_all(dtype(), [&]<class T>() {
        return detail::convert<double>(*static_cast<const T*>(raw_data()));
    });
}

void Tensor::throw_item_not_integer(double value, long double lo, long double hi) const {
    char number[64], range[96];  // the value in the shortest form that reads back as it
    *std::to_chars(number, number + sizeof number - 1, value).ptr = '\0';
    std::snprintf(range, sizeof range, "[%.0Lf, %.0Lf]", lo, hi);
    throw ValueError(std::string("item: ") + dtype_name(dtype()) + " value " + number +
                     " cannot be converted to an integer in " + range);
}

template <class T>
std::vector<T> Tensor::to_vector() const {
    std::vector<T> out(static_cast<std::size_t>(numel()));
    if (out.empty()) return out;
    Tensor dst = from_blob(out.data(), shape(), dtype_of<T>::value);
    detail::copy_elements(dst, *this, "to_vector");
    return out;
}
template std::vector<float> Tensor::to_vector<float>() const;
template std::vector<double> Tensor::to_vector<double>() const;
template std::vector<std::int64_t> Tensor::to_vector<std::int64_t>() const;
template std::vector<std::int32_t> Tensor::to_vector<std::int32_t>() const;

template <>
std::vector<bool> Tensor::to_vector<bool>() const {
    std::vector<std::uint8_t> bytes(static_cast<std::size_t>(numel()));
    if (!bytes.empty()) detail::copy_elements(from_blob(bytes.data(), shape(), DType::Bool), *this, "to_vector");
    return std::vector<bool>(bytes.begin(), bytes.end());
}

namespace detail {

Tensor make_view(const Tensor& src, Shape shape, Shape strides, std::int64_t offset) {
    auto impl = std::make_shared<TensorImpl>();
    impl->storage = src.storage();
    impl->shape = std::move(shape);
    impl->strides = std::move(strides);
    impl->offset = offset;
    impl->dtype = src.dtype();
    return Tensor(std::move(impl));
}

std::vector<double> leading_values(const Tensor& t, std::int64_t count) {
    std::vector<double> out;
    out.reserve(static_cast<std::size_t>(std::max<std::int64_t>(count, 0)));
    const std::size_t nd = t.shape().size();
    std::vector<std::int64_t> index(nd, 0);
    dispatch_all(t.dtype(), [&]<class T>() {
        const T* base = storage_ptr<T>(t);
        for (std::int64_t i = 0; i < count; ++i) {
            std::int64_t off = t.offset();
            for (std::size_t d = 0; d < nd; ++d) off += index[d] * t.strides()[d];
            out.push_back(convert<double>(base[off]));
            for (std::size_t d = nd; d-- > 0;) {
                if (++index[d] < t.shape()[d]) break;
                index[d] = 0;
            }
        }
    });
    return out;
}

}  // namespace detail

Tensor Tensor::detach() const { return detail::make_view(*this, shape(), strides(), offset()); }

// ---- autograd accessors ----------------------------------------------------------

Tensor Tensor::grad() const {
    if (!impl().autograd || !impl().autograd->grad) return Tensor();
    return Tensor(impl().autograd->grad);
}

void Tensor::set_grad(const Tensor& g) {
    if (g.defined() && g.shape() != shape())
        throw ShapeError("set_grad: gradient shape " + shape_str(g.shape()) + " does not match tensor shape " +
                         shape_str(shape()));
    if (g.defined() && g.dtype() != dtype())
        throw DTypeError(std::string("set_grad: gradient dtype ") + dtype_name(g.dtype()) +
                         " does not match tensor dtype " + dtype_name(dtype()));
    if (!g.defined() && !impl().autograd) return;
    impl().meta().grad = g.defined() ? g.impl_ptr() : nullptr;
}

bool Tensor::is_leaf() const { return !impl().autograd || !impl().autograd->grad_fn; }

std::shared_ptr<Node> Tensor::grad_fn() const {
    return impl().autograd ? impl().autograd->grad_fn : nullptr;
}


}  // namespace graft
