// The method forms of ops (x.relu(), x.matmul(w), x.max(1), x.repeat({2, 1}), …): each gives the
// free function's values, dtype and shape, records the same backward node, and lets the same
// gradients flow to every input. Also view_as / reshape_as / expand_as / type_as.
#include <functional>
#include <string>
#include <vector>

#include "test_util.hpp"

using namespace graft;

namespace {

using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

/// A method form and the free function it stands for, applied to the same inputs.
struct Case {
    std::string name;
    std::vector<Tensor> inputs;
    Fn method;
    Fn free;
};

/// Fresh leaves holding the same values (floating inputs require grad; others pass through).
std::vector<Tensor> fresh_leaves(const std::vector<Tensor>& inputs) {
    std::vector<Tensor> out;
    for (const Tensor& t : inputs) out.push_back(is_floating(t.dtype()) ? t.clone().requires_grad_() : t);
    return out;
}

void expect_same(const Tensor& got, const Tensor& want) {
    ASSERT_TRUE(got.defined());
    ASSERT_TRUE(want.defined());
    EXPECT_EQ(got.shape(), want.shape());
    EXPECT_EQ(got.dtype(), want.dtype());
    EXPECT_EQ(got.to_vector<double>(), want.to_vector<double>());
}

/// Checks values, then — where the free function records a node — the node's name and the
/// gradients of sum(out) with respect to every floating input.
void check(const Case& c) {
    SCOPED_TRACE(c.name);
    std::vector<Tensor> in_m = fresh_leaves(c.inputs), in_f = fresh_leaves(c.inputs);
    Tensor m = c.method(in_m), f = c.free(in_f);
    expect_same(m, f);
    ASSERT_EQ(m.requires_grad(), f.requires_grad());
    if (!f.requires_grad()) return;
    EXPECT_STREQ(m.grad_fn()->name(), f.grad_fn()->name());
    m.sum().backward();
    f.sum().backward();
    for (std::size_t i = 0; i < in_f.size(); ++i) {
        if (!in_f[i].requires_grad()) continue;
        SCOPED_TRACE("gradient of input " + std::to_string(i));
        expect_same(in_m[i].grad(), in_f[i].grad());
    }
}

struct Inputs {
    Generator gen{7};
    Tensor x = randn({3, 5}, DType::Float64, &gen);                         // both signs
    Tensor pos = add(rand({3, 5}, DType::Float64, &gen), 0.5);              // for log, sqrt, pow
    Tensor y = randn({3, 5}, DType::Float64, &gen);                         // same shape as x
    Tensor row = randn({5}, DType::Float64, &gen);                          // broadcasts against x
    Tensor w = randn({5, 4}, DType::Float64, &gen);                         // x.matmul(w)
    Tensor mask = gt(randn({3, 5}, DType::Float64, &gen), 0.0);             // bool
    Tensor mask2 = gt(randn({3, 5}, DType::Float64, &gen), 0.0);            // bool
    Tensor idx = from_vector<std::int64_t>({4, 0, 4, 2});                   // index_select along 1
    Tensor ties = from_vector<double>({1, 2, 3, 4, 2, 2}, {2, 3});          // comparisons with equal entries
    Tensor ties2 = from_vector<double>({1, 3, 2, 4, 2, 1}, {2, 3});
};

TEST(TensorMethods, UnaryMathEqualsFreeFunctions) {
    Inputs in;
    const std::vector<Case> cases = {
        {"neg", {in.x}, [](auto& v) { return v[0].neg(); }, [](auto& v) { return neg(v[0]); }},
        {"exp", {in.x}, [](auto& v) { return v[0].exp(); }, [](auto& v) { return exp(v[0]); }},
        {"log", {in.pos}, [](auto& v) { return v[0].log(); }, [](auto& v) { return log(v[0]); }},
        {"sqrt", {in.pos}, [](auto& v) { return v[0].sqrt(); }, [](auto& v) { return sqrt(v[0]); }},
        {"rsqrt", {in.pos}, [](auto& v) { return v[0].rsqrt(); }, [](auto& v) { return rsqrt(v[0]); }},
        {"abs", {in.x}, [](auto& v) { return v[0].abs(); }, [](auto& v) { return abs(v[0]); }},
        {"pow", {in.pos}, [](auto& v) { return v[0].pow(1.5); }, [](auto& v) { return pow(v[0], 1.5); }},
        {"clamp", {in.x}, [](auto& v) { return v[0].clamp(-0.5, 0.5); },
         [](auto& v) { return clamp(v[0], -0.5, 0.5); }},
        {"clamp max only", {in.x}, [](auto& v) { return v[0].clamp(std::nullopt, 0.2); },
         [](auto& v) { return clamp(v[0], std::nullopt, 0.2); }},
        {"relu", {in.x}, [](auto& v) { return v[0].relu(); }, [](auto& v) { return relu(v[0]); }},
        {"sigmoid", {in.x}, [](auto& v) { return v[0].sigmoid(); }, [](auto& v) { return sigmoid(v[0]); }},
        {"tanh", {in.x}, [](auto& v) { return v[0].tanh(); }, [](auto& v) { return tanh(v[0]); }},
        {"gelu", {in.x}, [](auto& v) { return v[0].gelu(); }, [](auto& v) { return gelu(v[0]); }},
        {"gelu tanh", {in.x}, [](auto& v) { return v[0].gelu(GeluApprox::Tanh); },
         [](auto& v) { return gelu(v[0], GeluApprox::Tanh); }},
        {"silu", {in.x}, [](auto& v) { return v[0].silu(); }, [](auto& v) { return silu(v[0]); }},
        {"softmax", {in.x}, [](auto& v) { return v[0].softmax(1); }, [](auto& v) { return softmax(v[0], 1); }},
        {"log_softmax", {in.x}, [](auto& v) { return v[0].log_softmax(0); },
         [](auto& v) { return log_softmax(v[0], 0); }},
    };
    for (const Case& c : cases) check(c);
}

TEST(TensorMethods, BinaryEqualsFreeFunctions) {
    Inputs in;
    const std::vector<Case> cases = {
        {"add", {in.x, in.y}, [](auto& v) { return v[0].add(v[1]); }, [](auto& v) { return add(v[0], v[1]); }},
        {"add alpha broadcast", {in.x, in.row}, [](auto& v) { return v[0].add(v[1], 2.5); },
         [](auto& v) { return add(v[0], v[1], 2.5); }},
        {"add scalar", {in.x}, [](auto& v) { return v[0].add(1.5); }, [](auto& v) { return add(v[0], 1.5); }},
        {"sub", {in.x, in.y}, [](auto& v) { return v[0].sub(v[1]); }, [](auto& v) { return sub(v[0], v[1]); }},
        {"sub alpha", {in.x, in.y}, [](auto& v) { return v[0].sub(v[1], 0.5); },
         [](auto& v) { return sub(v[0], v[1], 0.5); }},
        {"sub scalar", {in.x}, [](auto& v) { return v[0].sub(1.5); }, [](auto& v) { return sub(v[0], 1.5); }},
        {"mul", {in.x, in.row}, [](auto& v) { return v[0].mul(v[1]); }, [](auto& v) { return mul(v[0], v[1]); }},
        {"mul scalar", {in.x}, [](auto& v) { return v[0].mul(-3.0); }, [](auto& v) { return mul(v[0], -3.0); }},
        {"div", {in.x, in.pos}, [](auto& v) { return v[0].div(v[1]); }, [](auto& v) { return div(v[0], v[1]); }},
        {"div scalar", {in.x}, [](auto& v) { return v[0].div(4.0); }, [](auto& v) { return div(v[0], 4.0); }},
        {"maximum", {in.x, in.y}, [](auto& v) { return v[0].maximum(v[1]); },
         [](auto& v) { return maximum(v[0], v[1]); }},
        {"minimum", {in.x, in.row}, [](auto& v) { return v[0].minimum(v[1]); },
         [](auto& v) { return minimum(v[0], v[1]); }},
        {"matmul", {in.x, in.w}, [](auto& v) { return v[0].matmul(v[1]); }, [](auto& v) { return matmul(v[0], v[1]); }},
        {"matmul 2-D by 1-D", {in.x, in.row}, [](auto& v) { return v[0].matmul(v[1]); },
         [](auto& v) { return matmul(v[0], v[1]); }},
    };
    for (const Case& c : cases) check(c);
}

TEST(TensorMethods, ComparisonsAndSelectionEqualFreeFunctions) {
    Inputs in;
    const std::vector<Case> cases = {
        {"eq", {in.ties, in.ties2}, [](auto& v) { return v[0].eq(v[1]); }, [](auto& v) { return eq(v[0], v[1]); }},
        {"ne", {in.ties, in.ties2}, [](auto& v) { return v[0].ne(v[1]); }, [](auto& v) { return ne(v[0], v[1]); }},
        {"lt", {in.ties, in.ties2}, [](auto& v) { return v[0].lt(v[1]); }, [](auto& v) { return lt(v[0], v[1]); }},
        {"le", {in.ties, in.ties2}, [](auto& v) { return v[0].le(v[1]); }, [](auto& v) { return le(v[0], v[1]); }},
        {"gt", {in.ties, in.ties2}, [](auto& v) { return v[0].gt(v[1]); }, [](auto& v) { return gt(v[0], v[1]); }},
        {"ge", {in.ties, in.ties2}, [](auto& v) { return v[0].ge(v[1]); }, [](auto& v) { return ge(v[0], v[1]); }},
        {"eq scalar", {in.ties}, [](auto& v) { return v[0].eq(2.0); }, [](auto& v) { return eq(v[0], 2.0); }},
        {"ne scalar", {in.ties}, [](auto& v) { return v[0].ne(2.0); }, [](auto& v) { return ne(v[0], 2.0); }},
        {"lt scalar", {in.ties}, [](auto& v) { return v[0].lt(2.0); }, [](auto& v) { return lt(v[0], 2.0); }},
        {"le scalar", {in.ties}, [](auto& v) { return v[0].le(2.0); }, [](auto& v) { return le(v[0], 2.0); }},
        {"gt scalar", {in.ties}, [](auto& v) { return v[0].gt(2.0); }, [](auto& v) { return gt(v[0], 2.0); }},
        {"ge scalar", {in.ties}, [](auto& v) { return v[0].ge(2.0); }, [](auto& v) { return ge(v[0], 2.0); }},
        {"logical_and", {in.mask, in.mask2}, [](auto& v) { return v[0].logical_and(v[1]); },
         [](auto& v) { return logical_and(v[0], v[1]); }},
        {"logical_or", {in.mask, in.mask2}, [](auto& v) { return v[0].logical_or(v[1]); },
         [](auto& v) { return logical_or(v[0], v[1]); }},
        {"logical_not", {in.mask}, [](auto& v) { return v[0].logical_not(); },
         [](auto& v) { return logical_not(v[0]); }},
        {"masked_fill", {in.x, in.mask}, [](auto& v) { return v[0].masked_fill(v[1], -7.0); },
         [](auto& v) { return masked_fill(v[0], v[1], -7.0); }},
        {"where", {in.x, in.mask, in.row}, [](auto& v) { return v[0].where(v[1], v[2]); },
         [](auto& v) { return where(v[1], v[0], v[2]); }},
        {"index_select", {in.x, in.idx}, [](auto& v) { return v[0].index_select(1, v[1]); },
         [](auto& v) { return index_select(v[0], 1, v[1]); }},
    };
    for (const Case& c : cases) check(c);
}

TEST(TensorMethods, ReductionsEqualFreeFunctions) {
    Inputs in;
    using Dims = std::vector<std::int64_t>;
    const std::vector<Case> cases = {
        {"sum", {in.x}, [](auto& v) { return v[0].sum(); }, [](auto& v) { return sum(v[0]); }},
        {"sum dims", {in.x}, [](auto& v) { return v[0].sum(Dims{1}, true); },
         [](auto& v) { return sum(v[0], Dims{1}, true); }},
        {"mean", {in.x}, [](auto& v) { return v[0].mean(); }, [](auto& v) { return mean(v[0]); }},
        {"mean dims", {in.x}, [](auto& v) { return v[0].mean(Dims{0}); }, [](auto& v) { return mean(v[0], Dims{0}); }},
        {"var", {in.x}, [](auto& v) { return v[0].var(); }, [](auto& v) { return var(v[0]); }},
        {"var dims", {in.x}, [](auto& v) { return v[0].var(Dims{1}, 0, true); },
         [](auto& v) { return var(v[0], Dims{1}, 0, true); }},
        {"std", {in.x}, [](auto& v) { return v[0].std(); }, [](auto& v) { return graft::std(v[0]); }},
        {"std dims", {in.x}, [](auto& v) { return v[0].std(Dims{0}, 2); },
         [](auto& v) { return graft::std(v[0], Dims{0}, 2); }},
        {"max", {in.x}, [](auto& v) { return v[0].max(); }, [](auto& v) { return max(v[0]); }},
        {"min", {in.x}, [](auto& v) { return v[0].min(); }, [](auto& v) { return min(v[0]); }},
        {"max dim values", {in.x}, [](auto& v) { return v[0].max(1).first; },
         [](auto& v) { return max(v[0], 1).first; }},
        {"max dim indices", {in.x}, [](auto& v) { return v[0].max(1).second; },
         [](auto& v) { return max(v[0], 1).second; }},
        {"min dim values", {in.x}, [](auto& v) { return v[0].min(0, true).first; },
         [](auto& v) { return min(v[0], 0, true).first; }},
        {"min dim indices", {in.x}, [](auto& v) { return v[0].min(0, true).second; },
         [](auto& v) { return min(v[0], 0, true).second; }},
        {"argmax", {in.x}, [](auto& v) { return v[0].argmax(); }, [](auto& v) { return argmax(v[0]); }},
        {"argmax dim", {in.x}, [](auto& v) { return v[0].argmax(1); }, [](auto& v) { return argmax(v[0], 1); }},
        {"argmin", {in.x}, [](auto& v) { return v[0].argmin(); }, [](auto& v) { return argmin(v[0]); }},
        {"argmin dim", {in.x}, [](auto& v) { return v[0].argmin(0, true); },
         [](auto& v) { return argmin(v[0], 0, true); }},
    };
    for (const Case& c : cases) check(c);
}

TEST(TensorMethods, RepeatEqualsFreeFunction) {
    Inputs in;
    check({"repeat", {in.x}, [](auto& v) { return v[0].repeat({2, 1, 3}); },
           [](auto& v) { return repeat(v[0], {2, 1, 3}); }});
    check({"repeat 1-D", {in.row}, [](auto& v) { return v[0].repeat({2, 3}); },
           [](auto& v) { return repeat(v[0], {2, 3}); }});
}

TEST(TensorMethods, ChainsLikePyTorch) {
    // The spellings a PyTorch user reaches for first, chained, with the gradient reaching both leaves.
    Inputs in;
    check({"chain", {in.x, in.w},
           [](auto& v) { return v[0].matmul(v[1]).relu().exp().softmax(-1).log().mean(); },
           [](auto& v) { return mean(log(softmax(exp(relu(matmul(v[0], v[1]))), -1))); }});
    Tensor x = in.x.clone().requires_grad_();
    x.relu().sum().backward();
    EXPECT_EQ(x.grad().to_vector<double>(), gt(in.x, 0.0).to(DType::Float64).to_vector<double>());
}

TEST(TensorMethods, AsConveniences) {
    Tensor x = arange(6, DType::Float32);
    Tensor shaped = zeros({2, 3}, DType::Float64);
    Tensor v = x.view_as(shaped);
    EXPECT_EQ(v.shape(), (Shape{2, 3}));
    EXPECT_TRUE(v.shares_storage(x));
    Tensor r = x.reshape({3, 2}).t().reshape_as(shaped);  // non-viewable: copies
    EXPECT_EQ(r.shape(), (Shape{2, 3}));
    EXPECT_EQ(r.to_vector<float>(), (std::vector<float>{0, 2, 4, 1, 3, 5}));
    Tensor e = from_vector<float>({1, 2, 3}).expand_as(shaped);
    EXPECT_EQ(e.shape(), (Shape{2, 3}));
    EXPECT_EQ(e.stride(0), 0);
    Tensor c = x.type_as(shaped);
    EXPECT_EQ(c.dtype(), DType::Float64);
    EXPECT_EQ(c.to_vector<double>(), (std::vector<double>{0, 1, 2, 3, 4, 5}));
    EXPECT_THROW_MSG(x.view_as(zeros({4})), ShapeError, "view: shape [4] is invalid for input of shape [6]");
    EXPECT_THROW_MSG(zeros({2}).expand_as(shaped), ShapeError, "expand: cannot expand input [2] to [2, 3]");
}

}  // namespace
