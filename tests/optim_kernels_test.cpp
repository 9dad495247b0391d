// The fused optimizer update kernels (kernels/optim): every float32 ISA variant this CPU runs
// against the scalar reference, at sizes around the vector widths (1, 7, 8, 9, 15, 16, 17, …)
// and for every option combination; the masked tail never writes past n; the float and double
// scalar kernels agree; and the drivers, split over two threads, give the same bits as one call.
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/cpu/cpu_features.hpp"
#include "kernels/cpu/parallel.hpp"
#include "kernels/optim/optim.hpp"
#include "test_util.hpp"

using namespace graft;
using kernels::int64;
using kernels::Isa;

namespace {

constexpr float SENTINEL = 777.25f;
constexpr int64 PAD = 16;  // elements past n that must stay untouched
const std::vector<int64> SIZES = {1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 1000};

/// n values uniform in [lo, hi), followed by PAD sentinels.
std::vector<float> values(int64 n, std::uint64_t seed, double lo, double hi) {
    Generator g(seed);
    std::vector<float> v(static_cast<std::size_t>(n + PAD), SENTINEL);
    for (int64 i = 0; i < n; ++i) v[static_cast<std::size_t>(i)] = static_cast<float>(lo + (hi - lo) * g.uniform());
    return v;
}

/// Expects a variant's buffer to equal the reference's within a few float32 roundings of the
/// O(1) inputs (FMA vs separate multiply and add; an update that cancels a value to near zero
/// keeps the rounding of its terms), and the padding after n to hold the sentinel.
void expect_close(const std::vector<float>& got, const std::vector<float>& want, int64 n, const std::string& what) {
    double worst = 0;
    for (int64 i = 0; i < n; ++i) {
        const auto k = static_cast<std::size_t>(i);
        const double err = std::fabs(double(got[k]) - double(want[k])) / std::max(1.0, std::fabs(double(want[k])));
        worst = std::max(worst, err);
    }
    EXPECT_LE(worst, 1e-6) << what << ": largest difference to the scalar kernel, relative to max(1, |value|)";
    for (int64 i = n; i < n + PAD; ++i)
        ASSERT_EQ(got[static_cast<std::size_t>(i)], SENTINEL) << what << ": wrote past n at " << i;
}

std::vector<Isa> vector_isas() {
    std::vector<Isa> out;
    for (Isa isa : kernels::supported_isas())
        if (isa != Isa::Scalar) out.push_back(isa);
    return out;
}

std::string label(Isa isa, int64 n, int config) {
    return std::string(kernels::isa_name(isa)) + " n=" + std::to_string(n) + " config=" + std::to_string(config);
}

kernels::AdamCoeffs<float> adam_coeffs(int config) {
    const bool decoupled = config & 1, amsgrad_l2 = config & 2, maximize = config & 4;
    const double lr = 0.01, wd = 0.05, b1 = 0.9, b2 = 0.99, t = 3;
    return {float(b1), float(b2), float(1 - b1), float(1 - b2),
            float(!decoupled && amsgrad_l2 ? wd : 0.0), float(decoupled ? 1 - lr * wd : 1.0),
            float(-lr / (1 - std::pow(b1, t))), float(std::sqrt(1 - std::pow(b2, t))), 1e-8f, maximize};
}

}  // namespace

TEST(OptimKernels, VariantsAreListed) {
    for (Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Avx512}) {
        const kernels::F32OptimVariant& v = kernels::f32_optim_variant(isa);
        EXPECT_EQ(v.isa, isa);
        EXPECT_STREQ(v.name, kernels::isa_name(isa));
        EXPECT_NE(v.adam, nullptr);
        EXPECT_NE(v.sgd, nullptr);
        EXPECT_NE(v.rmsprop, nullptr);
    }
}

TEST(OptimKernels, AdamVariantsMatchScalar) {
    if (vector_isas().empty()) GTEST_SKIP() << "this CPU runs only the scalar variant";
    for (Isa isa : vector_isas())
        for (int64 n : SIZES)
            for (int config = 0; config < 8; ++config) {
                const bool amsgrad = config & 2;
                const auto c = adam_coeffs(config);
                auto p = values(n, 1, -1, 1), g = values(n, 2, -2, 2), m = values(n, 3, -0.5, 0.5);
                auto v = values(n, 4, 0, 1), vmax = values(n, 5, 0, 1.5);
                auto p2 = p, m2 = m, v2 = v, vmax2 = vmax;
                kernels::adam_scalar<float>(n, p.data(), g.data(), m.data(), v.data(), amsgrad ? vmax.data() : nullptr, c);
                kernels::f32_optim_variant(isa).adam(n, p2.data(), g.data(), m2.data(), v2.data(),
                                                     amsgrad ? vmax2.data() : nullptr, c);
                const std::string what = "adam " + label(isa, n, config);
                expect_close(p2, p, n, what + " p");
                expect_close(m2, m, n, what + " m");
                expect_close(v2, v, n, what + " v");
                expect_close(vmax2, vmax, n, what + " vmax");
            }
}

TEST(OptimKernels, SgdVariantsMatchScalar) {
    if (vector_isas().empty()) GTEST_SKIP() << "this CPU runs only the scalar variant";
    for (Isa isa : vector_isas())
        for (int64 n : SIZES)
            for (int config = 0; config < 32; ++config) {
                const bool momentum = config & 1, nesterov = (config & 2) && momentum;
                const kernels::SgdCoeffs<float> c{-0.1f, (config & 4) ? 0.01f : 0.0f, 0.9f, 0.7f, nesterov,
                                                  bool(config & 8), bool(config & 16)};
                auto p = values(n, 11, -1, 1), g = values(n, 12, -2, 2), buf = values(n, 13, -1, 1);
                auto p2 = p, buf2 = buf;
                kernels::sgd_scalar<float>(n, p.data(), g.data(), momentum ? buf.data() : nullptr, c);
                kernels::f32_optim_variant(isa).sgd(n, p2.data(), g.data(), momentum ? buf2.data() : nullptr, c);
                const std::string what = "sgd " + label(isa, n, config);
                expect_close(p2, p, n, what + " p");
                expect_close(buf2, buf, n, what + " buf");
            }
}

TEST(OptimKernels, RmspropVariantsMatchScalar) {
    if (vector_isas().empty()) GTEST_SKIP() << "this CPU runs only the scalar variant";
    for (Isa isa : vector_isas())
        for (int64 n : SIZES)
            for (int config = 0; config < 16; ++config) {
                const bool centered = config & 1, momentum = config & 2;
                const kernels::RmspropCoeffs<float> c{0.9f, 0.1f, 1e-8f, (config & 4) ? 0.1f : 0.0f, 0.5f, -0.01f,
                                                      bool(config & 8)};
                auto p = values(n, 21, -1, 1), g = values(n, 22, -2, 2), avg = values(n, 23, -0.5, 0.5);
                auto sq = values(n, 24, 0.1, 1), buf = values(n, 25, -1, 1);
                for (int64 i = 0; i < n; ++i) sq[std::size_t(i)] += avg[std::size_t(i)] * avg[std::size_t(i)];
                auto p2 = p, avg2 = avg, sq2 = sq, buf2 = buf;
                kernels::rmsprop_scalar<float>(n, p.data(), g.data(), sq.data(), centered ? avg.data() : nullptr,
                                               momentum ? buf.data() : nullptr, c);
                kernels::f32_optim_variant(isa).rmsprop(n, p2.data(), g.data(), sq2.data(),
                                                        centered ? avg2.data() : nullptr,
                                                        momentum ? buf2.data() : nullptr, c);
                const std::string what = "rmsprop " + label(isa, n, config);
                expect_close(p2, p, n, what + " p");
                expect_close(sq2, sq, n, what + " square_avg");
                expect_close(avg2, avg, n, what + " grad_avg");
                expect_close(buf2, buf, n, what + " buf");
            }
}

TEST(OptimKernels, ScalarFloatAgreesWithDouble) {
    const int64 n = 37;
    auto p = values(n, 31, -1, 1), g = values(n, 32, -2, 2), m = values(n, 33, -0.5, 0.5), v = values(n, 34, 0, 1);
    std::vector<double> pd(p.begin(), p.end()), gd(g.begin(), g.end()), md(m.begin(), m.end()), vd(v.begin(), v.end());
    const auto c = adam_coeffs(1);
    const kernels::AdamCoeffs<double> cd{c.beta1, c.beta2, c.one_minus_beta1, c.one_minus_beta2, c.l2,
                                         c.decay, c.neg_step_size, c.bias_correction2_sqrt, c.eps, c.maximize};
    kernels::adam_scalar<float>(n, p.data(), g.data(), m.data(), v.data(), nullptr, c);
    kernels::adam_scalar<double>(n, pd.data(), gd.data(), md.data(), vd.data(), nullptr, cd);
    for (int64 i = 0; i < n; ++i) EXPECT_NEAR(p[std::size_t(i)], pd[std::size_t(i)], 1e-6) << i;
}

TEST(OptimKernels, ThreadedDriverMatchesOneCall) {
    // 200 003 elements: above the driver's threading threshold, not a multiple of any width.
    const int64 n = 200003;
    const Isa before = kernels::active_isa();
    const int threads_before = kernels::num_threads();
    kernels::set_num_threads(2);
    for (Isa isa : kernels::supported_isas()) {
        kernels::set_active_isa(isa);
        const auto c = adam_coeffs(7);
        auto p = values(n, 41, -1, 1), g = values(n, 42, -2, 2), m = values(n, 43, -0.5, 0.5);
        auto v = values(n, 44, 0, 1), vmax = values(n, 45, 0, 1.5);
        auto p2 = p, m2 = m, v2 = v, vmax2 = vmax;
        kernels::adam_update(n, p.data(), g.data(), m.data(), v.data(), vmax.data(), c);
        kernels::f32_optim_variant(isa).adam(n, p2.data(), g.data(), m2.data(), v2.data(), vmax2.data(), c);
        EXPECT_EQ(p, p2) << kernels::isa_name(isa);
        EXPECT_EQ(m, m2) << kernels::isa_name(isa);
        EXPECT_EQ(vmax, vmax2) << kernels::isa_name(isa);

        const kernels::SgdCoeffs<float> sc{-0.1f, 0.01f, 0.9f, 1.0f, true, false, false};
        auto q = values(n, 46, -1, 1), buf = values(n, 47, -1, 1);
        auto q2 = q, buf2 = buf;
        kernels::sgd_update(n, q.data(), g.data(), buf.data(), sc);
        kernels::f32_optim_variant(isa).sgd(n, q2.data(), g.data(), buf2.data(), sc);
        EXPECT_EQ(q, q2) << kernels::isa_name(isa);
        EXPECT_EQ(buf, buf2) << kernels::isa_name(isa);
    }
    kernels::set_active_isa(before);
    kernels::set_num_threads(threads_before);
}
