// The paired t-test and the Student t tail it needs: the regularized incomplete beta function by
// Lentz's continued fraction (the form of Numerical Recipes' betacf, ~1e-12 accurate).
#include "graft/train/paired_t_test.hpp"

#include <cmath>
#include <limits>
#include <string>

#include "graft/error.hpp"

namespace graft::train {

namespace {

/// The continued fraction of I_x(a, b), converging fast for x < (a + 1) / (a + b + 2).
double beta_continued_fraction(double a, double b, double x) {
    constexpr double tiny = 1e-300, eps = 1e-15;
    double c = 1.0, d = 1.0 - (a + b) * x / (a + 1.0);
    if (std::fabs(d) < tiny) d = tiny;
    d = 1.0 / d;
    double h = d;
    for (int m = 1; m <= 500; ++m) {
        const double m2 = 2.0 * m;
        double aa = m * (b - m) * x / ((a + m2 - 1.0) * (a + m2));  // even step
        d = 1.0 + aa * d;
        if (std::fabs(d) < tiny) d = tiny;
        c = 1.0 + aa / c;
        if (std::fabs(c) < tiny) c = tiny;
        d = 1.0 / d;
        h *= d * c;
        aa = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1.0));  // odd step
        d = 1.0 + aa * d;
        if (std::fabs(d) < tiny) d = tiny;
        c = 1.0 + aa / c;
        if (std::fabs(c) < tiny) c = tiny;
        d = 1.0 / d;
        const double del = d * c;
        h *= del;
        if (std::fabs(del - 1.0) < eps) break;
    }
    return h;
}

/// I_x(a, b), the regularized incomplete beta function, for 0 ≤ x ≤ 1.
double incomplete_beta(double a, double b, double x) {
    if (x <= 0.0) return 0.0;
    if (x >= 1.0) return 1.0;
    const double front =
        std::exp(std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) + b * std::log1p(-x));
    if (x < (a + 1.0) / (a + b + 2.0)) return front * beta_continued_fraction(a, b, x) / a;
    return 1.0 - front * beta_continued_fraction(b, a, 1.0 - x) / b;
}

}  // namespace

double student_t_two_sided_p(double t, double df) {
    if (!(df >= 1.0)) throw ValueError("student_t_two_sided_p: df must be >= 1, got " + std::to_string(df));
    if (std::isnan(t)) throw ValueError("student_t_two_sided_p: t is NaN");
    if (std::isinf(t)) return 0.0;
    return incomplete_beta(df / 2.0, 0.5, df / (df + t * t));
}

PairedTTest paired_t_test(const std::vector<double>& a, const std::vector<double>& b) {
    if (a.size() != b.size())
        throw ValueError("paired_t_test: the samples differ in size (" + std::to_string(a.size()) + " and " +
                         std::to_string(b.size()) + "); a paired test needs one value of each per pair");
    if (a.size() < 2) throw ValueError("paired_t_test: needs at least 2 pairs, got " + std::to_string(a.size()));
    const double n = static_cast<double>(a.size());
    double mean = 0.0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (!std::isfinite(a[i]) || !std::isfinite(b[i]))
            throw ValueError("paired_t_test: pair " + std::to_string(i) + " is not finite (" + std::to_string(a[i]) +
                             ", " + std::to_string(b[i]) + ")");
        mean += (a[i] - b[i]) / n;
    }
    double ss = 0.0;
    for (std::size_t i = 0; i < a.size(); ++i) ss += (a[i] - b[i] - mean) * (a[i] - b[i] - mean);
    PairedTTest r;
    r.mean_difference = mean;
    r.df = static_cast<std::int64_t>(a.size()) - 1;
    const double se = std::sqrt(ss / (n - 1.0) / n);
    if (se == 0.0) {
        r.t = mean == 0.0 ? 0.0 : std::copysign(std::numeric_limits<double>::infinity(), mean);
        r.p_value = mean == 0.0 ? 1.0 : 0.0;
        return r;
    }
    r.t = mean / se;
    r.p_value = student_t_two_sided_p(r.t, static_cast<double>(r.df));
    return r;
}

}  // namespace graft::train
