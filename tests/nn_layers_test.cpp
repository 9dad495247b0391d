// nn::init statistics and formulas, the layer_norm op (forward against loops, gradchecks,
// needed-grad skipping), and each layer's forward against a plain-loop reference, its
// parameters, default initialisation, repr and input errors.
#include <cmath>
#include <numeric>
#include <vector>

#include "test_util.hpp"

using namespace graft;
using graft::test::leaf64;
using graft::test::leaf64_transposed;
namespace F = graft::nn::functional;
namespace init = graft::nn::init;

namespace {

std::vector<double> values(const Tensor& t) { return t.to_vector<double>(); }

struct Moments {
    double mean, stddev, min, max;
};

Moments moments(const Tensor& t) {
    const std::vector<double> v = values(t);
    double s = 0, mn = INFINITY, mx = -INFINITY;
    for (double x : v) {
        s += x;
        mn = std::min(mn, x);
        mx = std::max(mx, x);
    }
    const double m = s / static_cast<double>(v.size());
    double ss = 0;
    for (double x : v) ss += (x - m) * (x - m);
    return {m, std::sqrt(ss / static_cast<double>(v.size())), mn, mx};
}

void expect_values_near(const Tensor& got, const std::vector<double>& want, double tol, const char* what) {
    const std::vector<double> g = values(got);
    ASSERT_EQ(g.size(), want.size()) << what;
    for (std::size_t i = 0; i < g.size(); ++i)
        ASSERT_NEAR(g[i], want[i], tol * std::max(1.0, std::abs(want[i]))) << what << " element " << i;
}

double phi(double z) { return std::exp(-0.5 * z * z) / std::sqrt(2 * M_PI); }
double Phi(double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); }

}  // namespace

// ---- nn::init ------------------------------------------------------------------------------

TEST(Init, FanInAndFanOut) {
    EXPECT_EQ(init::calculate_fan_in_and_fan_out(empty({5, 3})), (std::pair<std::int64_t, std::int64_t>{3, 5}));
    // Conv weight [out, in, kh, kw]: receptive field 3·2.
    EXPECT_EQ(init::calculate_fan_in_and_fan_out(empty({8, 4, 3, 2})), (std::pair<std::int64_t, std::int64_t>{24, 48}));
    EXPECT_THROW_MSG(init::calculate_fan_in_and_fan_out(empty({7})), ValueError, "[7]");
    EXPECT_THROW_MSG(init::kaiming_uniform_(empty({7})), ValueError, "at least 2 dimensions");
}

TEST(Init, Gains) {
    using init::Nonlinearity;
    EXPECT_DOUBLE_EQ(init::calculate_gain(Nonlinearity::Linear), 1.0);
    EXPECT_DOUBLE_EQ(init::calculate_gain(Nonlinearity::Conv2d), 1.0);
    EXPECT_DOUBLE_EQ(init::calculate_gain(Nonlinearity::Sigmoid), 1.0);
    EXPECT_DOUBLE_EQ(init::calculate_gain(Nonlinearity::Tanh), 5.0 / 3.0);
    EXPECT_DOUBLE_EQ(init::calculate_gain(Nonlinearity::ReLU), std::sqrt(2.0));
    EXPECT_DOUBLE_EQ(init::calculate_gain(Nonlinearity::SELU), 0.75);
    EXPECT_DOUBLE_EQ(init::calculate_gain(Nonlinearity::LeakyReLU), std::sqrt(2.0 / (1.0 + 0.01 * 0.01)));
    EXPECT_DOUBLE_EQ(init::calculate_gain(Nonlinearity::LeakyReLU, 0.2), std::sqrt(2.0 / 1.04));
    // a = √5 is what Linear and Conv2d use: gain √(1/3).
    EXPECT_DOUBLE_EQ(init::calculate_gain(Nonlinearity::LeakyReLU, std::sqrt(5.0)), std::sqrt(1.0 / 3.0));
}

TEST(Init, KaimingUniformBoundsAndVariance) {
    Generator g(3);
    // fan_in 1000, a = √5: bound = gain·√(3/fan_in) = 1/√1000.
    Tensor w = empty({256, 1000});
    init::kaiming_uniform_(w, std::sqrt(5.0), init::FanMode::FanIn, init::Nonlinearity::LeakyReLU, &g);
    double bound = 1.0 / std::sqrt(1000.0);
    Moments m = moments(w);
    EXPECT_GE(m.min, -bound);
    EXPECT_LE(m.max, bound);
    EXPECT_GT(m.max, 0.999 * bound);
    EXPECT_LT(m.min, -0.999 * bound);
    EXPECT_NEAR(m.stddev, bound / std::sqrt(3.0), 0.01 * bound);
    EXPECT_NEAR(m.mean, 0.0, 0.01 * bound);

    // relu, fan_out 256 (conv-shaped: [256, 10, 5, 5] has fan_out 256·25).
    Tensor c = empty({256, 10, 5, 5});
    init::kaiming_uniform_(c, 0.0, init::FanMode::FanOut, init::Nonlinearity::ReLU, &g);
    bound = std::sqrt(6.0 / (256.0 * 25.0));
    m = moments(c);
    EXPECT_GE(m.min, -bound);
    EXPECT_LE(m.max, bound);
    EXPECT_GT(m.max, 0.99 * bound);
    EXPECT_NEAR(m.stddev, bound / std::sqrt(3.0), 0.02 * bound);
}

TEST(Init, KaimingNormalStd) {
    Generator g(4);
    Tensor w = empty({512, 400}, DType::Float64);
    init::kaiming_normal_(w, 0.0, init::FanMode::FanIn, init::Nonlinearity::ReLU, &g);
    const Moments m = moments(w);
    const double want = std::sqrt(2.0 / 400.0);
    EXPECT_NEAR(m.stddev, want, 0.01 * want);
    EXPECT_NEAR(m.mean, 0.0, 0.01 * want);
    init::kaiming_normal_(w, 0.0, init::FanMode::FanOut, init::Nonlinearity::Linear, &g);
    EXPECT_NEAR(moments(w).stddev, 1.0 / std::sqrt(512.0), 0.01 / std::sqrt(512.0));
}

TEST(Init, XavierUniformAndNormal) {
    Generator g(5);
    Tensor w = empty({300, 500});
    const double std = 2.0 * std::sqrt(2.0 / 800.0);  // gain 2
    init::xavier_uniform_(w, 2.0, &g);
    Moments m = moments(w);
    const double bound = std * std::sqrt(3.0);
    EXPECT_LE(m.max, bound);
    EXPECT_GE(m.min, -bound);
    EXPECT_GT(m.max, 0.999 * bound);
    EXPECT_NEAR(m.stddev, std, 0.01 * std);
    init::xavier_normal_(w, 2.0, &g);
    m = moments(w);
    EXPECT_NEAR(m.stddev, std, 0.01 * std);
    EXPECT_NEAR(m.mean, 0.0, 0.01 * std);
    EXPECT_GT(m.max, 3.5 * std);  // a normal, not a uniform
}

TEST(Init, UniformNormalConstant) {
    Generator g(6);
    Tensor t = empty({200, 300});
    init::uniform_(t, -3.0, 5.0, &g);
    Moments m = moments(t);
    EXPECT_GE(m.min, -3.0);
    EXPECT_LT(m.max, 5.0);
    EXPECT_NEAR(m.mean, 1.0, 0.05);
    EXPECT_NEAR(m.stddev, 8.0 / std::sqrt(12.0), 0.02);
    init::normal_(t, 2.0, 0.5, &g);
    m = moments(t);
    EXPECT_NEAR(m.mean, 2.0, 0.005);
    EXPECT_NEAR(m.stddev, 0.5, 0.005);
    init::constant_(t, 0.25);
    EXPECT_EQ(moments(t).min, 0.25);
    EXPECT_EQ(moments(t).max, 0.25);
    init::ones_(t);
    EXPECT_EQ(moments(t).min, 1.0);
    init::zeros_(t);
    EXPECT_EQ(moments(t).max, 0.0);
    EXPECT_THROW_MSG(init::uniform_(t, 1.0, 0.0), ValueError, "a <= b");
    EXPECT_THROW_MSG(init::normal_(t, 0.0, -1.0), ValueError, "std >= 0");
    EXPECT_THROW_MSG(init::zeros_(zeros({3}, DType::Int64)), DTypeError, "int64");
}

TEST(Init, TruncNormalMatchesTruncatedMoments) {
    struct Case {
        double mean, std, a, b;
    };
    // A central interval, an interval entirely above the mean, and one far in the upper tail
    // (Φ(a) and Φ(b) both within 3e-7 of 1).
    for (const Case c : {Case{0.5, 2.0, -1.5, 4.5}, Case{0.0, 1.0, 0.5, 3.0}, Case{0.0, 1.0, 5.0, 6.0},
                         Case{1.0, 0.5, -10.0, -1.5}}) {
        Generator g(7);
        Tensor t = empty({400, 250}, DType::Float64);
        init::trunc_normal_(t, c.mean, c.std, c.a, c.b, &g);
        const Moments m = moments(t);
        const double al = (c.a - c.mean) / c.std, be = (c.b - c.mean) / c.std;
        // Moments of the truncated normal, computed on the side where Φ keeps its precision.
        const double z = al > 0 ? Phi(-al) - Phi(-be) : Phi(be) - Phi(al);
        const double mu = (phi(al) - phi(be)) / z;
        const double var = 1 + (al * phi(al) - be * phi(be)) / z - mu * mu;
        const double want_mean = c.mean + c.std * mu, want_std = c.std * std::sqrt(var);
        EXPECT_GE(m.min, c.a);
        EXPECT_LE(m.max, c.b);
        EXPECT_NEAR(m.mean, want_mean, 0.01 * want_std) << "interval [" << c.a << ", " << c.b << "]";
        EXPECT_NEAR(m.stddev, want_std, 0.01 * want_std) << "interval [" << c.a << ", " << c.b << "]";
    }
    EXPECT_THROW_MSG(init::trunc_normal_(empty({3}), 0.0, 1.0, 2.0, 1.0), ValueError, "a < b");
}

TEST(Init, SeededReproducibility) {
    Tensor a = empty({17, 9}), b = empty({17, 9});
    Generator g1(11), g2(11);
    init::kaiming_uniform_(a, std::sqrt(5.0), init::FanMode::FanIn, init::Nonlinearity::LeakyReLU, &g1);
    init::kaiming_uniform_(b, std::sqrt(5.0), init::FanMode::FanIn, init::Nonlinearity::LeakyReLU, &g2);
    EXPECT_EQ(values(a), values(b));
    init::trunc_normal_(a, 0.0, 0.02, -0.04, 0.04, &g1);
    EXPECT_NE(values(a), values(b));
    init::trunc_normal_(b, 0.0, 0.02, -0.04, 0.04, &g2);
    EXPECT_EQ(values(a), values(b));
    // The global generator: the same seed gives the same values.
    manual_seed(99);
    init::normal_(a);
    manual_seed(99);
    init::normal_(b);
    EXPECT_EQ(values(a), values(b));
}

TEST(Init, WritesInPlaceIntoParameters) {
    // A leaf requiring grad, a float64 tensor and a non-contiguous view all take the values in place.
    Tensor w = zeros({6, 4}).requires_grad_();
    Tensor same = init::xavier_uniform_(w);
    EXPECT_TRUE(same.shares_storage(w));
    EXPECT_TRUE(w.requires_grad());
    EXPECT_TRUE(w.is_leaf());
    EXPECT_GT(moments(w).max, 0.0);
    Tensor base = zeros({4, 6}, DType::Float64);
    Tensor view = base.t();
    init::constant_(view, 3.0);
    EXPECT_EQ(moments(base).min, 3.0);
    Generator g(1);
    init::uniform_(view, 1.0, 2.0, &g);
    // Same stream, contiguous target of the view's shape: same row-major values.
    Tensor c = empty({6, 4}, DType::Float64);
    Generator g2(1);
    init::uniform_(c, 1.0, 2.0, &g2);
    EXPECT_EQ(values(view), values(c));
    // Zero-element tensors are left alone.
    Tensor e = empty({0, 5});
    EXPECT_NO_THROW(init::kaiming_uniform_(e));
}

// ---- layer_norm ----------------------------------------------------------------------------

namespace {

/// layer_norm by plain loops in double over rows of n = numel(normalized_shape).
std::vector<double> ref_layer_norm(const Tensor& x, std::int64_t n, const Tensor& w, const Tensor& b, double eps) {
    const std::vector<double> v = values(x);
    const std::vector<double> wv = w.defined() ? values(w) : std::vector<double>(), bv = b.defined() ? values(b) : std::vector<double>();
    std::vector<double> out(v.size());
    for (std::size_t r = 0; r < v.size() / static_cast<std::size_t>(n); ++r) {
        double m = 0, var = 0;
        for (std::int64_t j = 0; j < n; ++j) m += v[r * n + j];
        m /= static_cast<double>(n);
        for (std::int64_t j = 0; j < n; ++j) var += (v[r * n + j] - m) * (v[r * n + j] - m);
        var /= static_cast<double>(n);
        for (std::int64_t j = 0; j < n; ++j) {
            double y = (v[r * n + j] - m) / std::sqrt(var + eps);
            if (!wv.empty()) y *= wv[j];
            if (!bv.empty()) y += bv[j];
            out[r * n + j] = y;
        }
    }
    return out;
}

}  // namespace

TEST(LayerNorm, ForwardMatchesLoop) {
    for (DType dt : {DType::Float32, DType::Float64}) {
        Generator g(2);
        Tensor base = add(mul(randn({3, 5, 7}, dt, &g), 3.0), 1.5);
        const double tol = dt == DType::Float32 ? 2e-6 : 1e-12;
        for (const Shape& ns : {Shape{7}, Shape{5, 7}, Shape{3, 5, 7}}) {
            const std::int64_t n = shape_numel(ns);
            Tensor w = randn(ns, dt, &g), b = randn(ns, dt, &g);
            expect_values_near(F::layer_norm(base, ns, w, b), ref_layer_norm(base, n, w, b, 1e-5), tol, "affine");
            expect_values_near(F::layer_norm(base, ns), ref_layer_norm(base, n, Tensor(), Tensor(), 1e-5), tol,
                               "plain");
            expect_values_near(F::layer_norm(base, ns, w, Tensor(), 0.1),
                               ref_layer_norm(base, n, w, Tensor(), 0.1), tol, "weight only, eps 0.1");
        }
        // Non-contiguous input: the op reads it through its strides.
        Tensor perm = base.permute({2, 0, 1});  // [7, 3, 5]
        expect_values_near(F::layer_norm(perm, {5}), ref_layer_norm(perm.contiguous(), 5, Tensor(), Tensor(), 1e-5),
                           tol, "permuted");
    }
}

TEST(LayerNorm, Float32StatisticsSurviveALargeOffset) {
    // Values 1e4 apart from their spread of 1: a float32 one-pass variance would lose it.
    Generator g(3);
    Tensor x64 = add(randn({16, 301}, DType::Float64, &g), 1e4);
    Tensor y = F::layer_norm(x64.to(DType::Float32), {301});
    expect_values_near(y, ref_layer_norm(x64.to(DType::Float32).to(DType::Float64), 301, Tensor(), Tensor(), 1e-5),
                       1e-4, "offset 1e4");
}

TEST(LayerNorm, GradcheckAffineAndPlain) {
    const auto ln = [](Shape ns, bool weight, bool bias) {
        return [ns, weight, bias](const std::vector<Tensor>& in) {
            return F::layer_norm(in[0], ns, weight ? in[1] : Tensor(), bias ? in[2] : Tensor(), 1e-5);
        };
    };
    for (const Shape& ns : {Shape{5}, Shape{4, 5}, Shape{3, 4, 5}}) {
        Tensor x = leaf64({2, 3, 4, 5}, 1);
        Tensor w = leaf64(ns, 2), b = leaf64(ns, 3);
        EXPECT_GRADCHECK(ln(ns, true, true), x, w, b);
        EXPECT_GRADCHECK(ln(ns, false, false), x, w, b);
        EXPECT_GRADCHECK(ln(ns, true, false), x, w, b);
        EXPECT_GRADCHECK(ln(ns, false, true), x, w, b);
    }
    // A strided input and a rank-1 input (one row).
    Tensor xt = leaf64_transposed({6, 7}, 4);
    EXPECT_GRADCHECK(ln({7}, true, true), xt, leaf64({7}, 5), leaf64({7}, 6));
    EXPECT_GRADCHECK(ln({9}, true, true), leaf64({9}, 7), leaf64({9}, 8), leaf64({9}, 9));
}

TEST(LayerNorm, ComputesOnlyNeededGradients) {
    Generator g(5);
    Tensor x = randn({4, 6}, DType::Float64, &g);
    Tensor w = randn({6}, DType::Float64, &g), b = randn({6}, DType::Float64, &g);
    Tensor r = randn({4, 6}, DType::Float64, &g);
    // Reference: everything requires grad.
    Tensor xa = x.clone().requires_grad_(), wa = w.clone().requires_grad_(), ba = b.clone().requires_grad_();
    sum(mul(F::layer_norm(xa, {6}, wa, ba), r)).backward();
    // Closed forms: dbias = Σ_rows r, dweight = Σ_rows r·x̂.
    const std::vector<double> xhat = ref_layer_norm(x, 6, Tensor(), Tensor(), 1e-5), rv = values(r);
    std::vector<double> want_db(6, 0.0), want_dw(6, 0.0);
    for (std::size_t k = 0; k < rv.size(); ++k) {
        want_db[k % 6] += rv[k];
        want_dw[k % 6] += rv[k] * xhat[k];
    }
    expect_values_near(ba.grad(), want_db, 1e-12, "dbias closed form");
    expect_values_near(wa.grad(), want_dw, 1e-12, "dweight closed form");
    // Frozen weight and bias: only dx, and the parameters get nothing.
    Tensor xb = x.clone().requires_grad_(), wb = w.clone(), bb = b.clone();
    Tensor out = F::layer_norm(xb, {6}, wb, bb);
    ASSERT_NE(out.grad_fn(), nullptr);
    EXPECT_STREQ(out.grad_fn()->name(), "LayerNormBackward");
    sum(mul(out, r)).backward();
    EXPECT_FALSE(wb.grad().defined());
    expect_values_near(xb.grad(), values(xa.grad()), 1e-12, "dx alone");
    // Only the bias trains: dbias alone (x and w saved for nothing).
    Tensor bc = b.clone().requires_grad_();
    sum(mul(F::layer_norm(x, {6}, w, bc), r)).backward();
    expect_values_near(bc.grad(), values(ba.grad()), 1e-12, "dbias alone");
    // Only the weight trains.
    Tensor wc = w.clone().requires_grad_();
    sum(mul(F::layer_norm(x, {6}, wc, b), r)).backward();
    expect_values_near(wc.grad(), values(wa.grad()), 1e-12, "dweight alone");
    // Nothing requires grad: no node.
    EXPECT_EQ(F::layer_norm(x, {6}, w, b).grad_fn(), nullptr);
}

TEST(LayerNorm, LargeFloat32MatchesFloat64) {
    // Big enough for the threaded paths of forward, dx and the column-split dweight/dbias.
    Generator g(6);
    Tensor x64 = randn({512, 300}, DType::Float64, &g);
    Tensor w64 = randn({300}, DType::Float64, &g), b64 = randn({300}, DType::Float64, &g);
    Tensor r64 = randn({512, 300}, DType::Float64, &g);
    std::vector<Tensor> grads64, grads32;
    for (DType dt : {DType::Float64, DType::Float32}) {
        Tensor x = x64.to(dt).detach().requires_grad_(), w = w64.to(dt).detach().requires_grad_(),
               b = b64.to(dt).detach().requires_grad_();
        Tensor y = F::layer_norm(x, {300}, w, b);
        sum(mul(y, r64.to(dt))).backward();
        auto& out = dt == DType::Float64 ? grads64 : grads32;
        out = {y, x.grad(), w.grad(), b.grad()};
    }
    const char* names[] = {"y", "dx", "dw", "db"};
    for (std::size_t i = 0; i < 4; ++i) {
        const std::vector<double> a = values(grads32[i]), e = values(grads64[i]);
        double err = 0, scale = 0;
        for (std::size_t k = 0; k < a.size(); ++k) {
            err = std::max(err, std::abs(a[k] - e[k]));
            scale = std::max(scale, std::abs(e[k]));
        }
        EXPECT_LT(err, 2e-5 * std::max(1.0, scale)) << names[i];
    }
}

TEST(LayerNorm, Errors) {
    Tensor x = randn({2, 3, 5});
    EXPECT_THROW_MSG(F::layer_norm(x, {4}), ShapeError, "input of shape [2, 3, 5] does not end with normalized_shape [4]");
    EXPECT_THROW_MSG(F::layer_norm(x, {2, 2, 3, 5}), ShapeError, "normalized_shape [2, 2, 3, 5]");
    EXPECT_THROW_MSG(F::layer_norm(x, {}), ShapeError, "at least one dimension");
    EXPECT_THROW_MSG(F::layer_norm(x, {5}, ones({4})), ShapeError, "weight has shape [4]");
    EXPECT_THROW_MSG(F::layer_norm(x, {5}, ones({5}), ones({3, 5})), ShapeError, "bias has shape [3, 5]");
    EXPECT_THROW(F::layer_norm(x, {5}, ones({5}, DType::Float64)), DTypeError);
    EXPECT_THROW(F::layer_norm(zeros({2, 5}, DType::Int64), {5}), DTypeError);
}

// ---- nn::LayerNorm ---------------------------------------------------------------------------

TEST(NnLayerNorm, ParametersInitAndForward) {
    nn::LayerNorm ln({5, 7});
    const auto named = ln.named_parameters();
    ASSERT_EQ(named.size(), 2u);
    EXPECT_EQ(named[0].first, "weight");
    EXPECT_EQ(named[1].first, "bias");
    EXPECT_EQ(named[0].second.shape(), (Shape{5, 7}));
    EXPECT_TRUE(named[0].second.shares_storage(ln.weight));
    EXPECT_TRUE(named[1].second.shares_storage(ln.bias));
    EXPECT_EQ(moments(ln.weight).min, 1.0);
    EXPECT_EQ(moments(ln.weight).max, 1.0);
    EXPECT_EQ(moments(ln.bias).max, 0.0);
    EXPECT_EQ(moments(ln.bias).min, 0.0);
    Generator g(8);
    {
        NoGradGuard guard;
        ln.weight.copy_(randn({5, 7}, DType::Float32, &g));
        ln.bias.copy_(randn({5, 7}, DType::Float32, &g));
    }
    Tensor x = randn({3, 5, 7}, DType::Float32, &g);
    expect_values_near(ln.forward(x), ref_layer_norm(x, 35, ln.weight, ln.bias, 1e-5), 2e-6, "module");
    // Gradients reach the registered parameters.
    sum(ln.forward(x)).backward();
    EXPECT_TRUE(ln.weight.grad().defined());
    EXPECT_TRUE(ln.bias.grad().defined());
    EXPECT_EQ(ln.repr(), "LayerNorm((5, 7), eps=1e-05, elementwise_affine=True)");

    nn::LayerNorm plain({7}, 1e-12, false);
    EXPECT_TRUE(plain.named_parameters().empty());
    EXPECT_FALSE(plain.weight.defined());
    expect_values_near(plain.forward(x), ref_layer_norm(x, 7, Tensor(), Tensor(), 1e-12), 2e-6, "no affine");
    EXPECT_EQ(plain.repr(), "LayerNorm((7,), eps=1e-12, elementwise_affine=False)");
    nn::LayerNorm no_bias({7}, 1e-5, true, false);
    EXPECT_EQ(no_bias.named_parameters().size(), 1u);
    EXPECT_EQ(no_bias.repr(), "LayerNorm((7,), eps=1e-05, elementwise_affine=True, bias=False)");
}

TEST(NnLayerNorm, ErrorsNameTheLayer) {
    nn::LayerNorm ln(768);
    EXPECT_THROW_MSG(ln.forward(randn({4, 767})), ShapeError,
                     "LayerNorm((768,), eps=1e-05, elementwise_affine=True): input shape [4, 767] does not end with "
                     "normalized_shape [768]");
    EXPECT_THROW(nn::LayerNorm(Shape{}), ValueError);
    EXPECT_THROW(nn::LayerNorm({4}, -1.0), ValueError);
    EXPECT_THROW_MSG(nn::LayerNorm(Shape{}), ValueError, "LayerNorm: normalized_shape must have at least one dimension");
    EXPECT_THROW_MSG(nn::LayerNorm(Shape{-1}), ValueError, "LayerNorm: normalized_shape (-1,) has a negative size");
    EXPECT_THROW_MSG(nn::LayerNorm({4}, -1.0), ValueError, "LayerNorm: eps must be non-negative, got -1.0");
    EXPECT_THROW_MSG(ln.forward(scalar_tensor(1.0)), ShapeError, "input shape [] does not end with normalized_shape [768]");
}

// ---- nn::Linear ------------------------------------------------------------------------------

TEST(NnLinear, ForwardMatchesLoop) {
    Generator g(9);
    for (bool with_bias : {true, false}) {
        nn::Linear fc(7, 11, with_bias);
        Tensor x = randn({3, 5, 7}, DType::Float32, &g);
        Tensor y = fc.forward(x);
        ASSERT_EQ(y.shape(), (Shape{3, 5, 11}));
        const std::vector<double> xv = values(x), wv = values(fc.weight);
        const std::vector<double> bv = with_bias ? values(fc.bias) : std::vector<double>(11, 0.0);
        std::vector<double> want(3 * 5 * 11);
        for (std::size_t r = 0; r < 15; ++r)
            for (std::size_t o = 0; o < 11; ++o) {
                double s = bv[o];
                for (std::size_t i = 0; i < 7; ++i) s += xv[r * 7 + i] * wv[o * 7 + i];
                want[r * 11 + o] = s;
            }
        expect_values_near(y, want, 1e-5, with_bias ? "with bias" : "without bias");
    }
}

TEST(NnLinear, ParametersAndDefaultInit) {
    nn::Linear fc(300, 50);
    const auto named = fc.named_parameters();
    ASSERT_EQ(named.size(), 2u);
    EXPECT_EQ(named[0].first, "weight");
    EXPECT_EQ(named[0].second.shape(), (Shape{50, 300}));
    EXPECT_EQ(named[1].first, "bias");
    EXPECT_EQ(named[1].second.shape(), (Shape{50}));
    EXPECT_TRUE(named[0].second.shares_storage(fc.weight));
    EXPECT_TRUE(fc.weight.requires_grad());
    EXPECT_TRUE(fc.bias.requires_grad());
    // kaiming_uniform_(a=√5) and the bias rule both give U(−1/√300, 1/√300).
    const double bound = 1.0 / std::sqrt(300.0);
    const Moments w = moments(fc.weight), b = moments(fc.bias);
    EXPECT_LE(w.max, bound);
    EXPECT_GE(w.min, -bound);
    EXPECT_GT(w.max, 0.99 * bound);
    EXPECT_NEAR(w.stddev, bound / std::sqrt(3.0), 0.03 * bound);
    EXPECT_LE(b.max, bound);
    EXPECT_GE(b.min, -bound);
    EXPECT_GT(b.max - b.min, bound);  // spread over the interval, not a constant
    // Seeded: the same weights again.
    manual_seed(21);
    nn::Linear a(13, 4);
    manual_seed(21);
    nn::Linear c(13, 4);
    EXPECT_EQ(values(a.weight), values(c.weight));
    EXPECT_EQ(values(a.bias), values(c.bias));
    nn::Linear nb(3, 2, false);
    EXPECT_EQ(nb.named_parameters().size(), 1u);
    EXPECT_FALSE(nb.bias.defined());
}

TEST(NnLinear, ForwardIsTheFunctionalOpAndGradientsReachParameters) {
    Generator g(10);
    nn::Linear fc(6, 4);
    Tensor x = randn({5, 6}, DType::Float32, &g).requires_grad_();
    Tensor r = randn({5, 4}, DType::Float32, &g);
    sum(mul(fc.forward(x), r)).backward();
    // Same computation on detached copies of the parameters.
    Tensor w = fc.weight.detach().clone().requires_grad_(), b = fc.bias.detach().clone().requires_grad_();
    Tensor x2 = x.detach().clone().requires_grad_();
    sum(mul(F::linear(x2, w, b), r)).backward();
    expect_values_near(fc.weight.grad(), values(w.grad()), 1e-6, "dweight");
    expect_values_near(fc.bias.grad(), values(b.grad()), 1e-6, "dbias");
    expect_values_near(x.grad(), values(x2.grad()), 1e-6, "dx");
    // The op the layer runs is gradchecked in float64.
    EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return F::linear(in[0], in[1], in[2]); },
                     leaf64({3, 5, 6}, 1), leaf64({4, 6}, 2), leaf64({4}, 3));
}

TEST(NnLinear, InputErrorsAndRepr) {
    nn::Linear fc(784, 10);
    EXPECT_THROW_MSG(fc.forward(randn({64, 783})), ShapeError,
                     "Linear(in_features=784, out_features=10): input has 783 features (input shape [64, 783])");
    EXPECT_THROW_MSG(fc.forward(scalar_tensor(1.0)), ShapeError, "(input shape [])");
    EXPECT_THROW(fc.forward(randn({2, 784}, DType::Float64)), DTypeError);
    EXPECT_EQ(fc.repr(), "Linear(in_features=784, out_features=10, bias=True)");
    EXPECT_EQ(nn::Linear(3, 2, false).extra_repr(), "in_features=3, out_features=2, bias=False");
    EXPECT_THROW(nn::Linear(-1, 2), ValueError);
    EXPECT_THROW_MSG(nn::Linear(3, -2), ValueError,
                     "Linear: in_features and out_features must be non-negative, got 3 and -2");
}

// ---- nn::Embedding ---------------------------------------------------------------------------

TEST(NnEmbedding, LooksUpRows) {
    nn::Embedding emb(10, 3);
    const std::vector<double> w = values(emb.weight);
    for (DType it : {DType::Int64, DType::Int32}) {
        Tensor idx = from_vector<std::int64_t>({4, 0, 9, 4, 7, 1}, {2, 3}).to(it);
        Tensor y = emb.forward(idx);
        ASSERT_EQ(y.shape(), (Shape{2, 3, 3}));
        std::vector<double> want;
        for (std::int64_t i : {4, 0, 9, 4, 7, 1})
            for (std::size_t d = 0; d < 3; ++d) want.push_back(w[static_cast<std::size_t>(i) * 3 + d]);
        EXPECT_EQ(values(y), want);
    }
    EXPECT_EQ(emb.named_parameters().size(), 1u);
    EXPECT_EQ(emb.named_parameters()[0].first, "weight");
    EXPECT_EQ(emb.repr(), "Embedding(10, 3)");
}

TEST(NnEmbedding, InitAndPaddingRow) {
    nn::Embedding big(2000, 64);
    const Moments m = moments(big.weight);
    EXPECT_NEAR(m.mean, 0.0, 0.01);
    EXPECT_NEAR(m.stddev, 1.0, 0.01);

    nn::Embedding emb(6, 4, -1);  // wraps to 5
    ASSERT_TRUE(emb.padding_idx.has_value());
    EXPECT_EQ(*emb.padding_idx, 5);
    EXPECT_EQ(emb.repr(), "Embedding(6, 4, padding_idx=5)");
    const std::vector<double> w = values(emb.weight);
    for (std::size_t r = 0; r < 6; ++r) {
        double norm = 0;
        for (std::size_t d = 0; d < 4; ++d) norm += std::abs(w[r * 4 + d]);
        if (r == 5)
            EXPECT_EQ(norm, 0.0);
        else
            EXPECT_GT(norm, 0.0) << "row " << r;
    }
    // The padding row gets no gradient; the others count their occurrences.
    Tensor idx = from_vector<std::int64_t>({1, 5, 1, 3, 5});
    sum(emb.forward(idx)).backward();
    const std::vector<double> gw = values(emb.weight.grad());
    const double want_rows[] = {0, 2, 0, 1, 0, 0};
    for (std::size_t r = 0; r < 6; ++r)
        for (std::size_t d = 0; d < 4; ++d) EXPECT_EQ(gw[r * 4 + d], want_rows[r]) << "row " << r;
}

TEST(NnEmbedding, Errors) {
    nn::Embedding emb(10, 3);
    EXPECT_THROW_MSG(emb.forward(zeros({2, 2})), DTypeError, "Embedding(10, 3): indices must be int64 or int32");
    EXPECT_THROW_MSG(emb.forward(from_vector<std::int64_t>({1, 12})), IndexError, "Embedding(10, 3): ");
    EXPECT_THROW_MSG(emb.forward(from_vector<std::int64_t>({1, 12})), IndexError, "index 12 out of range");
    EXPECT_THROW_MSG(nn::Embedding(4, 2, 4), ValueError, "padding_idx 4");
    EXPECT_THROW(nn::Embedding(4, 2, -5), ValueError);
}

// ---- nn::Dropout -----------------------------------------------------------------------------

TEST(NnDropout, TrainZeroesAndScalesEvalPassesThrough) {
    nn::Dropout drop(0.3);
    EXPECT_TRUE(drop.is_training());
    Tensor x = full({100, 100}, 2.0);
    const std::vector<double> y = values(drop.forward(x));
    std::size_t zeros_seen = 0;
    for (double v : y) {
        if (v == 0.0)
            ++zeros_seen;
        else
            EXPECT_NEAR(v, 2.0 / 0.7, 1e-6);
    }
    EXPECT_NEAR(static_cast<double>(zeros_seen) / 1e4, 0.3, 0.02);
    drop.eval();
    Tensor same = drop.forward(x);
    EXPECT_TRUE(same.shares_storage(x));
    EXPECT_EQ(values(same), values(x));
    EXPECT_EQ(drop.repr(), "Dropout(p=0.3, inplace=False)");
    EXPECT_EQ(nn::Dropout(0.0001).extra_repr(), "p=0.0001, inplace=False");
    EXPECT_THROW_MSG(nn::Dropout(1.5), ValueError, "got 1.5");
    EXPECT_THROW(nn::Dropout(-0.1), ValueError);
}

// ---- activations -----------------------------------------------------------------------------

namespace {

template <class Module, class Ref>
void expect_pointwise(Module&& m, Ref&& ref, const char* what, double tol = 1e-12) {
    Generator g(12);
    Tensor base = mul(randn({5, 3, 7}, DType::Float64, &g), 3.0);
    for (const Tensor& x : {base, base.permute({2, 0, 1})}) {
        std::vector<double> want;
        for (double v : values(x)) want.push_back(ref(v));
        Tensor y = m.forward(x);
        EXPECT_EQ(y.shape(), x.shape()) << what;
        expect_values_near(y, want, tol, what);
    }
}

}  // namespace

TEST(NnActivation, PointwiseMatchLoops) {
    expect_pointwise(nn::ReLU(), [](double v) { return v > 0 ? v : 0.0; }, "ReLU");
    expect_pointwise(nn::LeakyReLU(0.2), [](double v) { return v > 0 ? v : 0.2 * v; }, "LeakyReLU");
    expect_pointwise(nn::LeakyReLU(), [](double v) { return v > 0 ? v : 0.01 * v; }, "LeakyReLU default");
    expect_pointwise(nn::Sigmoid(), [](double v) { return 1.0 / (1.0 + std::exp(-v)); }, "Sigmoid");
    expect_pointwise(nn::Tanh(), [](double v) { return std::tanh(v); }, "Tanh");
    expect_pointwise(nn::SiLU(), [](double v) { return v / (1.0 + std::exp(-v)); }, "SiLU");
    expect_pointwise(nn::ReLU6(), [](double v) { return std::min(std::max(v, 0.0), 6.0); }, "ReLU6");
    expect_pointwise(nn::Hardswish(), [](double v) { return v * std::min(std::max(v + 3, 0.0), 6.0) / 6; },
                     "Hardswish");
    expect_pointwise(nn::Hardsigmoid(), [](double v) { return std::min(std::max(v + 3, 0.0), 6.0) / 6; },
                     "Hardsigmoid");
    expect_pointwise(nn::GELU(), [](double v) { return 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0))); }, "GELU");
    expect_pointwise(
        nn::GELU(GeluApprox::Tanh),
        [](double v) { return 0.5 * v * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (v + 0.044715 * v * v * v))); },
        "GELU tanh");
}

TEST(NnActivation, SoftmaxAlongDim) {
    Generator g(13);
    Tensor x = randn({3, 4, 5}, DType::Float64, &g);
    for (std::int64_t dim : {1, -1}) {
        nn::Softmax sm(dim);
        const std::size_t d = dim < 0 ? 2 : 1;
        const Shape& s = x.shape();
        const std::vector<double> v = values(x);
        std::vector<double> want(v.size());
        const std::size_t inner = d == 1 ? 5 : 1, size = static_cast<std::size_t>(s[d]);
        for (std::size_t i = 0; i < v.size(); ++i) {
            // The lane of element i along d: start at its index with the d coordinate zeroed.
            const std::size_t coord = (i / inner) % size, start = i - coord * inner;
            double z = 0;
            for (std::size_t k = 0; k < size; ++k) z += std::exp(v[start + k * inner]);
            want[i] = std::exp(v[i]) / z;
        }
        expect_values_near(sm.forward(x), want, 1e-12, "Softmax");
    }
    EXPECT_THROW_MSG(nn::Softmax(3).forward(x), IndexError, "Softmax(dim=3): dim out of range for input of shape [3, 4, 5]");
}

TEST(NnActivation, ReprAndNoParameters) {
    EXPECT_EQ(nn::ReLU().repr(), "ReLU()");
    EXPECT_EQ(nn::GELU().repr(), "GELU(approximate='none')");
    EXPECT_EQ(nn::GELU(GeluApprox::Tanh).repr(), "GELU(approximate='tanh')");
    EXPECT_EQ(nn::SiLU().repr(), "SiLU()");
    EXPECT_EQ(nn::ReLU6().repr(), "ReLU6()");
    EXPECT_EQ(nn::Hardswish().repr(), "Hardswish()");
    EXPECT_EQ(nn::Hardsigmoid().repr(), "Hardsigmoid()");
    EXPECT_EQ(nn::Tanh().repr(), "Tanh()");
    EXPECT_EQ(nn::Sigmoid().repr(), "Sigmoid()");
    EXPECT_EQ(nn::LeakyReLU().repr(), "LeakyReLU(negative_slope=0.01)");
    EXPECT_EQ(nn::LeakyReLU(1.0).repr(), "LeakyReLU(negative_slope=1.0)");
    EXPECT_EQ(nn::Softmax(-1).repr(), "Softmax(dim=-1)");
    EXPECT_EQ(nn::Flatten().repr(), "Flatten(start_dim=1, end_dim=-1)");
    EXPECT_EQ(nn::Identity().repr(), "Identity()");
    EXPECT_TRUE(nn::GELU().named_parameters().empty());
    EXPECT_TRUE(nn::Softmax(0).named_parameters().empty());
}

TEST(NnActivation, GradientsFlowThroughLayers) {
    // Each layer's backward is its op's: gradcheck the layer's forward in float64.
    std::vector<std::shared_ptr<nn::Module>> layers{
        std::make_shared<nn::ReLU>(),     std::make_shared<nn::LeakyReLU>(0.3), std::make_shared<nn::GELU>(),
        std::make_shared<nn::GELU>(GeluApprox::Tanh), std::make_shared<nn::SiLU>(), std::make_shared<nn::Tanh>(),
        std::make_shared<nn::Sigmoid>(), std::make_shared<nn::ReLU6>(), std::make_shared<nn::Hardswish>(),
        std::make_shared<nn::Hardsigmoid>(), std::make_shared<nn::Softmax>(1),   std::make_shared<nn::Flatten>(0, 1),
        std::make_shared<nn::Identity>()};
    for (const auto& layer : layers) {
        // Away from relu's kink at 0.
        Tensor x = add(leaf64({3, 5}, 14), 0.05).detach().requires_grad_();
        auto r = graft::testing::gradcheck([&](const std::vector<Tensor>& in) { return layer->forward(in[0]); }, {x});
        EXPECT_TRUE(r.ok) << layer->type_name() << ": " << r.message;
    }
}

// ---- Flatten and Identity ----------------------------------------------------------------------

TEST(NnFlatten, ShapesAndValues) {
    Generator g(15);
    Tensor x = randn({2, 3, 4, 5}, DType::Float32, &g);
    EXPECT_EQ(nn::Flatten().forward(x).shape(), (Shape{2, 60}));
    EXPECT_EQ(nn::Flatten(0, 1).forward(x).shape(), (Shape{6, 4, 5}));
    EXPECT_EQ(nn::Flatten(1, 2).forward(x).shape(), (Shape{2, 12, 5}));
    EXPECT_EQ(nn::Flatten(-2, -1).forward(x).shape(), (Shape{2, 3, 20}));
    EXPECT_EQ(values(nn::Flatten().forward(x)), values(x));
    EXPECT_TRUE(nn::Flatten().forward(x).shares_storage(x));
    // A non-contiguous input flattens to the row-major order of its logical shape.
    Tensor p = x.permute({0, 2, 1, 3});
    EXPECT_EQ(values(nn::Flatten().forward(p)), values(p.contiguous()));
    EXPECT_THROW_MSG(nn::Flatten().forward(randn({5})), ShapeError,
                     "Flatten(start_dim=1, end_dim=-1): cannot flatten input of shape [5]");
    EXPECT_THROW(nn::Flatten(2, 1).forward(x), ShapeError);
    Tensor same = nn::Identity().forward(x);
    EXPECT_TRUE(same.shares_storage(x));
    EXPECT_EQ(same.shape(), x.shape());
}
