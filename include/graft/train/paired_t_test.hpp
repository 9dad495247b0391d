// graft/train/paired_t_test.hpp — Student's paired t-test, for comparing two recipes run on the
// same seeds (the same examples and initialisations): is the mean difference real or noise?
//
//   train::PairedTTest t = train::paired_t_test(finetuned_acc, scratch_acc);  // one value per seed
//   std::printf("%+.3f (t = %.2f, %lld df, p = %.3g)\n", t.mean_difference, t.t, (long long)t.df, t.p_value);
#pragma once

#include <cstdint>
#include <vector>

namespace graft::train {

struct PairedTTest {
    double mean_difference = 0.0;  ///< mean of a[i] − b[i]
    double t = 0.0;                ///< mean / (sd / √n); ±infinity when every difference is equal and non-zero
    std::int64_t df = 0;           ///< n − 1
    double p_value = 1.0;          ///< two-sided: P(|T| ≥ |t|) for T ~ Student t with df degrees of freedom
};

/// The paired t-test of a against b. ValueError unless both hold the same number (≥ 2) of finite values.
PairedTTest paired_t_test(const std::vector<double>& a, const std::vector<double>& b);

/// P(|T| ≥ |t|) for Student's t with `df` (≥ 1) degrees of freedom, from the regularized
/// incomplete beta function I_{df/(df+t²)}(df/2, 1/2). ValueError for df < 1 or a NaN t.
double student_t_two_sided_p(double t, double df);

}  // namespace graft::train
