// Elementwise ops: forward values against plain loops, gradchecks (broadcast, strided, odd sizes).
#include <algorithm>
#include <cmath>

#include "test_util.hpp"

using namespace graft;
using graft::test::leaf64;
using graft::test::leaf64_transposed;

namespace {

std::vector<double> values(const Tensor& t) { return t.to_vector<double>(); }

TEST(Elementwise, AddBroadcastsRowVector) {
    Tensor a = arange(6, DType::Float32).reshape({2, 3});
    Tensor b = from_vector<float>({10, 20, 30});
    EXPECT_EQ(values(a + b), (std::vector<double>{10, 21, 32, 13, 24, 35}));
    EXPECT_EQ((a + b).shape(), (Shape{2, 3}));
}

TEST(Elementwise, BroadcastBothWays) {
    Tensor a = arange(3, DType::Float64).reshape({3, 1});
    Tensor b = arange(4, DType::Float64).reshape({1, 4});
    Tensor c = mul(a, b);
    ASSERT_EQ(c.shape(), (Shape{3, 4}));
    std::vector<double> v = values(c);
    for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 4; ++j) EXPECT_EQ(v[i * 4 + j], i * j);
}

TEST(Elementwise, IncompatibleShapesNameBoth) {
    EXPECT_THROW_MSG(add(zeros({2, 3}), zeros({4})), ShapeError, "[2, 3] and [4]");
}

TEST(Elementwise, DTypeMismatchIsError) {
    EXPECT_THROW_MSG(add(zeros({2}), zeros({2}, DType::Int64)), DTypeError, "float32");
    EXPECT_THROW_MSG(mul(zeros({2}, DType::Int32), zeros({2}, DType::Float64)), DTypeError, "int32");
}

// float32 with float64 gives torch.result_type's dtype: float64, or the dimensioned operand's
// dtype when the other is 0-d; the gradient reaches each operand in its own dtype.
TEST(Elementwise, Float32WithFloat64PromotesAsTorchResultType) {
    const Tensor a = from_vector(std::vector<float>{1.5f, -2.0f}).requires_grad_();
    const Tensor b = from_vector(std::vector<double>{0.1, 3.0}).requires_grad_();
    const Tensor y = mul(a, b);
    EXPECT_EQ(y.dtype(), DType::Float64);
    EXPECT_EQ(y.to_vector<double>(), (std::vector<double>{1.5 * 0.1, -6.0}));
    sum(y).backward();
    EXPECT_EQ(a.grad().dtype(), DType::Float32);
    EXPECT_EQ(b.grad().dtype(), DType::Float64);
    EXPECT_EQ(a.grad().to_vector<float>(), (std::vector<float>{0.1f, 3.0f}));
    EXPECT_EQ(b.grad().to_vector<double>(), (std::vector<double>{1.5, -2.0}));
    for (const Tensor& t : {add(a, b), sub(b, a), div(a, b), maximum(b, a), minimum(a, b)})
        EXPECT_EQ(t.dtype(), DType::Float64);
    EXPECT_EQ(add(a, scalar_tensor(0.5, DType::Float64)).dtype(), DType::Float32);  // 0-d does not promote
    EXPECT_EQ(add(scalar_tensor(0.5, DType::Float32), b).dtype(), DType::Float64);
    EXPECT_EQ(add(scalar_tensor(0.5, DType::Float32), scalar_tensor(0.5, DType::Float64)).dtype(), DType::Float64);
    EXPECT_EQ(lt(a, b).to(DType::Int64).to_vector<std::int64_t>(), (std::vector<std::int64_t>{0, 1}));
}

TEST(Elementwise, GradcheckBinaryBroadcastAndStrided) {
    for (std::int64_t n : {1, 7, 33}) {
        Tensor a = leaf64({3, n}, 1), b = leaf64({n}, 2);
        Tensor at = leaf64_transposed({3, n}, 3);
        Tensor bpos = add(mul(leaf64({1, n}, 4).detach(), 0.1), 2.0).requires_grad_();
        EXPECT_GRADCHECK([](const std::vector<Tensor>& x) { return add(x[0], x[1], 0.5); }, a, b);
        EXPECT_GRADCHECK([](const std::vector<Tensor>& x) { return sub(x[0], x[1]); }, at, b);
        EXPECT_GRADCHECK([](const std::vector<Tensor>& x) { return mul(x[0], x[1]); }, at, b);
        EXPECT_GRADCHECK([](const std::vector<Tensor>& x) { return div(x[0], x[1]); }, a, bpos);
        EXPECT_GRADCHECK([](const std::vector<Tensor>& x) { return maximum(x[0], x[1]); }, a, at);
        EXPECT_GRADCHECK([](const std::vector<Tensor>& x) { return minimum(x[0], x[1]); }, a, b);
    }
}

TEST(Elementwise, GradcheckUnary) {
    for (std::int64_t n : {1, 7, 33}) {
        Tensor x = leaf64({2, n}, 5);
        Tensor xt = leaf64_transposed({n, 3}, 6);
        Tensor pos = add(abs(leaf64({2, n}, 7).detach()), 0.5).requires_grad_();
        auto check = [&](auto f, const Tensor& in) { EXPECT_GRADCHECK(f, in); };
        check([](const std::vector<Tensor>& v) { return neg(v[0]); }, xt);
        check([](const std::vector<Tensor>& v) { return exp(v[0]); }, xt);
        check([](const std::vector<Tensor>& v) { return log(v[0]); }, pos);
        check([](const std::vector<Tensor>& v) { return sqrt(v[0]); }, pos);
        check([](const std::vector<Tensor>& v) { return rsqrt(v[0]); }, pos);
        check([](const std::vector<Tensor>& v) { return abs(v[0]); }, x);
        check([](const std::vector<Tensor>& v) { return pow(v[0], 3.0); }, xt);
        check([](const std::vector<Tensor>& v) { return pow(v[0], -1.5); }, pos);
        check([](const std::vector<Tensor>& v) { return clamp(v[0], -0.5, 0.7); }, x);
        check([](const std::vector<Tensor>& v) { return relu(v[0]); }, xt);
        check([](const std::vector<Tensor>& v) { return leaky_relu(v[0], 0.1); }, x);
        check([](const std::vector<Tensor>& v) { return sigmoid(v[0]); }, xt);
        check([](const std::vector<Tensor>& v) { return tanh(v[0]); }, x);
        check([](const std::vector<Tensor>& v) { return gelu(v[0]); }, xt);
        check([](const std::vector<Tensor>& v) { return gelu(v[0], GeluApprox::Tanh); }, x);
        check([](const std::vector<Tensor>& v) { return silu(v[0]); }, xt);
    }
}

// The piecewise-linear activations, on inputs that cover every piece (×4: beyond ±3 and 6).
TEST(Elementwise, GradcheckPiecewiseLinearActivations) {
    for (std::int64_t n : {1, 7, 33}) {
        Tensor x = mul(leaf64({2, n}, 15).detach(), 4.0).requires_grad_();
        Tensor xt = mul(leaf64_transposed({n, 3}, 16).detach(), 4.0).requires_grad_();
        auto check = [&](auto f, const Tensor& in) { EXPECT_GRADCHECK(f, in); };
        check([](const std::vector<Tensor>& v) { return hardswish(v[0]); }, x);
        check([](const std::vector<Tensor>& v) { return hardswish(v[0]); }, xt);
        check([](const std::vector<Tensor>& v) { return hardsigmoid(v[0]); }, xt);
        check([](const std::vector<Tensor>& v) { return relu6(add(v[0], 3.0)); }, x);
        check([](const std::vector<Tensor>& v) { return hardtanh(v[0], -2.0, 1.5); }, xt);
    }
}

// Forward against the formulas, and PyTorch's one-sided gradients at the kinks: hardtanh/relu6
// and hardsigmoid give 0 at their bounds, hardswish gives x/3 + ½ on [−3, 3] (closed).
TEST(Elementwise, PiecewiseLinearValuesAndKinks) {
    Tensor x = from_vector<double>({-4, -3, -1.5, 0, 1, 3, 5, 6, 7}).requires_grad_();
    const std::vector<double> in = values(x);
    const std::vector<double> hs = values(hardswish(x)), hg = values(hardsigmoid(x)), r6 = values(relu6(x));
    for (std::size_t i = 0; i < in.size(); ++i) {
        const double r = std::min(std::max(in[i] + 3, 0.0), 6.0);
        EXPECT_DOUBLE_EQ(hs[i], in[i] * r / 6) << in[i];
        EXPECT_DOUBLE_EQ(hg[i], r / 6) << in[i];
        EXPECT_DOUBLE_EQ(r6[i], std::min(std::max(in[i], 0.0), 6.0)) << in[i];
    }
    auto grad_of = [&](auto f) {
        x.set_grad(Tensor());
        f(x).sum().backward();
        return values(x.grad());
    };
    EXPECT_EQ(grad_of([](const Tensor& t) { return hardswish(t); }),
              (std::vector<double>{0, -0.5, 0, 0.5, 1.0 / 3 + 0.5, 1.5, 1, 1, 1}));
    EXPECT_EQ(grad_of([](const Tensor& t) { return hardsigmoid(t); }),
              (std::vector<double>{0, 0, 1.0 / 6, 1.0 / 6, 1.0 / 6, 0, 0, 0, 0}));
    EXPECT_EQ(grad_of([](const Tensor& t) { return relu6(t); }), (std::vector<double>{0, 0, 0, 0, 1, 1, 1, 0, 0}));
    EXPECT_THROW_MSG(hardtanh(x, 1.0, -1.0), ValueError, "hardtanh: min_val");
}

TEST(Elementwise, UnaryForwardMatchesStdMath) {
    Tensor x = linspace(-3, 3, 13, DType::Float64);
    std::vector<double> in = values(x);
    std::vector<double> g = values(gelu(x)), gt = values(gelu(x, GeluApprox::Tanh)), s = values(sigmoid(x));
    for (std::size_t i = 0; i < in.size(); ++i) {
        const double v = in[i];
        EXPECT_NEAR(g[i], 0.5 * v * (1 + std::erf(v / std::sqrt(2.0))), 1e-12);
        EXPECT_NEAR(gt[i], 0.5 * v * (1 + std::tanh(std::sqrt(2 / M_PI) * (v + 0.044715 * v * v * v))), 1e-12);
        EXPECT_NEAR(s[i], 1 / (1 + std::exp(-v)), 1e-12);
    }
}

TEST(Elementwise, SiluFloat32MatchesFloat64ForwardAndGradient) {
    // Contiguous float32 runs σ through the sigmoid vector kernel in blocks of 2048: sizes below,
    // at and across a block, and a strided input (the generic loop), at 1 and 2 threads; +inf, ±0
    // and NaN keep their results.
    const int threads = get_num_threads();
    for (int t : {1, 2}) {
        set_num_threads(t);
        for (std::int64_t n : {1, 17, 2048, 2049, 70001}) {
            Generator gen(static_cast<std::uint64_t>(n));
            const Tensor x64 = randn({n}, DType::Float64, &gen) * 6.0, dy64 = randn({n}, DType::Float64, &gen);
            const Tensor x = x64.to(DType::Float32).requires_grad_(), dy = dy64.to(DType::Float32);
            const Tensor y = silu(x);
            y.backward(dy);
            const std::vector<double> xs = values(x64), ds = values(dy64), ys = values(y), gs = values(x.grad());
            for (std::int64_t i = 0; i < n; ++i) {
                const double v = static_cast<double>(static_cast<float>(xs[i])), s = 1 / (1 + std::exp(-v));
                const double dyv = static_cast<double>(static_cast<float>(ds[i]));
                ASSERT_NEAR(ys[i], v * s, 1e-6 * std::max(1.0, std::abs(v * s))) << "n " << n << " i " << i;
                ASSERT_NEAR(gs[i], dyv * s * (1 + v * (1 - s)), 2e-6 * std::max(1.0, std::abs(dyv))) << "n " << n << " i " << i;
            }
        }
    }
    set_num_threads(threads);
    const Tensor strided = randn({8, 6}, DType::Float32).t();
    EXPECT_TRUE(allclose(silu(strided), mul(strided, sigmoid(strided)), 1e-6, 1e-7));
    const std::vector<double> special = values(silu(from_vector(std::vector<float>{INFINITY, 0.f, -0.f, NAN})));
    EXPECT_EQ(special[0], INFINITY);
    EXPECT_EQ(special[1], 0.0);
    EXPECT_TRUE(std::isnan(special[3]));
}

TEST(Elementwise, WhereAndMaskedFill) {
    Tensor c = from_vector<bool>({true, false, true});
    Tensor a = leaf64({2, 3}, 8), b = leaf64({3}, 9);
    Tensor w = where(c, a, b);
    std::vector<double> av = values(a), bv = values(b), wv = values(w);
    for (int i = 0; i < 2; ++i)
        for (int j = 0; j < 3; ++j) EXPECT_EQ(wv[i * 3 + j], j == 1 ? bv[j] : av[i * 3 + j]);
    EXPECT_GRADCHECK([c](const std::vector<Tensor>& x) { return where(c, x[0], x[1]); }, a, b);
    EXPECT_GRADCHECK([c](const std::vector<Tensor>& x) { return masked_fill(x[0], c, -5.0); }, a);
}

TEST(Elementwise, ComparisonsGiveBoolWithoutGrad) {
    Tensor a = from_vector<float>({1, 2, 3}).requires_grad_();
    Tensor m = gt(a, 1.5);
    EXPECT_EQ(m.dtype(), DType::Bool);
    EXPECT_FALSE(m.requires_grad());
    EXPECT_EQ(m.to_vector<bool>(), (std::vector<bool>{false, true, true}));
}

}  // namespace

TEST(Elementwise, InPlaceOnStridedViewFloat32) {
    // add_, sub_, mul_, div_ into a slice of a larger float32 tensor (rows through the vector
    // kernel) and into a transposed view (element by element), against the out-of-place op.
    Generator gen(41);
    const Tensor base = randn({6, 10}, DType::Float32, &gen);
    const Tensor other = add(randn({6, 4}, DType::Float32, &gen), 3.0);
    const Tensor other_t = add(randn({4, 6}, DType::Float32, &gen), 3.0).t();  // strided operand
    for (int op = 0; op < 4; ++op)
        for (bool transposed_self : {false, true})
            for (const Tensor& o : {other, other_t}) {
                Tensor big = transposed_self ? base.t().contiguous() : base.clone();
                Tensor part = transposed_self ? big.t().narrow(1, 3, 4) : big.narrow(1, 3, 4);
                ASSERT_FALSE(part.is_contiguous());
                const Tensor before = part.clone();
                const Tensor want = op == 0 ? add(before, o) : op == 1 ? sub(before, o) : op == 2 ? mul(before, o)
                                                                                              : div(before, o);
                if (op == 0) part.add_(o);
                if (op == 1) part.sub_(o);
                if (op == 2) part.mul_(o);
                if (op == 3) part.div_(o);
                EXPECT_EQ(part.to_vector<float>(), want.to_vector<float>()) << op << transposed_self;
                // Outside the view nothing changed.
                const Tensor rest = transposed_self ? big.t().narrow(1, 0, 3) : big.narrow(1, 0, 3);
                EXPECT_EQ(rest.to_vector<float>(), base.narrow(1, 0, 3).to_vector<float>());
            }
    // A view updated from an overlapping view of the same tensor takes the general path.
    Tensor t = arange(12, DType::Float32).reshape({3, 4});
    t.narrow(1, 1, 2).add_(t.narrow(1, 0, 2));
    EXPECT_EQ(t.to_vector<float>(), (std::vector<float>{0, 1, 3, 3, 4, 9, 11, 7, 8, 17, 19, 11}));
}
