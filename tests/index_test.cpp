// index_select and embedding: forward values against plain loops, gradchecks (duplicates,
// every dim, non-contiguous inputs, padding_idx) and every error path.
#include <vector>

#include "test_util.hpp"

using namespace graft;
using graft::test::leaf64;
using graft::test::leaf64_transposed;

namespace {

std::vector<double> values(const Tensor& t) { return t.to_vector<double>(); }

/// Reference: x[..., index[j], ...] along dim for a 3-D tensor, computed element by element.
std::vector<double> index_select_ref(const Tensor& x, std::int64_t dim, const std::vector<std::int64_t>& index) {
    const Shape& s = x.shape();
    std::vector<double> out;
    for (std::int64_t i = 0; i < (dim == 0 ? static_cast<std::int64_t>(index.size()) : s[0]); ++i)
        for (std::int64_t j = 0; j < (dim == 1 ? static_cast<std::int64_t>(index.size()) : s[1]); ++j)
            for (std::int64_t k = 0; k < (dim == 2 ? static_cast<std::int64_t>(index.size()) : s[2]); ++k) {
                const std::int64_t a = dim == 0 ? index[i] : i;
                const std::int64_t b = dim == 1 ? index[j] : j;
                const std::int64_t c = dim == 2 ? index[k] : k;
                out.push_back(x.select(0, a).select(0, b).select(0, c).item());
            }
    return out;
}

TEST(IndexSelect, ForwardMatchesLoopsEveryDim) {
    Tensor x = arange(2 * 3 * 4, DType::Float64).reshape({2, 3, 4});
    for (std::int64_t dim = 0; dim < 3; ++dim) {
        const std::int64_t n = x.size(dim);
        const std::vector<std::int64_t> idx{n - 1, 0, n - 1, 0};
        Tensor out = index_select(x, dim, from_vector<std::int64_t>(idx));
        Shape want = x.shape();
        want[static_cast<std::size_t>(dim)] = 4;
        EXPECT_EQ(out.shape(), want);
        EXPECT_EQ(values(out), index_select_ref(x, dim, idx)) << "dim " << dim;
        // Negative dim and int32 indices give the same result.
        Tensor out32 = index_select(x, dim - 3, from_vector<std::int32_t>({static_cast<std::int32_t>(n - 1), 0,
                                                                            static_cast<std::int32_t>(n - 1), 0}));
        EXPECT_EQ(values(out32), values(out)) << "dim " << dim;
    }
}

TEST(IndexSelect, NonContiguousInputAndIndex) {
    Tensor base = arange(4 * 5 * 6, DType::Float32).reshape({4, 5, 6});
    Tensor x = base.permute({2, 0, 1});  // [6, 4, 5], non-contiguous
    ASSERT_FALSE(x.is_contiguous());
    Tensor idx_full = from_vector<std::int64_t>({3, 9, 1, 9, 0, 2});
    Tensor idx = idx_full.slice(0, 0, 6, 2);  // {3, 1, 0}, strided
    for (std::int64_t dim = 0; dim < 3; ++dim) {
        Tensor out = index_select(x, dim, idx);
        EXPECT_EQ(values(out), index_select_ref(x, dim, {3, 1, 0})) << "dim " << dim;
    }
}

TEST(IndexSelect, IntegerAndEmptyIndex) {
    Tensor x = arange(12).reshape({3, 4});
    Tensor out = index_select(x, 1, from_vector<std::int64_t>({3, 3}));
    EXPECT_EQ(out.dtype(), DType::Int64);
    EXPECT_EQ(out.to_vector<std::int64_t>(), (std::vector<std::int64_t>{3, 3, 7, 7, 11, 11}));
    Tensor none = index_select(x, 0, empty({0}, DType::Int64));
    EXPECT_EQ(none.shape(), (Shape{0, 4}));
}

TEST(IndexSelect, DuplicateIndicesAccumulateGradient) {
    Tensor x = leaf64({4, 3}, 3);
    index_select(x, 0, from_vector<std::int64_t>({2, 0, 2, 2})).sum().backward();
    EXPECT_EQ(values(x.grad()), (std::vector<double>{1, 1, 1, 0, 0, 0, 3, 3, 3, 0, 0, 0}));
}

TEST(IndexSelect, GradcheckDuplicatesEveryDim) {
    Tensor x = leaf64({3, 4, 5}, 1);
    Tensor xp = leaf64({4, 5, 3}, 2).detach().permute({2, 0, 1}).requires_grad_();  // [3, 4, 5], strided
    ASSERT_FALSE(xp.is_contiguous());
    for (std::int64_t dim : {0, 1, 2, -1}) {
        const std::int64_t n = x.size(dim);
        Tensor idx = from_vector<std::int64_t>({n - 1, 0, n - 1, 1, n - 1});
        auto fn = [dim, idx](const std::vector<Tensor>& v) { return index_select(v[0], dim, idx); };
        EXPECT_GRADCHECK(fn, x);
        EXPECT_GRADCHECK(fn, xp);
    }
    Tensor xt = leaf64_transposed({7, 33}, 4);
    Tensor idx = from_vector<std::int32_t>({6, 6, 0, 3});
    EXPECT_GRADCHECK([idx](const std::vector<Tensor>& v) { return index_select(v[0], 0, idx); }, xt);
    Tensor idx33 = from_vector<std::int64_t>({32, 0, 32, 17});
    EXPECT_GRADCHECK([idx33](const std::vector<Tensor>& v) { return index_select(v[0], 1, idx33); }, xt);
}

TEST(IndexSelect, FrozenInputRecordsNothing) {
    Tensor out = index_select(randn({3, 2}), 0, from_vector<std::int64_t>({1}));
    EXPECT_FALSE(out.requires_grad());
    EXPECT_EQ(out.grad_fn(), nullptr);
    Tensor x = leaf64({3, 2}, 5);
    EXPECT_STREQ(index_select(x, 0, from_vector<std::int64_t>({1})).grad_fn()->name(), "IndexSelectBackward");
}

TEST(IndexSelect, Errors) {
    Tensor x = zeros({5, 3});
    EXPECT_THROW_MSG(index_select(x, 0, from_vector<std::int64_t>({0, 4, 5, 1})), IndexError,
                     "index_select: index 5 out of range for dimension 0 of size 5 (at position 2)");
    EXPECT_THROW_MSG(index_select(x, 1, from_vector<std::int32_t>({-1})), IndexError,
                     "index -1 out of range for dimension 1 of size 3 (at position 0)");
    EXPECT_THROW_MSG(index_select(x, 0, from_vector<std::int64_t>({0, 1}, {1, 2})), ShapeError,
                     "index must be 1-D, got shape [1, 2]");
    EXPECT_THROW_MSG(index_select(x, 0, from_vector<float>({0})), DTypeError,
                     "index_select: indices must be int64 or int32, got float32");
    EXPECT_THROW_MSG(index_select(x, 2, from_vector<std::int64_t>({0})), IndexError,
                     "dimension 2 out of range for a 2-d tensor");
    EXPECT_THROW_MSG(index_select(scalar_tensor(1.0), 0, from_vector<std::int64_t>({0})), IndexError,
                     "index_select: cannot index a 0-d tensor");
}

TEST(Embedding, ForwardGathersRows) {
    const std::int64_t V = 6, D = 4;
    Tensor w = arange(V * D, DType::Float32).reshape({V, D});
    const std::vector<std::int64_t> idx{5, 0, 2, 2, 5, 1};
    Tensor out = embedding(from_vector<std::int64_t>(idx, {2, 3}), w);
    ASSERT_EQ(out.shape(), (Shape{2, 3, D}));
    std::vector<double> o = values(out);
    for (std::size_t p = 0; p < idx.size(); ++p)
        for (std::int64_t d = 0; d < D; ++d)
            EXPECT_EQ(o[p * D + static_cast<std::size_t>(d)], static_cast<double>(idx[p] * D + d));
    Tensor out32 = embedding(from_vector<std::int32_t>({5, 0, 2, 2, 5, 1}, {2, 3}), w);
    EXPECT_EQ(values(out32), o);
    Tensor one = embedding(scalar_tensor(3, DType::Int64), w);
    EXPECT_EQ(one.shape(), (Shape{D}));
    EXPECT_EQ(values(one), (std::vector<double>{12, 13, 14, 15}));
}

TEST(Embedding, NonContiguousWeightAndIndices) {
    Tensor w = arange(20, DType::Float64).reshape({4, 5}).t();  // [5, 4], strided
    Tensor idx = from_vector<std::int64_t>({0, 1, 2, 3, 4, 0}, {2, 3}).t();  // [[0, 3], [1, 4], [2, 0]]
    Tensor out = embedding(idx, w);
    ASSERT_EQ(out.shape(), (Shape{3, 2, 4}));
    const std::vector<std::int64_t> order{0, 3, 1, 4, 2, 0};
    std::vector<double> o = values(out);
    for (std::size_t p = 0; p < order.size(); ++p)
        for (std::int64_t d = 0; d < 4; ++d)
            EXPECT_EQ(o[p * 4 + static_cast<std::size_t>(d)], static_cast<double>(d * 5 + order[p]));
}

TEST(Embedding, GradcheckDuplicatesAndPadding) {
    Tensor w = leaf64({6, 3}, 11);
    Tensor idx = from_vector<std::int64_t>({1, 4, 1, 0, 5, 1, 4, 2}, {2, 4});
    EXPECT_GRADCHECK([idx](const std::vector<Tensor>& v) { return embedding(idx, v[0]); }, w);
    Tensor wt = leaf64_transposed({6, 3}, 12);
    EXPECT_GRADCHECK([idx](const std::vector<Tensor>& v) { return embedding(idx, v[0]); }, wt);
    // Padding row 3 (used by the indices) is held fixed; the other rows are checked through cat.
    Tensor top = leaf64({3, 3}, 13), pad = leaf64({1, 3}, 14).detach(), bottom = leaf64({2, 3}, 15);
    Tensor pidx = from_vector<std::int32_t>({3, 1, 3, 5, 0, 1}, {3, 2});
    auto padded = [pidx, pad](const std::vector<Tensor>& v) { return embedding(pidx, cat({v[0], pad, v[1]}), 3); };
    EXPECT_GRADCHECK(padded, top, bottom);
}

TEST(Embedding, PaddingRowGradientIsExactlyZero) {
    Tensor w = leaf64({5, 4}, 21);
    Tensor idx = from_vector<std::int64_t>({2, 2, 0, 4, 2, 1, 2}, {7});
    Tensor out = embedding(idx, w, 2);
    // The padding row is still read in the forward (like PyTorch).
    EXPECT_EQ(values(out.select(0, 0)), values(w.select(0, 2)));
    Generator g(3);
    out.backward(randn(out.shape(), DType::Float64, &g));
    std::vector<double> grad = values(w.grad());
    for (std::size_t d = 0; d < 4; ++d) EXPECT_EQ(grad[2 * 4 + d], 0.0);
    for (std::size_t d = 0; d < 4; ++d) EXPECT_NE(grad[0 * 4 + d], 0.0);
    for (std::size_t d = 0; d < 4; ++d) EXPECT_EQ(grad[3 * 4 + d], 0.0);  // unused row
}

TEST(Embedding, DuplicateRowsAccumulateAndNegativePaddingWraps) {
    Tensor w = leaf64({4, 2}, 22);
    embedding(from_vector<std::int64_t>({1, 3, 1, 1, 3, 0}), w, -1).sum().backward();
    EXPECT_EQ(values(w.grad()), (std::vector<double>{1, 1, 3, 3, 0, 0, 0, 0}));
    Tensor w2 = leaf64({4, 2}, 23);
    embedding(from_vector<std::int64_t>({1, 3, 1, 1, 3, 0}), w2).sum().backward();
    EXPECT_EQ(values(w2.grad()), (std::vector<double>{1, 1, 3, 3, 0, 0, 2, 2}));
}

TEST(Embedding, Errors) {
    Tensor w = zeros({1000, 8});
    std::vector<std::int64_t> idx(20, 3);
    idx[17] = 1000;
    EXPECT_THROW_MSG(embedding(from_vector<std::int64_t>(idx, {4, 5}), w), IndexError,
                     "embedding: index 1000 out of range for 1000 rows (at position 17)");
    EXPECT_THROW_MSG(embedding(from_vector<std::int32_t>({0, -2}), w), IndexError,
                     "embedding: index -2 out of range for 1000 rows (at position 1)");
    EXPECT_THROW_MSG(embedding(from_vector<std::int64_t>({0}), zeros({10})), ShapeError,
                     "embedding: weight must be 2-D [num_embeddings, embedding_dim], got shape [10]");
    EXPECT_THROW_MSG(embedding(from_vector<float>({0}), w), DTypeError,
                     "embedding: indices must be int64 or int32, got float32");
    EXPECT_THROW_MSG(embedding(from_vector<std::int64_t>({0}), w, 1000), ValueError,
                     "embedding: padding_idx 1000 out of range for 1000 rows");
    EXPECT_THROW_MSG(embedding(from_vector<std::int64_t>({0}), w, -1001), ValueError,
                     "embedding: padding_idx -1001 out of range for 1000 rows");
}

}  // namespace
