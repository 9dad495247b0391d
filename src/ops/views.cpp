// View ops (share storage) with their backward: view/reshape, transpose/permute,
// narrow/slice/select, unsqueeze/squeeze, expand, flatten. (detach, which records nothing, is
// core's: src/core/tensor.cpp.)
#include <algorithm>
#include <numeric>
#include <optional>

#include "core/dispatch.hpp"
#include "graft/autograd.hpp"
#include "graft/ops.hpp"

namespace graft {

namespace {

/// Marks a recorded view so that in-place writes through it are refused under autograd.
template <class NodeT, class... Args>
void record_view(const Tensor& src, Tensor& out, Args&&... args) {
    if (autograd::make_node<NodeT>({&src}, out, std::forward<Args>(args)...)) out.impl().meta().is_view = true;
}

// y = x.view(shape)  ⇒  dx = dy.reshape(x.shape)
struct ViewBackward final : Node {
    const char* name() const override { return "ViewBackward"; }
    std::vector<Tensor> apply(const Tensor& g) override { return {g.reshape(input_shapes[0])}; }
};

// y = x.permute(dims)  ⇒  dx = dy.permute(inverse(dims))
struct PermuteBackward final : Node {
    explicit PermuteBackward(std::vector<std::int64_t> inv) : inverse(std::move(inv)) {}
    const char* name() const override { return "PermuteBackward"; }
    std::vector<Tensor> apply(const Tensor& g) override { return {g.permute(inverse)}; }
    std::vector<std::int64_t> inverse;
};

// y = x.expand(shape)  ⇒  dx = sum of dy over the broadcast dimensions
struct ExpandBackward final : Node {
    const char* name() const override { return "ExpandBackward"; }
    std::vector<Tensor> apply(const Tensor& g) override { return {sum_to(g, input_shapes[0])}; }
};

// y = x.slice(dim, start, end, step) (or select when `select`)  ⇒  dx = zeros, with dy written into that slice
struct SliceBackward final : Node {
    SliceBackward(std::int64_t d, std::int64_t s, std::int64_t e, std::int64_t st, bool sel)
        : dim(d), start(s), end(e), step(st), select(sel) {}
    const char* name() const override { return select ? "SelectBackward" : "SliceBackward"; }
    std::vector<Tensor> apply(const Tensor& g) override {
        Tensor dx = zeros(input_shapes[0], g.dtype());
        part_of(dx).copy_(g);
        return {dx};
    }
    // The parts of a split each add into the one gradient of their input: the first creates it,
    // zero outside its own part (step 1) or everywhere (a strided slice), and copies its part in.
    bool apply_into(const Tensor& g, Tensor& dx) override {
        if (dx.defined()) {
            part_of(dx).add_(g);
            return true;
        }
        dx = empty(input_shapes[0], g.dtype());
        if (step == 1) {
            const std::int64_t len = input_shapes[0][static_cast<std::size_t>(dim)];
            if (start > 0) dx.slice(dim, 0, start).fill_(0);
            if (end < len) dx.slice(dim, end, len).fill_(0);
        } else {
            dx.fill_(0);
        }
        part_of(dx).copy_(g);
        return true;
    }
    Tensor part_of(const Tensor& dx) const { return select ? dx.select(dim, start) : dx.slice(dim, start, end, step); }
    std::int64_t dim, start, end, step;
    bool select;
};

/// Strides for viewing (shape, strides) as new_shape without copying, if possible.
std::optional<Shape> view_strides(const Shape& shape, const Shape& strides, const Shape& new_shape) {
    Shape out(new_shape.size());
    if (shape.empty() || shape_numel(shape) == 0) return contiguous_strides(new_shape);
    // Walk chunks of old dimensions that are contiguous among themselves.
    std::int64_t view_d = static_cast<std::int64_t>(new_shape.size()) - 1;
    std::int64_t chunk_base_stride = strides.empty() ? 1 : strides.back();
    std::int64_t tensor_numel = 1, view_numel = 1;
    for (std::int64_t d = static_cast<std::int64_t>(shape.size()) - 1; d >= 0; --d) {
        tensor_numel *= shape[d];
        if (d == 0 || (shape[d - 1] != 1 && strides[d - 1] != tensor_numel * chunk_base_stride)) {
            while (view_d >= 0 && (view_numel < tensor_numel || new_shape[view_d] == 1)) {
                out[view_d] = view_numel * chunk_base_stride;
                view_numel *= new_shape[view_d];
                --view_d;
            }
            if (view_numel != tensor_numel) return std::nullopt;
            if (d > 0) {
                chunk_base_stride = strides[d - 1];
                tensor_numel = 1;
                view_numel = 1;
            }
        }
    }
    if (view_d != -1) return std::nullopt;
    return out;
}

Shape infer_shape(const Shape& requested, std::int64_t numel, const char* op, const Shape& from) {
    Shape shape = requested;
    std::int64_t known = 1;
    int infer = -1;
    for (std::size_t i = 0; i < shape.size(); ++i) {
        if (shape[i] == -1) {
            if (infer >= 0) throw ShapeError(std::string(op) + ": only one dimension can be -1, got " + shape_str(requested));
            infer = static_cast<int>(i);
        } else if (shape[i] < 0) {
            throw ShapeError(std::string(op) + ": invalid size in " + shape_str(requested));
        } else {
            known *= shape[i];
        }
    }
    if (infer >= 0) {
        if (known == 0 || numel % known != 0)
            throw ShapeError(std::string(op) + ": shape " + shape_str(requested) + " is invalid for input of shape " +
                             shape_str(from) + " (" + std::to_string(numel) + " elements)");
        shape[static_cast<std::size_t>(infer)] = numel / known;
    } else if (known != numel) {
        throw ShapeError(std::string(op) + ": shape " + shape_str(requested) + " is invalid for input of shape " +
                         shape_str(from) + " (" + std::to_string(numel) + " elements)");
    }
    return shape;
}

}  // namespace

Tensor Tensor::view(const Shape& requested) const {
    Shape shape = infer_shape(requested, numel(), "view", this->shape());
    auto st = view_strides(this->shape(), strides(), shape);
    if (!st)
        throw ShapeError("view: shape " + shape_str(requested) + " is not compatible with the strides of input " +
                         shape_str(this->shape()) + " " + shape_str(strides()) + "; use reshape() (which copies)");
    Tensor out = detail::make_view(*this, shape, *st, offset());
    record_view<ViewBackward>(*this, out);
    return out;
}

Tensor Tensor::reshape(const Shape& requested) const {
    Shape shape = infer_shape(requested, numel(), "reshape", this->shape());
    if (view_strides(this->shape(), strides(), shape)) return view(shape);
    return contiguous().view(shape);
}

Tensor Tensor::permute(const std::vector<std::int64_t>& dims) const {
    const std::int64_t n = dim();
    if (static_cast<std::int64_t>(dims.size()) != n)
        throw ShapeError("permute: got " + std::to_string(dims.size()) + " dims for a " + std::to_string(n) +
                         "-d tensor of shape " + shape_str(shape()));
    Shape shape(n), st(n);
    std::vector<std::int64_t> inverse(n, -1);
    for (std::int64_t i = 0; i < n; ++i) {
        const std::int64_t d = wrap_dim(dims[i], n, "permute");
        if (inverse[d] != -1) throw ShapeError("permute: dimension " + std::to_string(d) + " repeated");
        inverse[d] = i;
        shape[i] = this->shape()[d];
        st[i] = strides()[d];
    }
    Tensor out = detail::make_view(*this, shape, st, offset());
    record_view<PermuteBackward>(*this, out, inverse);
    return out;
}

Tensor Tensor::transpose(std::int64_t d0, std::int64_t d1) const {
    const std::int64_t n = dim();
    if (n == 0) return *this;
    std::vector<std::int64_t> perm(n);
    std::iota(perm.begin(), perm.end(), 0);
    std::swap(perm[wrap_dim(d0, n, "transpose")], perm[wrap_dim(d1, n, "transpose")]);
    return permute(perm);
}

Tensor Tensor::t() const {
    if (dim() > 2) throw ShapeError("t: expects a tensor with at most 2 dimensions, got shape " + shape_str(shape()));
    return dim() < 2 ? *this : transpose(0, 1);
}

Tensor Tensor::slice(std::int64_t d, std::int64_t start, std::int64_t end, std::int64_t step) const {
    d = wrap_dim(d, dim(), "slice");
    if (dim() == 0) throw IndexError("slice: cannot slice a 0-d tensor");
    if (step <= 0) throw ValueError("slice: step must be positive, got " + std::to_string(step));
    const std::int64_t len = shape()[d];
    if (start < 0) start += len;
    if (end < 0) end += len;
    start = std::clamp<std::int64_t>(start, 0, len);
    end = std::clamp<std::int64_t>(end, start, len);
    Shape sh = shape(), st = strides();
    sh[d] = (end - start + step - 1) / step;
    st[d] *= step;
    Tensor out = detail::make_view(*this, sh, st, offset() + start * strides()[d]);
    record_view<SliceBackward>(*this, out, d, start, end, step, false);
    return out;
}

Tensor Tensor::narrow(std::int64_t d, std::int64_t start, std::int64_t length) const {
    d = wrap_dim(d, dim(), "narrow");
    const std::int64_t len = shape()[d];
    if (start < 0) start += len;
    if (start < 0 || length < 0 || start + length > len)
        throw IndexError("narrow: range [" + std::to_string(start) + ", " + std::to_string(start + length) +
                         ") out of bounds for dimension " + std::to_string(d) + " of size " + std::to_string(len));
    return slice(d, start, start + length);
}

Tensor Tensor::select(std::int64_t d, std::int64_t index) const {
    if (dim() == 0) throw IndexError("select: cannot index a 0-d tensor");
    d = wrap_dim(d, dim(), "select");
    const std::int64_t len = shape()[d];
    if (index < -len || index >= len)
        throw IndexError("select: index " + std::to_string(index) + " out of range for dimension " +
                         std::to_string(d) + " of size " + std::to_string(len) + " (shape " + shape_str(shape()) + ")");
    if (index < 0) index += len;
    Shape sh = shape(), st = strides();
    sh.erase(sh.begin() + d);
    st.erase(st.begin() + d);
    Tensor out = detail::make_view(*this, sh, st, offset() + index * strides()[d]);
    record_view<SliceBackward>(*this, out, d, index, index + 1, 1, true);
    return out;
}

Tensor Tensor::unsqueeze(std::int64_t d) const {
    d = wrap_dim(d, dim() + 1, "unsqueeze");
    Shape sh = shape();
    sh.insert(sh.begin() + d, 1);
    return view(sh);
}

Tensor Tensor::squeeze() const {
    Shape sh;
    for (std::int64_t s : shape())
        if (s != 1) sh.push_back(s);
    return view(sh);
}

Tensor Tensor::squeeze(std::int64_t d) const {
    if (dim() == 0) return *this;
    d = wrap_dim(d, dim(), "squeeze");
    if (shape()[d] != 1) return *this;
    Shape sh = shape();
    sh.erase(sh.begin() + d);
    return view(sh);
}

Tensor Tensor::expand(const Shape& target) const {
    const std::int64_t n = static_cast<std::int64_t>(target.size());
    if (n < dim())
        throw ShapeError("expand: target " + shape_str(target) + " has fewer dimensions than input " +
                         shape_str(shape()));
    Shape sh(n), st(n);
    for (std::int64_t i = n - 1; i >= 0; --i) {
        const std::int64_t j = i - (n - dim());
        const std::int64_t want = target[i];
        if (j >= 0) {
            const std::int64_t have = shape()[j];
            if (want == -1 || want == have) {
                sh[i] = have;
                st[i] = strides()[j];
            } else if (have == 1 && want >= 0) {
                sh[i] = want;
                st[i] = 0;
            } else {
                throw ShapeError("expand: cannot expand input " + shape_str(shape()) + " to " + shape_str(target) +
                                 " (dimension " + std::to_string(i) + ": " + std::to_string(have) + " vs " +
                                 std::to_string(want) + ")");
            }
        } else {
            if (want < 0) throw ShapeError("expand: -1 not allowed for a new leading dimension in " + shape_str(target));
            sh[i] = want;
            st[i] = 0;
        }
    }
    Tensor out = detail::make_view(*this, sh, st, offset());
    record_view<ExpandBackward>(*this, out);
    return out;
}

Tensor Tensor::flatten(std::int64_t start_dim, std::int64_t end_dim) const {
    if (dim() == 0) return reshape({1});
    start_dim = wrap_dim(start_dim, dim(), "flatten");
    end_dim = wrap_dim(end_dim, dim(), "flatten");
    if (start_dim > end_dim) throw ValueError("flatten: start_dim must not come after end_dim");
    Shape sh(shape().begin(), shape().begin() + start_dim);
    std::int64_t m = 1;
    for (std::int64_t d = start_dim; d <= end_dim; ++d) m *= shape()[d];
    sh.push_back(m);
    sh.insert(sh.end(), shape().begin() + end_dim + 1, shape().end());
    return reshape(sh);
}

}  // namespace graft
