// Optimizers (graft/optim): every SGD/Adam/AdamW/RMSprop configuration against PyTorch's values
// (tests/golden/optim_golden.txt, made by make_optim_golden.py) in float64 and in float32 on every
// ISA; frozen parameters untouched and stateless; unfreezing; param groups; zero_grad; state
// dicts (keys, copies, bit-identical resumption, validation); non-contiguous, read-only and
// graph-saved parameters; bad options. Also gradient clipping (graft/optim/clip_grad.hpp).
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "kernels/cpu/cpu_features.hpp"
#include "test_util.hpp"

using namespace graft;

namespace {

// ---- the golden file ------------------------------------------------------------------------------

struct GoldenGroup {
    std::vector<std::size_t> params;
    std::map<std::string, double> options;
};

struct GoldenCase {
    std::string name, cls;
    std::vector<GoldenGroup> groups;
    std::map<std::pair<int, int>, std::vector<double>> expect;  // (step, param) → values
};

struct Golden {
    std::vector<Shape> shapes;
    std::vector<std::vector<double>> initial;
    std::map<std::pair<int, int>, std::optional<std::vector<double>>> grads;  // (step, param)
    std::vector<GoldenCase> cases;
    int steps = 0;
};

std::vector<double> read_values(std::istringstream& in) {
    std::vector<double> v;
    std::string token;
    while (in >> token) v.push_back(std::stod(token));
    return v;
}

const Golden& golden() {
    static const Golden data = [] {
        Golden g;
        const std::string path = std::string(GRAFT_TEST_DATA_DIR) + "/optim_golden.txt";
        std::ifstream file(path);
        if (!file) throw std::runtime_error("cannot open " + path);
        std::string line;
        GoldenCase* current = nullptr;
        while (std::getline(file, line)) {
            std::istringstream in(line);
            std::string kind;
            in >> kind;
            if (kind == "param") {
                int index = 0, ndim = 0;
                in >> index >> ndim;
                Shape shape(static_cast<std::size_t>(ndim));
                for (auto& d : shape) in >> d;
                g.shapes.push_back(shape);
                g.initial.push_back(read_values(in));
            } else if (kind == "grad") {
                int step = 0, index = 0;
                in >> step >> index;
                g.steps = std::max(g.steps, step);
                if (line.ends_with(" none"))
                    g.grads[{step, index}] = std::nullopt;
                else
                    g.grads[{step, index}] = read_values(in);
            } else if (kind == "optimizer") {
                current = &g.cases.emplace_back();
                in >> current->name >> current->cls;
            } else if (kind == "group" && current) {
                GoldenGroup group;
                std::size_t n = 0;
                in >> n;
                group.params.resize(n);
                for (auto& p : group.params) in >> p;
                std::string kv;
                while (in >> kv) {
                    const auto eq = kv.find('=');
                    group.options[kv.substr(0, eq)] = std::stod(kv.substr(eq + 1));
                }
                current->groups.push_back(group);
            } else if (kind == "expect" && current) {
                int step = 0, index = 0;
                in >> step >> index;
                current->expect[{step, index}] = read_values(in);
            } else if (kind == "end" || kind == "scheduler") {
                current = nullptr;
            }
        }
        return g;
    }();
    return data;
}

/// Options whose every field comes from the golden group, by its state-dict name.
template <class Options>
Options options_from(const GoldenGroup& group) {
    Options o;
    const std::vector<optim::OptionRef> refs = optim::option_refs(o);
    EXPECT_EQ(refs.size(), group.options.size()) << "torch and graft list different options";
    for (const optim::OptionRef& ref : refs) {
        auto it = group.options.find(ref.name);
        if (it == group.options.end()) {
            ADD_FAILURE() << "golden group lacks option " << ref.name;
            continue;
        }
        if (ref.number)
            *ref.number = it->second;
        else
            *ref.flag = it->second != 0;
    }
    return o;
}

template <class Opt, class Options>
std::unique_ptr<optim::Optimizer> build(const GoldenCase& c, const std::vector<Tensor>& params) {
    std::vector<optim::ParamGroup<Options>> groups;
    for (const GoldenGroup& g : c.groups) {
        optim::ParamGroup<Options> pg;
        for (std::size_t i : g.params) pg.params.push_back(params[i]);
        pg.options = options_from<Options>(g);
        groups.push_back(pg);
    }
    return std::make_unique<Opt>(groups);
}

std::unique_ptr<optim::Optimizer> make_optimizer(const GoldenCase& c, const std::vector<Tensor>& params) {
    if (c.cls == "SGD") return build<optim::SGD, optim::SGDOptions>(c, params);
    if (c.cls == "Adam") return build<optim::Adam, optim::AdamOptions>(c, params);
    if (c.cls == "AdamW") return build<optim::AdamW, optim::AdamWOptions>(c, params);
    if (c.cls == "RMSprop") return build<optim::RMSprop, optim::RMSpropOptions>(c, params);
    throw std::runtime_error("unknown optimizer class " + c.cls);
}

/// Runs a golden case in `dtype` and compares every parameter after every step:
/// |got − want| ≤ atol + rtol·|want|.
void run_golden_case(const GoldenCase& c, DType dtype, double rtol, double atol) {
    const Golden& g = golden();
    std::vector<Tensor> params;
    for (std::size_t i = 0; i < g.shapes.size(); ++i)
        params.push_back(from_vector(g.initial[i], g.shapes[i]).to(dtype).requires_grad_());
    auto opt = make_optimizer(c, params);
    for (int step = 1; step <= g.steps; ++step) {
        for (std::size_t i = 0; i < params.size(); ++i) {
            const auto& grad = g.grads.at({step, static_cast<int>(i)});
            params[i].set_grad(grad ? from_vector(*grad, g.shapes[i]).to(dtype) : Tensor());
        }
        opt->step();
        for (std::size_t i = 0; i < params.size(); ++i) {
            const std::vector<double> got = params[i].to_vector<double>();
            const std::vector<double>& want = c.expect.at({step, static_cast<int>(i)});
            ASSERT_EQ(got.size(), want.size());
            double worst = 0;
            std::size_t at = 0;
            for (std::size_t k = 0; k < got.size(); ++k) {
                const double excess = std::fabs(got[k] - want[k]) - (atol + rtol * std::fabs(want[k]));
                if (k == 0 || excess > worst) worst = excess, at = k;
            }
            EXPECT_LE(worst, 0.0) << c.name << " (" << dtype_name(dtype) << ") step " << step << " param " << i
                                  << " element " << at << ": got " << got[at] << ", torch " << want[at];
        }
    }
}

// ---- small problems ---------------------------------------------------------------------------------

/// A float32 leaf with values v·scale for v = 1..n (shape `shape`).
Tensor ramp(const Shape& shape, float scale, bool requires_grad = true) {
    std::vector<float> v(static_cast<std::size_t>(shape_numel(shape)));
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = scale * static_cast<float>(i + 1) * (i % 2 ? -1.f : 1.f);
    Tensor t = from_vector(v, shape);
    if (requires_grad) t.requires_grad_();
    return t;
}

/// A reproducible gradient for parameter `index` at step `step`.
Tensor grad_at(const Tensor& param, int step, int index) {
    Generator gen(static_cast<std::uint64_t>(100 * step + index + 1));
    return randn(param.shape(), param.dtype(), &gen);
}

bool bits_equal(const Tensor& a, const Tensor& b) {
    const Tensor ca = a.contiguous(), cb = b.contiguous();
    return ca.shape() == cb.shape() && ca.dtype() == cb.dtype() &&
           std::memcmp(ca.raw_data(), cb.raw_data(), static_cast<std::size_t>(ca.numel()) * ca.element_size()) == 0;
}

std::vector<std::string> keys_with_prefix(const StateDict& sd, const std::string& prefix) {
    std::vector<std::string> out;
    for (const auto& [k, t] : sd)
        if (k.rfind(prefix, 0) == 0) out.push_back(k);
    return out;
}

}  // namespace

// ---- golden values ------------------------------------------------------------------------------------

TEST(OptimGolden, FileCoversEveryConfiguration) {
    const Golden& g = golden();
    EXPECT_EQ(g.shapes.size(), 2u);
    EXPECT_EQ(g.steps, 5);
    EXPECT_GE(g.cases.size(), 19u);
    std::map<std::string, int> per_class;
    for (const GoldenCase& c : g.cases) {
        ++per_class[c.cls];
        EXPECT_EQ(c.expect.size(), 10u) << c.name;
    }
    for (const char* cls : {"SGD", "Adam", "AdamW", "RMSprop"}) EXPECT_GE(per_class[cls], 4) << cls;
}

TEST(OptimGolden, Float64MatchesTorch) {
    for (const GoldenCase& c : golden().cases) run_golden_case(c, DType::Float64, 1e-10, 1e-12);
}

TEST(OptimGolden, Float32MatchesTorchOnEveryIsa) {
    const kernels::Isa before = kernels::active_isa();
    for (kernels::Isa isa : kernels::supported_isas()) {
        SCOPED_TRACE(kernels::isa_name(isa));
        kernels::set_active_isa(isa);
        for (const GoldenCase& c : golden().cases) run_golden_case(c, DType::Float32, 1e-5, 2e-6);
    }
    kernels::set_active_isa(before);
}

// ---- freezing --------------------------------------------------------------------------------------------

TEST(OptimFreeze, FrozenParametersStayBitIdenticalAndGetNoState) {
    Tensor w1 = ramp({2, 3}, 0.5f);
    Tensor w2 = ramp({3}, 0.25f, /*requires_grad=*/false);  // frozen
    const Tensor w2_before = w2.clone();
    const Tensor x1 = ramp({2, 3}, 1.f, false), x2 = ramp({3}, 2.f, false);
    optim::AdamW opt({w1, w2}, {.lr = 0.1, .weight_decay = 0.1});
    for (int step = 0; step < 3; ++step) {
        opt.zero_grad();
        Tensor loss = (w1 * x1).sum() + (w2 * x2).sum();
        loss.backward();
        ASSERT_TRUE(w1.grad().defined());
        ASSERT_FALSE(w2.grad().defined());
        opt.step();
    }
    EXPECT_TRUE(bits_equal(w2, w2_before)) << "AdamW's decoupled decay must not touch a frozen parameter";
    EXPECT_EQ(opt.state(w2), nullptr);
    ASSERT_NE(opt.state(w1), nullptr);
    EXPECT_EQ(opt.state(w1)->step, 3);
    EXPECT_EQ(opt.num_states(), 1u);
    const StateDict sd = opt.state_dict();
    EXPECT_TRUE(keys_with_prefix(sd, "state.1.").empty());
    EXPECT_EQ(keys_with_prefix(sd, "state.0."), (std::vector<std::string>{"state.0.step", "state.0.exp_avg", "state.0.exp_avg_sq"}));
}

TEST(OptimFreeze, StaleGradientOnFrozenParameterIsIgnored) {
    Tensor w = ramp({4}, 1.f);
    w.set_grad(ones({4}));
    w.requires_grad_(false);  // frozen after a backward: its old gradient must not move it
    const Tensor before = w.clone();
    optim::SGD opt({w}, {.lr = 0.5, .momentum = 0.9});
    opt.step();
    EXPECT_TRUE(bits_equal(w, before));
    EXPECT_EQ(opt.num_states(), 0u);
}

TEST(OptimFreeze, UnfreezingCreatesStateAtTheFirstGradient) {
    Tensor w1 = ramp({5}, 0.3f);
    Tensor w2 = ramp({2, 2}, 0.7f, false);
    optim::Adam opt({w1, w2}, {.lr = 0.05, .amsgrad = true});
    for (int step = 1; step <= 3; ++step) {
        w1.set_grad(grad_at(w1, step, 0));
        opt.step();
    }
    EXPECT_EQ(opt.state(w2), nullptr);

    w2.requires_grad_(true);
    Tensor twin = w2.clone().detach().requires_grad_();  // what a fresh Adam's first step gives
    optim::Adam fresh({twin}, {.lr = 0.05, .amsgrad = true});
    for (Tensor* t : {&w2, &twin}) t->set_grad(grad_at(w2, 4, 1));
    w1.set_grad(grad_at(w1, 4, 0));
    opt.step();
    fresh.step();
    ASSERT_NE(opt.state(w2), nullptr);
    EXPECT_EQ(opt.state(w2)->step, 1);
    EXPECT_EQ(opt.state(w1)->step, 4);
    EXPECT_NE(opt.state(w2)->find("max_exp_avg_sq"), nullptr);
    EXPECT_TRUE(bits_equal(w2, twin)) << "the first update after unfreezing must be a first Adam step";
}

// ---- groups and zero_grad ---------------------------------------------------------------------------

TEST(OptimGroups, DiscriminativeLearningRatesAsInTheDesign) {
    const std::vector<Tensor> backbone = {ramp({3}, 1.f), ramp({2}, 1.f)};
    const std::vector<Tensor> head = {ramp({3}, 1.f)};
    optim::AdamW opt({{backbone, {.lr = 1e-4}}, {head, {.lr = 1e-3}}});
    ASSERT_EQ(opt.num_param_groups(), 2u);
    EXPECT_EQ(opt.lr(0), 1e-4);
    EXPECT_EQ(opt.lr(1), 1e-3);
    EXPECT_EQ(opt.options(1).weight_decay, 0.01) << "unspecified options take the defaults";
    EXPECT_EQ(opt.params(0).size(), 2u);
    EXPECT_EQ(opt.parameters().size(), 3u);

    Tensor a = ramp({3}, 1.f), b = ramp({3}, 1.f);
    optim::SGD sgd({{{a}, {.lr = 0.1}}, {{b}, {.lr = 0.01}}});
    a.set_grad(ones({3}));
    b.set_grad(ones({3}));
    const std::vector<float> before = a.to_vector<float>();
    sgd.step();
    for (std::size_t i = 0; i < 3; ++i) {
        EXPECT_NEAR(before[i] - a.to_vector<float>()[i], 0.1, 1e-6);
        EXPECT_NEAR(before[i] - b.to_vector<float>()[i], 0.01, 1e-6);
    }
}

TEST(OptimGroups, AddParamGroupLater) {
    Tensor a = ramp({2}, 1.f), b = ramp({2}, 1.f);
    optim::RMSprop opt({a}, {.lr = 0.01});
    opt.add_param_group({b}, {.lr = 0.002, .centered = true});
    ASSERT_EQ(opt.num_param_groups(), 2u);
    EXPECT_TRUE(opt.options(1).centered);
    b.set_grad(ones({2}));
    opt.step();
    EXPECT_EQ(opt.state(a), nullptr);
    ASSERT_NE(opt.state(b), nullptr);
    EXPECT_NE(opt.state(b)->find("grad_avg"), nullptr);
    EXPECT_THROW_MSG(opt.add_param_group({a}, {}), ValueError, "already parameter 0 of group 0");
    EXPECT_EQ(opt.num_param_groups(), 2u) << "a rejected group is not added";
}

TEST(OptimZeroGrad, SetsGradientsToNone) {
    Tensor w = ramp({3}, 1.f), v = ramp({2}, 1.f);
    optim::SGD opt({w, v}, {.lr = 0.1});
    ((w * w).sum() + (v * v).sum()).backward();
    ASSERT_TRUE(w.grad().defined());
    opt.zero_grad();
    EXPECT_FALSE(w.grad().defined());
    EXPECT_FALSE(v.grad().defined());
    const Tensor before = w.clone();
    opt.step();  // nothing has a gradient: nothing moves
    EXPECT_TRUE(bits_equal(w, before));
}

// ---- state dicts ---------------------------------------------------------------------------------------------

TEST(OptimStateDict, KeysValuesAndCopies) {
    Tensor w = ramp({2, 2}, 1.f), b = ramp({3}, 1.f);
    optim::AdamW opt({{{w}, {.lr = 0.01, .amsgrad = true}}, {{b}, {.lr = 0.02, .betas = {0.8, 0.9}}}});
    w.set_grad(ones({2, 2}));
    opt.step();
    const StateDict sd = opt.state_dict();
    EXPECT_EQ(sd.keys(), (std::vector<std::string>{
                             "state.0.step", "state.0.exp_avg", "state.0.exp_avg_sq", "state.0.max_exp_avg_sq",
                             "param_groups.0.lr", "param_groups.0.betas.0", "param_groups.0.betas.1",
                             "param_groups.0.eps", "param_groups.0.weight_decay", "param_groups.0.amsgrad",
                             "param_groups.0.maximize", "param_groups.0.params", "param_groups.1.lr",
                             "param_groups.1.betas.0", "param_groups.1.betas.1", "param_groups.1.eps",
                             "param_groups.1.weight_decay", "param_groups.1.amsgrad", "param_groups.1.maximize",
                             "param_groups.1.params"}));
    EXPECT_EQ(sd.at("state.0.step").item<double>(), 1.0);
    EXPECT_EQ(sd.at("state.0.step").dtype(), DType::Float64);
    EXPECT_EQ(sd.at("state.0.step").dim(), 0);
    EXPECT_EQ(sd.at("param_groups.1.betas.0").item<double>(), 0.8);
    EXPECT_EQ(sd.at("param_groups.0.amsgrad").item<double>(), 1.0);
    EXPECT_EQ(sd.at("param_groups.1.params").to_vector<std::int64_t>(), (std::vector<std::int64_t>{1}));
    // exp_avg after one step with g = 1: (1 − 0.9)·1
    for (float m : sd.at("state.0.exp_avg").to_vector<float>()) EXPECT_FLOAT_EQ(m, 0.1f);
    const Tensor saved = sd.at("state.0.exp_avg").clone();
    opt.step();
    EXPECT_TRUE(bits_equal(sd.at("state.0.exp_avg"), saved)) << "state_dict must hold copies";
}

namespace {

/// Four optimizers over two parameters (the second in its own group for AdamW).
std::unique_ptr<optim::Optimizer> resume_optimizer(int kind, const std::vector<Tensor>& p) {
    switch (kind) {
        case 0: return std::make_unique<optim::SGD>(p, optim::SGDOptions{.lr = 0.05, .momentum = 0.9, .weight_decay = 0.01, .nesterov = true});
        case 1: return std::make_unique<optim::Adam>(p, optim::AdamOptions{.lr = 0.01, .weight_decay = 0.01, .amsgrad = true});
        case 2:
            return std::make_unique<optim::AdamW>(std::vector<optim::AdamW::Group>{
                {{p[0]}, {.lr = 0.01}}, {{p[1]}, {.lr = 0.003, .betas = {0.8, 0.95}, .weight_decay = 0.0}}});
        default: return std::make_unique<optim::RMSprop>(p, optim::RMSpropOptions{.lr = 0.01, .momentum = 0.5, .centered = true});
    }
}

void run_steps(optim::Optimizer& opt, const std::vector<Tensor>& params, int from, int to) {
    for (int step = from; step < to; ++step) {
        for (std::size_t i = 0; i < params.size(); ++i) {
            Tensor p = params[i];
            // parameter 1 has no gradient at step 1, so its step count lags behind
            p.set_grad(i == 1 && step == 1 ? Tensor() : grad_at(p, step, static_cast<int>(i)));
        }
        opt.step();
    }
}

std::vector<Tensor> fresh_params() { return {ramp({17}, 0.1f), ramp({3, 5}, 0.2f)}; }

}  // namespace

TEST(OptimStateDict, ResumingGivesBitIdenticalParameters) {
    for (int kind = 0; kind < 4; ++kind) {
        const std::vector<Tensor> straight = fresh_params();
        auto uninterrupted = resume_optimizer(kind, straight);
        SCOPED_TRACE(uninterrupted->name());
        run_steps(*uninterrupted, straight, 0, 7);

        const std::vector<Tensor> first = fresh_params();
        auto before = resume_optimizer(kind, first);
        run_steps(*before, first, 0, 3);
        const StateDict checkpoint = before->state_dict();
        std::vector<Tensor> second;
        for (const Tensor& p : first) second.push_back(p.detach().clone().requires_grad_());
        before.reset();

        auto after = resume_optimizer(kind, second);
        after->load_state_dict(checkpoint);
        EXPECT_EQ(after->num_states(), 2u);
        run_steps(*after, second, 3, 7);
        for (std::size_t i = 0; i < second.size(); ++i) EXPECT_TRUE(bits_equal(second[i], straight[i])) << "param " << i;
        EXPECT_EQ(after->state(second[1])->step, uninterrupted->state(straight[1])->step);
    }
}

TEST(OptimStateDict, LoadRejectsBadDictsAndChangesNothing) {
    Tensor a = ramp({2, 2}, 1.f), b = ramp({3}, 1.f);
    optim::Adam opt({a, b}, {.lr = 0.01});
    a.set_grad(ones({2, 2}));
    b.set_grad(ones({3}));
    opt.step();
    const StateDict good = opt.state_dict();

    auto with = [&](const std::string& key, const Tensor& t) {
        StateDict sd = good;
        sd.set(key, t);
        return sd;
    };
    auto without = [&](const std::string& key) {
        StateDict sd = good;
        sd.erase(key);
        return sd;
    };
    EXPECT_THROW_MSG(opt.load_state_dict(with("state.0.exp_avg", zeros({4}))), ShapeError,
                     "'state.0.exp_avg' has shape [4], but parameter 0 has shape [2, 2]");
    EXPECT_THROW_MSG(opt.load_state_dict(without("state.1.exp_avg_sq")), ValueError, "'state.1.exp_avg_sq' is missing");
    EXPECT_THROW_MSG(opt.load_state_dict(without("state.1.step")), ValueError, "'state.1.step' is missing");
    EXPECT_THROW_MSG(opt.load_state_dict(with("state.0.momentum_buffer", zeros({2, 2}))), ValueError,
                     "unknown state entry 'state.0.momentum_buffer'");
    EXPECT_THROW_MSG(opt.load_state_dict(with("state.2.exp_avg", zeros({3}))), ValueError, "this Adam has 2 parameters");
    EXPECT_THROW_MSG(opt.load_state_dict(with("param_groups.1.lr", scalar_tensor(0.1, DType::Float64))), ValueError,
                     "this Adam has 1 groups");
    EXPECT_THROW_MSG(opt.load_state_dict(with("param_groups.0.momentum", scalar_tensor(0.9, DType::Float64))), ValueError,
                     "unknown option 'param_groups.0.momentum'");
    EXPECT_THROW_MSG(opt.load_state_dict(without("param_groups.0.eps")), ValueError, "missing 'param_groups.0.eps'");
    EXPECT_THROW_MSG(opt.load_state_dict(with("param_groups.0.params", from_vector<std::int64_t>({0}))), ValueError,
                     "has 2 parameters");
    EXPECT_THROW_MSG(opt.load_state_dict(with("optimizer", zeros({1}))), ValueError, "unexpected key 'optimizer'");
    // amsgrad switched on by the dict: the saved state lacks max_exp_avg_sq
    EXPECT_THROW_MSG(opt.load_state_dict(with("param_groups.0.amsgrad", scalar_tensor(1, DType::Float64))), ValueError,
                     "'state.0.max_exp_avg_sq' is missing");
    // an invalid option value: rejected, and the options applied before it are rolled back
    StateDict bad = with("param_groups.0.betas.1", scalar_tensor(1.0, DType::Float64));
    bad.set("param_groups.0.lr", scalar_tensor(0.5, DType::Float64));
    EXPECT_THROW_MSG(opt.load_state_dict(bad), ValueError, "invalid betas[1] 1 (must be in [0, 1))");
    EXPECT_EQ(opt.options(0).lr, 0.01);
    EXPECT_EQ(opt.options(0).betas[1], 0.999);
    EXPECT_EQ(opt.state(a)->step, 1);

    optim::SGD sgd({ramp({2}, 1.f)}, {.lr = 0.1});
    EXPECT_THROW_MSG(sgd.load_state_dict(good), ValueError, "SGD.load_state_dict: unknown state entry 'state.0.exp_avg'");

    StateDict changed = with("param_groups.0.lr", scalar_tensor(0.25, DType::Float64));
    changed.set("param_groups.0.initial_lr", scalar_tensor(0.125, DType::Float64));
    opt.load_state_dict(changed);
    EXPECT_EQ(opt.lr(0), 0.25);
    EXPECT_EQ(opt.initial_lr(0), 0.125);
}

TEST(OptimStateDict, LoadRejectsNonFiniteAndOutOfRangeValuesNamingTheKey) {
    const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
    Tensor a = ramp({2, 2}, 1.f);
    optim::Adam opt({a}, {.lr = 0.01});
    opt.set_initial_lr(0, 0.01);
    a.set_grad(ones({2, 2}));
    opt.step();
    const StateDict good = opt.state_dict();
    const std::vector<float> moments = opt.state(a)->find("exp_avg")->to_vector<float>();
    auto expect_refused = [&](const std::string& key, double value, const std::string& needle) {
        SCOPED_TRACE(key + " = " + std::to_string(value));
        StateDict bad = good;
        bad.set(key, scalar_tensor(value, DType::Float64));
        EXPECT_THROW_MSG(opt.check_state_dict(bad), ValueError, needle);
        EXPECT_THROW_MSG(opt.load_state_dict(bad), ValueError, needle);
        EXPECT_EQ(opt.lr(0), 0.01);
        EXPECT_EQ(opt.options(0).betas[0], 0.9);
        EXPECT_EQ(opt.options(0).weight_decay, 0.0);
        EXPECT_EQ(opt.initial_lr(0), 0.01);
        EXPECT_EQ(opt.state(a)->step, 1);
        EXPECT_EQ(opt.state(a)->find("exp_avg")->to_vector<float>(), moments);
    };
    const std::string step_rule = "'state.0.step' must be a non-negative integer (at most 2^53), got ";
    expect_refused("state.0.step", nan, step_rule + "nan");
    expect_refused("state.0.step", inf, step_rule + "inf");
    expect_refused("state.0.step", 1e300, step_rule + "1e+300");
    expect_refused("state.0.step", -1, step_rule + "-1");
    expect_refused("state.0.step", 2.5, step_rule + "2.5");
    expect_refused("param_groups.0.lr", nan, "'param_groups.0.lr' must be a finite number, got nan");
    expect_refused("param_groups.0.lr", inf, "'param_groups.0.lr' must be a finite number, got inf");
    expect_refused("param_groups.0.lr", -4.6e16, "'param_groups.0': Adam: invalid lr -4.6e+16 (must be finite and >= 0)");
    expect_refused("param_groups.0.betas.0", nan, "'param_groups.0.betas.0' must be a finite number, got nan");
    expect_refused("param_groups.0.betas.0", -0.1, "'param_groups.0': Adam: invalid betas[0] -0.1");
    expect_refused("param_groups.0.eps", -1e-8, "'param_groups.0': Adam: invalid eps -1e-08");
    expect_refused("param_groups.0.weight_decay", inf, "'param_groups.0.weight_decay' must be a finite number, got inf");
    expect_refused("param_groups.0.weight_decay", -0.5, "invalid weight_decay -0.5");
    expect_refused("param_groups.0.initial_lr", nan, "'param_groups.0.initial_lr' must be a finite number >= 0, got nan");
    expect_refused("param_groups.0.initial_lr", -1, "'param_groups.0.initial_lr' must be a finite number >= 0, got -1");

    optim::SGD sgd({ramp({3}, 1.f)}, {.lr = 0.1, .momentum = 0.9});
    StateDict momentum = sgd.state_dict();
    momentum.set("param_groups.0.momentum", scalar_tensor(-0.5, DType::Float64));
    EXPECT_THROW_MSG(sgd.load_state_dict(momentum), ValueError, "'param_groups.0': SGD: invalid momentum -0.5");
    momentum.set("param_groups.0.momentum", scalar_tensor(nan, DType::Float64));
    EXPECT_THROW_MSG(sgd.load_state_dict(momentum), ValueError, "'param_groups.0.momentum' must be a finite number, got nan");
    EXPECT_EQ(sgd.options(0).momentum, 0.9);

    // A valid dict: check_state_dict changes nothing, load_state_dict applies it.
    StateDict changed = good;
    changed.set("param_groups.0.lr", scalar_tensor(0.5, DType::Float64));
    opt.check_state_dict(changed);
    EXPECT_EQ(opt.lr(0), 0.01);
    opt.load_state_dict(changed);
    EXPECT_EQ(opt.lr(0), 0.5);
}

TEST(OptimErrors, InfiniteOptionsAreRefused) {
    Tensor w = ramp({2}, 1.f);
    const double inf = std::numeric_limits<double>::infinity();
    EXPECT_THROW_MSG(optim::SGD({w}, {.lr = inf}), ValueError, "SGD: invalid lr inf (must be finite and >= 0)");
    EXPECT_THROW_MSG(optim::AdamW({w}, {.weight_decay = inf}), ValueError, "AdamW: invalid weight_decay inf");
    EXPECT_THROW_MSG(optim::Adam({w}, {.eps = inf}), ValueError, "Adam: invalid eps inf");
    EXPECT_THROW_MSG(optim::RMSprop({w}, {.momentum = inf}), ValueError, "RMSprop: invalid momentum inf");
}

// ---- how parameters are written -----------------------------------------------------------------------

TEST(OptimStep, NonContiguousParameterIsUpdatedInPlace) {
    const Tensor base = ramp({3, 2}, 0.5f, false);
    Tensor strided = base.t().detach().requires_grad_();  // [2, 3], column-major view of `base`
    Tensor dense = strided.contiguous().detach().requires_grad_();
    ASSERT_FALSE(strided.is_contiguous());
    optim::Adam opt_strided({strided}, {.lr = 0.1}), opt_dense({dense}, {.lr = 0.1});
    for (int step = 1; step <= 3; ++step) {
        const Tensor g = grad_at(dense, step, 0);
        strided.set_grad(g);
        dense.set_grad(g);
        opt_strided.step();
        opt_dense.step();
    }
    EXPECT_TRUE(bits_equal(strided, dense));
    EXPECT_TRUE(strided.shares_storage(base)) << "the update must land in the parameter's own storage";
    EXPECT_TRUE(bits_equal(base.t(), dense));
}

TEST(OptimStep, UpdateBumpsTheVersionSoAStaleGraphRefusesBackward) {
    Tensor w = ramp({3}, 1.f);
    Tensor y = (w * w).sum();  // saves w for its backward
    w.set_grad(ones({3}));
    const auto version = w.storage()->version();
    optim::SGD opt({w}, {.lr = 0.1});
    opt.step();
    EXPECT_GT(w.storage()->version(), version);
    EXPECT_THROW(y.backward(), AutogradError);
}

TEST(OptimStep, ReadOnlyParameterIsAnError) {
    std::vector<float> data = {1.f, 2.f, 3.f};
    Tensor w = from_blob(data.data(), {3}, DType::Float32, {}, /*writable=*/false);
    w.requires_grad_();
    w.set_grad(ones({3}));
    optim::SGD opt({w}, {.lr = 0.1});
    EXPECT_THROW_MSG(opt.step(), ValueError, "SGD.step: parameter 0 (shape [3]) is read-only");
    EXPECT_EQ(data, (std::vector<float>{1.f, 2.f, 3.f}));
    EXPECT_EQ(opt.num_states(), 0u);
}

TEST(OptimStep, ReadOnlyParameterGetsNoStateInAnyOptimizer) {
    std::vector<float> data = {1.f, 2.f, 3.f};
    Tensor w = from_blob(data.data(), {3}, DType::Float32, {}, /*writable=*/false);
    w.requires_grad_();
    w.set_grad(ones({3}));
    optim::Adam adam({w});
    optim::AdamW adamw({w});
    optim::RMSprop rmsprop({w}, {.momentum = 0.9, .centered = true});
    for (optim::Optimizer* opt : std::initializer_list<optim::Optimizer*>{&adam, &adamw, &rmsprop}) {
        EXPECT_THROW_MSG(opt->step(), ValueError, std::string(opt->name()) + ".step: parameter 0 (shape [3]) is read-only");
        EXPECT_EQ(opt->num_states(), 0u) << opt->name();
        EXPECT_TRUE(keys_with_prefix(opt->state_dict(), "state.").empty()) << opt->name();
    }
    EXPECT_EQ(data, (std::vector<float>{1.f, 2.f, 3.f}));
}

TEST(OptimStep, Float64ParametersUseTheScalarPath) {
    Tensor w = from_vector<double>({1.0, -2.0, 0.5}).requires_grad_();
    w.set_grad(from_vector<double>({0.5, 0.25, -1.0}));
    optim::SGD opt({w}, {.lr = 0.1, .momentum = 0.9, .weight_decay = 0.1});
    opt.step();
    // d = g + 0.1·p; first step: buf = d; p −= 0.1·d
    const std::vector<double> got = w.to_vector<double>();
    EXPECT_DOUBLE_EQ(got[0], 1.0 - 0.1 * (0.5 + 0.1 * 1.0));
    EXPECT_DOUBLE_EQ(got[1], -2.0 - 0.1 * (0.25 + 0.1 * -2.0));
    EXPECT_DOUBLE_EQ(got[2], 0.5 - 0.1 * (-1.0 + 0.1 * 0.5));
}

// ---- options ------------------------------------------------------------------------------------------------------

namespace {
std::vector<std::string> option_names(std::vector<optim::OptionRef> refs) {
    std::vector<std::string> out;
    for (const auto& r : refs) out.push_back(r.name);
    return out;
}
}  // namespace

// Designated initializers must follow declaration order: every keyword of the torch.optim
// constructor, written in PyTorch's order, compiles and lands in its field.
TEST(OptimOptions, DesignatedInitializersTakePyTorchsKeywordOrder) {
    optim::SGDOptions sgd{.lr = 0.1, .momentum = 0.9, .dampening = 0.0, .weight_decay = 1e-4, .nesterov = true,
                          .maximize = false};
    EXPECT_EQ(option_names(optim::option_refs(sgd)),
              (std::vector<std::string>{"lr", "momentum", "dampening", "weight_decay", "nesterov", "maximize"}));
    EXPECT_EQ(sgd.weight_decay, 1e-4);
    EXPECT_TRUE(sgd.nesterov);
    optim::AdamOptions adam{.lr = 3e-4, .betas = {0.8, 0.95}, .eps = 1e-6, .weight_decay = 0.1, .amsgrad = true,
                            .maximize = false};
    optim::AdamWOptions adamw{.lr = 3e-4, .betas = {0.8, 0.95}, .eps = 1e-6, .weight_decay = 0.1, .amsgrad = true,
                              .maximize = false};
    const std::vector<std::string> adam_order{"lr", "betas.0", "betas.1", "eps", "weight_decay", "amsgrad", "maximize"};
    EXPECT_EQ(option_names(optim::option_refs(adam)), adam_order);
    EXPECT_EQ(option_names(optim::option_refs(adamw)), adam_order);
    EXPECT_EQ(adamw.betas[1], 0.95);
    EXPECT_EQ(adam.eps, 1e-6);
    optim::RMSpropOptions rms{.lr = 1e-2, .alpha = 0.9, .eps = 1e-7, .weight_decay = 0.0, .momentum = 0.5,
                              .centered = true, .maximize = false};
    EXPECT_EQ(option_names(optim::option_refs(rms)),
              (std::vector<std::string>{"lr", "alpha", "eps", "weight_decay", "momentum", "centered", "maximize"}));
    EXPECT_EQ(rms.momentum, 0.5);
    // The call of the design doc and optimizers.md, keyword for keyword.
    Tensor w = ramp({2}, 1.f);
    optim::SGD opt({w}, {.lr = 0.1, .momentum = 0.9, .weight_decay = 1e-4, .nesterov = true});
    EXPECT_TRUE(opt.options(0).nesterov);
}

// ---- errors ---------------------------------------------------------------------------------------------------------

TEST(OptimErrors, BadParametersAndOptions) {
    Tensor w = ramp({2}, 1.f);
    EXPECT_THROW_MSG(optim::SGD(std::vector<Tensor>{}, {.lr = 0.1}), ValueError, "SGD: got no parameters to optimize");
    EXPECT_THROW_MSG(optim::AdamW(std::vector<optim::AdamW::Group>{}), ValueError, "AdamW: got no parameter groups");
    EXPECT_THROW_MSG(optim::AdamW(std::vector<optim::AdamW::Group>{{{w}, {}}, {{}, {}}}), ValueError, "AdamW: param group 1 has no parameters");
    EXPECT_THROW_MSG(optim::AdamW({w}, {.lr = -1e-3}), ValueError, "AdamW: invalid lr -0.001 (must be finite and >= 0)");
    EXPECT_THROW_MSG(optim::Adam({w}, {.betas = {1.0, 0.999}}), ValueError, "Adam: invalid betas[0] 1 (must be in [0, 1))");
    EXPECT_THROW_MSG(optim::AdamW({w}, {.betas = {0.9, -0.1}}), ValueError, "invalid betas[1] -0.1");
    EXPECT_THROW_MSG(optim::Adam({w}, {.eps = -1}), ValueError, "invalid eps -1");
    EXPECT_THROW_MSG(optim::AdamW({w}, {.weight_decay = -0.5}), ValueError, "invalid weight_decay -0.5");
    EXPECT_THROW_MSG(optim::SGD({w}, {.lr = std::numeric_limits<double>::quiet_NaN()}), ValueError, "invalid lr nan");
    EXPECT_THROW_MSG(optim::SGD({w}, {.momentum = -0.9}), ValueError, "invalid momentum -0.9");
    EXPECT_THROW_MSG(optim::SGD({w}, {.nesterov = true}), ValueError, "Nesterov momentum needs momentum > 0 and dampening 0");
    EXPECT_THROW_MSG(optim::RMSprop({w}, {.alpha = -0.99}), ValueError, "RMSprop: invalid alpha -0.99");
    EXPECT_THROW_MSG(optim::SGD({from_vector<std::int64_t>({1, 2})}), DTypeError,
                     "SGD: parameter 0 of group 0 has dtype int64; only float32 and float64 parameters can be optimized");
    EXPECT_THROW_MSG(optim::SGD({w * 2.0}), ValueError, "is not a leaf: it was produced by MulBackward");
    EXPECT_THROW_MSG(optim::SGD({Tensor()}), ValueError, "parameter 0 of group 0 is an undefined tensor");
    EXPECT_THROW_MSG(optim::SGD({w, w}), ValueError, "repeats parameter 0 of the same group");
    EXPECT_THROW_MSG(optim::SGD({{{w}, {}}, {{w}, {}}}), ValueError,
                     "parameter 0 of group 1 (shape [2]) is already parameter 0 of group 0");
    optim::SGD opt({w});
    EXPECT_THROW_MSG(opt.state(ramp({2}, 1.f)), ValueError, "is not one of this optimizer's parameters");
    EXPECT_THROW_MSG(opt.options(1), IndexError, "SGD.options: param group 1 out of range (this optimizer has 1)");
    EXPECT_THROW_MSG(opt.lr(3), IndexError, "param group 3 out of range");
    EXPECT_THROW_MSG(opt.params(1), IndexError, "SGD.params: param group 1 out of range");
}

// ---- gradient clipping -------------------------------------------------------------------------------------------

TEST(ClipGrad, GlobalTwoNormScalesEveryGradient) {
    Tensor a = ramp({2}, 1.f), b = ramp({1}, 1.f), frozen = ramp({3}, 1.f, false);
    a.set_grad(from_vector<float>({3.f, 4.f}));
    b.set_grad(from_vector<float>({12.f}));  // total 2-norm: √(9 + 16 + 144) = 13
    const double total = clip_grad_norm({a, b, frozen}, 1.3);
    EXPECT_DOUBLE_EQ(total, 13.0);
    const double coef = 1.3 / (13.0 + 1e-6);
    EXPECT_FLOAT_EQ(a.grad().to_vector<float>()[0], static_cast<float>(3 * coef));
    EXPECT_FLOAT_EQ(a.grad().to_vector<float>()[1], static_cast<float>(4 * coef));
    EXPECT_FLOAT_EQ(b.grad().to_vector<float>()[0], static_cast<float>(12 * coef));
    EXPECT_NEAR(clip_grad_norm({a, b}, 100.0), 1.3, 1e-6) << "the clipped gradients have norm max_norm";
}

TEST(ClipGrad, BelowTheLimitNothingChanges) {
    Tensor a = ramp({3}, 1.f);
    a.set_grad(from_vector<float>({0.1f, -0.2f, 0.3f}));
    const Tensor before = a.grad().clone();
    EXPECT_NEAR(clip_grad_norm({a}, 1.0), std::sqrt(0.14), 1e-7);
    EXPECT_TRUE(bits_equal(a.grad(), before));
}

TEST(ClipGrad, InfinityAndOneNorms) {
    Tensor a = from_vector<double>({1, 2}).requires_grad_(), b = from_vector<double>({3}).requires_grad_();
    a.set_grad(from_vector<double>({-5.0, 2.0}));
    b.set_grad(from_vector<double>({4.0}));
    EXPECT_DOUBLE_EQ(clip_grad_norm({a, b}, 10.0, std::numeric_limits<double>::infinity()), 5.0);
    EXPECT_DOUBLE_EQ(clip_grad_norm({a, b}, 100.0, 1.0), 11.0);
    EXPECT_NEAR(clip_grad_norm({a, b}, 100.0, 3.0), std::cbrt(125.0 + 8.0 + 64.0), 1e-12);
    const double inf_total = clip_grad_norm({a, b}, 2.5, std::numeric_limits<double>::infinity());
    EXPECT_DOUBLE_EQ(inf_total, 5.0);
    const double coef = 2.5 / (5.0 + 1e-6);
    EXPECT_DOUBLE_EQ(a.grad().to_vector<double>()[0], -5.0 * coef);
    EXPECT_DOUBLE_EQ(b.grad().to_vector<double>()[0], 4.0 * coef);
}

TEST(ClipGrad, LargeGradientsMatchAFloat64SumOnAnyThreadCount) {
    // Several blocks of the threaded sum and a ragged tail: the norms equal a plain float64 loop
    // (to rounding) and are bit for bit the same on 1 and 2 threads.
    manual_seed(9);
    Tensor a = zeros({100003}).requires_grad_(), b = zeros({70, 301}).requires_grad_();
    a.set_grad(randn({100003}));
    b.set_grad(randn({70, 301}));
    const int threads = get_num_threads();
    for (double p : {1.0, 2.0, 3.0}) {
        double want = 0;
        for (const Tensor& g : {a.grad(), b.grad()}) {
            double s = 0;
            for (float v : g.to_vector<float>()) s += std::pow(std::fabs(static_cast<double>(v)), p);
            want += s;  // the per-tensor norms combine as Σ nᵖ
        }
        want = std::pow(want, 1.0 / p);
        set_num_threads(1);
        const double one = clip_grad_norm({a, b}, 1e30, p);
        set_num_threads(2);
        const double two = clip_grad_norm({a, b}, 1e30, p);
        set_num_threads(threads);
        EXPECT_NEAR(one, want, 1e-11 * want) << "p = " << p;
        EXPECT_EQ(one, two) << "p = " << p;
    }
}

TEST(ClipGrad, NoGradientsAndNonFinite) {
    Tensor a = ramp({2}, 1.f);
    EXPECT_EQ(clip_grad_norm({a}, 1.0), 0.0);
    a.set_grad(from_vector<float>({std::numeric_limits<float>::infinity(), 1.f}));
    EXPECT_THROW_MSG(clip_grad_norm({a}, 1.0, 2.0, /*error_if_nonfinite=*/true), ValueError, "is inf");
    EXPECT_EQ(a.grad().to_vector<float>()[1], 1.f) << "nothing is scaled after the error";
    EXPECT_THROW_MSG(clip_grad_norm({a}, -1.0), ValueError, "max_norm must be >= 0");
    EXPECT_THROW_MSG(clip_grad_norm({a}, 1.0, 0.0), ValueError, "norm_type must be > 0");
}

TEST(ClipGrad, ByValue) {
    Tensor a = ramp({4}, 1.f), b = ramp({1}, 1.f);
    a.set_grad(from_vector<float>({-3.f, 0.25f, 0.5f, 7.f}));
    clip_grad_value({a, b}, 0.5);
    EXPECT_EQ(a.grad().to_vector<float>(), (std::vector<float>{-0.5f, 0.25f, 0.5f, 0.5f}));
    EXPECT_FALSE(b.grad().defined());
    EXPECT_THROW_MSG(clip_grad_value({a}, -1.0), ValueError, "clip_value must be >= 0");
}
