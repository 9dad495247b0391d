// rms_norm and nn::RMSNorm: forward against a plain loop (weights, several normalized shapes,
// strided input), the default eps, gradchecks, needed-gradients-only and the error paths.
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "test_util.hpp"

using namespace graft;
using graft::test::leaf64;
namespace F = graft::nn::functional;

namespace {

std::vector<double> values(const Tensor& t) { return t.to_vector<double>(); }

/// y = x/√(mean(x²) + eps)·w over consecutive groups of n elements of x (row-major), in double.
std::vector<double> ref_rms_norm(const Tensor& x, std::int64_t n, const Tensor& w, double eps) {
    const std::vector<double> xv = values(x);
    const std::vector<double> wv = w.defined() ? values(w) : std::vector<double>(static_cast<std::size_t>(n), 1.0);
    std::vector<double> out(xv.size());
    for (std::size_t r = 0; r < xv.size() / static_cast<std::size_t>(n); ++r) {
        double ss = 0;
        for (std::int64_t j = 0; j < n; ++j) ss += xv[r * n + j] * xv[r * n + j];
        const double rstd = 1.0 / std::sqrt(ss / static_cast<double>(n) + eps);
        for (std::int64_t j = 0; j < n; ++j) out[r * n + j] = xv[r * n + j] * rstd * wv[static_cast<std::size_t>(j)];
    }
    return out;
}

void expect_values_near(const Tensor& got, const std::vector<double>& want, double tol, const std::string& what) {
    const std::vector<double> g = values(got);
    ASSERT_EQ(g.size(), want.size()) << what;
    for (std::size_t i = 0; i < g.size(); ++i)
        EXPECT_NEAR(g[i], want[i], tol * std::max(1.0, std::abs(want[i]))) << what << " at " << i;
}

}  // namespace

TEST(RmsNorm, ForwardMatchesLoop) {
    for (DType dt : {DType::Float32, DType::Float64}) {
        Generator g(2);
        const Tensor base = add(mul(randn({3, 5, 7}, dt, &g), 3.0), 1.5);
        const double tol = dt == DType::Float32 ? 2e-6 : 1e-12;
        for (const Shape& ns : {Shape{7}, Shape{5, 7}}) {
            const std::int64_t n = shape_numel(ns);
            const Tensor w = randn(ns, dt, &g);
            expect_values_near(F::rms_norm(base, ns, w, 1e-6), ref_rms_norm(base, n, w, 1e-6), tol, "weight");
            expect_values_near(F::rms_norm(base, ns, Tensor(), 0.5), ref_rms_norm(base, n, Tensor(), 0.5), tol,
                               "no weight, eps 0.5");
        }
        const Tensor perm = base.permute({2, 0, 1});  // [7, 3, 5], strided
        expect_values_near(F::rms_norm(perm, {5}, Tensor(), 1e-6), ref_rms_norm(perm.contiguous(), 5, Tensor(), 1e-6),
                           tol, "permuted");
    }
}

TEST(RmsNorm, DefaultEpsIsTheDtypeEpsilon) {
    // Tiny inputs make eps matter: the default must be PyTorch's finfo(dtype).eps.
    Generator g(3);
    const Tensor x = mul(randn({4, 6}, DType::Float64, &g), 1e-5);
    expect_values_near(F::rms_norm(x, {6}), ref_rms_norm(x, 6, Tensor(), std::numeric_limits<double>::epsilon()),
                       1e-12, "float64");
    const Tensor xf = x.to(DType::Float32);
    expect_values_near(F::rms_norm(xf, {6}),
                       ref_rms_norm(xf, 6, Tensor(), static_cast<double>(std::numeric_limits<float>::epsilon())), 2e-6,
                       "float32");
}

TEST(RmsNorm, Gradcheck) {
    const Tensor x = leaf64({3, 4, 5}, 1), w = leaf64({5}, 2), w2 = leaf64({4, 5}, 3);
    EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return F::rms_norm(in[0], {5}, in[1], 1e-6); }, x, w);
    EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return F::rms_norm(in[0], {4, 5}, in[1], 0.1); }, x, w2);
    EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return F::rms_norm(in[0], {5}); }, x);
    Generator g(4);
    const Tensor strided = randn({5, 3, 4}, DType::Float64, &g).permute({1, 2, 0}).detach().requires_grad_();
    EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return F::rms_norm(in[0], {5}, in[1]); }, strided, w);
}

TEST(RmsNorm, ComputesOnlyNeededGradients) {
    Generator g(5);
    const Tensor x = randn({4, 6}, DType::Float64, &g), w = randn({6}, DType::Float64, &g);
    const Tensor r = randn({4, 6}, DType::Float64, &g);
    Tensor xa = x.clone().requires_grad_(), wa = w.clone().requires_grad_();
    sum(mul(F::rms_norm(xa, {6}, wa), r)).backward();
    // Closed form: dweight = Σ_rows r·x̂.
    const std::vector<double> xhat = ref_rms_norm(x, 6, Tensor(), std::numeric_limits<double>::epsilon());
    const std::vector<double> rv = values(r);
    std::vector<double> want_dw(6, 0.0);
    for (std::size_t k = 0; k < rv.size(); ++k) want_dw[k % 6] += rv[k] * xhat[k];
    expect_values_near(wa.grad(), want_dw, 1e-12, "dweight closed form");
    // Frozen weight: only dx, equal to the full run's.
    Tensor xb = x.clone().requires_grad_(), wb = w.clone();
    Tensor out = F::rms_norm(xb, {6}, wb);
    ASSERT_NE(out.grad_fn(), nullptr);
    EXPECT_STREQ(out.grad_fn()->name(), "RmsNormBackward");
    sum(mul(out, r)).backward();
    EXPECT_FALSE(wb.grad().defined());
    expect_values_near(xb.grad(), values(xa.grad()), 1e-14, "dx with a frozen weight");
    // Frozen input: only dweight.
    Tensor xc = x.clone(), wc = w.clone().requires_grad_();
    sum(mul(F::rms_norm(xc, {6}, wc), r)).backward();
    EXPECT_FALSE(xc.grad().defined());
    expect_values_near(wc.grad(), want_dw, 1e-12, "dweight alone");
}

TEST(RmsNorm, ModuleHasWeightAndMatchesFunctional) {
    nn::RMSNorm norm(6, 1e-6);
    const auto params = norm.named_parameters();
    ASSERT_EQ(params.size(), 1u);
    EXPECT_EQ(params[0].first, "weight");
    EXPECT_EQ(params[0].second.shape(), (Shape{6}));
    for (double v : values(norm.weight)) EXPECT_EQ(v, 1.0);
    Generator g(6);
    const Tensor x = randn({2, 3, 6}, DType::Float32, &g);
    const Tensor w = randn({6}, DType::Float32, &g);
    {
        NoGradGuard guard;
        norm.weight.copy_(w);
    }
    expect_values_near(norm.forward(x), ref_rms_norm(x, 6, w, 1e-6), 2e-6, "module");
    EXPECT_TRUE(nn::RMSNorm({2, 3}, std::nullopt, false).named_parameters().empty());
    EXPECT_EQ(norm.extra_repr(), "(6,), eps=1e-06, elementwise_affine=True");
}

TEST(RmsNorm, Errors) {
    const Tensor x = randn({3, 4});
    EXPECT_THROW_MSG(F::rms_norm(x, {5}), ShapeError, "rms_norm: input of shape [3, 4]");
    EXPECT_THROW_MSG(F::rms_norm(x, {4}, randn({3})), ShapeError, "weight has shape [3]");
    EXPECT_THROW_MSG(F::rms_norm(x, {4}, Tensor(), -1.0), ValueError, "eps");
    EXPECT_THROW_MSG(F::rms_norm(x, {4}, randn({4}, DType::Float64)), DTypeError, "rms_norm");
    nn::RMSNorm norm(5);
    EXPECT_THROW_MSG(norm.forward(x), ShapeError, "RMSNorm((5,)");
    EXPECT_THROW_MSG(nn::RMSNorm(Shape{}), ValueError, "at least one dimension");
}

TEST(RmsNorm, ModuleOptionErrorsNameTheLayerAndValue) {
    EXPECT_THROW_MSG(nn::RMSNorm(Shape{4, -2}), ValueError, "RMSNorm: normalized_shape (4, -2) has a negative size");
    EXPECT_THROW_MSG(nn::RMSNorm(4, -0.5), ValueError, "RMSNorm: eps must be non-negative, got -0.5");
    EXPECT_NO_THROW(nn::RMSNorm(4, std::nullopt));  // no eps: the dtype's epsilon, nothing to check
    EXPECT_THROW_MSG(nn::RMSNorm(Shape{3, 4}).forward(randn({2, 4, 3})), ShapeError,
                     "RMSNorm((3, 4), eps=None, elementwise_affine=True): input shape [2, 4, 3] does not end with "
                     "normalized_shape [3, 4]");
}
