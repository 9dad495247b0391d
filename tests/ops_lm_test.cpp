// The tensor ops language models need: gather, scatter, scatter_add, index_add, logsumexp, cumsum,
// topk, sort, one_hot, cross_entropy with class weights and with probability targets, and
// float32/float64 promotion in binary ops — PyTorch goldens (tests/golden/make_ops_golden.py,
// values and the gradient of Σ out·R), gradchecks in float64, and the error paths.
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "golden_compare.hpp"
#include "test_util.hpp"

using namespace graft;
using graft::test::leaf64;
namespace F = graft::nn::functional;
using F::Reduction;

namespace {

const StateDict& golden() {
    static const StateDict g = io::load_safetensors(std::filesystem::path(GRAFT_TEST_DATA_DIR) / "ops.safetensors");
    return g;
}

using Inputs = std::map<std::string, Tensor>;
using CaseFn = std::function<std::pair<Tensor, Tensor>(const Inputs&)>;

constexpr test::Tolerance kTol{1e-5, 1e-4};

/// Runs `fn` on the case's inputs (those PyTorch recorded a gradient for require grad here too),
/// compares the output (and the indices, for sort/topk) and the gradients of Σ out·R.
void check_case(const std::string& c, const std::vector<std::string>& names, const CaseFn& fn) {
    SCOPED_TRACE(c);
    Inputs in;
    for (const auto& n : names) {
        Tensor t = golden().at(c + "." + n).clone();
        if (golden().contains(c + ".grad_" + n)) t.requires_grad_();
        in[n] = t;
    }
    const auto [out, indices] = fn(in);
    test::expect_close(c + ".out", out, golden().at(c + ".out"), kTol);
    if (golden().contains(c + ".indices")) {
        ASSERT_TRUE(indices.defined());
        EXPECT_EQ(indices.to_vector<std::int64_t>(), golden().at(c + ".indices").to_vector<std::int64_t>());
    }
    if (!golden().contains(c + ".R")) return;
    sum(mul(out, golden().at(c + ".R"))).backward();
    for (const auto& n : names)
        if (golden().contains(c + ".grad_" + n))
            test::expect_close(c + ".grad_" + n, in.at(n).grad(), golden().at(c + ".grad_" + n), kTol);
}

CaseFn single(std::function<Tensor(const Inputs&)> f) {
    return [f](const Inputs& in) { return std::pair<Tensor, Tensor>{f(in), Tensor()}; };
}

Tensor ints(const std::vector<std::int64_t>& v, const Shape& shape) { return from_vector<std::int64_t>(v, shape); }

}  // namespace

// ---- against PyTorch --------------------------------------------------------------------------

TEST(OpsGolden, GatherScatterIndexAdd) {
    check_case("gather0", {"x", "index"}, single([](const Inputs& in) { return gather(in.at("x"), 0, in.at("index")); }));
    check_case("gather1", {"x", "index"}, single([](const Inputs& in) { return gather(in.at("x"), 1, in.at("index")); }));
    check_case("gather2", {"x", "index"}, single([](const Inputs& in) { return gather(in.at("x"), -1, in.at("index")); }));
    check_case("scatter", {"x", "index", "src"},
               single([](const Inputs& in) { return scatter(in.at("x"), 1, in.at("index"), in.at("src")); }));
    check_case("scatter_add", {"x", "index", "src"},
               single([](const Inputs& in) { return scatter_add(in.at("x"), 0, in.at("index"), in.at("src")); }));
    check_case("index_add", {"x", "index", "src"},
               single([](const Inputs& in) { return index_add(in.at("x"), 0, in.at("index"), in.at("src"), 0.5); }));
}

TEST(OpsGolden, LogsumexpAndCumsum) {
    check_case("logsumexp1", {"x"}, single([](const Inputs& in) { return logsumexp(in.at("x"), {1}); }));
    check_case("logsumexp02", {"x"}, single([](const Inputs& in) { return logsumexp(in.at("x"), {0, 2}, true); }));
    // A slice of −inf gives −inf (compared apart: −inf − −inf is NaN), the others their values.
    const Tensor want = golden().at("logsumexp_inf.out");
    const Tensor got = logsumexp(golden().at("logsumexp_inf.x"), {2});
    const Tensor minus_inf = eq(want, -std::numeric_limits<double>::infinity());
    EXPECT_EQ(sum(minus_inf.to(DType::Int64)).item<std::int64_t>(), 1);
    EXPECT_EQ(eq(got, -std::numeric_limits<double>::infinity()).to(DType::Int64).to_vector<std::int64_t>(),
              minus_inf.to(DType::Int64).to_vector<std::int64_t>());
    test::expect_close("logsumexp_inf.out", masked_fill(got, minus_inf, 0.0), masked_fill(want, minus_inf, 0.0), kTol);
    check_case("cumsum1", {"x"}, single([](const Inputs& in) { return cumsum(in.at("x"), 1); }));
    check_case("cumsum_last", {"x"}, single([](const Inputs& in) { return cumsum(in.at("x"), -1); }));
}

TEST(OpsGolden, TopkAndSort) {
    check_case("topk_largest", {"x"}, [](const Inputs& in) { return topk(in.at("x"), 3, 1); });
    check_case("topk_smallest", {"x"}, [](const Inputs& in) { return topk(in.at("x"), 2, 0, /*largest=*/false); });
    check_case("sort_asc", {"x"}, [](const Inputs& in) { return sort(in.at("x"), 1); });
    check_case("sort_desc", {"x"}, [](const Inputs& in) { return sort(in.at("x"), 0, /*descending=*/true); });
    check_case("sort_stable", {"x"}, [](const Inputs& in) { return sort(in.at("x"), 1, true, /*stable=*/true); });
}

TEST(OpsGolden, OneHot) {
    const Tensor got = one_hot(golden().at("one_hot.indices"), 6);
    EXPECT_EQ(got.dtype(), DType::Int64);
    EXPECT_EQ(got.shape(), golden().at("one_hot.out").shape());
    EXPECT_EQ(got.to_vector<std::int64_t>(), golden().at("one_hot.out").to_vector<std::int64_t>());
}

TEST(OpsGolden, CrossEntropyWithClassWeights) {
    for (const auto& [reduction, name] :
         {std::pair{Reduction::Mean, "mean"}, std::pair{Reduction::Sum, "sum"}, std::pair{Reduction::None, "none"}})
        for (const auto& [eps, tag] : {std::pair{0.0, "0"}, std::pair{0.1, "1"}}) {
            const std::string c = std::string("ce_weight_") + name + "_" + tag;
            check_case(c, {"logits", "weight", "target"}, single([&](const Inputs& in) {
                           return F::cross_entropy(in.at("logits"), in.at("target"),
                                                   {.reduction = reduction, .label_smoothing = eps,
                                                    .weight = in.at("weight")});
                       }));
        }
    check_case("ce_weight_kdim", {"logits", "weight", "target"}, single([](const Inputs& in) {
                   return F::cross_entropy(in.at("logits"), in.at("target"),
                                           {.label_smoothing = 0.2, .weight = in.at("weight")});
               }));
}

TEST(OpsGolden, CrossEntropyWithProbabilityTargets) {
    for (const auto& [reduction, name] :
         {std::pair{Reduction::Mean, "mean"}, std::pair{Reduction::Sum, "sum"}, std::pair{Reduction::None, "none"}})
        check_case(std::string("ce_prob_") + name, {"logits", "probs"}, single([&](const Inputs& in) {
                       return F::cross_entropy(in.at("logits"), in.at("probs"), {.reduction = reduction});
                   }));
    check_case("ce_prob_weight_smooth", {"logits", "probs", "weight"}, single([](const Inputs& in) {
                   return F::cross_entropy(in.at("logits"), in.at("probs"),
                                           {.label_smoothing = 0.3, .weight = in.at("weight")});
               }));
    check_case("ce_prob_kdim", {"logits", "probs"}, single([](const Inputs& in) {
                   return F::cross_entropy(in.at("logits"), in.at("probs"), {.label_smoothing = 0.1});
               }));
}

TEST(OpsGolden, Float32WithFloat64Promotes) {
    check_case("promote", {"a", "b"}, single([](const Inputs& in) {
                   const Tensor &a = in.at("a"), &b = in.at("b");
                   const Tensor out = add(mul(a, b), div(a, add(abs(b), 1.0)));
                   EXPECT_EQ(out.dtype(), DType::Float64);
                   return out;
               }));
}

// tests/golden/make_ops_golden.py's random cases: per op, shapes of 1 to 4 dims, random dims,
// k, directions, reductions, smoothing and weights.
TEST(OpsGolden, RandomCases) {
    const auto opt = [](const std::string& c, const char* name) { return golden().at(c + "." + name); };
    const auto int_opt = [&](const std::string& c, const char* name) { return opt(c, name).item<std::int64_t>(); };
    int cases = 0;
    for (int i = 0; golden().contains("rgather" + std::to_string(i) + ".x"); ++i) {
        const std::string n = std::to_string(i);
        check_case("rgather" + n, {"x", "index"}, single([&](const Inputs& in) {
                       return gather(in.at("x"), int_opt("rgather" + n, "dim"), in.at("index"));
                   }));
        check_case("rscatter_add" + n, {"x", "index", "src"}, single([&](const Inputs& in) {
                       return scatter_add(in.at("x"), int_opt("rscatter_add" + n, "dim"), in.at("index"), in.at("src"));
                   }));
        check_case("rindex_add" + n, {"x", "index", "src"}, single([&](const Inputs& in) {
                       return index_add(in.at("x"), int_opt("rindex_add" + n, "dim"), in.at("index"), in.at("src"), 0.75);
                   }));
        check_case("rlogsumexp" + n, {"x"}, single([&](const Inputs& in) {
                       const std::string c = "rlogsumexp" + n;
                       return logsumexp(in.at("x"), opt(c, "dims").to_vector<std::int64_t>(), int_opt(c, "keepdim") != 0);
                   }));
        check_case("rcumsum" + n, {"x"},
                   single([&](const Inputs& in) { return cumsum(in.at("x"), int_opt("rcumsum" + n, "dim")); }));
        check_case("rtopk" + n, {"x"}, [&](const Inputs& in) {
            const std::string c = "rtopk" + n;
            return topk(in.at("x"), int_opt(c, "k"), int_opt(c, "dim"), int_opt(c, "largest") != 0);
        });
        check_case("rsort" + n, {"x"}, [&](const Inputs& in) {
            const std::string c = "rsort" + n;
            return sort(in.at("x"), int_opt(c, "dim"), int_opt(c, "descending") != 0);
        });
        const auto ce_options = [&](const std::string& c) {
            const Reduction reductions[] = {Reduction::None, Reduction::Mean, Reduction::Sum};
            return F::CrossEntropyOptions{.reduction = reductions[int_opt(c, "reduction")],
                                          .label_smoothing = opt(c, "eps").item<double>(),
                                          .weight = opt(c, "weight")};
        };
        check_case("rce_weight" + n, {"logits", "target"}, single([&](const Inputs& in) {
                       return F::cross_entropy(in.at("logits"), in.at("target"), ce_options("rce_weight" + n));
                   }));
        check_case("rce_prob" + n, {"logits"}, single([&](const Inputs& in) {
                       return F::cross_entropy(in.at("logits"), opt("rce_prob" + n, "probs"), ce_options("rce_prob" + n));
                   }));
        ++cases;
    }
    EXPECT_EQ(cases, 12);
}

// ---- gradchecks (float64) --------------------------------------------------------------------

TEST(OpsGradcheck, GatherScatterIndexAdd) {
    const Tensor index = ints({2, 0, 1, 1, 2, 2, 0, 0}, {2, 4});
    EXPECT_GRADCHECK([&](const std::vector<Tensor>& in) { return gather(in[0], 0, index); }, leaf64({3, 5}, 1));
    EXPECT_GRADCHECK([&](const std::vector<Tensor>& in) { return gather(in[0], 1, index); }, leaf64({2, 6}, 2));
    const Tensor unique = ints({3, 0, 1, 4, 2, 0}, {2, 3});  // distinct per row: scatter is well defined
    EXPECT_GRADCHECK([&](const std::vector<Tensor>& in) { return scatter(in[0], 1, unique, in[1]); },
                     leaf64({2, 5}, 3), leaf64({2, 3}, 4));
    // A src larger than the index: only its first elements are read, the rest get zero gradient.
    EXPECT_GRADCHECK([&](const std::vector<Tensor>& in) { return scatter(in[0], 1, unique, in[1]); },
                     leaf64({2, 5}, 3), leaf64({3, 4}, 4));
    EXPECT_GRADCHECK([&](const std::vector<Tensor>& in) { return scatter_add(in[0], 0, index, in[1]); },
                     leaf64({3, 4}, 5), leaf64({2, 4}, 6));
    const Tensor rows = ints({1, 1, 0}, {3});
    EXPECT_GRADCHECK([&](const std::vector<Tensor>& in) { return index_add(in[0], 1, rows, in[1], -1.5); },
                     leaf64({2, 3, 2}, 7), leaf64({2, 3, 2}, 8));
}

TEST(OpsGradcheck, LogsumexpCumsumSortTopk) {
    EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return logsumexp(in[0], {1}); }, leaf64({3, 4}, 1));
    EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return logsumexp(in[0], {0, 2}, true); },
                     leaf64({2, 3, 4}, 2));
    EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return cumsum(in[0], 0); }, leaf64({4, 3}, 3));
    EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return cumsum(in[0], -1); }, leaf64({2, 3, 5}, 4));
    EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return sort(in[0], 1, true).first; }, leaf64({3, 6}, 5));
    EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return topk(in[0], 2, 0, false).first; }, leaf64({5, 3}, 6));
}

TEST(OpsGradcheck, CrossEntropyWeightedAndProbabilities) {
    const Tensor target = ints({1, -100, 3, 0, 2}, {5});
    const Tensor weight = from_vector<double>({0.5, 2.0, 1.0, 1.5});
    for (const double eps : {0.0, 0.2})
        EXPECT_GRADCHECK(
            [&](const std::vector<Tensor>& in) {
                return F::cross_entropy(in[0], target, {.label_smoothing = eps, .weight = weight});
            },
            leaf64({5, 4}, 1));
    const Tensor probs = softmax(leaf64({5, 4}, 2).detach(), 1);
    EXPECT_GRADCHECK(
        [&](const std::vector<Tensor>& in) {
            return F::cross_entropy(in[0], probs, {.reduction = Reduction::Sum, .label_smoothing = 0.1, .weight = weight});
        },
        leaf64({5, 4}, 3));
}

// ---- behaviour and errors --------------------------------------------------------------------

TEST(OpsLm, ValuesByHand) {
    const Tensor x = from_vector<float>({1, 5, 2, 5, 3, 0}, {2, 3});
    EXPECT_EQ(gather(x, 1, ints({2, 2, 0, 1}, {2, 2})).to_vector<float>(), (std::vector<float>{2, 2, 5, 3}));
    EXPECT_EQ(scatter(zeros({2, 3}), 1, ints({2, 0}, {2, 1}), 7.0).to_vector<float>(),
              (std::vector<float>{0, 0, 7, 7, 0, 0}));
    EXPECT_EQ(cumsum(ints({1, 2, 3}, {3}), 0).to_vector<std::int64_t>(), (std::vector<std::int64_t>{1, 3, 6}));
    const auto [values, indices] = topk(x, 2, 1);
    EXPECT_EQ(values.to_vector<float>(), (std::vector<float>{5, 2, 5, 3}));
    EXPECT_EQ(indices.to_vector<std::int64_t>(), (std::vector<std::int64_t>{1, 2, 0, 1}));
    const float nan = std::numeric_limits<float>::quiet_NaN();
    const auto sorted = sort(from_vector<float>({2, nan, -1}), 0).second;
    EXPECT_EQ(sorted.to_vector<std::int64_t>(), (std::vector<std::int64_t>{2, 0, 1}));  // NaN largest
    EXPECT_EQ(one_hot(ints({0, 2}, {2})).to_vector<std::int64_t>(), (std::vector<std::int64_t>{1, 0, 0, 0, 0, 1}));
    const float inf = std::numeric_limits<float>::infinity();
    EXPECT_EQ(logsumexp(from_vector<float>({-inf, -inf}), {0}).item<float>(), -inf);
    EXPECT_EQ(logsumexp(from_vector<float>({inf, 1}), {0}).item<float>(), inf);
}

TEST(OpsLm, WeightedMeanWithEveryTargetIgnoredIsNanWithZeroGradient) {
    // PyTorch: 0/0 = NaN for the loss, but the logits' gradient is 0 (found by the differential
    // test, tests/ops_differential_test.cpp), with and without label smoothing.
    for (DType dt : {DType::Float32, DType::Float64})
        for (double eps : {0.0, 0.3}) {
            const Tensor logits = from_vector<double>({0.5, -1, 2, 0.25, 1, -2}, {2, 3}).to(dt).requires_grad_();
            const F::CrossEntropyOptions options{
                .ignore_index = 1, .label_smoothing = eps, .weight = from_vector<double>({1, 2, 0.5}).to(dt)};
            const Tensor loss = F::cross_entropy(logits, ints({1, 1}, {2}), options);
            EXPECT_TRUE(std::isnan(loss.item<double>())) << eps;
            loss.backward();
            for (double g : logits.grad().to_vector<double>()) EXPECT_EQ(g, 0.0) << dtype_name(dt) << " eps " << eps;
        }
}

TEST(OpsLm, ErrorsNameTheOpAndTheValues) {
    const Tensor x = zeros({2, 3});
    EXPECT_THROW_MSG(gather(x, 1, ints({0, 3}, {2, 1})), IndexError,
                     "gather: index 3 at position [1, 0] is out of range for dimension 1 of size 3");
    EXPECT_THROW_MSG(gather(x, 1, ints({0, 1}, {2})), ShapeError, "as many dimensions as the input");
    EXPECT_THROW_MSG(gather(x, 1, ints({0, 0, 0}, {3, 1})), ShapeError, "larger than the input [2, 3] in dimension 0");
    EXPECT_THROW_MSG(gather(x, 1, zeros({2, 1})), DTypeError, "gather: indices must be int64 or int32");
    EXPECT_THROW_MSG(scatter(x, 1, ints({0, 1}, {2, 1}), zeros({2, 1}, DType::Float64)), DTypeError,
                     "scatter: src has dtype float64");
    EXPECT_THROW_MSG(scatter_add(x, 0, ints({-1}, {1, 1}), zeros({1, 1})), IndexError, "scatter_add: index -1");
    EXPECT_THROW_MSG(index_add(x, 0, ints({0}, {1}), zeros({2, 3})), ShapeError,
                     "index_add: src must have shape [1, 3]");
    EXPECT_THROW_MSG(topk(x, 4, 1), ValueError, "topk: k = 4 is out of range for dimension 1 of size 3");
    EXPECT_THROW_MSG(one_hot(ints({0, 5}, {2}), 5), IndexError, "one_hot: index 5");
    EXPECT_THROW_MSG(one_hot(ints({}, {0})), ValueError, "cannot infer num_classes");
    EXPECT_THROW_MSG(logsumexp(ints({1}, {1}), {0}), DTypeError, "logsumexp");
    EXPECT_THROW_MSG(cumsum(x, 2), IndexError, "cumsum: dimension 2 out of range");
    const Tensor target = ints({0, 1}, {2});
    EXPECT_THROW_MSG(F::cross_entropy(x, target, {.weight = ones({2})}), ShapeError,
                     "cross_entropy: weight must have shape [3]");
    EXPECT_THROW_MSG(F::cross_entropy(x, target, {.weight = ones({3}, DType::Float64)}), DTypeError,
                     "weight has dtype float64");
    EXPECT_THROW_MSG(F::cross_entropy(x, zeros({2, 4})), DTypeError,
                     "targets must be int64 class indices, got float32 [2, 4] (or class probabilities of the logits' "
                     "shape [2, 3])");
    EXPECT_THROW_MSG(F::cross_entropy(x, zeros({2, 3}), {.ignore_index = 0}), ValueError,
                     "ignore_index (0) is not supported with probability targets");
}
