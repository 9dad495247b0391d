// gather, scatter and scatter_add along one dimension (torch.gather / Tensor.scatter /
// Tensor.scatter_add), each forward followed by its backward. Every index is validated before
// anything is written; the tensors are read through contiguous copies.
#include <cstring>
#include <string>
#include <vector>

#include "core/dispatch.hpp"
#include "graft/autograd.hpp"
#include "graft/ops.hpp"
#include "graft/profiler.hpp"
#include "ops/read_indices.hpp"

namespace graft {

namespace {

/// Row-major strides of a contiguous tensor of `shape`.
std::vector<std::int64_t> contiguous_strides(const Shape& shape) {
    std::vector<std::int64_t> s(shape.size(), 1);
    for (std::size_t d = shape.size(); d-- > 1;) s[d - 1] = s[d] * shape[d];
    return s;
}

/// The multi-index of flat position `flat` in `shape`, as "[i, j, …]".
std::string position_of(std::int64_t flat, const Shape& shape) {
    Shape idx(shape.size());
    for (std::size_t d = shape.size(); d-- > 0;) {
        idx[d] = flat % shape[d];
        flat /= shape[d];
    }
    return shape_str(idx);
}

/// For every position p of the index (row-major over index_shape) with value v = idx[p]: the
/// offset in a contiguous tensor of `self_shape` of the element the index names (p's coordinates,
/// with v along `dim`), and the offset of p's coordinates in a contiguous tensor of `other_shape`
/// (the src of scatter; unused by gather). Calls f(self_offset, other_offset, p).
template <class F>
void walk(const Shape& index_shape, const std::vector<std::int64_t>& idx, std::size_t dim, const Shape& self_shape,
          const Shape& other_shape, F&& f) {
    const auto self_strides = contiguous_strides(self_shape);
    const auto other_strides = contiguous_strides(other_shape);
    const std::size_t n = index_shape.size();
    std::vector<std::int64_t> coord(n, 0);
    for (std::size_t p = 0; p < idx.size(); ++p) {
        std::int64_t self_off = 0, other_off = 0;
        for (std::size_t d = 0; d < n; ++d) {
            self_off += (d == dim ? idx[p] : coord[d]) * self_strides[d];
            other_off += coord[d] * other_strides[d];
        }
        f(self_off, other_off, static_cast<std::int64_t>(p));
        for (std::size_t d = n; d-- > 0;) {  // next coordinate
            if (++coord[d] < index_shape[d]) break;
            coord[d] = 0;
        }
    }
}

/// Checks the index of gather/scatter against `self` (and `src` for scatter) as PyTorch does and
/// returns its values: same number of dims, index.size(d) ≤ self.size(d) for d ≠ dim (and
/// ≤ src.size(d) for every d), values in [0, self.size(dim)).
std::vector<std::int64_t> checked_index(const Tensor& self, std::int64_t dim, const Tensor& index, const Tensor* src,
                                        const char* op) {
    const std::string o(op);
    if (index.dim() != self.dim())
        throw ShapeError(o + ": index must have as many dimensions as the input, got index " +
                         shape_str(index.shape()) + " for input " + shape_str(self.shape()));
    if (src != nullptr && src->dim() != self.dim())
        throw ShapeError(o + ": src must have as many dimensions as the input, got src " + shape_str(src->shape()) +
                         " for input " + shape_str(self.shape()));
    for (std::int64_t d = 0; d < index.dim(); ++d) {
        if (d != dim && index.size(d) > self.size(d))
            throw ShapeError(o + ": index " + shape_str(index.shape()) + " is larger than the input " +
                             shape_str(self.shape()) + " in dimension " + std::to_string(d) + " (dim is " +
                             std::to_string(dim) + ")");
        if (src != nullptr && index.size(d) > src->size(d))
            throw ShapeError(o + ": index " + shape_str(index.shape()) + " is larger than src " +
                             shape_str(src->shape()) + " in dimension " + std::to_string(d));
    }
    std::vector<std::int64_t> idx = detail::read_indices(index, op);
    const std::int64_t len = self.dim() == 0 ? 1 : self.size(dim);
    for (std::size_t p = 0; p < idx.size(); ++p)
        if (idx[p] < 0 || idx[p] >= len)
            throw IndexError(o + ": index " + std::to_string(idx[p]) + " at position " +
                             position_of(static_cast<std::int64_t>(p), index.shape()) +
                             " is out of range for dimension " + std::to_string(dim) + " of size " +
                             std::to_string(len) + " (input shape " + shape_str(self.shape()) + ")");
    return idx;
}

/// A contiguous tensor's shape with 0-d seen as [1] (gather and scatter treat them alike).
Shape walk_shape(const Tensor& t) { return t.dim() == 0 ? Shape{1} : t.shape(); }

/// out = x gathered along dim (no graph).
Tensor gather_values(const Tensor& x, std::int64_t dim, const Tensor& index, const std::vector<std::int64_t>& idx) {
    const Tensor xc = x.detach().contiguous();
    Tensor out = empty(index.shape(), x.dtype());
    const std::size_t es = xc.element_size();
    const char* s = static_cast<const char*>(xc.raw_data());
    char* o = static_cast<char*>(out.raw_data());
    walk(walk_shape(index), idx, static_cast<std::size_t>(dim), walk_shape(xc), walk_shape(index),
         [&](std::int64_t self_off, std::int64_t, std::int64_t p) {
             std::memcpy(o + static_cast<std::size_t>(p) * es, s + static_cast<std::size_t>(self_off) * es, es);
         });
    return out;
}

/// A copy of x with src's elements written (accumulate: added) at the positions the index names
/// (no graph). src may be undefined with `fill` then written instead.
Tensor scatter_values(const Tensor& x, std::int64_t dim, const Tensor& index, const std::vector<std::int64_t>& idx,
                      const Tensor& src, double fill, bool accumulate, const char* op) {
    Tensor out = x.detach().contiguous().clone();
    const Tensor sc = src.defined() ? src.detach().contiguous() : Tensor();
    detail::dispatch_numeric(x.dtype(), op, [&]<class T>() {
        T* o = out.template data_ptr<T>();
        const T* s = sc.defined() ? sc.template data_ptr<T>() : nullptr;
        const T value = static_cast<T>(fill);
        walk(walk_shape(index), idx, static_cast<std::size_t>(dim), walk_shape(out),
             sc.defined() ? walk_shape(sc) : walk_shape(index),
             [&](std::int64_t self_off, std::int64_t other_off, std::int64_t) {
                 const T v = s != nullptr ? s[other_off] : value;
                 if (accumulate)
                     o[self_off] += v;
                 else
                     o[self_off] = v;
             });
    });
    return out;
}

// ---- gather --------------------------------------------------------------------------------------
// out[p] = x[p with index[p] along dim]  ⇒  dx = zeros, scatter_add(dout) at the same positions
struct GatherBackward final : Node {
    explicit GatherBackward(std::int64_t d) : dim(d) {}
    const char* name() const override { return "GatherBackward"; }
    std::vector<Tensor> apply(const Tensor& g) override {
        return {scatter_add(zeros(input_shapes[0], g.dtype()), dim, index.unpack(name()), g)};
    }
    void release_saved() override { index.release(); }
    std::int64_t dim;
    SavedTensor index;
};

// ---- scatter / scatter_add ----------------------------------------------------------------------
// out = x with src written at the named positions  ⇒  dx = dout with those positions zeroed,
//   dsrc = gather(dout) at them;  scatter_add: dx = dout, dsrc = gather(dout)
struct ScatterBackward final : Node {
    ScatterBackward(std::int64_t d, bool acc) : dim(d), accumulate(acc) {}
    const char* name() const override { return accumulate ? "ScatterAddBackward" : "ScatterBackward"; }
    std::vector<Tensor> apply(const Tensor& g) override {
        const Tensor idx = index.unpack(name());
        std::vector<Tensor> out(2);
        if (needs_input_grad(0)) out[0] = accumulate ? g : scatter(g, dim, idx, zeros(idx.shape(), g.dtype()));
        if (needs_input_grad(1)) {
            const Tensor picked = gather(g, dim, idx);  // index-shaped; src may be larger
            out[1] = picked.shape() == input_shapes[1]
                         ? picked
                         : scatter(zeros(input_shapes[1], g.dtype()), dim, own_positions(idx, dim), picked);
        }
        return out;
    }
    /// For a src larger than the index: index position p read src's element at p's own
    /// coordinates, so its gradient goes back there: an index of idx's shape holding p[dim].
    static Tensor own_positions(const Tensor& idx, std::int64_t dim) {
        Tensor pos = empty(idx.shape(), DType::Int64);
        std::int64_t* p = pos.data_ptr<std::int64_t>();
        const Shape& s = idx.shape();
        std::int64_t inner = 1;
        for (std::size_t d = static_cast<std::size_t>(dim) + 1; d < s.size(); ++d) inner *= s[d];
        const std::int64_t len = s.empty() ? 1 : s[static_cast<std::size_t>(dim)];
        for (std::int64_t i = 0, n = pos.numel(); i < n; ++i) p[i] = (i / inner) % len;
        return pos;
    }
    void release_saved() override { index.release(); }
    std::int64_t dim;
    bool accumulate;
    SavedTensor index;
};

Tensor scatter_impl(const Tensor& x, std::int64_t dim, const Tensor& index, const Tensor& src, bool accumulate,
                    const char* op) {
    GRAFT_PROFILE_SCOPE(op);
    dim = wrap_dim(dim, x.dim(), op);
    if (src.dtype() != x.dtype())
        throw DTypeError(std::string(op) + ": src has dtype " + dtype_name(src.dtype()) + ", the input " +
                         dtype_name(x.dtype()));
    const std::vector<std::int64_t> idx = checked_index(x, dim, index, &src, op);
    Tensor out = scatter_values(x, dim, index, idx, src, 0.0, accumulate, op);
    if (auto node = autograd::make_node<ScatterBackward>({&x, &src}, out, dim, accumulate))
        node->index = SavedTensor(index);
    return out;
}

}  // namespace

Tensor gather(const Tensor& x, std::int64_t dim, const Tensor& index) {
    GRAFT_PROFILE_SCOPE("gather");
    dim = wrap_dim(dim, x.dim(), "gather");
    const std::vector<std::int64_t> idx = checked_index(x, dim, index, nullptr, "gather");
    Tensor out = gather_values(x, dim, index, idx);
    if (auto node = autograd::make_node<GatherBackward>({&x}, out, dim)) node->index = SavedTensor(index);
    return out;
}

Tensor scatter(const Tensor& x, std::int64_t dim, const Tensor& index, const Tensor& src) {
    return scatter_impl(x, dim, index, src, /*accumulate=*/false, "scatter");
}

Tensor scatter(const Tensor& x, std::int64_t dim, const Tensor& index, double value) {
    return scatter_impl(x, dim, index, full(index.shape(), value, x.dtype()), /*accumulate=*/false, "scatter");
}

Tensor scatter_add(const Tensor& x, std::int64_t dim, const Tensor& index, const Tensor& src) {
    return scatter_impl(x, dim, index, src, /*accumulate=*/true, "scatter_add");
}

}  // namespace graft
