// train::paired_t_test and student_t_two_sided_p against tabulated Student t quantiles and a
// hand-computed t statistic.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "graft/graft.hpp"
#include "test_util.hpp"

using namespace graft;

TEST(PairedTTest, TailMatchesTabulatedQuantiles) {
    // Two-sided critical values of Student's t (any statistics table).
    EXPECT_NEAR(train::student_t_two_sided_p(12.7062047, 1), 0.05, 1e-7);
    EXPECT_NEAR(train::student_t_two_sided_p(2.7764451, 4), 0.05, 1e-7);
    EXPECT_NEAR(train::student_t_two_sided_p(-4.6040949, 4), 0.01, 1e-7);
    EXPECT_NEAR(train::student_t_two_sided_p(3.2498355, 9), 0.01, 1e-7);
    EXPECT_NEAR(train::student_t_two_sided_p(1.9839715, 100), 0.05, 1e-7);
    EXPECT_NEAR(train::student_t_two_sided_p(0.0, 7), 1.0, 1e-12);
    EXPECT_EQ(train::student_t_two_sided_p(std::numeric_limits<double>::infinity(), 3), 0.0);
    EXPECT_THROW_MSG(train::student_t_two_sided_p(1.0, 0.5), ValueError, "df must be >= 1");
}

TEST(PairedTTest, StatisticOfKnownPairs) {
    // Differences 1, 2, 3, 4, 5: mean 3, sd √2.5, t = 3 / (√2.5 / √5) = 3√2.
    const auto r = train::paired_t_test({2, 4, 6, 8, 10}, {1, 2, 3, 4, 5});
    EXPECT_DOUBLE_EQ(r.mean_difference, 3.0);
    EXPECT_NEAR(r.t, 3.0 * std::sqrt(2.0), 1e-12);
    EXPECT_EQ(r.df, 4);
    EXPECT_NEAR(r.p_value, train::student_t_two_sided_p(3.0 * std::sqrt(2.0), 4), 1e-15);
    EXPECT_GT(r.p_value, 0.01);
    EXPECT_LT(r.p_value, 0.05);
    // Swapping the samples flips t, not p.
    const auto s = train::paired_t_test({1, 2, 3, 4, 5}, {2, 4, 6, 8, 10});
    EXPECT_NEAR(s.t, -r.t, 1e-12);
    EXPECT_NEAR(s.p_value, r.p_value, 1e-15);
    // Equal differences: no spread.
    EXPECT_EQ(train::paired_t_test({1, 2}, {0, 1}).p_value, 0.0);
    EXPECT_EQ(train::paired_t_test({1, 2}, {1, 2}).p_value, 1.0);
}

TEST(PairedTTest, BadInputIsAClearError) {
    EXPECT_THROW_MSG(train::paired_t_test({1, 2, 3}, {1, 2}), ValueError, "differ in size (3 and 2)");
    EXPECT_THROW_MSG(train::paired_t_test({1}, {2}), ValueError, "at least 2 pairs, got 1");
    EXPECT_THROW_MSG(train::paired_t_test({1, std::nan("")}, {1, 2}), ValueError, "pair 1 is not finite");
}
