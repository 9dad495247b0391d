// graft/tensor.hpp — the Tensor handle: shape, strides and offset over shared storage.
//
//   auto x = randn({64, 784});                // float32
//   auto w = zeros({10, 784}).requires_grad_();
//   auto y = matmul(x, w.t());                // t() is a view: no copy
//   y.sum().backward();                       // w.grad() now holds dL/dw
//   std::cout << y;                           // shape, dtype and the leading values
//
// A Tensor is a cheap, shared handle (like torch::Tensor): copying it shares the data.
// Views (view/reshape, transpose, permute, t, narrow/slice, select, unsqueeze, squeeze,
// expand, flatten) share storage with their source; clone() and contiguous() copy.
// The common ops of graft/ops.hpp also have PyTorch's method forms:
// x.relu(), x.matmul(w), x.softmax(-1), x.max(1), x.repeat({2, 1}), …
#pragma once

#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "graft/detail/tensor_impl.hpp"
#include "graft/dtype.hpp"
#include "graft/error.hpp"

namespace graft {

class Node;
class Generator;
/// GELU's form; defined with gelu() in graft/ops.hpp.
enum class GeluApprox;

/// Maps a C++ element type to its DType (float→Float32, double→Float64, …).
template <class T>
struct dtype_of;
template <> struct dtype_of<float> { static constexpr DType value = DType::Float32; };
template <> struct dtype_of<double> { static constexpr DType value = DType::Float64; };
template <> struct dtype_of<std::int64_t> { static constexpr DType value = DType::Int64; };
template <> struct dtype_of<std::int32_t> { static constexpr DType value = DType::Int32; };
template <> struct dtype_of<bool> { static constexpr DType value = DType::Bool; };
template <> struct dtype_of<bfloat16> { static constexpr DType value = DType::BFloat16; };
template <> struct dtype_of<float16> { static constexpr DType value = DType::Float16; };

/// "[2, 3, 4]"
std::string shape_str(const Shape& shape);

class Tensor {
public:
    /// An undefined tensor (no storage); most operations on it throw.
    Tensor() = default;
    explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

    bool defined() const { return impl_ != nullptr; }

    // ---- metadata ------------------------------------------------------------------
    const Shape& shape() const { return impl().shape; }
    const Shape& sizes() const { return impl().shape; }
    /// Size of dimension `dim` (negative counts from the end).
    std::int64_t size(std::int64_t dim) const;
    const Shape& strides() const { return impl().strides; }
    std::int64_t stride(std::int64_t dim) const;
    std::int64_t dim() const { return static_cast<std::int64_t>(impl().shape.size()); }
    std::int64_t numel() const;
    std::int64_t offset() const { return impl().offset; }
    DType dtype() const { return impl().dtype; }
    std::size_t element_size() const { return dtype_size(impl().dtype); }
    /// Row-major contiguous (size-1 dimensions' strides ignored).
    bool is_contiguous() const;
    const std::shared_ptr<Storage>& storage() const { return impl().storage; }
    /// Whether both tensors view the same storage.
    bool shares_storage(const Tensor& other) const { return storage() == other.storage(); }

    // ---- element access ------------------------------------------------------------
    /// Pointer to the first element; T must match dtype() (DTypeError otherwise).
    template <class T>
    T* data_ptr() const {
        check_dtype(dtype_of<T>::value, "data_ptr");
        return static_cast<T*>(raw_data());
    }
    /// Untyped pointer to the first element (storage + offset).
    void* raw_data() const;
    /// The value of a one-element tensor, converted to T. ValueError when T is an integer type
    /// and a floating value is NaN, infinite or outside T's range.
    template <class T = double>
    T item() const {
        const double v = item_double();
        if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
            const double t = std::trunc(v);
            if ((is_floating(dtype()) || is_storage_only(dtype())) &&
                !(t >= static_cast<double>(std::numeric_limits<T>::min()) &&
                  t < static_cast<double>(std::numeric_limits<T>::max()) + 1.0))
                throw_item_not_integer(v, std::numeric_limits<T>::min(), std::numeric_limits<T>::max());
        }
        return static_cast<T>(v);
    }
    double item_double() const;
    /// All elements in row-major order, converted to T.
    template <class T>
    std::vector<T> to_vector() const;

    // ---- views (share storage) -----------------------------------------------------
    /// Same data, new shape; one dimension may be -1. Requires compatible strides (else ShapeError).
    Tensor view(const Shape& shape) const;
    /// Like view, but copies when the strides do not allow a view.
    Tensor reshape(const Shape& shape) const;
    Tensor transpose(std::int64_t dim0, std::int64_t dim1) const;
    Tensor permute(const std::vector<std::int64_t>& dims) const;
    /// Transpose of a 2-D tensor (a 1-D tensor is returned as is).
    Tensor t() const;
    /// Elements start..start+length-1 along dim.
    Tensor narrow(std::int64_t dim, std::int64_t start, std::int64_t length) const;
    /// Python-style slice [start:end:step] along dim; negative and out-of-range bounds are clamped.
    Tensor slice(std::int64_t dim, std::int64_t start, std::int64_t end, std::int64_t step = 1) const;
    /// Index `index` along dim, removing that dimension.
    Tensor select(std::int64_t dim, std::int64_t index) const;
    Tensor unsqueeze(std::int64_t dim) const;
    /// Removes every size-1 dimension.
    Tensor squeeze() const;
    /// Removes dimension dim if it has size 1.
    Tensor squeeze(std::int64_t dim) const;
    /// Broadcasts size-1 dimensions (stride 0) to `shape`; -1 keeps a size.
    Tensor expand(const Shape& shape) const;
    Tensor flatten(std::int64_t start_dim = 0, std::int64_t end_dim = -1) const;
    /// view / reshape / expand to other's shape.
    Tensor view_as(const Tensor& other) const { return view(other.shape()); }
    Tensor reshape_as(const Tensor& other) const { return reshape(other.shape()); }
    Tensor expand_as(const Tensor& other) const { return expand(other.shape()); }

    // ---- copies ----------------------------------------------------------------------
    /// This tensor if already contiguous, else a contiguous copy (differentiable).
    Tensor contiguous() const;
    /// A contiguous copy with its own storage (differentiable).
    Tensor clone() const;
    /// Same storage, cut from the graph (requires_grad false).
    Tensor detach() const;
    /// Converted copy (this tensor itself if the dtype already matches). Differentiable between float types.
    Tensor to(DType dtype) const;
    /// to(other.dtype()).
    Tensor type_as(const Tensor& other) const { return to(other.dtype()); }

    // ---- autograd ------------------------------------------------------------------
    bool requires_grad() const { return impl().autograd && impl().autograd->requires_grad; }
    /// Marks a leaf as requiring grad; only floating-point tensors can.
    Tensor& requires_grad_(bool enabled = true);
    /// Accumulated gradient (undefined until a backward reaches this leaf).
    Tensor grad() const;
    /// Replaces (or with an undefined tensor, clears) the accumulated gradient.
    void set_grad(const Tensor& grad);
    /// True for tensors not produced by a recorded op.
    bool is_leaf() const;
    /// The node that produced this tensor (nullptr for leaves).
    std::shared_ptr<Node> grad_fn() const;
    /// Keep .grad() on this non-leaf tensor during backward.
    void retain_grad();
    /// Backpropagates from this tensor. Without `gradient` it must hold one element.
    void backward(const Tensor& gradient = Tensor(), bool retain_graph = false) const;

    // ---- in-place (refuse leaves requiring grad and tensors saved for a backward) ----
    Tensor& add_(const Tensor& other, double alpha = 1.0);
    Tensor& add_(double value);
    Tensor& sub_(const Tensor& other, double alpha = 1.0);
    Tensor& mul_(const Tensor& other);
    Tensor& mul_(double value);
    Tensor& div_(const Tensor& other);
    Tensor& zero_();
    Tensor& fill_(double value);
    /// Copies src (broadcast to this shape, converted to this dtype) into this tensor.
    Tensor& copy_(const Tensor& src);

    // ---- method forms of ops ----------------------------------------------------------
    // x.op(args) is op(x, args) from graft/ops.hpp (same semantics, errors and gradients);
    // defined in src/ops/tensor_methods.cpp, so this header stays below the ops layer.
    // unary math
    Tensor neg() const;
    Tensor exp() const;
    Tensor log() const;
    Tensor sqrt() const;
    Tensor rsqrt() const;
    Tensor abs() const;
    Tensor pow(double exponent) const;
    Tensor clamp(std::optional<double> min, std::optional<double> max) const;
    Tensor relu() const;
    Tensor sigmoid() const;
    Tensor tanh() const;
    Tensor gelu() const;
    Tensor gelu(GeluApprox approximate) const;
    Tensor silu() const;
    Tensor softmax(std::int64_t dim) const;
    Tensor log_softmax(std::int64_t dim) const;
    // binary (broadcasting)
    Tensor add(const Tensor& other, double alpha = 1.0) const;
    Tensor add(double other) const;
    Tensor sub(const Tensor& other, double alpha = 1.0) const;
    Tensor sub(double other) const;
    Tensor mul(const Tensor& other) const;
    Tensor mul(double other) const;
    Tensor div(const Tensor& other) const;
    Tensor div(double other) const;
    Tensor maximum(const Tensor& other) const;
    Tensor minimum(const Tensor& other) const;
    Tensor matmul(const Tensor& other) const;
    // comparisons and selection
    Tensor eq(const Tensor& other) const;
    Tensor ne(const Tensor& other) const;
    Tensor lt(const Tensor& other) const;
    Tensor le(const Tensor& other) const;
    Tensor gt(const Tensor& other) const;
    Tensor ge(const Tensor& other) const;
    Tensor eq(double other) const;
    Tensor ne(double other) const;
    Tensor lt(double other) const;
    Tensor le(double other) const;
    Tensor gt(double other) const;
    Tensor ge(double other) const;
    Tensor logical_and(const Tensor& other) const;
    Tensor logical_or(const Tensor& other) const;
    Tensor logical_not() const;
    Tensor masked_fill(const Tensor& mask, double value) const;
    /// condition ? *this : other (torch.Tensor.where).
    Tensor where(const Tensor& condition, const Tensor& other) const;
    Tensor index_select(std::int64_t dim, const Tensor& index) const;
    // reductions
    Tensor sum() const;
    Tensor mean() const;
    Tensor sum(const std::vector<std::int64_t>& dims, bool keepdim = false) const;
    Tensor mean(const std::vector<std::int64_t>& dims, bool keepdim = false) const;
    Tensor var(const std::vector<std::int64_t>& dims = {}, std::int64_t correction = 1, bool keepdim = false) const;
    Tensor std(const std::vector<std::int64_t>& dims = {}, std::int64_t correction = 1, bool keepdim = false) const;
    Tensor max() const;
    Tensor min() const;
    /// Values and int64 indices along dim.
    std::pair<Tensor, Tensor> max(std::int64_t dim, bool keepdim = false) const;
    std::pair<Tensor, Tensor> min(std::int64_t dim, bool keepdim = false) const;
    Tensor argmax(std::optional<std::int64_t> dim = std::nullopt, bool keepdim = false) const;
    Tensor argmin(std::optional<std::int64_t> dim = std::nullopt, bool keepdim = false) const;
    // tiling
    /// Tiles the data repeats[i] times along dim i (torch.Tensor.repeat); see graft::repeat.
    Tensor repeat(const std::vector<std::int64_t>& repeats) const;

    /// "Tensor(shape=[2, 3], dtype=float32, requires_grad=false)\n[[...]]" with leading values.
    std::string to_string(std::int64_t max_values = 8) const;

    /// Validates that this tensor has dtype `want`; `op` names the caller in the error.
    void check_dtype(DType want, const char* op) const;

    TensorImpl& impl() const;
    const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }

private:
    /// ValueError for item<an integer type>() of a floating value outside [lo, hi] or not finite.
    [[noreturn]] void throw_item_not_integer(double value, long double lo, long double hi) const;

    std::shared_ptr<TensorImpl> impl_;
};

std::ostream& operator<<(std::ostream& os, const Tensor& t);

// ---- factories ---------------------------------------------------------------------
// A shape whose element or byte count overflows is a ShapeError; bytes beyond the machine's
// memory and swap, or refused by the system, a MemoryError. Both name the factory, the shape and
// the dtype. A fill value an integer dtype cannot hold (NaN, ±inf, out of range) is a ValueError.
Tensor empty(const Shape& shape, DType dtype = DType::Float32);
Tensor zeros(const Shape& shape, DType dtype = DType::Float32);
Tensor ones(const Shape& shape, DType dtype = DType::Float32);
Tensor full(const Shape& shape, double value, DType dtype = DType::Float32);
Tensor empty_like(const Tensor& t);
Tensor zeros_like(const Tensor& t);
Tensor ones_like(const Tensor& t);
Tensor full_like(const Tensor& t, double value);
/// 0, 1, …, end-1.
Tensor arange(double end, DType dtype = DType::Int64);
/// start, start+step, … (excluding end).
Tensor arange(double start, double end, double step = 1.0, DType dtype = DType::Int64);
/// `steps` values evenly spaced from start to end inclusive.
Tensor linspace(double start, double end, std::int64_t steps, DType dtype = DType::Float32);
/// Standard normal samples (the default generator unless `gen` is given).
Tensor randn(const Shape& shape, DType dtype = DType::Float32, Generator* gen = nullptr);
/// Uniform samples in [0, 1).
Tensor rand(const Shape& shape, DType dtype = DType::Float32, Generator* gen = nullptr);
/// Uniform integers in [low, high).
Tensor randint(std::int64_t low, std::int64_t high, const Shape& shape, DType dtype = DType::Int64,
               Generator* gen = nullptr);
Tensor randn_like(const Tensor& t, Generator* gen = nullptr);
Tensor rand_like(const Tensor& t, Generator* gen = nullptr);

/// A tensor holding a copy of `values` with `shape` (default: 1-D).
template <class T>
Tensor from_vector(const std::vector<T>& values, const Shape& shape = {});
/// A 0-dimensional tensor holding `value`.
Tensor scalar_tensor(double value, DType dtype = DType::Float32);
/// Wraps an external buffer without copying. `deleter` (may be empty) runs when the last
/// view lets go; the buffer must stay valid until then. Contiguous row-major layout.
Tensor from_blob(void* data, const Shape& shape, DType dtype, std::function<void(void*)> deleter = {},
                 bool writable = true);

// ---- small helpers used across the library ----------------------------------------
/// Number of elements of a shape (ShapeError on a negative size).
std::int64_t shape_numel(const Shape& shape);
/// Row-major strides of a shape.
Shape contiguous_strides(const Shape& shape);
/// Wraps a possibly negative dim into [0, ndim); IndexError naming `op` otherwise.
std::int64_t wrap_dim(std::int64_t dim, std::int64_t ndim, const char* op);

}  // namespace graft
