// A random differential test of the language-model ops against PyTorch: 1,970 cases of gather,
// scatter, scatter_add, index_add, logsumexp, cumsum, sort, topk, one_hot, cross_entropy (class
// and probability targets) and masked / grouped-query attention, float32 and float64, drawn by
// tests/golden/make_ops_differential_golden.py. Each case's float inputs are regenerated here from
// the same formula; its integer inputs, PyTorch's outputs and the gradients of sum(out·R) come
// from the golden's three streams (the script's docstring describes them).
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "test_util.hpp"

using namespace graft;
namespace F = graft::nn::functional;

namespace {

const std::vector<std::string> kOps{"gather", "scatter",  "scatter_add", "index_add", "logsumexp", "cumsum",
                                    "sort",   "topk",     "one_hot",     "ce_class",  "ce_prob",   "attention"};
constexpr std::uint64_t kRTensor = 9;

std::uint64_t mix(std::uint64_t z) {
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/// The script's uniform(seed, t, i).
double uniform(std::uint64_t seed, std::uint64_t t, std::uint64_t i) {
    return static_cast<double>(mix(mix(mix(seed) ^ t) ^ i) >> 11) * 0x1p-53;
}

/// The script's formula(seed, t, shape, dtype, ties): 4u − 2, or ⌊5u⌋ − 2 with ties.
Tensor formula(std::uint64_t seed, std::uint64_t t, const Shape& shape, DType dtype, bool ties = false) {
    std::int64_t n = 1;
    for (std::int64_t s : shape) n *= s;
    std::vector<double> v(static_cast<std::size_t>(n));
    for (std::size_t i = 0; i < v.size(); ++i) {
        const double u = uniform(seed, t, i);
        v[i] = ties ? std::floor(5 * u) - 2.0 : 4 * u - 2;
    }
    return from_vector<double>(v, {n}).reshape(shape).to(dtype);
}

/// Reads the golden's streams in order and compares what graft computes with them.
class Case {
public:
    Case(const std::vector<std::int64_t>& spec, const std::vector<std::int64_t>& ints, const std::vector<double>& values,
         std::size_t& sp, std::size_t& ip, std::size_t& vp)
        : spec_(spec), ints_(ints), values_(values), sp_(sp), ip_(ip), vp_(vp) {}

    std::int64_t next() { return spec_.at(sp_++); }
    Shape shape() {
        Shape s(static_cast<std::size_t>(next()));
        for (auto& n : s) n = next();
        return s;
    }
    Tensor int_tensor(const Shape& shape) {
        std::int64_t n = 1;
        for (std::int64_t s : shape) n *= s;
        std::vector<std::int64_t> v(ints_.begin() + static_cast<std::ptrdiff_t>(ip_),
                                    ints_.begin() + static_cast<std::ptrdiff_t>(ip_ + static_cast<std::size_t>(n)));
        ip_ += static_cast<std::size_t>(n);
        return from_vector<std::int64_t>(v, {n}).reshape(shape);
    }
    /// Compares `got` with the next numel(got) values (NaN and ±inf must match exactly); returns the
    /// worst |difference| / (atol + rtol·|expected|) (≤ 1 passes).
    double compare_floats(const std::string& what, const Tensor& got, double atol, double rtol) {
        const std::vector<double> g = got.defined() ? got.to_vector<double>() : std::vector<double>{};
        double worst = 0;
        for (std::size_t i = 0; i < g.size(); ++i) {
            const double e = values_.at(vp_ + i);
            double score = 0;
            if (std::isnan(e) || std::isinf(e)) {
                const bool same = std::isnan(e) ? std::isnan(g[i]) : g[i] == e;
                score = same ? 0 : INFINITY;
            } else {
                score = std::abs(g[i] - e) / (atol + rtol * std::abs(e));
            }
            EXPECT_LE(score, 1.0) << what << "[" << i << "]: graft " << g[i] << ", PyTorch " << e;
            if (std::isfinite(e)) max_abs_diff = std::max(max_abs_diff, std::abs(g[i] - e));
            worst = std::max(worst, std::isnan(score) ? INFINITY : score);
        }
        vp_ += g.size();
        return worst;
    }
    /// The largest |graft − PyTorch| over the finite values compared so far.
    double max_abs_diff = 0;

    void compare_ints(const std::string& what, const Tensor& got) {
        const std::vector<std::int64_t> g = got.to_vector<std::int64_t>();
        for (std::size_t i = 0; i < g.size(); ++i) EXPECT_EQ(g[i], ints_.at(ip_ + i)) << what << "[" << i << "]";
        ip_ += g.size();
    }

private:
    const std::vector<std::int64_t>& spec_;
    const std::vector<std::int64_t>& ints_;
    const std::vector<double>& values_;
    std::size_t &sp_, &ip_, &vp_;
};

struct Outcome {
    Tensor out, indices;
};

}  // namespace

TEST(OpsDifferential, AgreesWithPyTorchOnEveryRandomCase) {
    const StateDict golden =
        io::load_safetensors(std::filesystem::path(GRAFT_TEST_DATA_DIR) / "ops_differential.safetensors");
    const std::vector<std::int64_t> spec = golden.at("spec").to_vector<std::int64_t>();
    const std::vector<std::int64_t> ints = golden.at("ints").to_vector<std::int64_t>();
    const std::vector<double> values = golden.at("values").to_vector<double>();
    std::size_t sp = 0, ip = 0, vp = 0;
    std::vector<int> per_op(kOps.size(), 0);
    std::vector<double> worst_per_op(kOps.size(), 0.0), max_abs_per_op(kOps.size(), 0.0);
    int cases = 0;
    while (sp < spec.size()) {
        Case c(spec, ints, values, sp, ip, vp);
        const std::int64_t op = c.next();
        const DType dt = c.next() != 0 ? DType::Float64 : DType::Float32;
        const auto seed = static_cast<std::uint64_t>(c.next());
        ASSERT_LT(op, static_cast<std::int64_t>(kOps.size()));
        const std::string what = kOps[static_cast<std::size_t>(op)] + " case " + std::to_string(cases) + " (" +
                                 dtype_name(dt) + ")";
        SCOPED_TRACE(what);
        std::vector<Tensor> leaves;
        const auto leaf = [&](Tensor t) {
            leaves.push_back(t.requires_grad_());
            return leaves.back();
        };
        Outcome r;
        bool int_output = false;
        switch (op) {
            case 0: {  // gather
                const Shape s = c.shape();
                const std::int64_t dim = c.next();
                const Tensor index = c.int_tensor(c.shape());
                r.out = gather(leaf(formula(seed, 0, s, dt)), dim, index);
                break;
            }
            case 1:
            case 2: {  // scatter (distinct indices along dim), scatter_add (repeats)
                const Shape s = c.shape();
                const std::int64_t dim = c.next();
                const Shape is = c.shape(), ss = c.shape();
                const Tensor index = c.int_tensor(is);
                const Tensor x = leaf(formula(seed, 0, s, dt)), src = leaf(formula(seed, 1, ss, dt));
                r.out = op == 1 ? scatter(x, dim, index, src) : scatter_add(x, dim, index, src);
                break;
            }
            case 3: {  // index_add
                const Shape s = c.shape();
                const std::int64_t dim = c.next(), n = c.next(), alpha = c.next();
                Shape ss = s;
                ss[static_cast<std::size_t>(dim < 0 ? dim + static_cast<std::int64_t>(s.size()) : dim)] = n;
                const Tensor index = c.int_tensor({n});
                const Tensor x = leaf(formula(seed, 0, s, dt)), src = leaf(formula(seed, 1, ss, dt));
                r.out = index_add(x, dim, index, src, static_cast<double>(alpha) / 100);
                break;
            }
            case 4: {  // logsumexp
                const Shape s = c.shape();
                std::vector<std::int64_t> dims(static_cast<std::size_t>(c.next()));
                for (auto& d : dims) d = c.next();
                const bool keep = c.next() != 0;
                Tensor x;
                {
                    NoGradGuard guard;
                    x = mul(formula(seed, 0, s, dt), 3.0);
                }
                r.out = logsumexp(leaf(x), dims, keep);
                break;
            }
            case 5: {  // cumsum
                const Shape s = c.shape();
                r.out = cumsum(leaf(formula(seed, 0, s, dt)), c.next());
                break;
            }
            case 6: {  // sort, stable
                const Shape s = c.shape();
                const std::int64_t dim = c.next();
                const bool desc = c.next() != 0, ties = c.next() != 0;
                std::tie(r.out, r.indices) = sort(leaf(formula(seed, 0, s, dt, ties)), dim, desc, true);
                break;
            }
            case 7: {  // topk: ties in index order
                const Shape s = c.shape();
                const std::int64_t dim = c.next(), k = c.next();
                const bool largest = c.next() != 0, ties = c.next() != 0;
                std::tie(r.out, r.indices) = topk(leaf(formula(seed, 0, s, dt, ties)), k, dim, largest);
                break;
            }
            case 8: {  // one_hot
                const Shape s = c.shape();
                const std::int64_t classes = c.next();
                r.out = one_hot(c.int_tensor(s), classes);
                int_output = true;
                break;
            }
            case 9:
            case 10: {  // cross_entropy: class targets / probability targets
                const Shape s = c.shape();
                const bool has_weight = c.next() != 0;
                const F::Reduction reductions[] = {F::Reduction::None, F::Reduction::Mean, F::Reduction::Sum};
                F::CrossEntropyOptions options{.reduction = reductions[c.next()],
                                               .label_smoothing = static_cast<double>(c.next()) / 100};
                const std::int64_t classes = s.size() == 1 ? s[0] : s[1];
                if (has_weight) options.weight = add(mul(formula(seed, 2, {classes}, dt), 0.25), 1.0);
                Tensor target;
                if (op == 9) {
                    options.ignore_index = c.next();
                    Shape ts;
                    if (s.size() > 1) {
                        ts.push_back(s[0]);
                        ts.insert(ts.end(), s.begin() + 2, s.end());
                    }
                    target = c.int_tensor(ts);
                } else {
                    target = softmax(formula(seed, 3, s, dt), s.size() == 1 ? 0 : 1);
                }
                r.out = F::cross_entropy(leaf(formula(seed, 0, s, dt)), target, options);
                break;
            }
            case 11: {  // attention: grouped-query heads, masks, causal bottom-right
                const std::int64_t B = c.next(), H = c.next(), hkv = c.next(), Tq = c.next(), Tk = c.next(),
                                   D = c.next(), Dv = c.next();
                const bool causal = c.next() != 0;
                const std::int64_t kind = c.next();
                const Shape ms = c.shape();
                F::AttentionOptions options{.causal = causal};
                if (kind == 1 || kind == 2) options.mask = ne(c.int_tensor(ms), 0.0);
                if (kind == 3) options.mask = formula(seed, 5, ms, dt);
                const Tensor q = leaf(formula(seed, 0, {B, H, Tq, D}, dt));
                const Tensor k = leaf(formula(seed, 1, {B, hkv, Tk, D}, dt));
                const Tensor v = leaf(formula(seed, 2, {B, hkv, Tk, Dv}, dt));
                const std::int64_t rep = H / hkv;
                // HF's repeat_kv: query head h reads key/value head h / rep.
                const Tensor kr = k.unsqueeze(2).expand({B, hkv, rep, Tk, D}).reshape({B, H, Tk, D});
                const Tensor vr = v.unsqueeze(2).expand({B, hkv, rep, Tk, Dv}).reshape({B, H, Tk, Dv});
                r.out = F::scaled_dot_product_attention(q, kr, vr, options);
                break;
            }
            default:
                FAIL() << "unknown op " << op;
        }
        if (int_output) {
            c.compare_ints(what + " out", r.out);
        } else {
            const bool f64 = dt == DType::Float64;
            const double atol = f64 ? 1e-10 : 1e-5, rtol = f64 ? 1e-9 : 1e-4;
            double worst = c.compare_floats(what + " out", r.out, atol, rtol);
            if (r.indices.defined()) c.compare_ints(what + " indices", r.indices);
            const Tensor R = formula(seed, kRTensor, r.out.shape(), dt);
            if (r.out.requires_grad()) sum(mul(r.out, R)).backward();
            for (std::size_t i = 0; i < leaves.size(); ++i) {
                const Tensor g = leaves[i].grad().defined() ? leaves[i].grad() : zeros(leaves[i].shape(), dt);
                worst = std::max(worst, c.compare_floats(what + " grad " + std::to_string(i), g, atol, rtol));
            }
            auto& w = worst_per_op[static_cast<std::size_t>(op)];
            w = std::max(w, worst);
            auto& a = max_abs_per_op[static_cast<std::size_t>(op)];
            a = std::max(a, c.max_abs_diff);
        }
        ++per_op[static_cast<std::size_t>(op)];
        ++cases;
    }
    EXPECT_EQ(ip, ints.size());
    EXPECT_EQ(vp, values.size());
    EXPECT_GE(cases, 1800);
    std::printf("    %d random cases against PyTorch (tolerance: float32 1e-5 + 1e-4·|expected|, float64 1e-10 + "
                "1e-9·|expected|)\n",
                cases);
    for (std::size_t i = 0; i < kOps.size(); ++i)
        std::printf("      %-12s %4d cases  max |diff| %.3g  worst diff / tolerance %.3g\n", kOps[i].c_str(), per_op[i],
                    max_abs_per_op[i], worst_per_op[i]);
}
