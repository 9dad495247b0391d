// Losses: cross_entropy (ignore_index, label smoothing, k-dimensional, reductions), nll_loss,
// mse_loss and binary_cross_entropy_with_logits — values by hand and against plain loops,
// closed-form gradients, gradchecks and every error path.
#include <cmath>
#include <vector>

#include "test_util.hpp"

using namespace graft;
using graft::test::leaf64;
using graft::test::leaf64_transposed;
namespace F = graft::nn::functional;
using F::Reduction;

namespace {

std::vector<double> values(const Tensor& t) { return t.to_vector<double>(); }

Tensor labels(const std::vector<std::int64_t>& v, const Shape& shape = {}) {
    return from_vector<std::int64_t>(v, shape);
}

/// Reference per-sample cross-entropy of 2-D logits [N, C], PyTorch 1.13 semantics, by loops.
std::vector<double> ref_ce(const Tensor& logits, const std::vector<std::int64_t>& t, double eps, std::int64_t ignore) {
    const std::int64_t n = logits.size(0), c = logits.size(1);
    const std::vector<double> x = values(logits);
    std::vector<double> out;
    for (std::int64_t i = 0; i < n; ++i) {
        if (t[static_cast<std::size_t>(i)] == ignore) {
            out.push_back(0);
            continue;
        }
        double z = 0;
        for (std::int64_t j = 0; j < c; ++j) z += std::exp(x[static_cast<std::size_t>(i * c + j)]);
        const double lz = std::log(z);
        const double nll = lz - x[static_cast<std::size_t>(i * c + t[static_cast<std::size_t>(i)])];
        double smooth = 0;
        for (std::int64_t j = 0; j < c; ++j) smooth += lz - x[static_cast<std::size_t>(i * c + j)];
        out.push_back((1 - eps) * nll + eps / static_cast<double>(c) * smooth);
    }
    return out;
}

double total(const std::vector<double>& v) {
    double s = 0;
    for (double e : v) s += e;
    return s;
}

// ---- cross_entropy: values ---------------------------------------------------------------

TEST(Loss, CrossEntropyUniformLogitsIsLogC) {
    for (std::int64_t c : {1, 7, 10, 33}) {
        Tensor logits = zeros({4, c});
        Tensor t = labels({0, c - 1, c / 2, 0});
        EXPECT_NEAR(F::cross_entropy(logits, t).item(), std::log(static_cast<double>(c)), 1e-6) << "C = " << c;
        EXPECT_NEAR(F::cross_entropy(logits, t, {.reduction = Reduction::Sum}).item(),
                    4 * std::log(static_cast<double>(c)), 1e-5);
        // Smoothing does not change a uniform prediction's loss.
        EXPECT_NEAR(F::cross_entropy(logits, t, {.label_smoothing = 0.3}).item(), std::log(static_cast<double>(c)),
                    1e-6);
        Tensor none = F::cross_entropy(logits, t, {.reduction = Reduction::None});
        EXPECT_EQ(none.shape(), (Shape{4}));
        for (double v : values(none)) EXPECT_NEAR(v, std::log(static_cast<double>(c)), 1e-6);
    }
}

TEST(Loss, CrossEntropyHandValues) {
    // logits [1, 2, 3], target 2: log(e + e² + e³) − 3.
    Tensor logits = from_vector<double>({1, 2, 3}, {1, 3});
    EXPECT_NEAR(F::cross_entropy(logits, labels({2})).item(), 0.40760596444437, 1e-12);
    EXPECT_NEAR(F::cross_entropy(logits, labels({0})).item(), 2.40760596444437, 1e-12);
    // p = [1/4, 3/4], target 1, ε = 0.2: 0.8·(−ln ¾) + 0.2·(−ln ¼ − ln ¾)/2.
    Tensor two = from_vector<double>({0, std::log(3.0)}, {1, 2});
    const double want = 0.8 * -std::log(0.75) + 0.1 * (-std::log(0.25) - std::log(0.75));
    EXPECT_NEAR(F::cross_entropy(two, labels({1}), {.label_smoothing = 0.2}).item(), want, 1e-12);
    EXPECT_NEAR(want, 0.397543, 1e-6);
    // ε = 1: pure uniform target, the mean of −log p over the classes.
    EXPECT_NEAR(F::cross_entropy(two, labels({1}), {.label_smoothing = 1.0}).item(),
                (-std::log(0.25) - std::log(0.75)) / 2, 1e-12);
}

TEST(Loss, CrossEntropyMatchesLoop) {
    for (DType dt : {DType::Float32, DType::Float64}) {
        Generator g(7);
        Tensor logits = mul(randn({9, 33}, dt, &g), 3.0);
        Tensor t = randint(0, 33, {9}, DType::Int64, &g);
        const std::vector<std::int64_t> tv = t.to_vector<std::int64_t>();
        const double tol = dt == DType::Float32 ? 1e-5 : 1e-12;
        for (double eps : {0.0, 0.1}) {
            const std::vector<double> ref = ref_ce(logits, tv, eps, -100);
            const std::vector<double> none =
                values(F::cross_entropy(logits, t, {.reduction = Reduction::None, .label_smoothing = eps}));
            ASSERT_EQ(none.size(), ref.size());
            for (std::size_t i = 0; i < ref.size(); ++i) EXPECT_NEAR(none[i], ref[i], tol * std::max(1.0, ref[i]));
            EXPECT_NEAR(F::cross_entropy(logits, t, {.label_smoothing = eps}).item(), total(ref) / 9, tol * 10);
            EXPECT_NEAR(F::cross_entropy(logits, t, {.reduction = Reduction::Sum, .label_smoothing = eps}).item(),
                        total(ref), tol * 100);
            // Non-contiguous logits give the same values.
            Tensor lt = logits.t().contiguous().t();
            ASSERT_FALSE(lt.is_contiguous());
            EXPECT_NEAR(F::cross_entropy(lt, t, {.label_smoothing = eps}).item(), total(ref) / 9, tol * 10);
        }
        EXPECT_EQ(F::cross_entropy(logits, t).dtype(), dt);
    }
}

TEST(Loss, CrossEntropyLargeBatchMatchesLoop) {
    // Big enough for the multi-threaded path; forward and gradient against the loops.
    Generator g(21);
    Tensor logits = randn({96, 500}, DType::Float64, &g);
    Tensor t = randint(0, 500, {96}, DType::Int64, &g);
    t.data_ptr<std::int64_t>()[5] = -100;
    const std::vector<std::int64_t> tv = t.to_vector<std::int64_t>();
    const std::vector<double> ref = ref_ce(logits, tv, 0.05, -100);
    Tensor lg = logits.detach().clone().requires_grad_();
    Tensor loss = F::cross_entropy(lg, t, {.reduction = Reduction::Sum, .label_smoothing = 0.05});
    EXPECT_NEAR(loss.item(), total(ref), 1e-9);
    loss.backward();
    const std::vector<double> p = values(softmax(logits, 1)), grad = values(lg.grad());
    double err = 0;
    for (std::size_t i = 0; i < 96; ++i)
        for (std::size_t j = 0; j < 500; ++j) {
            const double want =
                tv[i] == -100 ? 0.0 : p[i * 500 + j] - (tv[i] == static_cast<std::int64_t>(j) ? 0.95 : 0) - 0.05 / 500;
            err = std::max(err, std::abs(grad[i * 500 + j] - want));
        }
    EXPECT_LT(err, 1e-14);
}

TEST(Loss, CrossEntropyIgnoreIndexLeavesTheMeanDenominator) {
    Generator g(3);
    Tensor logits = randn({6, 5}, DType::Float64, &g);
    Tensor t = labels({1, -100, 4, 0, -100, 2});
    const std::vector<double> ref = ref_ce(logits, t.to_vector<std::int64_t>(), 0.0, -100);
    EXPECT_NEAR(F::cross_entropy(logits, t).item(), total(ref) / 4, 1e-12);
    Tensor none = F::cross_entropy(logits, t, {.reduction = Reduction::None});
    EXPECT_EQ(values(none)[1], 0.0);
    EXPECT_EQ(values(none)[4], 0.0);
    // With smoothing, ignored rows still contribute nothing and the denominator stays 4.
    const std::vector<double> sref = ref_ce(logits, t.to_vector<std::int64_t>(), 0.25, -100);
    EXPECT_NEAR(F::cross_entropy(logits, t, {.label_smoothing = 0.25}).item(), total(sref) / 4, 1e-12);
    // A custom ignore_index that is a valid class.
    Tensor t2 = labels({1, 3, 4, 3, 3, 2});
    const std::vector<double> ref2 = ref_ce(logits, t2.to_vector<std::int64_t>(), 0.0, 3);
    EXPECT_NEAR(F::cross_entropy(logits, t2, {.ignore_index = 3}).item(), total(ref2) / 3, 1e-12);
    // Every target ignored: the mean is 0/0 = NaN (as in PyTorch), the sum 0, the gradient 0.
    Tensor all = labels({-100, -100, -100, -100, -100, -100});
    EXPECT_TRUE(std::isnan(F::cross_entropy(logits, all).item()));
    EXPECT_EQ(F::cross_entropy(logits, all, {.reduction = Reduction::Sum}).item(), 0.0);
    Tensor lg = logits.detach().clone().requires_grad_();
    F::cross_entropy(lg, all).backward();
    for (double v : values(lg.grad())) EXPECT_EQ(v, 0.0);
}

TEST(Loss, CrossEntropyKDimensionalAndOneDimensional) {
    Generator g(4);
    Tensor logits = randn({2, 3, 4, 5}, DType::Float64, &g);  // [N, C, d1, d2]
    Tensor t = randint(0, 3, {2, 4, 5}, DType::Int64, &g);
    Tensor none = F::cross_entropy(logits, t, {.reduction = Reduction::None, .label_smoothing = 0.1});
    EXPECT_EQ(none.shape(), (Shape{2, 4, 5}));
    // Same as moving C last and flattening the positions.
    Tensor flat = logits.permute({0, 2, 3, 1}).reshape({40, 3});
    const std::vector<double> ref = ref_ce(flat, t.to_vector<std::int64_t>(), 0.1, -100);
    const std::vector<double> got = values(none);
    for (std::size_t i = 0; i < ref.size(); ++i) EXPECT_NEAR(got[i], ref[i], 1e-12);
    EXPECT_NEAR(F::cross_entropy(logits, t, {.label_smoothing = 0.1}).item(), total(ref) / 40, 1e-12);

    // [C] logits with a 0-d target.
    Tensor v = from_vector<double>({1, 2, 3});
    Tensor l = F::cross_entropy(v, scalar_tensor(2, DType::Int64));
    EXPECT_EQ(l.dim(), 0);
    EXPECT_NEAR(l.item(), 0.40760596444437, 1e-12);
    EXPECT_EQ(F::cross_entropy(v, scalar_tensor(0, DType::Int64), {.reduction = Reduction::None}).dim(), 0);
}

TEST(Loss, CrossEntropyStableForLargeLogits) {
    Tensor logits = from_vector<float>({1000, 0, -1000, 500}, {2, 2});
    const std::vector<double> l = values(F::cross_entropy(logits, labels({1, 0}), {.reduction = Reduction::None}));
    EXPECT_NEAR(l[0], 1000.0, 1e-3);
    EXPECT_NEAR(l[1], 1500.0, 1e-3);
    Tensor lg = logits.detach().clone().requires_grad_();
    F::cross_entropy(lg, labels({0, 1})).backward();
    for (double v : values(lg.grad())) EXPECT_TRUE(std::isfinite(v));
}

// ---- cross_entropy: gradients ----------------------------------------------------------------

TEST(Loss, CrossEntropyGradientIsSoftmaxMinusSmoothedOnehot) {
    Generator g(5);
    Tensor logits = randn({4, 6}, DType::Float64, &g).requires_grad_();
    Tensor t = labels({5, 0, -100, 2});
    const double eps = 0.3;
    F::cross_entropy(logits, t, {.label_smoothing = eps}).backward();
    const std::vector<double> p = values(softmax(logits.detach(), 1)), grad = values(logits.grad());
    const std::vector<std::int64_t> tv = t.to_vector<std::int64_t>();
    for (std::size_t i = 0; i < 4; ++i)
        for (std::size_t j = 0; j < 6; ++j) {
            const double want = tv[i] == -100
                                    ? 0.0
                                    : (p[i * 6 + j] - (tv[i] == static_cast<std::int64_t>(j) ? 1 - eps : 0) - eps / 6) /
                                          3;  // 3 targets not ignored
            EXPECT_NEAR(grad[i * 6 + j], want, 1e-14) << i << ", " << j;
        }
    EXPECT_STREQ(F::cross_entropy(logits, t).grad_fn()->name(), "CrossEntropyBackward");
}

TEST(Loss, CrossEntropyGradientOverwritesLogitsNothingElseHolds) {
    // A language-model head: small hidden states times a wide projection. With the graph freed
    // after it and nothing else holding the logits, the gradient is written over them: the
    // backward's peak holds one [rows, classes] buffer fewer. Values equal in every case, and
    // logits someone holds are left as they were.
    Generator g(9);
    const std::int64_t rows = 256, hidden = 8, classes = 4096;  // 4 MiB of logits
    const Tensor h0 = randn({rows, hidden}, DType::Float32, &g), w = randn({hidden, classes}, DType::Float32, &g);
    const Tensor t = randint(0, classes, {rows}, DType::Int64, &g);
    struct Run {
        Tensor grad;
        std::size_t peak_above_start = 0;
    };
    auto run = [&](bool hold_logits, bool retain_graph) {
        Tensor h = h0.detach().requires_grad_();
        Tensor held, loss;
        {
            Tensor logits = matmul(h, w);
            if (hold_logits) held = logits;
            loss = F::cross_entropy(logits, t);
        }
        const Tensor before = hold_logits ? held.clone() : Tensor();
        const std::size_t start = allocated_memory().in_use_bytes;
        reset_peak_allocated_memory();
        loss.backward(Tensor(), retain_graph);
        Run r{h.grad(), allocated_memory().peak_bytes - start};
        if (hold_logits) {
            EXPECT_TRUE(allclose(held, before, 0.0, 0.0)) << "held logits changed";
        }
        return r;
    };
    const Run reused = run(false, false), held = run(true, false), retained = run(false, true);
    EXPECT_TRUE(allclose(reused.grad, held.grad, 0.0, 0.0));
    EXPECT_TRUE(allclose(reused.grad, retained.grad, 0.0, 0.0));
    const std::size_t logits_bytes = rows * classes * sizeof(float);
    EXPECT_GE(held.peak_above_start, logits_bytes);
    EXPECT_GE(retained.peak_above_start, logits_bytes);
    EXPECT_LT(reused.peak_above_start, logits_bytes / 2);
}

TEST(Loss, GradcheckCrossEntropy) {
    for (std::int64_t c : {1, 7, 33}) {
        Generator g(static_cast<std::uint64_t>(c));
        Tensor x = leaf64({5, c}, 50 + static_cast<std::uint64_t>(c));
        Tensor xt = leaf64_transposed({5, c}, 60 + static_cast<std::uint64_t>(c));
        Tensor t = randint(0, c, {5}, DType::Int64, &g);
        Tensor ti = t.clone();
        ti.data_ptr<std::int64_t>()[1] = -100;
        for (Reduction r : {Reduction::Mean, Reduction::Sum, Reduction::None})
            for (double eps : {0.0, 0.2}) {
                const F::CrossEntropyOptions o{.reduction = r, .label_smoothing = eps};
                EXPECT_GRADCHECK([=](const std::vector<Tensor>& v) { return F::cross_entropy(v[0], t, o); }, x);
                EXPECT_GRADCHECK([=](const std::vector<Tensor>& v) { return F::cross_entropy(v[0], ti, o); }, xt);
            }
        // k-dimensional: [N, C, d] with d = 3, and a 1-D [C] input.
        Tensor xk = leaf64({2, c, 3}, 70 + static_cast<std::uint64_t>(c));
        Tensor tk = randint(0, c, {2, 3}, DType::Int64, &g);
        EXPECT_GRADCHECK(
            [=](const std::vector<Tensor>& v) { return F::cross_entropy(v[0], tk, {.label_smoothing = 0.1}); }, xk);
        EXPECT_GRADCHECK(
            [=](const std::vector<Tensor>& v) { return F::cross_entropy(v[0], tk, {.reduction = Reduction::None}); },
            xk);
        Tensor x1 = leaf64({c}, 80 + static_cast<std::uint64_t>(c));
        EXPECT_GRADCHECK(
            [=](const std::vector<Tensor>& v) {
                return F::cross_entropy(v[0], scalar_tensor(static_cast<double>(c - 1), DType::Int64));
            },
            x1);
    }
}

// ---- nll_loss ----------------------------------------------------------------------------------

TEST(Loss, NllLossPicksNegatedLogProbs) {
    Tensor lp = from_vector<double>({-0.5, -1.5, -2.5, -0.1, -3.0, -4.0}, {2, 3});
    EXPECT_NEAR(F::nll_loss(lp, labels({2, 0})).item(), (2.5 + 0.1) / 2, 1e-15);
    EXPECT_NEAR(F::nll_loss(lp, labels({1, 2}), Reduction::Sum).item(), 1.5 + 4.0, 1e-15);
    EXPECT_EQ(values(F::nll_loss(lp, labels({1, -100}), Reduction::None)), (std::vector<double>{1.5, 0.0}));
    EXPECT_NEAR(F::nll_loss(lp, labels({1, 0}), Reduction::Mean, 0).item(), 1.5, 1e-15);
    // nll_loss(log_softmax(x)) == cross_entropy(x).
    Generator g(6);
    Tensor x = randn({7, 4}, DType::Float64, &g);
    Tensor t = labels({0, 3, 2, -100, 1, 1, 3});
    EXPECT_NEAR(F::nll_loss(log_softmax(x, 1), t).item(), F::cross_entropy(x, t).item(), 1e-14);
}

TEST(Loss, NllLossGradient) {
    Tensor lp = from_vector<double>({-0.5, -1.5, -2.5, -0.1, -3.0, -4.0}, {2, 3}).requires_grad_();
    F::nll_loss(lp, labels({2, 0})).backward();
    EXPECT_EQ(values(lp.grad()), (std::vector<double>{0, 0, -0.5, -0.5, 0, 0}));
    for (std::int64_t c : {1, 7, 33}) {
        Generator g(static_cast<std::uint64_t>(c) + 100);
        Tensor x = leaf64_transposed({6, c}, 90 + static_cast<std::uint64_t>(c));
        Tensor t = randint(0, c, {6}, DType::Int64, &g);
        for (Reduction r : {Reduction::Mean, Reduction::Sum, Reduction::None})
            EXPECT_GRADCHECK([=](const std::vector<Tensor>& v) { return F::nll_loss(v[0], t, r); }, x);
        Tensor xk = leaf64({2, c, 4}, 95 + static_cast<std::uint64_t>(c));
        Tensor tk = randint(0, c, {2, 4}, DType::Int64, &g);
        EXPECT_GRADCHECK([=](const std::vector<Tensor>& v) { return F::nll_loss(log_softmax(v[0], 1), tk); }, xk);
    }
}

// ---- mse_loss ------------------------------------------------------------------------------------

TEST(Loss, MseLossValuesAndGradients) {
    Tensor a = from_vector<double>({1, 2, 3, 4}, {2, 2});
    Tensor b = from_vector<double>({0, 2, 5, 1}, {2, 2});
    EXPECT_DOUBLE_EQ(F::mse_loss(a, b).item(), (1 + 0 + 4 + 9) / 4.0);
    EXPECT_DOUBLE_EQ(F::mse_loss(a, b, Reduction::Sum).item(), 14.0);
    EXPECT_EQ(values(F::mse_loss(a, b, Reduction::None)), (std::vector<double>{1, 0, 4, 9}));
    // Broadcast target.
    EXPECT_DOUBLE_EQ(F::mse_loss(a, from_vector<double>({1, 2}), Reduction::Sum).item(), 0 + 0 + 4 + 4);
    Tensor ag = a.detach().clone().requires_grad_();
    F::mse_loss(ag, b).backward();  // 2(a − b)/4
    EXPECT_EQ(values(ag.grad()), (std::vector<double>{0.5, 0, -1, 1.5}));
    for (std::int64_t n : {1, 7, 33}) {
        Tensor x = leaf64({3, n}, 110), y = leaf64_transposed({3, n}, 111), z = leaf64({n}, 112);
        for (Reduction r : {Reduction::Mean, Reduction::Sum, Reduction::None}) {
            EXPECT_GRADCHECK([=](const std::vector<Tensor>& v) { return F::mse_loss(v[0], v[1], r); }, x, y);
            EXPECT_GRADCHECK([=](const std::vector<Tensor>& v) { return F::mse_loss(v[0], v[1], r); }, x, z);
        }
    }
}

// ---- binary_cross_entropy_with_logits ----------------------------------------------------------

/// The naive formula −[pw·t·log σ(x) + (1 − t)·log(1 − σ(x))], fine for moderate x.
double ref_bce(double x, double t, double pw = 1.0) {
    const double s = 1 / (1 + std::exp(-x));
    return -(pw * t * std::log(s) + (1 - t) * std::log(1 - s));
}

TEST(Loss, BceWithLogitsMatchesNaiveFormula) {
    Generator g(12);
    Tensor x = mul(randn({4, 3}, DType::Float64, &g), 2.0);
    Tensor t = rand({4, 3}, DType::Float64, &g);  // soft targets in [0, 1)
    Tensor pw = from_vector<double>({0.5, 2.0, 3.0});
    const std::vector<double> xv = values(x), tv = values(t), pv = values(pw);
    const std::vector<double> none = values(F::binary_cross_entropy_with_logits(x, t, Reduction::None));
    const std::vector<double> wnone = values(F::binary_cross_entropy_with_logits(x, t, Reduction::None, pw));
    double s = 0, ws = 0;
    for (std::size_t i = 0; i < 12; ++i) {
        EXPECT_NEAR(none[i], ref_bce(xv[i], tv[i]), 1e-12);
        EXPECT_NEAR(wnone[i], ref_bce(xv[i], tv[i], pv[i % 3]), 1e-12);
        s += ref_bce(xv[i], tv[i]);
        ws += ref_bce(xv[i], tv[i], pv[i % 3]);
    }
    EXPECT_NEAR(F::binary_cross_entropy_with_logits(x, t).item(), s / 12, 1e-12);
    EXPECT_NEAR(F::binary_cross_entropy_with_logits(x, t, Reduction::Sum, pw).item(), ws, 1e-11);
    // Hand value: x = 0 gives log 2 whatever the (unweighted) target.
    EXPECT_NEAR(F::binary_cross_entropy_with_logits(zeros({3}), from_vector<float>({0, 0.5, 1})).item(), std::log(2.0),
                1e-6);
    // Float32, non-contiguous logits.
    Tensor xf = x.to(DType::Float32).t().contiguous().t(), tf = t.to(DType::Float32);
    ASSERT_FALSE(xf.is_contiguous());
    EXPECT_NEAR(F::binary_cross_entropy_with_logits(xf, tf).item(), s / 12, 1e-5);
}

TEST(Loss, BceWithLogitsStableAtExtremes) {
    Tensor x = from_vector<float>({100, -100, 100, -100, 0});
    Tensor t = from_vector<float>({0, 1, 1, 0, 1});
    const std::vector<double> l = values(F::binary_cross_entropy_with_logits(x, t, Reduction::None));
    EXPECT_NEAR(l[0], 100.0, 1e-4);
    EXPECT_NEAR(l[1], 100.0, 1e-4);
    EXPECT_NEAR(l[2], 0.0, 1e-6);
    EXPECT_NEAR(l[3], 0.0, 1e-6);
    EXPECT_NEAR(l[4], std::log(2.0), 1e-6);
    // Gradient σ(x) − t, also exactly at x = 0 (where |x| has a kink).
    Tensor xg = x.detach().clone().requires_grad_();
    F::binary_cross_entropy_with_logits(xg, t, Reduction::Sum).backward();
    const std::vector<double> gr = values(xg.grad());
    EXPECT_NEAR(gr[0], 1.0, 1e-6);
    EXPECT_NEAR(gr[1], -1.0, 1e-6);
    EXPECT_NEAR(gr[4], -0.5, 1e-7);
}

TEST(Loss, GradcheckBceWithLogits) {
    for (std::int64_t n : {1, 7, 33}) {
        Generator g(static_cast<std::uint64_t>(n) + 200);
        Tensor x = leaf64({4, n}, 120);
        Tensor xt = leaf64_transposed({4, n}, 121);
        Tensor t = rand({4, n}, DType::Float64, &g).requires_grad_();
        Tensor pw = add(rand({n}, DType::Float64, &g), 0.5).requires_grad_();
        Tensor pw_col = add(rand({4, 1}, DType::Float64, &g), 0.5).requires_grad_();
        for (Reduction r : {Reduction::Mean, Reduction::Sum, Reduction::None}) {
            EXPECT_GRADCHECK(
                [=](const std::vector<Tensor>& v) { return F::binary_cross_entropy_with_logits(v[0], v[1], r); }, x, t);
            EXPECT_GRADCHECK(
                [=](const std::vector<Tensor>& v) { return F::binary_cross_entropy_with_logits(v[0], v[1], r, v[2]); },
                xt, t, pw);
        }
        EXPECT_GRADCHECK(
            [](const std::vector<Tensor>& v) {
                return F::binary_cross_entropy_with_logits(v[0], v[1], Reduction::Mean, v[2]);
            },
            x, t, pw_col);
    }
}

// ---- errors ------------------------------------------------------------------------------------------

TEST(Loss, CrossEntropyErrors) {
    EXPECT_THROW_MSG(F::cross_entropy(zeros({4, 10}), labels({0, 1, 2, 3, 4})), ShapeError,
                     "cross_entropy: logits [4, 10] need targets of shape [4], got [5]");
    EXPECT_THROW_MSG(F::cross_entropy(zeros({2, 3, 4}), labels({0, 1})), ShapeError,
                     "cross_entropy: logits [2, 3, 4] need targets of shape [2, 4], got [2]");
    EXPECT_THROW_MSG(F::cross_entropy(zeros({3}), labels({0})), ShapeError,
                     "cross_entropy: logits [3] need targets of shape [], got [1]");
    EXPECT_THROW_MSG(F::cross_entropy(scalar_tensor(1.0), scalar_tensor(0, DType::Int64)), ShapeError,
                     "cross_entropy: logits need a class dimension");
    EXPECT_THROW_MSG(F::cross_entropy(zeros({2, 3}), zeros({2})), DTypeError,
                     "cross_entropy: targets must be int64 class indices, got float32");
    EXPECT_THROW_MSG(F::cross_entropy(zeros({2, 3}), from_vector<std::int32_t>({0, 1})), DTypeError,
                     "targets must be int64 class indices, got int32");
    EXPECT_THROW_MSG(F::cross_entropy(zeros({2, 3}, DType::Int64), labels({0, 1})), DTypeError,
                     "cross_entropy: logits must be float32 or float64, got int64");
    EXPECT_THROW_MSG(F::cross_entropy(zeros({4, 10}), labels({0, 9, 10, 1})), IndexError,
                     "cross_entropy: target 10 at position [2] is out of range for 10 classes");
    EXPECT_THROW_MSG(F::cross_entropy(zeros({2, 3, 2}), labels({0, 1, -1, 2}, {2, 2})), IndexError,
                     "target -1 at position [1, 0] is out of range for 3 classes (ignore_index is -100)");
    EXPECT_THROW_MSG(F::cross_entropy(zeros({3}), scalar_tensor(7, DType::Int64)), IndexError,
                     "cross_entropy: target 7 is out of range for 3 classes");
    // -100 is valid only as the ignore_index.
    EXPECT_THROW_MSG(F::cross_entropy(zeros({2, 3}), labels({-100, 0}), {.ignore_index = 1}), IndexError,
                     "target -100 at position [0]");
    EXPECT_THROW_MSG(F::cross_entropy(zeros({2, 3}), labels({0, 1}), {.label_smoothing = 1.5}), ValueError,
                     "cross_entropy: label_smoothing must be in [0, 1], got 1.5");
    EXPECT_THROW_MSG(F::cross_entropy(zeros({2, 3}), labels({0, 1}), {.label_smoothing = -0.1}), ValueError,
                     "label_smoothing must be in [0, 1]");
}

TEST(Loss, OtherLossErrors) {
    EXPECT_THROW_MSG(F::nll_loss(zeros({4, 10}), labels({0, 1})), ShapeError,
                     "nll_loss: log_probs [4, 10] need targets of shape [4], got [2]");
    EXPECT_THROW_MSG(F::nll_loss(zeros({2, 3}), labels({3, 0})), IndexError,
                     "nll_loss: target 3 at position [0] is out of range for 3 classes");
    EXPECT_THROW_MSG(F::nll_loss(zeros({2, 3}), zeros({2}, DType::Float64)), DTypeError,
                     "nll_loss: targets must be int64");
    EXPECT_THROW_MSG(F::mse_loss(zeros({2, 3}), zeros({4})), ShapeError, "mse_loss: shapes [2, 3] and [4]");
    EXPECT_THROW_MSG(F::mse_loss(zeros({2}), zeros({2}, DType::Float64)), DTypeError, "mse_loss: dtype mismatch");
    EXPECT_THROW_MSG(F::mse_loss(arange(2), arange(2)), DTypeError,
                     "mse_loss: input must be float32 or float64, got int64");
    EXPECT_THROW_MSG(F::binary_cross_entropy_with_logits(zeros({4, 3}), zeros({4})), ShapeError,
                     "binary_cross_entropy_with_logits: target of shape [4] must match logits of shape [4, 3]");
    EXPECT_THROW_MSG(F::binary_cross_entropy_with_logits(zeros({4, 3}), zeros({4, 3}, DType::Float64)), DTypeError,
                     "binary_cross_entropy_with_logits: dtype mismatch");
    EXPECT_THROW_MSG(F::binary_cross_entropy_with_logits(zeros({4, 3}), zeros({4, 3}), Reduction::Mean, zeros({4})),
                     ShapeError, "binary_cross_entropy_with_logits: shapes [4] and [4, 3] cannot be broadcast");
    EXPECT_THROW_MSG(
        F::binary_cross_entropy_with_logits(zeros({4, 3}), zeros({4, 3}), Reduction::Mean, zeros({2, 4, 3})),
        ShapeError, "pos_weight of shape [2, 4, 3] does not broadcast to logits of shape [4, 3]");
    EXPECT_THROW_MSG(
        F::binary_cross_entropy_with_logits(zeros({3}), zeros({3}), Reduction::Mean, zeros({3}, DType::Float64)),
        DTypeError, "binary_cross_entropy_with_logits: dtype mismatch");
    EXPECT_THROW_MSG(F::binary_cross_entropy_with_logits(arange(3), arange(3)), DTypeError,
                     "logits must be float32 or float64, got int64");
}

}  // namespace
