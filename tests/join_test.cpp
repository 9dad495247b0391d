// cat, stack, split, chunk and repeat: forward values against plain loops, gradchecks over dims
// 0, 1 and −1 with pieces of different sizes and non-contiguous inputs, and error paths.
#include <climits>
#include <vector>

#include "test_util.hpp"

using namespace graft;
using graft::test::leaf64;
using graft::test::leaf64_transposed;

namespace {

std::vector<double> values(const Tensor& t) { return t.to_vector<double>(); }

/// Element (i, j) of a 2-D tensor.
double at(const Tensor& t, std::int64_t i, std::int64_t j) { return t.select(0, i).select(0, j).item(); }

TEST(Cat, ForwardMatchesLoopsDim0And1) {
    Tensor a = arange(3 * 1, DType::Float32).reshape({3, 1});
    Tensor b = add(arange(3 * 7, DType::Float32).reshape({3, 7}), 100.0);
    Tensor c = add(arange(33 * 3, DType::Float32).reshape({33, 3}), 1000.0).t();  // [3, 33], strided
    for (std::int64_t dim : {1, -1}) {
        Tensor out = cat({a, b, c}, dim);
        ASSERT_EQ(out.shape(), (Shape{3, 41}));
        for (std::int64_t i = 0; i < 3; ++i)
            for (std::int64_t j = 0; j < 41; ++j) {
                const double want = j < 1 ? at(a, i, j) : j < 8 ? at(b, i, j - 1) : at(c, i, j - 8);
                EXPECT_EQ(at(out, i, j), want) << i << "," << j;
            }
    }
    Tensor out0 = cat({a.t(), b.t(), c.t()}, 0);
    ASSERT_EQ(out0.shape(), (Shape{41, 3}));
    for (std::int64_t i = 0; i < 41; ++i)
        for (std::int64_t j = 0; j < 3; ++j) {
            const double want = i < 1 ? at(a, j, i) : i < 8 ? at(b, j, i - 1) : at(c, j, i - 8);
            EXPECT_EQ(at(out0, i, j), want) << i << "," << j;
        }
}

TEST(Cat, IntegerAndSingleAndEmptyPieces) {
    Tensor out = cat({arange(3), arange(0), arange(10, 12)});
    EXPECT_EQ(out.to_vector<std::int64_t>(), (std::vector<std::int64_t>{0, 1, 2, 10, 11}));
    Tensor x = randn({2, 3});
    Tensor one = cat({x});
    EXPECT_FALSE(one.shares_storage(x));
    EXPECT_EQ(values(one), values(x));
}

TEST(Cat, GradcheckDimsDifferentSizesNonContiguous) {
    // dim 0: pieces [1, 3], [7, 3], [33, 3]; the middle one is non-contiguous.
    EXPECT_GRADCHECK([](const std::vector<Tensor>& v) { return cat(v, 0); }, leaf64({1, 3}, 1),
                     leaf64_transposed({7, 3}, 2), leaf64({33, 3}, 3));
    // dim 1 and -1: pieces [3, 1], [3, 7], [3, 33]; the last one is non-contiguous.
    for (std::int64_t dim : {1, -1})
        EXPECT_GRADCHECK([dim](const std::vector<Tensor>& v) { return cat(v, dim); }, leaf64({3, 1}, 4),
                         leaf64({3, 7}, 5), leaf64_transposed({3, 33}, 6));
    // -1 of a 3-D tensor, with a permuted piece.
    Tensor p = leaf64({7, 2, 2}, 7).detach().permute({1, 2, 0}).requires_grad_();
    EXPECT_GRADCHECK([](const std::vector<Tensor>& v) { return cat(v, -1); }, leaf64({2, 2, 1}, 8), p,
                     leaf64({2, 2, 33}, 9));
}

TEST(Cat, OnlyInputsThatNeedItGetGradient) {
    Tensor a = leaf64({2, 3}, 1), frozen = randn({4, 3}, DType::Float64), b = leaf64({1, 3}, 2);
    Tensor out = cat({a, frozen, b});
    EXPECT_STREQ(out.grad_fn()->name(), "CatBackward");
    Tensor g = arange(7 * 3, DType::Float64).reshape({7, 3});
    out.backward(g);
    EXPECT_EQ(values(a.grad()), (std::vector<double>{0, 1, 2, 3, 4, 5}));
    EXPECT_EQ(values(b.grad()), (std::vector<double>{18, 19, 20}));
    EXPECT_FALSE(frozen.grad().defined());
    EXPECT_EQ(cat({frozen, frozen}).grad_fn(), nullptr);
}

TEST(Cat, Errors) {
    EXPECT_THROW_MSG(cat({}), ValueError, "cat: expected a non-empty list of tensors");
    EXPECT_THROW_MSG(cat({zeros({2, 3}), zeros({2, 3}, DType::Float64)}), DTypeError,
                     "cat: tensor 1 has dtype float64 [2, 3], expected float32");
    EXPECT_THROW_MSG(cat({zeros({2, 3}), zeros({2, 4}), zeros({3, 3})}, 0), ShapeError,
                     "cat: sizes must match except in dimension 0: tensor 1 has shape [2, 4], tensor 0 has [2, 3] "
                     "(dimension 1: 4 vs 3)");
    EXPECT_THROW_MSG(cat({zeros({2, 3}), zeros({2, 3, 1})}, 1), ShapeError,
                     "cat: tensor 1 has shape [2, 3, 1] (3-d), tensor 0 has shape [2, 3] (2-d)");
    EXPECT_THROW_MSG(cat({zeros({2}), scalar_tensor(1.0)}), ShapeError, "cat: tensor 1 is 0-d");
    EXPECT_THROW_MSG(cat({zeros({2, 3}), zeros({2, 3})}, 2), IndexError, "cat: dimension 2 out of range");
    EXPECT_THROW_MSG(cat({zeros({2}), Tensor()}), ValueError, "cat: tensor 1 is undefined");
}

TEST(Stack, ForwardMatchesLoops) {
    Tensor a = arange(6, DType::Float64).reshape({2, 3});
    Tensor b = add(arange(6, DType::Float64).reshape({3, 2}), 10.0).t();  // [2, 3], strided
    const std::vector<double> av = values(a), bv = values(b);
    Tensor s0 = stack({a, b}, 0);
    ASSERT_EQ(s0.shape(), (Shape{2, 2, 3}));
    std::vector<double> want0 = av;
    want0.insert(want0.end(), bv.begin(), bv.end());
    EXPECT_EQ(values(s0), want0);
    for (std::int64_t dim : {2, -1}) {
        Tensor s = stack({a, b}, dim);
        ASSERT_EQ(s.shape(), (Shape{2, 3, 2}));
        std::vector<double> want;
        for (std::size_t k = 0; k < 6; ++k) {
            want.push_back(av[k]);
            want.push_back(bv[k]);
        }
        EXPECT_EQ(values(s), want);
    }
    Tensor s1 = stack({a, b}, 1);
    ASSERT_EQ(s1.shape(), (Shape{2, 2, 3}));
    EXPECT_EQ(values(s1.select(1, 1)), bv);
}

TEST(Stack, GradcheckDims) {
    for (std::int64_t n : {1, 7, 33})
        for (std::int64_t dim : {0, 1, -1})
            EXPECT_GRADCHECK([dim](const std::vector<Tensor>& v) { return stack(v, dim); }, leaf64({3, n}, 1),
                             leaf64_transposed({3, n}, 2), leaf64({3, n}, 3));
}

TEST(Stack, Errors) {
    EXPECT_THROW_MSG(stack({}), ValueError, "stack: expected a non-empty list of tensors");
    EXPECT_THROW_MSG(stack({zeros({2, 3}), zeros({2, 3}), zeros({2, 4})}), ShapeError,
                     "stack: expects tensors of equal shape, got [2, 3] at entry 0 and [2, 4] at entry 2");
    EXPECT_THROW_MSG(stack({zeros({2}), zeros({2}, DType::Int64)}), DTypeError,
                     "stack: tensor 1 has dtype int64");
    EXPECT_THROW_MSG(stack({zeros({2}), zeros({2})}, 2), IndexError, "stack: dimension 2 out of range");
}

TEST(Split, PiecesAreViewsWithTheRightSizes) {
    Tensor x = arange(2 * 7, DType::Float32).reshape({2, 7});
    std::vector<Tensor> p = split(x, 3, 1);
    ASSERT_EQ(p.size(), 3u);
    EXPECT_EQ(p[0].shape(), (Shape{2, 3}));
    EXPECT_EQ(p[1].shape(), (Shape{2, 3}));
    EXPECT_EQ(p[2].shape(), (Shape{2, 1}));
    for (const Tensor& t : p) EXPECT_TRUE(t.shares_storage(x));
    EXPECT_EQ(values(p[1]), (std::vector<double>{3, 4, 5, 10, 11, 12}));
    EXPECT_EQ(values(p[2]), (std::vector<double>{6, 13}));
    EXPECT_EQ(values(cat(p, -1)), values(x));
    std::vector<Tensor> big = split(x, 10, 0);
    ASSERT_EQ(big.size(), 1u);
    EXPECT_EQ(big[0].shape(), (Shape{2, 7}));
    EXPECT_EQ(split(zeros({0, 3}), 2, 0).size(), 1u);
}

TEST(Split, WithSizes) {
    Tensor x = arange(10, DType::Float64);
    std::vector<Tensor> p = split(x, std::vector<std::int64_t>{2, 0, 5, 3});
    ASSERT_EQ(p.size(), 4u);
    EXPECT_EQ(values(p[0]), (std::vector<double>{0, 1}));
    EXPECT_EQ(p[1].numel(), 0);
    EXPECT_EQ(values(p[2]), (std::vector<double>{2, 3, 4, 5, 6}));
    EXPECT_EQ(values(p[3]), (std::vector<double>{7, 8, 9}));
}

TEST(Split, Errors) {
    Tensor x = zeros({2, 6});
    EXPECT_THROW_MSG(split(x, 0, 1), ValueError, "split: split_size must be positive, got 0");
    EXPECT_THROW_MSG(split(x, -2, 1), ValueError, "split: split_size must be positive, got -2");
    EXPECT_THROW_MSG(split(x, std::vector<std::int64_t>{2, 3}, 1), ValueError,
                     "split: sizes [2, 3] add up to 5, but dimension 1 of input [2, 6] has size 6");
    EXPECT_THROW_MSG(split(x, std::vector<std::int64_t>{8, -2}, 1), ValueError,
                     "split: size -2 (entry 1) must not be negative");
    EXPECT_THROW_MSG(split(x, 2, 3), IndexError, "split: dimension 3 out of range");
    EXPECT_THROW_MSG(split(scalar_tensor(1.0), 1), ShapeError, "split: cannot split a 0-d tensor");
}

TEST(Chunk, SizesLikeTorch) {
    auto sizes = [](const std::vector<Tensor>& ps) {
        std::vector<std::int64_t> s;
        for (const Tensor& t : ps) s.push_back(t.size(0));
        return s;
    };
    EXPECT_EQ(sizes(chunk(zeros({7}), 3)), (std::vector<std::int64_t>{3, 3, 1}));
    EXPECT_EQ(sizes(chunk(zeros({6}), 4)), (std::vector<std::int64_t>{2, 2, 2}));
    EXPECT_EQ(sizes(chunk(zeros({2}), 5)), (std::vector<std::int64_t>{1, 1}));
    EXPECT_EQ(sizes(chunk(zeros({0}), 3)), (std::vector<std::int64_t>{0, 0, 0}));
    Tensor x = arange(12, DType::Float64).reshape({3, 4});
    std::vector<Tensor> p = chunk(x, 2, -1);
    ASSERT_EQ(p.size(), 2u);
    EXPECT_EQ(values(p[1]), (std::vector<double>{2, 3, 6, 7, 10, 11}));
}

TEST(Chunk, Errors) {
    EXPECT_THROW_MSG(chunk(zeros({4}), 0), ValueError, "chunk: number of chunks must be positive, got 0");
    EXPECT_THROW_MSG(chunk(zeros({4}), 2, 1), IndexError, "chunk: dimension 1 out of range");
    EXPECT_THROW_MSG(chunk(scalar_tensor(1.0), 2), ShapeError, "chunk: cannot chunk a 0-d tensor");
}

TEST(Split, GradientFromSeveralPiecesAccumulates) {
    Tensor x = leaf64({2, 7}, 4);
    std::vector<Tensor> p = split(x, 3, 1);
    Tensor loss = add(add(add(p[0].sum(), mul(p[1].sum(), 2.0)), mul(p[2].sum(), 3.0)), mul(p[0].sum(), 4.0));
    loss.backward();
    EXPECT_EQ(values(x.grad()), (std::vector<double>{5, 5, 5, 2, 2, 2, 3, 5, 5, 5, 2, 2, 2, 3}));
}

TEST(Split, GradcheckPiecesRecombined) {
    // Pieces used several times, reordered and recombined.
    auto recombine = [](const std::vector<Tensor>& v) {
        std::vector<Tensor> p = split(v[0], 3, 1);
        return cat({mul(p[2], p[0].narrow(1, 0, 1)), p[1], mul(p[0], p[1]), p[0]}, 1);
    };
    EXPECT_GRADCHECK(recombine, leaf64({4, 7}, 5));
    EXPECT_GRADCHECK(recombine, leaf64_transposed({4, 7}, 6));
    auto sizes = [](const std::vector<Tensor>& v) {
        std::vector<Tensor> p = split(v[0], std::vector<std::int64_t>{1, 7, 25}, 0);
        return cat({p[2], mul(p[1], p[1]), p[0], p[1]}, 0);
    };
    EXPECT_GRADCHECK(sizes, leaf64({33, 2}, 7));
    auto chunks = [](const std::vector<Tensor>& v) {
        std::vector<Tensor> p = chunk(v[0], 3, -1);
        return stack({add(p[0], p[2]), mul(p[1], p[0]), p[2]}, 0);
    };
    EXPECT_GRADCHECK(chunks, leaf64({3, 9}, 8));
    EXPECT_GRADCHECK(chunks, leaf64_transposed({3, 9}, 9));
}

TEST(Split, PartGradientsAddIntoOneBufferFloat32) {
    // The qkv pattern: a [3, 5, 12] float32 input split in three along each dim, with every
    // subset of the parts used (a part left out gets zeros), one part used twice, and an input
    // whose gradient buffer already holds a contribution from elsewhere. Each part's gradient
    // lands in its slice of one buffer; the result must be the zero-filled-and-copied one.
    Generator gen(31);
    const Tensor base = randn({3, 5, 12}, DType::Float32, &gen);
    for (std::int64_t dim : {0, 1, 2})
        for (int used = 1; used < 8; ++used)
            for (bool twice : {false, true}) {
                SCOPED_TRACE("dim " + std::to_string(dim) + " used " + std::to_string(used) + " twice " +
                             std::to_string(twice));
                Tensor x = base.clone().requires_grad_();
                Tensor h = mul(x, 1.0);  // a non-leaf: its gradient gathers in the engine's buffer
                std::vector<Tensor> p = chunk(h, 3, dim);
                Tensor loss = twice ? mul(h, 0.5).sum() : Tensor();
                std::vector<Tensor> weights;
                for (std::size_t i = 0; i < p.size(); ++i) {
                    weights.push_back(randn(p[i].shape(), DType::Float32, &gen));
                    if (!(used & (1 << i))) continue;
                    Tensor term = mul(p[i], weights[i]).sum();
                    if (twice && i == 0) term = add(term, mul(p[i], weights[i]).sum());
                    loss = loss.defined() ? add(loss, term) : term;
                }
                loss.backward();
                std::vector<Tensor> want;
                for (std::size_t i = 0; i < p.size(); ++i) {
                    Tensor w = (used & (1 << i)) ? (twice && i == 0 ? mul(weights[i], 2.0) : weights[i])
                                                 : zeros(p[i].shape(), DType::Float32);
                    want.push_back(twice ? add(w, 0.5) : w);
                }
                EXPECT_EQ(values(x.grad()), values(cat(want, dim)));
            }
}

TEST(Split, StridedSliceAndSelectGradientsFloat32) {
    // Slices with a step (zero-filled everywhere first) and selects, mixed with a plain narrow.
    Generator gen(32);
    Tensor x = randn({4, 9}, DType::Float32, &gen).requires_grad_();
    Tensor h = mul(x, 1.0);
    Tensor a = h.slice(1, 1, 9, 3), b = h.select(0, 2), c = h.narrow(1, 0, 2);
    const Tensor wa = randn(a.shape(), DType::Float32, &gen), wb = randn(b.shape(), DType::Float32, &gen);
    const Tensor wc = randn(c.shape(), DType::Float32, &gen);
    add(add(mul(a, wa).sum(), mul(b, wb).sum()), mul(c, wc).sum()).backward();
    std::vector<double> want(36, 0.0);
    const std::vector<double> va = values(wa), vb = values(wb), vc = values(wc);
    for (int i = 0; i < 4; ++i)
        for (int j = 0; j < 3; ++j) want[i * 9 + 1 + 3 * j] += va[i * 3 + j];
    for (int j = 0; j < 9; ++j) want[2 * 9 + j] += vb[j];
    for (int i = 0; i < 4; ++i)
        for (int j = 0; j < 2; ++j) want[i * 9 + j] += vc[i * 2 + j];
    const std::vector<double> got = values(x.grad());
    ASSERT_EQ(got.size(), want.size());
    for (std::size_t i = 0; i < got.size(); ++i) EXPECT_FLOAT_EQ(got[i], want[i]) << i;
}

/// repeat(x, repeats) by its definition: out[o₀, o₁, …] = x[o_k mod s_k] over x's shape padded
/// with leading 1s to repeats.size() dims.
std::vector<double> repeat_by_loops(const Tensor& x, const std::vector<std::int64_t>& repeats) {
    const std::size_t nd = repeats.size();
    Shape padded(nd - static_cast<std::size_t>(x.dim()), 1);
    padded.insert(padded.end(), x.shape().begin(), x.shape().end());
    Shape out_shape(nd);
    std::int64_t n = 1;
    for (std::size_t d = 0; d < nd; ++d) n *= (out_shape[d] = padded[d] * repeats[d]);
    const std::vector<double> src = values(x);
    const Shape src_strides = contiguous_strides(padded), out_strides = contiguous_strides(out_shape);
    std::vector<double> out;
    for (std::int64_t k = 0; k < n; ++k) {
        std::int64_t at = 0;
        for (std::size_t d = 0; d < nd; ++d) at += (k / out_strides[d] % out_shape[d]) % padded[d] * src_strides[d];
        out.push_back(src[static_cast<std::size_t>(at)]);
    }
    return out;
}

TEST(Repeat, HandComputed) {
    Tensor x = from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3});
    Tensor r = repeat(x, {2, 2});
    ASSERT_EQ(r.shape(), (Shape{4, 6}));
    EXPECT_EQ(values(r), (std::vector<double>{1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6,  //
                                              1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6}));
    Tensor lead = repeat(from_vector<float>({7, 8}), {3, 1, 2});  // new leading dims
    ASSERT_EQ(lead.shape(), (Shape{3, 1, 4}));
    EXPECT_EQ(values(lead), (std::vector<double>{7, 8, 7, 8, 7, 8, 7, 8, 7, 8, 7, 8}));
    EXPECT_EQ(repeat(arange(3), {2}).to_vector<std::int64_t>(), (std::vector<std::int64_t>{0, 1, 2, 0, 1, 2}));
    EXPECT_EQ(repeat(from_vector<bool>({true, false}), {1, 2}).to_vector<bool>(),
              (std::vector<bool>{true, false, true, false}));
}

TEST(Repeat, ForwardMatchesLoopsOnOddAndNonContiguousInputs) {
    Tensor t = arange(3 * 7, DType::Float64).reshape({7, 3}).t();  // [3, 7], strided
    Tensor p = arange(2 * 5 * 3, DType::Float32).reshape({2, 5, 3}).permute({2, 0, 1});
    const std::vector<std::pair<Tensor, std::vector<std::int64_t>>> cases = {
        {t, {1, 1}}, {t, {2, 3}}, {t, {4, 1, 2}}, {p, {1, 3, 2}}, {p, {2, 1, 1, 3}}, {arange(5, DType::Float32), {3}}};
    for (const auto& [x, reps] : cases) {
        SCOPED_TRACE(shape_str(x.shape()) + " by " + shape_str(reps));
        Tensor r = repeat(x, reps);
        EXPECT_EQ(values(r), repeat_by_loops(x, reps));
        EXPECT_FALSE(r.shares_storage(x));
        EXPECT_TRUE(r.is_contiguous());
    }
}

TEST(Repeat, ZeroDimAndZeroRepeats) {
    Tensor s = scalar_tensor(5.0);
    Tensor same = repeat(s, {});
    EXPECT_EQ(same.dim(), 0);
    EXPECT_EQ(same.item(), 5.0);
    EXPECT_FALSE(same.shares_storage(s));
    EXPECT_EQ(values(repeat(s, {3})), (std::vector<double>{5, 5, 5}));
    EXPECT_EQ(repeat(zeros({2, 3}), {0, 1}).shape(), (Shape{0, 3}));
    EXPECT_EQ(repeat(zeros({0, 3}), {2, 2}).shape(), (Shape{0, 6}));
    Tensor x = leaf64({2, 3}, 1);
    repeat(x, {2, 0}).sum().backward();
    EXPECT_EQ(values(x.grad()), std::vector<double>(6, 0.0));
}

TEST(Repeat, BackwardSumsTheTiles) {
    Tensor x = leaf64({2}, 1);
    Tensor r = repeat(x, {2, 3});
    EXPECT_STREQ(r.grad_fn()->name(), "RepeatBackward");
    r.backward(arange(12, DType::Float64).reshape({2, 6}));
    // Tiles of [2]: columns 0, 2, 4 of both rows go to x[0], columns 1, 3, 5 to x[1].
    EXPECT_EQ(values(x.grad()), (std::vector<double>{0 + 2 + 4 + 6 + 8 + 10, 1 + 3 + 5 + 7 + 9 + 11}));
    EXPECT_EQ(repeat(randn({2}, DType::Float64), {2}).grad_fn(), nullptr);
}

TEST(Repeat, Gradcheck) {
    for (const std::vector<std::int64_t>& reps : std::vector<std::vector<std::int64_t>>{{1, 1}, {2, 3}, {3, 1, 2}}) {
        EXPECT_GRADCHECK([reps](const std::vector<Tensor>& v) { return repeat(v[0], reps); }, leaf64({3, 5}, 1));
        EXPECT_GRADCHECK([reps](const std::vector<Tensor>& v) { return repeat(v[0], reps); },
                         leaf64_transposed({3, 7}, 2));
    }
    Tensor p = leaf64({5, 2, 3}, 3).detach().permute({2, 0, 1}).requires_grad_();
    EXPECT_GRADCHECK([](const std::vector<Tensor>& v) { return repeat(v[0], {2, 1, 3, 2}); }, p);
    EXPECT_GRADCHECK([](const std::vector<Tensor>& v) { return repeat(v[0], {4}); }, leaf64({}, 4));
    // Used twice: the tiles' gradients add to the other use's.
    EXPECT_GRADCHECK([](const std::vector<Tensor>& v) { return mul(repeat(v[0], {2, 1}), repeat(v[0], {1, 2}).t()); },
                     leaf64({3, 3}, 5));
}

TEST(Repeat, Errors) {
    EXPECT_THROW_MSG(repeat(zeros({2, 3}), {2}), ShapeError,
                     "repeat: repeats [2] has 1 entries, fewer than the 2 dimensions of input [2, 3]");
    EXPECT_THROW_MSG(repeat(zeros({2, 3}), {2, -1}), ValueError,
                     "repeat: repeats [2, -1] has a negative entry (-1 at index 1) for input [2, 3]");
    EXPECT_THROW_MSG(repeat(zeros({2}), {INT64_MAX}), ShapeError,
                     "repeat: repeats [9223372036854775807] of input [2] give more than 2^63 elements");
    EXPECT_THROW_MSG(repeat(zeros({2, 2}), {std::int64_t{1} << 31, std::int64_t{1} << 31}), ShapeError,
                     "give more than 2^63 elements");
    EXPECT_THROW_MSG(repeat(zeros({0, 2}), {1, INT64_MAX}), ShapeError, "give more than 2^63 elements");
}

}  // namespace
