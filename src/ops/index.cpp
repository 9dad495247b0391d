// Integer indexing — index_select, embedding and index_add — each forward followed by its backward.
// Indices are validated before anything is written; gathers copy whole contiguous rows.
#include <cstring>
#include <optional>

#include "core/dispatch.hpp"
#include "graft/autograd.hpp"
#include "graft/ops.hpp"
#include "graft/profiler.hpp"
#include "ops/read_indices.hpp"

namespace graft {

std::vector<std::int64_t> detail::read_indices(const Tensor& index, const char* op) {
    if (index.dtype() != DType::Int64 && index.dtype() != DType::Int32)
        throw DTypeError(std::string(op) + ": indices must be int64 or int32, got " + dtype_name(index.dtype()) +
                         " " + shape_str(index.shape()));
    const Tensor c = index.contiguous();
    std::vector<std::int64_t> out(static_cast<std::size_t>(c.numel()));
    if (c.dtype() == DType::Int64) {
        if (!out.empty()) std::memcpy(out.data(), c.raw_data(), out.size() * sizeof(std::int64_t));
    } else {
        const std::int32_t* p = c.data_ptr<std::int32_t>();
        for (std::size_t i = 0; i < out.size(); ++i) out[i] = p[i];
    }
    return out;
}

namespace {

using detail::read_indices;

/// Product of shape[begin, end).
std::int64_t span_numel(const Shape& shape, std::size_t begin, std::size_t end) {
    std::int64_t n = 1;
    for (std::size_t d = begin; d < end; ++d) n *= shape[d];
    return n;
}

/// Views contiguous `rows` as [outer, rows_in, inner] and adds its row j into row idx[j] of
/// contiguous `dst` ([outer, dst_rows, inner]), skipping rows equal to `skip`.
void index_add_rows(const Tensor& dst, const Tensor& rows, const std::vector<std::int64_t>& idx, std::int64_t outer,
                    std::int64_t dst_rows, std::int64_t inner, std::optional<std::int64_t> skip, const char* op) {
    detail::dispatch_floating(dst.dtype(), op, [&]<class T>() {
        T* d = dst.data_ptr<T>();
        const T* s = rows.data_ptr<T>();
        const std::int64_t n = static_cast<std::int64_t>(idx.size());
        for (std::int64_t o = 0; o < outer; ++o)
            for (std::int64_t j = 0; j < n; ++j) {
                const std::int64_t r = idx[static_cast<std::size_t>(j)];
                if (skip && r == *skip) continue;
                T* dp = d + (o * dst_rows + r) * inner;
                const T* sp = s + (o * n + j) * inner;
                for (std::int64_t k = 0; k < inner; ++k) dp[k] += sp[k];
            }
    });
}

// ---- index_select ---------------------------------------------------------------------
// out = x[index] along dim  ⇒  dx = zeros, index_add(dout) along dim (duplicates accumulate)
struct IndexSelectBackward final : Node {
    explicit IndexSelectBackward(std::int64_t d) : dim(d) {}
    const char* name() const override { return "IndexSelectBackward"; }
    std::vector<Tensor> apply(const Tensor& g) override {
        const std::vector<std::int64_t> idx = read_indices(index.unpack(name()), name());
        const Shape& shape = input_shapes[0];
        const std::size_t d = static_cast<std::size_t>(dim);
        Tensor dx = zeros(shape, g.dtype());
        index_add_rows(dx, g.contiguous(), idx, span_numel(shape, 0, d), shape[d],
                       span_numel(shape, d + 1, shape.size()), std::nullopt, name());
        return {dx};
    }
    void release_saved() override { index.release(); }
    std::int64_t dim;
    SavedTensor index;
};

// ---- embedding ------------------------------------------------------------------------
// out = weight[indices]  ⇒  dweight = zeros [V, D], each dout row added into row indices[p] (padding_idx skipped)
struct EmbeddingBackward final : Node {
    explicit EmbeddingBackward(std::optional<std::int64_t> pad) : padding_idx(pad) {}
    const char* name() const override { return "EmbeddingBackward"; }
    std::vector<Tensor> apply(const Tensor& g) override {
        const std::vector<std::int64_t> idx = read_indices(indices.unpack(name()), name());
        const Shape& shape = input_shapes[0];
        Tensor dw = zeros(shape, g.dtype());
        index_add_rows(dw, g.contiguous(), idx, 1, shape[0], shape[1], padding_idx, name());
        return {dw};
    }
    void release_saved() override { indices.release(); }
    std::optional<std::int64_t> padding_idx;
    SavedTensor indices;
};

// ---- index_add ------------------------------------------------------------------------
// out = x, out[index[j] along dim] += alpha·src[j along dim]  ⇒  dx = dout, dsrc = alpha·index_select(dout, dim, index)
struct IndexAddBackward final : Node {
    IndexAddBackward(std::int64_t d, double a) : dim(d), alpha(a) {}
    const char* name() const override { return "IndexAddBackward"; }
    std::vector<Tensor> apply(const Tensor& g) override {
        std::vector<Tensor> out(2);
        if (needs_input_grad(0)) out[0] = g;
        if (needs_input_grad(1)) {
            const Tensor picked = index_select(g, dim, index.unpack(name()));
            out[1] = alpha == 1.0 ? picked : mul(picked, alpha);
        }
        return out;
    }
    void release_saved() override { index.release(); }
    std::int64_t dim;
    double alpha;
    SavedTensor index;
};

/// out[o, j, :] = src[o, idx[j], :] for contiguous src viewed as [outer, src_rows, inner]; any dtype.
void gather_rows(const Tensor& out, const Tensor& src, const std::vector<std::int64_t>& idx, std::int64_t outer,
                 std::int64_t src_rows, std::int64_t inner) {
    const std::size_t es = src.element_size();
    const std::size_t row_bytes = static_cast<std::size_t>(inner) * es;
    if (row_bytes == 0) return;
    const char* s = static_cast<const char*>(src.raw_data());
    char* o = static_cast<char*>(out.raw_data());
    const std::int64_t n = static_cast<std::int64_t>(idx.size());
    for (std::int64_t a = 0; a < outer; ++a)
        for (std::int64_t j = 0; j < n; ++j)
            std::memcpy(o + static_cast<std::size_t>(a * n + j) * row_bytes,
                        s + static_cast<std::size_t>(a * src_rows + idx[static_cast<std::size_t>(j)]) * row_bytes,
                        row_bytes);
}

}  // namespace

Tensor index_select(const Tensor& x, std::int64_t dim, const Tensor& index) {
    GRAFT_PROFILE_SCOPE("index_select");
    if (x.dim() == 0) throw IndexError("index_select: cannot index a 0-d tensor");
    dim = wrap_dim(dim, x.dim(), "index_select");
    if (index.dim() != 1)
        throw ShapeError("index_select: index must be 1-D, got shape " + shape_str(index.shape()) +
                         " (input shape " + shape_str(x.shape()) + ")");
    const std::vector<std::int64_t> idx = read_indices(index, "index_select");
    const std::int64_t len = x.shape()[static_cast<std::size_t>(dim)];
    for (std::size_t j = 0; j < idx.size(); ++j)
        if (idx[j] < 0 || idx[j] >= len)
            throw IndexError("index_select: index " + std::to_string(idx[j]) + " out of range for dimension " +
                             std::to_string(dim) + " of size " + std::to_string(len) + " (at position " +
                             std::to_string(j) + ") of input shape " + shape_str(x.shape()));
    Shape out_shape = x.shape();
    const std::size_t d = static_cast<std::size_t>(dim);
    out_shape[d] = static_cast<std::int64_t>(idx.size());
    Tensor out = empty(out_shape, x.dtype());
    gather_rows(out, x.detach().contiguous(), idx, span_numel(x.shape(), 0, d), len,
                span_numel(x.shape(), d + 1, x.shape().size()));
    if (auto node = autograd::make_node<IndexSelectBackward>({&x}, out, dim)) node->index = SavedTensor(index);
    return out;
}

Tensor index_add(const Tensor& x, std::int64_t dim, const Tensor& index, const Tensor& src, double alpha) {
    GRAFT_PROFILE_SCOPE("index_add");
    if (x.dim() == 0) throw IndexError("index_add: cannot index a 0-d tensor");
    dim = wrap_dim(dim, x.dim(), "index_add");
    if (index.dim() != 1)
        throw ShapeError("index_add: index must be 1-D, got shape " + shape_str(index.shape()));
    if (src.dtype() != x.dtype())
        throw DTypeError(std::string("index_add: src has dtype ") + dtype_name(src.dtype()) + ", the input " + dtype_name(x.dtype()));
    const std::size_t d = static_cast<std::size_t>(dim);
    Shape want = x.shape();
    want[d] = index.numel();
    if (src.shape() != want)
        throw ShapeError("index_add: src must have shape " + shape_str(want) + " (the input " + shape_str(x.shape()) +
                         " with dimension " + std::to_string(dim) + " the index's length), got " +
                         shape_str(src.shape()));
    const std::vector<std::int64_t> idx = read_indices(index, "index_add");
    const std::int64_t len = x.shape()[d];
    for (std::size_t j = 0; j < idx.size(); ++j)
        if (idx[j] < 0 || idx[j] >= len)
            throw IndexError("index_add: index " + std::to_string(idx[j]) + " out of range for dimension " +
                             std::to_string(dim) + " of size " + std::to_string(len) + " (at position " +
                             std::to_string(j) + ") of input shape " + shape_str(x.shape()));
    Tensor out = x.detach().contiguous().clone();
    const Tensor rows = (alpha == 1.0 ? src.detach() : mul(src.detach(), alpha)).contiguous();
    index_add_rows(out, rows, idx, span_numel(x.shape(), 0, d), len, span_numel(x.shape(), d + 1, x.shape().size()),
                   std::nullopt, "index_add");
    if (auto node = autograd::make_node<IndexAddBackward>({&x, &src}, out, dim, alpha))
        node->index = SavedTensor(index);
    return out;
}

Tensor embedding(const Tensor& indices, const Tensor& weight, std::optional<std::int64_t> padding_idx) {
    GRAFT_PROFILE_SCOPE("embedding");
    if (weight.dim() != 2)
        throw ShapeError("embedding: weight must be 2-D [num_embeddings, embedding_dim], got shape " +
                         shape_str(weight.shape()));
    const std::int64_t rows = weight.shape()[0], width = weight.shape()[1];
    if (padding_idx) {
        if (*padding_idx < -rows || *padding_idx >= rows)
            throw ValueError("embedding: padding_idx " + std::to_string(*padding_idx) + " out of range for " +
                             std::to_string(rows) + " rows");
        if (*padding_idx < 0) *padding_idx += rows;
    }
    const std::vector<std::int64_t> idx = read_indices(indices, "embedding");
    for (std::size_t j = 0; j < idx.size(); ++j)
        if (idx[j] < 0 || idx[j] >= rows)
            throw IndexError("embedding: index " + std::to_string(idx[j]) + " out of range for " +
                             std::to_string(rows) + " rows (at position " + std::to_string(j) + ") in indices of shape " +
                             shape_str(indices.shape()));
    Shape out_shape = indices.shape();
    out_shape.push_back(width);
    Tensor out = empty(out_shape, weight.dtype());
    gather_rows(out, weight.detach().contiguous(), idx, 1, rows, width);
    // A frozen bf16 table (ops/bf16_weight.hpp) gives float32 rows, as its float32 twin would.
    if (weight.dtype() == DType::BFloat16) out = out.to(DType::Float32);
    if (auto node = autograd::make_node<EmbeddingBackward>({&weight}, out, padding_idx))
        node->indices = SavedTensor(indices);
    return out;
}

}  // namespace graft
