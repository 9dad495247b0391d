// The float32 vector kernels (kernels/vector): every ISA variant this CPU runs against float64
// references (exp in ulp over its whole range, the other functions in absolute/relative error),
// at the special values (±inf, NaN, ±0, denormals, huge magnitudes), and against the scalar
// reference at lengths around the vector widths (0, 1, 7, 8, 9, 15, 16, 17, …) from unaligned
// pointers, with a guard after the end that must stay untouched; then the drivers, whose results
// must not depend on the thread count.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <iostream>
#include <limits>
#include <string>
#include <vector>

#include "kernels/cpu/cpu_features.hpp"
#include "graft/runtime.hpp"
#include "test_util.hpp"
#include "kernels/vector/vector.hpp"
#include "vector_test_util.hpp"

using namespace graft;
using kernels::int64;
using kernels::Isa;
using kernels::UnaryOp;
using namespace graft::test;

namespace {

/// Restores the active ISA when the scope ends (the driver and op tests switch it).
struct IsaGuard {
    ~IsaGuard() { kernels::set_active_isa(saved); }
    Isa saved = kernels::active_isa();
};

const std::vector<int64> SIZES = {0, 1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 47, 48, 49, 63, 64, 65, 100, 1000};
const UnaryOp UNARY_OPS[] = {UnaryOp::Exp, UnaryOp::Log,  UnaryOp::Tanh,    UnaryOp::Sigmoid,
                             UnaryOp::Relu, UnaryOp::Gelu, UnaryOp::GeluTanh};

const char* op_name(UnaryOp op) {
    switch (op) {
        case UnaryOp::Exp: return "exp";
        case UnaryOp::Log: return "log";
        case UnaryOp::Tanh: return "tanh";
        case UnaryOp::Sigmoid: return "sigmoid";
        case UnaryOp::Relu: return "relu";
        case UnaryOp::Gelu: return "gelu";
        case UnaryOp::GeluTanh: return "gelu_tanh";
    }
    return "?";
}

/// The float64 value of each function at float x (the references the kernels are measured against).
double reference(UnaryOp op, float xf) {
    const double x = xf;
    switch (op) {
        case UnaryOp::Exp: return std::exp(x);
        case UnaryOp::Log: return std::log(x);
        case UnaryOp::Tanh: return std::tanh(x);
        case UnaryOp::Sigmoid: return x >= 0 ? 1 / (1 + std::exp(-x)) : std::exp(x) / (1 + std::exp(x));
        case UnaryOp::Relu: return std::isnan(x) ? x : std::max(x, 0.0);
        case UnaryOp::Gelu:
            if (std::isinf(x)) return x > 0 ? x : 0.0;
            return 0.5 * x * std::erfc(-x / std::sqrt(2.0));
        case UnaryOp::GeluTanh: {
            if (std::isinf(x)) return x > 0 ? x : 0.0;
            const double u = std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x);
            return x / (1 + std::exp(-2 * u));  // ½x(1 + tanh u)
        }
    }
    return 0;
}

/// d op / dx at float x in float64 (for the gelus, whose gradient kernels read x).
double reference_grad(UnaryOp op, float xf) {
    const double x = xf;
    if (op == UnaryOp::Gelu) return 0.5 * std::erfc(-x / std::sqrt(2.0)) + x * std::exp(-0.5 * x * x) / std::sqrt(2 * M_PI);
    const double k = std::sqrt(2 / M_PI), u = k * (x + 0.044715 * x * x * x), t = std::tanh(u);
    return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k * (1 + 3 * 0.044715 * x * x);
}

/// |got − ref| in units in the last place of the float nearest ref (denormal spacing below FLT_MIN).
double ulp_error(float got, double ref) {
    if (std::isnan(ref)) return std::isnan(got) ? 0 : INFINITY;
    const float nearest = static_cast<float>(ref);
    if (std::isinf(nearest) || std::isinf(got)) return got == nearest ? 0 : INFINITY;
    const double a = std::fabs(ref);
    const double ulp = a < std::numeric_limits<float>::min() ? kDenormMin : std::ldexp(1.0, std::ilogb(a) - 23);
    return std::fabs(static_cast<double>(got) - ref) / ulp;
}

/// |got − ref| / max(1, |ref|): absolute below 1, relative above; NaN/inf must match exactly.
double abs_rel_error(float got, double ref) {
    if (std::isnan(ref)) return std::isnan(got) ? 0 : INFINITY;
    if (std::isinf(ref) || std::isinf(got) || std::isnan(got)) return got == ref ? 0 : INFINITY;
    return std::fabs(static_cast<double>(got) - ref) / std::max(1.0, std::fabs(ref));
}

std::vector<float> run_unary(Isa isa, UnaryOp op, const std::vector<float>& x) {
    std::vector<float> y(x.size());
    variant(isa).unary(op, static_cast<int64>(x.size()), x.data(), y.data());
    return y;
}

/// Special inputs every function is checked at.
std::vector<float> special_inputs() {
    return {kInf, -kInf, kNaN, -kNaN, 0.f, -0.f, kDenormMin, -kDenormMin, 1e-40f, -1e-40f, 1.17e-38f, -1.17e-38f,
            1e-30f, -1e-30f, 1e30f, -1e30f, 3.4e38f, -3.4e38f, 88.7f, 88.73f, -87.4f, -103.9f, -104.f, -150.f,
            1e6f, -1e6f, 20.f, -20.f, 1.f, -1.f};
}

}  // namespace

TEST(VectorKernels, VariantsAreListed) {
    for (Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Avx512}) {
        const kernels::F32VectorVariant& v = variant(isa);
        EXPECT_EQ(v.isa, isa);
        EXPECT_STREQ(v.name, kernels::isa_name(isa));
        for (const void* k : {(const void*)v.unary, (const void*)v.unary_grad, (const void*)v.sum, (const void*)v.max,
                              (const void*)v.softmax, (const void*)v.softmax_grad, (const void*)v.cross_entropy,
                              (const void*)v.cross_entropy_grad, (const void*)v.layer_norm,
                              (const void*)v.layer_norm_grad})
            EXPECT_NE(k, nullptr);
    }
}

// exp over its whole finite range [−104, 89] (every 2^-14, about 3.2 million points) plus random
// bit patterns and the special values: within 2 ulp of float64 everywhere, denormal results too.
TEST(VectorKernels, ExpWithinTwoUlpOverItsRange) {
    std::vector<float> x;
    for (double v = -104.0; v <= 89.0; v += 1.0 / 16384) x.push_back(static_cast<float>(v));
    for (float v : special_inputs()) x.push_back(v);
    Generator g(5);
    for (int i = 0; i < 100000; ++i) x.push_back(static_cast<float>(-110 + 200 * g.uniform()));
    for (Isa isa : kernels::supported_isas()) {
        const std::vector<float> y = run_unary(isa, UnaryOp::Exp, x);
        double worst = 0;
        float worst_x = 0;
        for (std::size_t i = 0; i < x.size(); ++i) {
            const double e = ulp_error(y[i], std::exp(static_cast<double>(x[i])));
            if (e > worst) worst = e, worst_x = x[i];
        }
        std::cout << "[ exp " << kernels::isa_name(isa) << " ] max error " << worst << " ulp at x = " << worst_x << "\n";
        EXPECT_LE(worst, 2.0) << kernels::isa_name(isa) << ": exp(" << worst_x << ")";
        EXPECT_EQ(run_unary(isa, UnaryOp::Exp, {-kInf})[0], 0.f);
        EXPECT_EQ(run_unary(isa, UnaryOp::Exp, {kInf})[0], kInf);
        EXPECT_EQ(run_unary(isa, UnaryOp::Exp, {89.f})[0], kInf);
        EXPECT_EQ(run_unary(isa, UnaryOp::Exp, {-1e30f})[0], 0.f);
        EXPECT_EQ(run_unary(isa, UnaryOp::Exp, {1e-40f})[0], 1.f);
        EXPECT_TRUE(std::isnan(run_unary(isa, UnaryOp::Exp, {kNaN})[0]));
        EXPECT_GT(run_unary(isa, UnaryOp::Exp, {-103.f})[0], 0.f) << "a denormal result, not 0";
    }
}

// log, tanh, sigmoid, gelu, gelu_tanh and relu within 1e-6 (absolute below 1, relative above) of
// float64 over wide ranges: log over every binade from the smallest denormal up, the others
// densely over [−30, 30] and sparsely out to ±3e38; no NaN where the true value is finite.
TEST(VectorKernels, UnaryMathWithin1e6OfFloat64) {
    std::vector<float> wide;
    for (double v = -30; v <= 30; v += 1.0 / 4096) wide.push_back(static_cast<float>(v));
    for (double v = 30; v < 3e38; v *= 1.01) {
        wide.push_back(static_cast<float>(v));
        wide.push_back(static_cast<float>(-v));
    }
    for (float v : special_inputs()) wide.push_back(v);
    std::vector<float> positive;
    for (int e = -149; e <= 127; ++e)
        for (int k = 0; k < 1024; ++k) positive.push_back(std::ldexp(1.f + static_cast<float>(k) / 1024, e));
    for (double v = 0.5; v <= 2.0; v += 1.0 / 65536) positive.push_back(static_cast<float>(v));  // around log's zero
    for (float v : special_inputs()) positive.push_back(v);
    for (Isa isa : kernels::supported_isas()) {
        for (UnaryOp op : {UnaryOp::Log, UnaryOp::Tanh, UnaryOp::Sigmoid, UnaryOp::Gelu, UnaryOp::GeluTanh, UnaryOp::Relu}) {
            const std::vector<float>& x = op == UnaryOp::Log ? positive : wide;
            const std::vector<float> y = run_unary(isa, op, x);
            double worst = 0;
            float worst_x = 0;
            for (std::size_t i = 0; i < x.size(); ++i) {
                const double ref = reference(op, x[i]);
                const double e = abs_rel_error(y[i], ref);
                if (e > worst) worst = e, worst_x = x[i];
                if (!std::isnan(ref)) {
                    ASSERT_FALSE(std::isnan(y[i])) << op_name(op) << "(" << x[i] << ") " << kernels::isa_name(isa);
                }
            }
            std::cout << "[ " << op_name(op) << " " << kernels::isa_name(isa) << " ] max abs/rel error " << worst
                      << " at x = " << worst_x << "\n";
            EXPECT_LE(worst, 1e-6) << kernels::isa_name(isa) << ": " << op_name(op) << "(" << worst_x << ")";
        }
        const std::vector<float> y = run_unary(isa, UnaryOp::Log, {0.f, -0.f, -1.f, -kInf, kInf, kNaN});
        EXPECT_EQ(y[0], -kInf);
        EXPECT_EQ(y[1], -kInf);
        EXPECT_TRUE(std::isnan(y[2]) && std::isnan(y[3]) && std::isnan(y[5]));
        EXPECT_EQ(y[4], kInf);
        const std::vector<float> g = run_unary(isa, UnaryOp::Gelu, {-kInf, kInf});
        EXPECT_EQ(g[0], 0.f);
        EXPECT_EQ(g[1], kInf);
        EXPECT_TRUE(std::isnan(run_unary(isa, UnaryOp::Relu, {kNaN})[0])) << "relu keeps NaN, as torch does";
    }
}

// The gradients: the gelus against their float64 derivative; the others are one or two roundings
// of their formula, checked against the scalar reference below.
TEST(VectorKernels, GeluGradientsWithin1e6OfFloat64) {
    std::vector<float> x;
    for (double v = -30; v <= 30; v += 1.0 / 4096) x.push_back(static_cast<float>(v));
    for (float v : {1e30f, -1e30f, 3.4e38f, -3.4e38f, kInf, -kInf}) x.push_back(v);
    const std::vector<float> ones(x.size(), 1.f);
    for (Isa isa : kernels::supported_isas())
        for (UnaryOp op : {UnaryOp::Gelu, UnaryOp::GeluTanh}) {
            std::vector<float> dx(x.size());
            variant(isa).unary_grad(op, static_cast<int64>(x.size()), x.data(), ones.data(), dx.data());
            double worst = 0;
            float worst_x = 0;
            for (std::size_t i = 0; i < x.size(); ++i) {
                const double ref = std::isinf(x[i]) ? (x[i] > 0 ? 1.0 : 0.0)
                                   : std::fabs(x[i]) > 1e6 ? (x[i] > 0 ? 1.0 : 0.0)
                                                            : reference_grad(op, x[i]);
                const double e = abs_rel_error(dx[i], ref);
                if (e > worst) worst = e, worst_x = x[i];
            }
            std::cout << "[ " << op_name(op) << "' " << kernels::isa_name(isa) << " ] max abs error " << worst
                      << " at x = " << worst_x << "\n";
            EXPECT_LE(worst, 1e-6) << kernels::isa_name(isa) << ": " << op_name(op) << "'(" << worst_x << ")";
        }
}

TEST(VectorKernels, UnaryVariantsMatchScalar) {
    if (vector_isas().empty()) GTEST_SKIP() << "this CPU runs only the scalar variant";
    for (Isa isa : vector_isas())
        for (UnaryOp op : UNARY_OPS)
            for (int64 n : SIZES) {
                const std::string what = std::string(kernels::isa_name(isa)) + " " + op_name(op) + " n=" + std::to_string(n);
                std::vector<float> xv = uniform(n, 11 + n, op == UnaryOp::Log ? 1e-3 : -8, 8);
                if (n > 3) xv[static_cast<std::size_t>(n - 2)] = kNaN;
                Unaligned x(xv), dy(uniform(n, 99, -2, 2));
                Unaligned want(n), got(n), want_dx(n), got_dx(n);
                variant(Isa::Scalar).unary(op, n, x.data(), want.data());
                variant(isa).unary(op, n, x.data(), got.data());
                const Unaligned& saved = kernels::grad_reads_output(op) ? want : x;
                variant(Isa::Scalar).unary_grad(op, n, const_cast<Unaligned&>(saved).data(), dy.data(), want_dx.data());
                variant(isa).unary_grad(op, n, const_cast<Unaligned&>(saved).data(), dy.data(), got_dx.data());
                for (int64 i = 0; i < n; ++i) {
                    const double tol = op == UnaryOp::Exp ? 3e-7 * std::fabs(want[i]) : 1e-6 * std::max(1.f, std::fabs(want[i]));
                    if (std::isnan(want[i])) {
                        EXPECT_TRUE(std::isnan(got[i])) << what << " at " << i;
                    } else {
                        EXPECT_NEAR(got[i], want[i], tol) << what << " at " << i;
                    }
                    if (std::isnan(want_dx[i])) {
                        EXPECT_TRUE(std::isnan(got_dx[i])) << what << " grad at " << i;
                    } else {
                        EXPECT_NEAR(got_dx[i], want_dx[i], 2e-6 * std::max(1.f, std::fabs(want_dx[i])))
                            << what << " grad at " << i;
                    }
                }
                got.expect_guard(what);
                got_dx.expect_guard(what + " grad");
            }
}

TEST(VectorKernels, SumAndMaxMatchFloat64) {
    for (Isa isa : kernels::supported_isas())
        for (int64 n : SIZES) {
            const std::string what = std::string(kernels::isa_name(isa)) + " n=" + std::to_string(n);
            Unaligned x(uniform(n, 3 + n, -100, 100));
            double want = 0, abs_sum = 0;
            float want_max = -kInf;
            for (int64 i = 0; i < n; ++i) {
                want += x[i];
                abs_sum += std::fabs(x[i]);
                want_max = std::max(want_max, x[i]);
            }
            EXPECT_NEAR(variant(isa).sum(n, x.data()), want, 1e-14 * abs_sum) << what;
            EXPECT_EQ(variant(isa).max(n, x.data()), want_max) << what;
            for (int64 at : {int64{0}, n / 2, n - 1}) {  // a NaN anywhere, the tail included, makes the max NaN
                if (n == 0) break;
                const float keep = x[at];
                x[at] = kNaN;
                EXPECT_TRUE(std::isnan(variant(isa).max(n, x.data()))) << what << " NaN at " << at;
                x[at] = keep;
            }
            if (n > 0) {
                x[n - 1] = kInf;
                EXPECT_EQ(variant(isa).max(n, x.data()), kInf) << what;
            }
        }
}

// softmax and log_softmax against float64, forward and backward, on rows with large offsets and
// −inf entries (masked attention scores).
TEST(VectorKernels, SoftmaxMatchesFloat64) {
    for (Isa isa : kernels::supported_isas())
        for (bool log : {false, true})
            for (int64 n : SIZES) {
                if (n == 0) continue;
                const std::string what =
                    std::string(kernels::isa_name(isa)) + (log ? " log_softmax" : " softmax") + " n=" + std::to_string(n);
                std::vector<float> xv = uniform(n, 21 + n, -10, 10);
                for (float& v : xv) v += 1000.f;  // the max subtraction must keep this finite
                if (n > 2) xv[1] = -kInf;
                Unaligned x(xv), y(n), dy(uniform(n, 7, -1, 1)), dx(n);
                variant(isa).softmax(n, x.data(), y.data(), log);
                variant(isa).softmax_grad(n, y.data(), dy.data(), dx.data(), log);
                std::vector<double> p(static_cast<std::size_t>(n));
                double m = -INFINITY, s = 0, sdy = 0, sdyp = 0;
                for (int64 i = 0; i < n; ++i) m = std::max(m, double(x[i]));
                for (int64 i = 0; i < n; ++i) s += std::exp(double(x[i]) - m);
                for (int64 i = 0; i < n; ++i) {
                    p[static_cast<std::size_t>(i)] = std::exp(double(x[i]) - m) / s;
                    sdy += dy[i];
                    sdyp += dy[i] * p[static_cast<std::size_t>(i)];
                }
                for (int64 i = 0; i < n; ++i) {
                    const double pi = p[static_cast<std::size_t>(i)];
                    if (log) {
                        if (std::isinf(x[i])) {
                            EXPECT_EQ(y[i], -kInf) << what;
                        } else {
                            EXPECT_NEAR(y[i], std::log(pi), 2e-6 * std::max(1.0, std::fabs(std::log(pi)))) << what << " at " << i;
                        }
                        EXPECT_NEAR(dx[i], dy[i] - pi * sdy, 1e-5) << what << " grad at " << i;
                    } else {
                        EXPECT_NEAR(y[i], pi, 2e-6 * pi + 1e-30) << what << " at " << i;
                        EXPECT_NEAR(dx[i], pi * (dy[i] - sdyp), 1e-6) << what << " grad at " << i;
                    }
                }
                y.expect_guard(what);
                dx.expect_guard(what + " grad");
            }
}

// The fused cross-entropy against float64: loss and max + log Σ exp(x − max) per row, and
// dx = scale·(softmax − ε/n − (1 − ε)·onehot), with and without label smoothing, the target at
// either end of the row.
TEST(VectorKernels, CrossEntropyMatchesFloat64) {
    for (Isa isa : kernels::supported_isas())
        for (float eps : {0.f, 0.1f})
            for (int64 n : SIZES) {
                if (n == 0) continue;
                for (int64 target : {int64{0}, n - 1}) {
                    const std::string what = std::string(kernels::isa_name(isa)) + " eps=" + std::to_string(eps) +
                                             " n=" + std::to_string(n) + " target=" + std::to_string(target);
                    std::vector<float> xv = uniform(n, 31 + n, -20, 20);
                    for (float& v : xv) v += 500.f;  // large logits: the max subtraction must keep every digit
                    Unaligned x(xv), dx(n);
                    float mx = 0, log_sum = 0;
                    const float loss = variant(isa).cross_entropy(n, x.data(), target, eps, &mx, &log_sum);
                    variant(isa).cross_entropy_grad(n, x.data(), mx, log_sum, target, eps, 0.5f, dx.data());
                    double m = -INFINITY, s = 0, sx = 0;
                    for (int64 i = 0; i < n; ++i) m = std::max(m, double(x[i]));
                    for (int64 i = 0; i < n; ++i) s += std::exp(double(x[i]) - m), sx += x[i];
                    const double ref_lse = m + std::log(s);
                    const double ref_loss = (1 - eps) * (ref_lse - x[target]) + eps / double(n) * (double(n) * ref_lse - sx);
                    EXPECT_NEAR(double(mx) + double(log_sum), ref_lse, 2e-6 * std::max(1.0, std::fabs(ref_lse))) << what;
                    EXPECT_NEAR(loss, ref_loss, 1e-5 * std::max(1.0, std::fabs(ref_loss))) << what;
                    for (int64 i = 0; i < n; ++i) {
                        const double want = 0.5 * (std::exp(double(x[i]) - ref_lse) - eps / double(n) - (i == target ? 1 - eps : 0));
                        EXPECT_NEAR(dx[i], want, 1e-6) << what << " at " << i;
                    }
                    dx.expect_guard(what);
                }
            }
}

// The cross-entropy forward on rows with special values, every variant against the scalar
// reference through the driver: −inf logits (masked classes) add nothing, a NaN or +inf anywhere
// makes the loss and log_sum NaN, huge finite logits stay finite, and ignored rows are 0.
TEST(VectorKernels, CrossEntropySpecialRowsMatchScalar) {
    const IsaGuard guard;
    const int64 n = 37;
    struct Row {
        const char* what;
        std::vector<std::pair<int64, float>> set;
        bool nan;
    };
    const std::vector<Row> rows = {
        {"plain", {}, false},
        {"-inf entries", {{0, -kInf}, {5, -kInf}, {36, -kInf}}, false},
        {"all but the target -inf", {}, false},
        {"NaN in the tail", {{35, kNaN}}, true},
        {"NaN first", {{0, kNaN}}, true},
        {"+inf", {{20, kInf}}, true},
        {"huge", {{3, 3e38f}, {4, -3e38f}, {9, 1e30f}}, false},
        {"ignored", {}, false},
    };
    const int64 count = static_cast<int64>(rows.size());
    std::vector<float> x = uniform(count * n, 77, -30, 30);
    std::vector<std::int64_t> target(static_cast<std::size_t>(count));
    for (int64 r = 0; r < count; ++r) {
        target[static_cast<std::size_t>(r)] = (r * 11) % n;
        for (auto [at, v] : rows[static_cast<std::size_t>(r)].set) x[static_cast<std::size_t>(r * n + at)] = v;
    }
    for (int64 j = 0; j < n; ++j)
        if (j != target[2]) x[static_cast<std::size_t>(2 * n + j)] = -kInf;
    target[static_cast<std::size_t>(count - 1)] = -100;
    for (float eps : {0.f, 0.1f}) {
        std::vector<float> want(static_cast<std::size_t>(3 * count));
        kernels::set_active_isa(Isa::Scalar);
        kernels::cross_entropy_rows(count, n, x.data(), target.data(), -100, eps, want.data(), want.data() + count,
                                    want.data() + 2 * count);
        for (Isa isa : kernels::supported_isas()) {
            kernels::set_active_isa(isa);
            std::vector<float> got(static_cast<std::size_t>(3 * count), -1.f);
            kernels::cross_entropy_rows(count, n, x.data(), target.data(), -100, eps, got.data(), got.data() + count,
                                        got.data() + 2 * count);
            for (int64 r = 0; r < count; ++r) {
                const Row& row = rows[static_cast<std::size_t>(r)];
                const std::string what =
                    std::string(kernels::isa_name(isa)) + " eps=" + std::to_string(eps) + " " + row.what;
                const auto at = [&](const std::vector<float>& v, int64 k) {
                    return v[static_cast<std::size_t>(k * count + r)];
                };
                if (row.nan) {
                    EXPECT_TRUE(std::isnan(at(got, 0))) << what << ": loss";
                    EXPECT_TRUE(std::isnan(at(got, 2))) << what << ": log_sum";
                    continue;
                }
                // the smoothing term Σ (x − max) is −inf with a −inf logit, as in the scalar reference
                for (int64 k : {0, 2}) {
                    const float g = at(got, k), w = at(want, k);
                    if (std::isinf(w))
                        EXPECT_EQ(g, w) << what << " output " << k;
                    else
                        EXPECT_NEAR(g, w, 2e-6 * std::max(1.f, std::fabs(w))) << what << " output " << k;
                }
                EXPECT_EQ(at(got, 1), at(want, 1)) << what << ": max";
            }
            EXPECT_EQ(got[static_cast<std::size_t>(count - 1)], 0.f) << "ignored row";
        }
    }
}

// LayerNorm forward (y, mean, rstd) and backward (dx, and dw/db accumulated onto what is there)
// against float64, with and without weight and bias.
TEST(VectorKernels, LayerNormMatchesFloat64) {
    for (Isa isa : kernels::supported_isas())
        for (bool affine : {false, true})
            for (int64 n : SIZES) {
                if (n == 0) continue;
                const std::string what = std::string(kernels::isa_name(isa)) + (affine ? " affine" : "") + " n=" + std::to_string(n);
                std::vector<float> xv = uniform(n, 41 + n, -3, 5);
                for (float& v : xv) v += 1e4f;  // a large mean: x − mean and the variance must keep their digits
                Unaligned x(xv), w(uniform(n, 2, 0.5, 1.5)), b(uniform(n, 3, -1, 1)), dy(uniform(n, 4, -1, 1));
                Unaligned y(n), dx(n), dw(std::vector<float>(static_cast<std::size_t>(n), 0.25f)),
                    db(std::vector<float>(static_cast<std::size_t>(n), -0.5f));
                const float* wp = affine ? w.data() : nullptr;
                double mean = 0;
                float rstd = 0;
                variant(isa).layer_norm(n, x.data(), wp, affine ? b.data() : nullptr, 1e-5f, y.data(), &mean, &rstd);
                variant(isa).layer_norm_grad(n, x.data(), dy.data(), wp, mean, rstd, dx.data(), dw.data(), db.data());
                double m = 0, v = 0;
                for (int64 i = 0; i < n; ++i) m += x[i];
                m /= double(n);
                for (int64 i = 0; i < n; ++i) v += (x[i] - m) * (x[i] - m);
                const double rs = 1 / std::sqrt(v / double(n) + 1e-5);
                EXPECT_NEAR(mean, m, 1e-12 * std::fabs(m)) << what;
                EXPECT_NEAR(rstd, rs, 1e-5 * rs) << what;
                double sg = 0, sgx = 0;
                for (int64 i = 0; i < n; ++i) {
                    const double g = double(dy[i]) * (affine ? w[i] : 1.0), xh = (x[i] - m) * rs;
                    sg += g, sgx += g * xh;
                }
                for (int64 i = 0; i < n; ++i) {
                    const double xh = (x[i] - m) * rs, g = double(dy[i]) * (affine ? w[i] : 1.0);
                    const double want_y = affine ? xh * w[i] + b[i] : xh;
                    EXPECT_NEAR(y[i], want_y, 2e-5 * std::max(1.0, std::fabs(want_y))) << what << " y at " << i;
                    EXPECT_NEAR(dx[i], rs * (g - sg / double(n) - xh * sgx / double(n)), 2e-5 * rs) << what << " dx at " << i;
                    EXPECT_NEAR(dw[i], 0.25 + dy[i] * xh, 2e-5) << what << " dw at " << i;
                    EXPECT_NEAR(db[i], -0.5 + dy[i], 1e-6) << what << " db at " << i;
                }
                for (Unaligned* u : {&y, &dx, &dw, &db}) u->expect_guard(what);
            }
}

// The drivers: same bits on one and on two threads (every split is a fixed function of the
// sizes), and the active variant is the one the drivers call.
TEST(VectorKernels, DriversGiveTheSameBitsOnOneAndTwoThreads) {
    const int saved = get_num_threads();
    // 2048 × 1025 floats: past the size where even the cheapest kernels go parallel.
    const int64 rows = 2048, n = 1025, total = rows * n;
    const std::vector<float> x = uniform(total, 8, -4, 4), dy = uniform(total, 9, -1, 1), w = uniform(n, 10, 0.5, 1.5);
    std::vector<std::int64_t> target(static_cast<std::size_t>(rows));
    for (int64 r = 0; r < rows; ++r) target[static_cast<std::size_t>(r)] = r % 7 == 0 ? -100 : (r * 37) % n;
    struct Out {
        std::vector<float> y, dx, sm, lsm_dx, loss, mx_ce, log_sum, ce_dx, ln_y, rstd, ln_dx, dw, db, mx;
        std::vector<double> sums, total_sum, mean;
    };
    auto run = [&](int threads) {
        set_num_threads(threads);
        Out o;
        auto sized = [](int64 k) { return std::vector<float>(static_cast<std::size_t>(k)); };
        o.y = sized(total), o.dx = sized(total), o.sm = sized(total), o.lsm_dx = sized(total), o.ce_dx = sized(total);
        o.loss = sized(rows), o.mx_ce = sized(rows), o.log_sum = sized(rows), o.ln_y = sized(total), o.rstd = sized(rows);
        o.ln_dx = sized(total), o.dw = sized(n), o.db = sized(n), o.mx = sized(rows);
        o.sums.resize(static_cast<std::size_t>(rows));
        o.mean.resize(static_cast<std::size_t>(rows));
        o.total_sum.resize(1);
        kernels::unary(UnaryOp::Gelu, total, x.data(), o.y.data());
        kernels::unary_grad(UnaryOp::Gelu, total, x.data(), dy.data(), o.dx.data());
        kernels::softmax_rows(rows, n, x.data(), o.sm.data(), true);
        kernels::softmax_grad_rows(rows, n, o.sm.data(), dy.data(), o.lsm_dx.data(), true);
        kernels::cross_entropy_rows(rows, n, x.data(), target.data(), -100, 0.1f, o.loss.data(), o.mx_ce.data(),
                                    o.log_sum.data());
        kernels::cross_entropy_grad_rows(rows, n, x.data(), o.mx_ce.data(), o.log_sum.data(), target.data(), -100, 0.1f,
                                         o.loss.data(), o.ce_dx.data());
        kernels::layer_norm_rows(rows, n, x.data(), w.data(), nullptr, 1e-5f, o.ln_y.data(), o.mean.data(), o.rstd.data());
        kernels::layer_norm_grad_rows(rows, n, x.data(), dy.data(), w.data(), o.mean.data(), o.rstd.data(),
                                      o.ln_dx.data(), o.dw.data(), o.db.data());
        kernels::sum_rows(rows, n, x.data(), o.sums.data());
        kernels::sum_rows(1, total, x.data(), o.total_sum.data());
        kernels::max_rows(rows, n, x.data(), o.mx.data());
        return o;
    };
    const Out one = run(1), two = run(2);
    set_num_threads(saved);
    EXPECT_EQ(one.y, two.y);
    EXPECT_EQ(one.dx, two.dx);
    EXPECT_EQ(one.sm, two.sm);
    EXPECT_EQ(one.lsm_dx, two.lsm_dx);
    EXPECT_EQ(one.loss, two.loss);
    EXPECT_EQ(one.ce_dx, two.ce_dx);
    EXPECT_EQ(one.ln_y, two.ln_y);
    EXPECT_EQ(one.ln_dx, two.ln_dx);
    EXPECT_EQ(one.dw, two.dw);
    EXPECT_EQ(one.db, two.db);
    EXPECT_EQ(one.sums, two.sums);
    EXPECT_NEAR(one.total_sum[0], two.total_sum[0], 1e-9);
    EXPECT_EQ(one.mx, two.mx);
    // Ignored rows: loss 0, gradient 0; dw and db agree with a row-by-row scalar sum.
    EXPECT_EQ(one.loss[0], 0.f);
    for (int64 j = 0; j < n; ++j) EXPECT_EQ(one.ce_dx[static_cast<std::size_t>(j)], 0.f);
    for (int64 j = 0; j < n; j += 37) {
        double db = 0;
        for (int64 r = 0; r < rows; ++r) db += dy[static_cast<std::size_t>(r * n + j)];
        EXPECT_NEAR(one.db[static_cast<std::size_t>(j)], db, 1e-4) << "column " << j;
    }
}

// ---- the ops on float32 (the vector kernels) against the same ops on float64 (the generic loops) ----

namespace {

namespace F = graft::nn::functional;

/// x = offset + scale·N(0, 1) as a float32 leaf and the same values as a float64 leaf.
std::pair<Tensor, Tensor> leaves(const Shape& shape, std::uint64_t seed, double scale = 3.0, double offset = 0.0) {
    Generator g(seed);
    const Tensor base = add(mul(randn(shape, DType::Float64, &g), scale), offset);
    Tensor x32 = base.to(DType::Float32).requires_grad_();
    Tensor x64 = x32.detach().to(DType::Float64).requires_grad_();
    return {x32, x64};
}

/// Expects a float32 result within tol·max(1, |ref|) of its float64 twin, element by element.
void expect_matches(const Tensor& got32, const Tensor& want64, double tol, const std::string& what) {
    ASSERT_EQ(got32.shape(), want64.shape()) << what;
    const std::vector<double> got = got32.to_vector<double>(), want = want64.to_vector<double>();
    for (std::size_t i = 0; i < got.size(); ++i)
        ASSERT_NEAR(got[i], want[i], tol * std::max(1.0, std::fabs(want[i]))) << what << " element " << i;
}

/// Runs f on both leaves, backpropagates a fixed random weighting of the output, and compares
/// the outputs and the input gradients.
template <class Op>
void expect_op_matches(Op&& f, const Shape& shape, double tol, const std::string& what, double scale = 3.0,
                       double offset = 0.0) {
    auto [x32, x64] = leaves(shape, 17, scale, offset);
    const Tensor y32 = f(x32), y64 = f(x64);
    expect_matches(y32, y64, tol, what + " forward");
    Generator g(18);
    const Tensor w = randn(y64.shape(), DType::Float64, &g);
    sum(mul(y32, w.to(DType::Float32))).backward();
    sum(mul(y64, w)).backward();
    expect_matches(x32.grad(), x64.grad(), tol, what + " backward");
}

}  // namespace

TEST(VectorKernelsInOps, UnaryOpsOnFloat32MatchFloat64) {
    const IsaGuard guard;
    for (Isa isa : kernels::supported_isas()) {
        kernels::set_active_isa(isa);
        const std::string name = kernels::isa_name(isa);
        expect_op_matches([](const Tensor& x) { return graft::exp(x); }, {7, 33}, 1e-6, name + " exp");
        expect_op_matches([](const Tensor& x) { return graft::log(graft::abs(x)); }, {7, 33}, 1e-6, name + " log");
        expect_op_matches([](const Tensor& x) { return graft::tanh(x); }, {7, 33}, 1e-6, name + " tanh");
        expect_op_matches([](const Tensor& x) { return graft::sigmoid(x); }, {7, 33}, 1e-6, name + " sigmoid");
        expect_op_matches([](const Tensor& x) { return graft::relu(x); }, {7, 33}, 1e-6, name + " relu");
        expect_op_matches([](const Tensor& x) { return graft::gelu(x); }, {7, 33}, 1e-6, name + " gelu");
        expect_op_matches([](const Tensor& x) { return graft::gelu(x, GeluApprox::Tanh); }, {7, 33}, 1e-6,
                          name + " gelu tanh");
        // A strided input takes the generic loop and still agrees.
        expect_op_matches([](const Tensor& x) { return graft::gelu(x.t()); }, {7, 33}, 1e-6, name + " gelu strided");
    }
}

TEST(VectorKernelsInOps, SoftmaxAndCrossEntropyOnFloat32MatchFloat64) {
    const IsaGuard guard;
    for (Isa isa : kernels::supported_isas()) {
        kernels::set_active_isa(isa);
        const std::string name = kernels::isa_name(isa);
        expect_op_matches([](const Tensor& x) { return softmax(x, -1); }, {5, 3, 37}, 2e-6, name + " softmax");
        expect_op_matches([](const Tensor& x) { return log_softmax(x, -1); }, {5, 3, 37}, 2e-6, name + " log_softmax");
        expect_op_matches([](const Tensor& x) { return softmax(x, 1); }, {5, 3, 37}, 2e-6, name + " softmax dim 1");
        const Tensor target = from_vector<std::int64_t>({3, -100, 0, 40, 17, 40}, {6});
        for (double eps : {0.0, 0.2})
            for (F::Reduction r : {F::Reduction::Mean, F::Reduction::Sum, F::Reduction::None}) {
                const std::string what = name + " cross_entropy eps=" + std::to_string(eps) + " reduction=" +
                                         std::to_string(static_cast<int>(r));
                expect_op_matches(
                    [&](const Tensor& x) {
                        return F::cross_entropy(x, target, {.reduction = r, .ignore_index = -100, .label_smoothing = eps});
                    },
                    {6, 41}, 5e-6, what, 10.0);
            }
    }
}

TEST(VectorKernelsInOps, LayerNormOnFloat32MatchesFloat64) {
    const IsaGuard guard;
    for (Isa isa : kernels::supported_isas()) {
        kernels::set_active_isa(isa);
        const std::string name = kernels::isa_name(isa);
        auto [w32, w64] = leaves({45}, 3, 1.0);
        auto [b32, b64] = leaves({45}, 4, 1.0);
        expect_op_matches(
            [&](const Tensor& x) {
                const bool f32 = x.dtype() == DType::Float32;
                return F::layer_norm(x, {45}, f32 ? w32 : w64, f32 ? b32 : b64, 1e-5);
            },
            {70, 45}, 2e-5, name + " layer_norm (mean 1000)", 3.0, 1000.0);
        expect_matches(w32.grad(), w64.grad(), 2e-5, name + " layer_norm dweight");
        expect_matches(b32.grad(), b64.grad(), 2e-5, name + " layer_norm dbias");
        expect_op_matches([](const Tensor& x) { return F::layer_norm(x, {45}, Tensor(), Tensor(), 1e-5); }, {3, 45}, 2e-5,
                          name + " layer_norm plain");
    }
}

TEST(VectorKernelsInOps, SumMeanMaxOnFloat32MatchFloat64) {
    const IsaGuard guard;
    for (Isa isa : kernels::supported_isas()) {
        kernels::set_active_isa(isa);
        const std::string name = kernels::isa_name(isa);
        auto [x32, x64] = leaves({9, 130}, 5);
        expect_matches(sum(x32), sum(x64), 1e-6, name + " sum");
        expect_matches(sum(x32, {1}), sum(x64, {1}), 1e-6, name + " sum dim 1");
        expect_matches(mean(x32, {0}), mean(x64, {0}), 1e-6, name + " mean dim 0");
        expect_matches(graft::max(x32), graft::max(x64), 0, name + " max");
        const auto [v32, i32] = graft::max(x32, 1, false);
        const auto [v64, i64] = graft::max(x64, 1, false);
        expect_matches(v32, v64, 0, name + " max dim 1 values");
        EXPECT_EQ(i32.to_vector<std::int64_t>(), i64.to_vector<std::int64_t>()) << name << " max dim 1 indices";
        Tensor with_nan = x32.detach().clone();
        with_nan.data_ptr<float>()[140] = NAN;
        const auto [vn, in] = graft::max(with_nan, 1, false);
        EXPECT_TRUE(std::isnan(vn.to_vector<float>()[1])) << name;
        EXPECT_EQ(in.to_vector<std::int64_t>()[1], 10) << name << ": the NaN's index";
    }
}
