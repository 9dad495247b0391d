// matmul, linear and the reference GEMM: forward against Eigen (every transpose combination,
// odd sizes, strided operands, batch broadcasting), gemm_scalar's alpha/beta contract,
// gradchecks, gradient skipping for frozen inputs, and the error messages.
#include <Eigen/Dense>

#include <cmath>
#include <limits>
#include <vector>

#include "kernels/gemm/gemm.hpp"
#include "test_util.hpp"

using namespace graft;
using graft::test::leaf64;
using graft::test::leaf64_transposed;

namespace {

using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// A 2-D tensor (any strides, any float dtype) as an Eigen matrix of doubles.
RowMatrix to_eigen(const Tensor& t) {
    EXPECT_EQ(t.dim(), 2);
    const std::vector<double> v = t.to_vector<double>();
    return Eigen::Map<const RowMatrix>(v.data(), t.size(0), t.size(1));
}

/// Largest |t − ref| over all elements; t must have ref's shape.
double max_diff(const Tensor& t, const RowMatrix& ref) {
    EXPECT_EQ(t.shape(), (Shape{ref.rows(), ref.cols()}));
    if (t.shape() != Shape{ref.rows(), ref.cols()}) return std::numeric_limits<double>::infinity();
    return (to_eigen(t) - ref).cwiseAbs().maxCoeff();
}

/// A [rows, cols] tensor of standard-normal values; `transposed` stores it as the transpose
/// of a contiguous [cols, rows] tensor.
Tensor random_matrix(std::int64_t rows, std::int64_t cols, bool transposed, DType dtype, std::uint64_t seed) {
    Generator g(seed);
    return transposed ? randn({cols, rows}, dtype, &g).t() : randn({rows, cols}, dtype, &g);
}

double tolerance(DType dtype) { return dtype == DType::Float32 ? 1e-4 : 1e-11; }

// ---- gemm_scalar ---------------------------------------------------------------------------

/// Column-major or row-major storage of an m×n matrix with a padded leading dimension.
struct Strided {
    std::int64_t rows, cols, rs, cs;
    std::vector<double> data;
    Strided(std::int64_t m, std::int64_t n, bool col_major, std::uint64_t seed) : rows(m), cols(n) {
        const std::int64_t pad = 3;
        rs = col_major ? 1 : n + pad;
        cs = col_major ? m + pad : 1;
        data.assign(static_cast<std::size_t>((col_major ? n : m) * (col_major ? m + pad : n + pad)), 0.0);
        Generator g(seed);
        for (std::int64_t i = 0; i < m; ++i)
            for (std::int64_t j = 0; j < n; ++j) at(i, j) = g.uniform() * 2 - 1;
    }
    double& at(std::int64_t i, std::int64_t j) { return data[static_cast<std::size_t>(i * rs + j * cs)]; }
    RowMatrix eigen() {
        RowMatrix m(rows, cols);
        for (std::int64_t i = 0; i < rows; ++i)
            for (std::int64_t j = 0; j < cols; ++j) m(i, j) = at(i, j);
        return m;
    }
};

TEST(GemmScalar, MatchesEigenForEveryLayoutAndOddSizes) {
    // 65 > the 64-column panel, 130 > the 128-deep panel: the panel edges are crossed.
    const std::vector<std::int64_t> sizes{1, 7, 33, 65, 130};
    std::uint64_t seed = 1;
    for (std::int64_t M : sizes)
        for (std::int64_t N : sizes)
            for (std::int64_t K : sizes)
                for (int layout = 0; layout < 8; ++layout) {
                    Strided A(M, K, layout & 1, seed++), B(K, N, layout & 2, seed++), C(M, N, layout & 4, seed++);
                    const RowMatrix want = 1.5 * A.eigen() * B.eigen() - 0.5 * C.eigen();
                    kernels::gemm_scalar<double>(M, N, K, 1.5, A.data.data(), A.rs, A.cs, B.data.data(), B.rs, B.cs,
                                                 -0.5, C.data.data(), C.rs, C.cs);
                    const double err = (C.eigen() - want).cwiseAbs().maxCoeff();
                    ASSERT_LT(err, 1e-11) << "M=" << M << " N=" << N << " K=" << K << " layout=" << layout;
                }
}

TEST(GemmScalar, FloatMatchesDoubleReference) {
    const std::int64_t M = 33, N = 65, K = 130;
    Strided A(M, K, true, 11), B(K, N, false, 12);
    std::vector<float> a(A.data.begin(), A.data.end()), b(B.data.begin(), B.data.end());
    std::vector<float> c(static_cast<std::size_t>(M * N), 0.f);
    kernels::gemm_scalar<float>(M, N, K, 2.f, a.data(), A.rs, A.cs, b.data(), B.rs, B.cs, 0.f, c.data(), N, 1);
    const RowMatrix want = 2.0 * A.eigen() * B.eigen();
    for (std::int64_t i = 0; i < M; ++i)
        for (std::int64_t j = 0; j < N; ++j) ASSERT_NEAR(c[static_cast<std::size_t>(i * N + j)], want(i, j), 1e-4);
}

TEST(GemmScalar, BetaZeroOverwritesNaNInC) {
    const std::int64_t M = 7, N = 65, K = 33;
    Strided A(M, K, false, 21), B(K, N, true, 22);
    std::vector<double> c(static_cast<std::size_t>(M * N), std::numeric_limits<double>::quiet_NaN());
    kernels::gemm_scalar<double>(M, N, K, -1.0, A.data.data(), A.rs, A.cs, B.data.data(), B.rs, B.cs, 0.0, c.data(),
                                 N, 1);
    const RowMatrix want = -(A.eigen() * B.eigen());
    for (std::int64_t i = 0; i < M; ++i)
        for (std::int64_t j = 0; j < N; ++j) ASSERT_NEAR(c[static_cast<std::size_t>(i * N + j)], want(i, j), 1e-12);
}

TEST(GemmScalar, AlphaZeroOrEmptyKOnlyScalesC) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    std::vector<double> a(6, nan), b(6, nan);  // never read
    for (std::int64_t K : {0, 3}) {
        std::vector<double> c{1, 2, 3, 4};
        kernels::gemm_scalar<double>(2, 2, K, K == 0 ? 1.0 : 0.0, a.data(), 3, 1, b.data(), 2, 1, 3.0, c.data(), 2, 1);
        EXPECT_EQ(c, (std::vector<double>{3, 6, 9, 12})) << "K=" << K;
        std::vector<double> d(4, nan);
        kernels::gemm_scalar<double>(2, 2, K, K == 0 ? 1.0 : 0.0, a.data(), 3, 1, b.data(), 2, 1, 0.0, d.data(), 2, 1);
        EXPECT_EQ(d, (std::vector<double>(4, 0.0))) << "K=" << K;
    }
}

TEST(GemmScalar, ZeroStrideBroadcastsARow) {
    // B's rows all alias one stored row (rsB = 0): C[i, j] = Σ_p A[i, p] · b[j]
    const std::vector<double> a{1, 2, 3, 4, 5, 6}, b{10, 20};
    std::vector<double> c(4);
    kernels::gemm_scalar<double>(2, 2, 3, 1.0, a.data(), 3, 1, b.data(), 0, 1, 0.0, c.data(), 2, 1);
    EXPECT_EQ(c, (std::vector<double>{60, 120, 150, 300}));
}

// ---- matmul forward ------------------------------------------------------------------------

TEST(Matmul, MatchesEigenForAllTransposeCombinations) {
    std::uint64_t seed = 100;
    for (DType dtype : {DType::Float32, DType::Float64})
        for (std::int64_t M : {1, 7, 33, 65})
            for (std::int64_t K : {1, 7, 33, 65})
                for (std::int64_t N : {1, 7, 65})
                    for (int t = 0; t < 4; ++t) {
                        const Tensor a = random_matrix(M, K, t & 1, dtype, seed++);
                        const Tensor b = random_matrix(K, N, t & 2, dtype, seed++);
                        const Tensor c = matmul(a, b);
                        EXPECT_EQ(c.dtype(), dtype);
                        EXPECT_TRUE(c.is_contiguous());
                        ASSERT_LT(max_diff(c, to_eigen(a) * to_eigen(b)), tolerance(dtype))
                            << "M=" << M << " K=" << K << " N=" << N << " transposes=" << t;
                    }
}

TEST(Matmul, SlicedAndPermutedOperands) {
    Generator g(7);
    const Tensor big_a = randn({40, 90}, DType::Float64, &g);
    const Tensor big_b = randn({70, 50}, DType::Float64, &g);
    const Tensor a = big_a.slice(0, 1, 40, 3).slice(1, 2, 90, 2);  // [13, 44], strides (270, 2)
    const Tensor b = big_b.slice(0, 3, 47).slice(1, 1, 50, 4);     // [44, 13], strides (50, 4)
    ASSERT_FALSE(a.is_contiguous());
    ASSERT_FALSE(b.is_contiguous());
    EXPECT_LT(max_diff(matmul(a, b), to_eigen(a) * to_eigen(b)), 1e-11);
    EXPECT_LT(max_diff(matmul(b.t(), a.t()), to_eigen(b).transpose() * to_eigen(a).transpose()), 1e-11);
    // a slice of a permuted 3-D tensor: strides that are neither row- nor column-major
    const Tensor c = randn({5, 6, 7}, DType::Float64, &g).permute({2, 0, 1}).select(2, 3);  // [7, 5]
    const Tensor d = randn({9, 5}, DType::Float64, &g).t();                                 // [5, 9]
    EXPECT_LT(max_diff(matmul(c, d), to_eigen(c) * to_eigen(d)), 1e-11);
}

TEST(Matmul, VectorOperandsFollowPyTorch) {
    const Tensor v = from_vector<double>({1, 2, 3});
    const Tensor m = arange(6, DType::Float64).reshape({3, 2});   // [[0,1],[2,3],[4,5]]
    const Tensor mt = arange(6, DType::Float64).reshape({2, 3});  // [[0,1,2],[3,4,5]]

    const Tensor dot = matmul(v, v);
    EXPECT_EQ(dot.shape(), Shape{});
    EXPECT_EQ(dot.item(), 14.0);

    const Tensor vm = matmul(v, m);
    EXPECT_EQ(vm.shape(), (Shape{2}));
    EXPECT_EQ(vm.to_vector<double>(), (std::vector<double>{16, 22}));

    const Tensor mv = matmul(mt, v);
    EXPECT_EQ(mv.shape(), (Shape{2}));
    EXPECT_EQ(mv.to_vector<double>(), (std::vector<double>{8, 26}));

    const Tensor batched = from_vector<double>({0, 1, 2, 3, 4, 5, 0, 2, 4, 6, 8, 10}, {2, 3, 2});  // [m, 2m]
    const Tensor vb = matmul(v, batched);
    EXPECT_EQ(vb.shape(), (Shape{2, 2}));
    EXPECT_EQ(vb.to_vector<double>(), (std::vector<double>{16, 22, 32, 44}));

    const Tensor bv = matmul(from_vector<double>({0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5}, {2, 2, 3}), v);
    EXPECT_EQ(bv.shape(), (Shape{2, 2}));
    EXPECT_EQ(bv.to_vector<double>(), (std::vector<double>{8, 26, 8, 26}));
}

/// Checks c = a @ b batch by batch against Eigen, a and b broadcast to c's batch dims.
void expect_batched_product(const Tensor& a, const Tensor& b, const Tensor& c, double tol) {
    const Shape batch(c.shape().begin(), c.shape().end() - 2);
    Shape a_shape = batch, b_shape = batch;
    a_shape.insert(a_shape.end(), a.shape().end() - 2, a.shape().end());
    b_shape.insert(b_shape.end(), b.shape().end() - 2, b.shape().end());
    const Tensor ae = a.expand(a_shape).reshape({-1, a.size(-2), a.size(-1)});
    const Tensor be = b.expand(b_shape).reshape({-1, b.size(-2), b.size(-1)});
    const Tensor ce = c.reshape({-1, c.size(-2), c.size(-1)});
    for (std::int64_t i = 0; i < ce.size(0); ++i)
        ASSERT_LT(max_diff(ce.select(0, i), to_eigen(ae.select(0, i)) * to_eigen(be.select(0, i))), tol)
            << "batch " << i;
}

TEST(Matmul, BatchedBroadcastShapes) {
    Generator g(3);
    struct Case {
        Shape a, b, out;
    };
    const std::vector<Case> cases{
        {{2, 1, 3, 4}, {5, 4, 6}, {2, 5, 3, 6}},
        {{4, 3, 5}, {5, 2}, {4, 3, 2}},
        {{3, 5}, {4, 5, 2}, {4, 3, 2}},
        {{1, 3, 5}, {4, 5, 7}, {4, 3, 7}},
        {{2, 3, 1, 5}, {3, 5, 1}, {2, 3, 1, 1}},
    };
    for (const Case& c : cases) {
        const Tensor a = randn(c.a, DType::Float64, &g), b = randn(c.b, DType::Float64, &g);
        const Tensor out = matmul(a, b);
        ASSERT_EQ(out.shape(), c.out) << shape_str(c.a) << " @ " << shape_str(c.b);
        expect_batched_product(a, b, out, 1e-11);
    }
}

TEST(Matmul, BatchedOperandsWithUnfoldableStrides) {
    Generator g(4);
    // a's batch and row dims do not merge into one stride: each batch is its own GEMM
    const Tensor a = randn({3, 4, 5}, DType::Float64, &g).transpose(0, 1);  // [4, 3, 5]
    const Tensor b = randn({6, 5}, DType::Float64, &g).t();                 // [5, 6]
    expect_batched_product(a, b, matmul(a, b), 1e-11);
    // a broadcast batch operand (stride 0) and a transposed batched one
    const Tensor c = randn({3, 5}, DType::Float64, &g).expand({4, 3, 5});
    const Tensor d = randn({4, 7, 5}, DType::Float64, &g).transpose(1, 2);  // [4, 5, 7]
    expect_batched_product(c, d, matmul(c, d), 1e-11);
}

TEST(Matmul, EmptyDimensions) {
    const Tensor zero_k = matmul(ones({3, 0}, DType::Float64), ones({0, 4}, DType::Float64));
    EXPECT_EQ(zero_k.shape(), (Shape{3, 4}));
    EXPECT_EQ(zero_k.to_vector<double>(), std::vector<double>(12, 0.0));
    EXPECT_EQ(matmul(ones({0, 3}), ones({3, 4})).shape(), (Shape{0, 4}));
    EXPECT_EQ(matmul(ones({2, 0, 3}), ones({3, 4})).shape(), (Shape{2, 0, 4}));
}

// ---- matmul backward -----------------------------------------------------------------------

Tensor mm(const std::vector<Tensor>& x) { return matmul(x[0], x[1]); }

TEST(Matmul, Gradcheck2DOddSizesAndTransposes) {
    for (std::int64_t n : {1, 7, 33}) {
        EXPECT_GRADCHECK(mm, leaf64({3, n}, 1), leaf64({n, 5}, 2));
        EXPECT_GRADCHECK(mm, leaf64_transposed({3, n}, 3), leaf64({n, 5}, 4));
        EXPECT_GRADCHECK(mm, leaf64({3, n}, 5), leaf64_transposed({n, 5}, 6));
        EXPECT_GRADCHECK(mm, leaf64_transposed({3, n}, 7), leaf64_transposed({n, 5}, 8));
    }
}

TEST(Matmul, GradcheckBatchedBroadcast) {
    EXPECT_GRADCHECK(mm, leaf64({2, 1, 3, 4}, 1), leaf64({5, 4, 6}, 2));
    EXPECT_GRADCHECK(mm, leaf64({4, 3, 5}, 3), leaf64({5, 2}, 4));
    EXPECT_GRADCHECK(mm, leaf64({3, 5}, 5), leaf64({4, 5, 2}, 6));
    EXPECT_GRADCHECK(mm, leaf64({1, 3, 5}, 7), leaf64({2, 5, 3}, 8));
    // unfoldable batch strides on the left with a single matrix on the right
    const Tensor a = leaf64({3, 4, 5}, 9).detach().transpose(0, 1).requires_grad_();
    EXPECT_GRADCHECK(mm, a, leaf64_transposed({5, 2}, 10));
}

TEST(Matmul, GradcheckVectorCases) {
    EXPECT_GRADCHECK(mm, leaf64({7}, 1), leaf64({7}, 2));
    EXPECT_GRADCHECK(mm, leaf64({7}, 3), leaf64({7, 3}, 4));
    EXPECT_GRADCHECK(mm, leaf64({3, 7}, 5), leaf64({7}, 6));
    EXPECT_GRADCHECK(mm, leaf64({5}, 7), leaf64({2, 5, 3}, 8));
    EXPECT_GRADCHECK(mm, leaf64({2, 3, 5}, 9), leaf64({5}, 10));
}

TEST(Matmul, GradientThroughExpandedOutputGradient) {
    // sum() hands back a stride-0 gradient; the backward GEMMs read it in place
    const Tensor a = leaf64({4, 3}, 1), b = leaf64({3, 2}, 2);
    matmul(a, b).sum().backward();
    const RowMatrix ones_out = RowMatrix::Ones(4, 2);
    EXPECT_LT(max_diff(a.grad(), ones_out * to_eigen(b.detach()).transpose()), 1e-12);
    EXPECT_LT(max_diff(b.grad(), to_eigen(a.detach()).transpose() * ones_out), 1e-12);
}

TEST(Matmul, FrozenOperandGetsNoGradientAndIsNotSaved) {
    const Tensor a0 = leaf64({4, 3}, 1);
    Tensor a = a0.clone();  // a non-leaf, so an in-place write is allowed unless a was saved
    Tensor b = randn({3, 2}, DType::Float64);  // frozen
    const Tensor c = matmul(a, b);
    EXPECT_NO_THROW(a.add_(0.0));                    // da needs b only: a was not kept
    EXPECT_THROW(b.add_(0.0), AutogradError);        // b was kept for da
    c.sum().backward();
    EXPECT_TRUE(a0.grad().defined());
    EXPECT_FALSE(b.grad().defined());

    Tensor p = randn({4, 3}, DType::Float64);  // frozen, on the left this time
    const Tensor q0 = leaf64({3, 2}, 2);
    Tensor q = q0.clone();
    const Tensor r = matmul(p, q);
    EXPECT_NO_THROW(q.add_(0.0));              // dq needs p only: q was not kept
    EXPECT_THROW(p.add_(0.0), AutogradError);  // p was kept for dq
    r.sum().backward();
    EXPECT_FALSE(p.grad().defined());
    EXPECT_TRUE(q0.grad().defined());
}

// ---- linear --------------------------------------------------------------------------------

TEST(Linear, MatchesEigenWithAndWithoutBias) {
    Generator g(5);
    for (DType dtype : {DType::Float32, DType::Float64}) {
        const Tensor x = randn({2, 3, 33}, dtype, &g), w = randn({7, 33}, dtype, &g), b = randn({7}, dtype, &g);
        const Tensor y = linear(x, w, b), y_nobias = linear(x, w);
        ASSERT_EQ(y.shape(), (Shape{2, 3, 7}));
        RowMatrix want = to_eigen(x.reshape({6, 33})) * to_eigen(w).transpose();
        EXPECT_LT(max_diff(y_nobias.reshape({6, 7}), want), tolerance(dtype));
        want.rowwise() += to_eigen(b.reshape({1, 7})).row(0);
        EXPECT_LT(max_diff(y.reshape({6, 7}), want), tolerance(dtype));
    }
    // a 1-D input and a transposed (non-contiguous) weight
    const Tensor x = randn({5}, DType::Float64, &g), w = randn({5, 4}, DType::Float64, &g).t();
    const Tensor y = linear(x, w, ones({4}, DType::Float64));
    ASSERT_EQ(y.shape(), (Shape{4}));
    const RowMatrix want = (to_eigen(x.reshape({1, 5})) * to_eigen(w).transpose()).array() + 1.0;
    EXPECT_LT(max_diff(y.reshape({1, 4}), want), 1e-12);
}

TEST(Linear, Gradcheck) {
    auto with_bias = [](const std::vector<Tensor>& v) { return linear(v[0], v[1], v[2]); };
    auto without_bias = [](const std::vector<Tensor>& v) { return linear(v[0], v[1]); };
    EXPECT_GRADCHECK(with_bias, leaf64({4, 7}, 1), leaf64({3, 7}, 2), leaf64({3}, 3));
    EXPECT_GRADCHECK(without_bias, leaf64({4, 7}, 4), leaf64({3, 7}, 5));
    EXPECT_GRADCHECK(with_bias, leaf64({2, 3, 5}, 6), leaf64({4, 5}, 7), leaf64({4}, 8));
    EXPECT_GRADCHECK(without_bias, leaf64({2, 3, 5}, 9), leaf64_transposed({4, 5}, 10));
    EXPECT_GRADCHECK(with_bias, leaf64({5}, 11), leaf64({4, 5}, 12), leaf64({4}, 13));
    // a 3-D input whose leading dims do not fold into one stride
    const Tensor x = leaf64({3, 2, 5}, 14).detach().transpose(0, 1).requires_grad_();
    EXPECT_GRADCHECK(with_bias, x, leaf64({4, 5}, 15), leaf64({4}, 16));
}

TEST(Linear, FrozenWeightSkipsWeightGradient) {
    const Tensor x0 = leaf64({2, 3, 5}, 1);
    Tensor x = x0.clone();                        // non-leaf: in-place allowed unless saved
    Tensor w = randn({4, 5}, DType::Float64);     // frozen
    Tensor b = randn({4}, DType::Float64);        // frozen
    const Tensor y = linear(x, w, b);
    EXPECT_NO_THROW(x.add_(0.0));              // x is needed only for dW: not kept
    EXPECT_THROW(w.add_(0.0), AutogradError);  // w is kept for dx
    y.sum().backward();
    EXPECT_FALSE(w.grad().defined());
    EXPECT_FALSE(b.grad().defined());
    ASSERT_TRUE(x0.grad().defined());
    // dx = ones·w: every row of x0.grad is the column sums of w
    const RowMatrix col_sums = to_eigen(w).colwise().sum();
    EXPECT_LT(max_diff(x0.grad().reshape({6, 5}), col_sums.replicate(6, 1)), 1e-12);
}

TEST(Linear, InputWithoutGradSkipsInputGradient) {
    Tensor x = randn({2, 3, 5}, DType::Float64);  // data: no gradient wanted
    const Tensor w0 = leaf64({4, 5}, 2), b = leaf64({4}, 3);
    Tensor w = w0.clone();
    const Tensor y = linear(x, w, b);
    EXPECT_NO_THROW(w.add_(0.0));              // w is needed only for dx: not kept
    EXPECT_THROW(x.add_(0.0), AutogradError);  // x is kept for dW
    y.sum().backward();
    EXPECT_FALSE(x.grad().defined());
    ASSERT_TRUE(w0.grad().defined());
    ASSERT_TRUE(b.grad().defined());
    EXPECT_EQ(b.grad().to_vector<double>(), std::vector<double>(4, 6.0));
    const RowMatrix x_col_sums = to_eigen(x.reshape({6, 5})).colwise().sum();
    EXPECT_LT(max_diff(w0.grad(), x_col_sums.replicate(4, 1)), 1e-12);
}

// ---- errors --------------------------------------------------------------------------------

TEST(Matmul, ErrorsNameTheOpAndBothShapes) {
    EXPECT_THROW_MSG(matmul(zeros({3, 4}), zeros({5, 6})), ShapeError,
                     "matmul: [3, 4] @ [5, 6]: inner dimensions differ (4 vs 5)");
    EXPECT_THROW_MSG(matmul(zeros({3}), zeros({4})), ShapeError, "matmul: [3] @ [4]: inner dimensions differ (3 vs 4)");
    EXPECT_THROW_MSG(matmul(zeros({2, 3}), zeros({4})), ShapeError, "inner dimensions differ (3 vs 4)");
    EXPECT_THROW_MSG(matmul(zeros({2, 3, 4}), zeros({5, 4, 6})), ShapeError,
                     "matmul: [2, 3, 4] @ [5, 4, 6]: batch dimensions [2] and [5] do not broadcast");
    EXPECT_THROW_MSG(matmul(scalar_tensor(1.0), zeros({3})), ShapeError,
                     "matmul: [] @ [3]: both operands need at least 1 dimension");
    EXPECT_THROW_MSG(matmul(zeros({2, 3}), zeros({3, 2}, DType::Float64)), DTypeError, "matmul: dtype mismatch");
    EXPECT_THROW_MSG(matmul(zeros({2, 3}, DType::Int64), zeros({3, 2}, DType::Int64)), DTypeError,
                     "matmul: expected a floating-point tensor");
}

TEST(Linear, ErrorsNameTheOpAndShapes) {
    EXPECT_THROW_MSG(linear(zeros({64, 783}), zeros({10, 784})), ShapeError,
                     "linear: input has 783 features, layer expects 784");
    EXPECT_THROW_MSG(linear(zeros({4, 5}), zeros({5})), ShapeError,
                     "linear: weight must be 2-D [out_features, in_features], got [5]");
    EXPECT_THROW_MSG(linear(scalar_tensor(1.0), zeros({3, 1})), ShapeError, "linear: input must have at least 1");
    EXPECT_THROW_MSG(linear(zeros({4, 5}), zeros({3, 5}), zeros({4})), ShapeError,
                     "linear: bias has shape [4], expected [3]");
    EXPECT_THROW_MSG(linear(zeros({4, 5}), zeros({3, 5}, DType::Float64)), DTypeError, "linear: dtype mismatch");
    EXPECT_THROW_MSG(linear(zeros({4, 5}), zeros({3, 5}), zeros({3}, DType::Float64)), DTypeError,
                     "linear: dtype mismatch");
    EXPECT_THROW_MSG(linear(zeros({4, 5}, DType::Int32), zeros({3, 5}, DType::Int32)), DTypeError,
                     "linear: expected a floating-point tensor");
}

}  // namespace
