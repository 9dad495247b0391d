// Joining and splitting — cat and stack (forward, then backward), split/chunk, which
// return narrow() views whose gradients flow through the view nodes, and repeat (x joined
// to copies of itself along each dimension; forward, then backward).
#include <algorithm>
#include <climits>

#include "core/dispatch.hpp"
#include "graft/autograd.hpp"
#include "graft/ops.hpp"
#include "graft/profiler.hpp"

namespace graft {

namespace {

// out = cat(x₀, x₁, …) along dim  ⇒  dxᵢ = dout.narrow(dim, offsetᵢ, sizeᵢ)
struct CatBackward final : Node {
    CatBackward(std::int64_t d, std::vector<std::int64_t> s) : dim(d), sizes(std::move(s)) {}
    const char* name() const override { return "CatBackward"; }
    std::vector<Tensor> apply(const Tensor& g) override {
        std::vector<Tensor> out(sizes.size());
        std::int64_t offset = 0;
        for (std::size_t i = 0; i < sizes.size(); ++i) {
            if (needs_input_grad(i)) out[i] = g.narrow(dim, offset, sizes[i]);
            offset += sizes[i];
        }
        return out;
    }
    std::int64_t dim;
    std::vector<std::int64_t> sizes;
};

/// Checks that `tensors` is non-empty, defined and of one dtype; `op` names the caller.
void check_joinable(const std::vector<Tensor>& tensors, const char* op) {
    if (tensors.empty()) throw ValueError(std::string(op) + ": expected a non-empty list of tensors");
    for (std::size_t i = 0; i < tensors.size(); ++i) {
        if (!tensors[i].defined())
            throw ValueError(std::string(op) + ": tensor " + std::to_string(i) + " is undefined");
        if (tensors[i].dtype() != tensors[0].dtype())
            throw DTypeError(std::string(op) + ": tensor " + std::to_string(i) + " has dtype " +
                             dtype_name(tensors[i].dtype()) + " " + shape_str(tensors[i].shape()) + ", expected " +
                             dtype_name(tensors[0].dtype()) + " like tensor 0 " + shape_str(tensors[0].shape()));
    }
}

}  // namespace

Tensor cat(const std::vector<Tensor>& tensors, std::int64_t dim) {
    GRAFT_PROFILE_SCOPE("cat");
    check_joinable(tensors, "cat");
    const Tensor& first = tensors[0];
    const std::int64_t nd = first.dim();
    for (std::size_t i = 0; i < tensors.size(); ++i)
        if (tensors[i].dim() == 0)
            throw ShapeError("cat: tensor " + std::to_string(i) + " is 0-d and cannot be concatenated");
    dim = wrap_dim(dim, nd, "cat");
    Shape out_shape = first.shape();
    out_shape[static_cast<std::size_t>(dim)] = 0;
    std::vector<std::int64_t> sizes;
    sizes.reserve(tensors.size());
    for (std::size_t i = 0; i < tensors.size(); ++i) {
        const Tensor& t = tensors[i];
        if (t.dim() != nd)
            throw ShapeError("cat: tensor " + std::to_string(i) + " has shape " + shape_str(t.shape()) + " (" +
                             std::to_string(t.dim()) + "-d), tensor 0 has shape " + shape_str(first.shape()) + " (" +
                             std::to_string(nd) + "-d)");
        for (std::int64_t d = 0; d < nd; ++d)
            if (d != dim && t.shape()[d] != first.shape()[d])
                throw ShapeError("cat: sizes must match except in dimension " + std::to_string(dim) + ": tensor " +
                                 std::to_string(i) + " has shape " + shape_str(t.shape()) + ", tensor 0 has " +
                                 shape_str(first.shape()) + " (dimension " + std::to_string(d) + ": " +
                                 std::to_string(t.shape()[d]) + " vs " + std::to_string(first.shape()[d]) + ")");
        sizes.push_back(t.shape()[dim]);
        out_shape[static_cast<std::size_t>(dim)] += t.shape()[dim];
    }
    Tensor out = empty(out_shape, first.dtype());
    std::int64_t offset = 0;
    for (std::size_t i = 0; i < tensors.size(); ++i) {
        detail::copy_elements(out.narrow(dim, offset, sizes[i]), tensors[i], "cat");
        offset += sizes[i];
    }
    std::vector<const Tensor*> inputs;
    inputs.reserve(tensors.size());
    for (const Tensor& t : tensors) inputs.push_back(&t);
    autograd::make_node<CatBackward>(inputs, out, dim, std::move(sizes));
    return out;
}

Tensor stack(const std::vector<Tensor>& tensors, std::int64_t dim) {
    check_joinable(tensors, "stack");
    const Shape& shape = tensors[0].shape();
    for (std::size_t i = 1; i < tensors.size(); ++i)
        if (tensors[i].shape() != shape)
            throw ShapeError("stack: expects tensors of equal shape, got " + shape_str(shape) + " at entry 0 and " +
                             shape_str(tensors[i].shape()) + " at entry " + std::to_string(i));
    dim = wrap_dim(dim, tensors[0].dim() + 1, "stack");
    std::vector<Tensor> expanded;
    expanded.reserve(tensors.size());
    for (const Tensor& t : tensors) expanded.push_back(t.unsqueeze(dim));
    return cat(expanded, dim);
}

std::vector<Tensor> split(const Tensor& x, std::int64_t split_size, std::int64_t dim) {
    if (x.dim() == 0) throw ShapeError("split: cannot split a 0-d tensor");
    dim = wrap_dim(dim, x.dim(), "split");
    const std::int64_t len = x.shape()[static_cast<std::size_t>(dim)];
    if (split_size <= 0 && !(split_size == 0 && len == 0))
        throw ValueError("split: split_size must be positive, got " + std::to_string(split_size) + " for dimension " +
                         std::to_string(dim) + " of size " + std::to_string(len));
    if (len == 0) return {x.narrow(dim, 0, 0)};
    std::vector<Tensor> pieces;
    pieces.reserve(static_cast<std::size_t>((len + split_size - 1) / split_size));
    for (std::int64_t start = 0; start < len; start += split_size)
        pieces.push_back(x.narrow(dim, start, std::min(split_size, len - start)));
    return pieces;
}

std::vector<Tensor> split(const Tensor& x, const std::vector<std::int64_t>& sizes, std::int64_t dim) {
    if (x.dim() == 0) throw ShapeError("split: cannot split a 0-d tensor");
    dim = wrap_dim(dim, x.dim(), "split");
    const std::int64_t len = x.shape()[static_cast<std::size_t>(dim)];
    std::int64_t total = 0;
    for (std::size_t i = 0; i < sizes.size(); ++i) {
        if (sizes[i] < 0)
            throw ValueError("split: size " + std::to_string(sizes[i]) + " (entry " + std::to_string(i) +
                             ") must not be negative");
        total += sizes[i];
    }
    if (total != len)
        throw ValueError("split: sizes " + shape_str(sizes) + " add up to " + std::to_string(total) +
                         ", but dimension " + std::to_string(dim) + " of input " + shape_str(x.shape()) +
                         " has size " + std::to_string(len));
    std::vector<Tensor> pieces;
    pieces.reserve(sizes.size());
    std::int64_t start = 0;
    for (std::int64_t s : sizes) {
        pieces.push_back(x.narrow(dim, start, s));
        start += s;
    }
    return pieces;
}

std::vector<Tensor> chunk(const Tensor& x, std::int64_t chunks, std::int64_t dim) {
    if (chunks <= 0) throw ValueError("chunk: number of chunks must be positive, got " + std::to_string(chunks));
    if (x.dim() == 0) throw ShapeError("chunk: cannot chunk a 0-d tensor");
    dim = wrap_dim(dim, x.dim(), "chunk");
    const std::int64_t len = x.shape()[static_cast<std::size_t>(dim)];
    // An empty dimension still yields `chunks` (empty) pieces, as in PyTorch.
    if (len == 0) return split(x, std::vector<std::int64_t>(static_cast<std::size_t>(chunks), 0), dim);
    return split(x, (len + chunks - 1) / chunks, dim);
}

namespace {

// out = repeat(x, r): x viewed as [1, s₀, 1, s₁, …] (leading size-1 dims up to r.size()),
// broadcast to [r₀, s₀, r₁, s₁, …] and laid out as [r₀·s₀, r₁·s₁, …]
//   ⇒  dx = dout viewed as [r₀, s₀, r₁, s₁, …], summed over the r dims, reshaped to x's shape
struct RepeatBackward final : Node {
    RepeatBackward(Shape tiled, std::vector<std::int64_t> dims, Shape input)
        : tiled_shape(std::move(tiled)), tile_dims(std::move(dims)), input_shape(std::move(input)) {}
    const char* name() const override { return "RepeatBackward"; }
    std::vector<Tensor> apply(const Tensor& g) override {
        return {sum(g.reshape(tiled_shape), tile_dims).reshape(input_shape)};
    }
    Shape tiled_shape;
    std::vector<std::int64_t> tile_dims;
    Shape input_shape;
};

}  // namespace

Tensor repeat(const Tensor& x, const std::vector<std::int64_t>& repeats) {
    GRAFT_PROFILE_SCOPE("repeat");
    const std::int64_t nd = static_cast<std::int64_t>(repeats.size());
    if (nd < x.dim())
        throw ShapeError("repeat: repeats " + shape_str(repeats) + " has " + std::to_string(nd) +
                         " entries, fewer than the " + std::to_string(x.dim()) + " dimensions of input " +
                         shape_str(x.shape()));
    Shape padded(static_cast<std::size_t>(nd - x.dim()), 1);
    padded.insert(padded.end(), x.shape().begin(), x.shape().end());
    Shape tiled_shape, out_shape;
    std::vector<std::int64_t> tile_dims;
    std::int64_t out_numel = 1;
    for (std::int64_t i = 0; i < nd; ++i) {
        const std::int64_t r = repeats[static_cast<std::size_t>(i)], s = padded[static_cast<std::size_t>(i)];
        if (r < 0)
            throw ValueError("repeat: repeats " + shape_str(repeats) + " has a negative entry (" + std::to_string(r) +
                             " at index " + std::to_string(i) + ") for input " + shape_str(x.shape()));
        const bool overflows = s != 0 && r > INT64_MAX / s;
        if (overflows || (r * s != 0 && out_numel > INT64_MAX / (r * s)))
            throw ShapeError("repeat: repeats " + shape_str(repeats) + " of input " + shape_str(x.shape()) +
                             " give more than 2^63 elements");
        if (r * s != 0) out_numel *= r * s;
        tiled_shape.insert(tiled_shape.end(), {r, s});
        tile_dims.push_back(2 * i);
        out_shape.push_back(r * s);
    }
    Tensor out = empty(out_shape, x.dtype());
    if (out.numel() != 0) {
        Tensor tiles = x.detach().reshape(padded);
        for (std::int64_t i = nd - 1; i >= 0; --i) tiles = tiles.unsqueeze(i);
        detail::copy_elements(out.view(tiled_shape), tiles.expand(tiled_shape), "repeat");
    }
    autograd::make_node<RepeatBackward>({&x}, out, std::move(tiled_shape), std::move(tile_dims), x.shape());
    return out;
}

}  // namespace graft
