// Learning-rate schedulers (graft/optim/lr_scheduler.hpp): every scheduler's lr (and OneCycleLR's
// momentum) over 30 steps against PyTorch's (tests/golden/optim_golden.txt, from
// make_optim_golden.py: LinearWarmup against SequentialLR(LinearLR, …), CosineLR against the
// LambdaLR of the warmup-then-cosine formula); hand-derived values for CosineLR's design example
// and a warmup around ReduceLROnPlateau; initial_lr bookkeeping; bit-identical resumption through
// state dicts; errors.
#include <cmath>
#include <fstream>
#include <limits>
#include <functional>
#include <map>
#include <memory>
#include <numbers>
#include <sstream>
#include <string>
#include <vector>

#include "test_util.hpp"

using namespace graft;

namespace {

struct SchedCase {
    std::string name, kind, optimizer;
    std::map<std::string, std::string> args;
    std::map<int, std::vector<double>> lr, momentum;
    std::map<int, double> metric;
};

std::vector<double> numbers_of(std::istringstream& in) {
    std::vector<double> v;
    std::string token;
    while (in >> token) v.push_back(std::stod(token));
    return v;
}

const std::vector<SchedCase>& golden_schedulers() {
    static const std::vector<SchedCase> cases = [] {
        std::vector<SchedCase> out;
        const std::string path = std::string(GRAFT_TEST_DATA_DIR) + "/optim_golden.txt";
        std::ifstream file(path);
        if (!file) throw std::runtime_error("cannot open " + path);
        std::string line;
        SchedCase* current = nullptr;
        while (std::getline(file, line)) {
            std::istringstream in(line);
            std::string kind;
            in >> kind;
            if (kind == "scheduler") {
                current = &out.emplace_back();
                in >> current->name >> current->kind >> current->optimizer;
                std::string kv;
                while (in >> kv) {
                    const auto eq = kv.find('=');
                    current->args[kv.substr(0, eq)] = kv.substr(eq + 1);
                }
            } else if (current && (kind == "lr" || kind == "momentum" || kind == "metric")) {
                int step = 0;
                in >> step;
                const std::vector<double> v = numbers_of(in);
                if (kind == "lr") current->lr[step] = v;
                if (kind == "momentum") current->momentum[step] = v;
                if (kind == "metric") current->metric[step] = v.at(0);
            } else if (kind == "end" || kind == "optimizer") {
                current = nullptr;
            }
        }
        return out;
    }();
    return cases;
}

double num(const SchedCase& c, const std::string& key) { return std::stod(c.args.at(key)); }
std::int64_t integer(const SchedCase& c, const std::string& key) { return std::stoll(c.args.at(key)); }

template <class T>
std::vector<T> list(const SchedCase& c, const std::string& key) {
    std::vector<T> out;
    std::stringstream in(c.args.at(key));
    std::string item;
    while (std::getline(in, item, ',')) out.push_back(static_cast<T>(std::stod(item)));
    return out;
}

/// The optimizer every scheduler case runs on: two groups (lr 0.1 and 0.05) of one parameter
/// each; SGD with momentum 0.9, or Adam.
std::unique_ptr<optim::Optimizer> make_optimizer(const std::string& cls) {
    const std::vector<Tensor> a = {zeros({2}).requires_grad_()}, b = {zeros({3}).requires_grad_()};
    if (cls == "Adam") return std::make_unique<optim::Adam>(std::vector<optim::Adam::Group>{{a, {.lr = 0.1}}, {b, {.lr = 0.05}}});
    return std::make_unique<optim::SGD>(
        std::vector<optim::SGD::Group>{{a, {.lr = 0.1, .momentum = 0.9}}, {b, {.lr = 0.05, .momentum = 0.9}}});
}

std::unique_ptr<optim::LRScheduler> make_scheduler(const SchedCase& c, optim::Optimizer& opt) {
    using namespace optim;
    if (c.kind == "StepLR") return std::make_unique<StepLR>(opt, integer(c, "step_size"), num(c, "gamma"));
    if (c.kind == "MultiStepLR") return std::make_unique<MultiStepLR>(opt, list<std::int64_t>(c, "milestones"), num(c, "gamma"));
    if (c.kind == "ExponentialLR") return std::make_unique<ExponentialLR>(opt, num(c, "gamma"));
    if (c.kind == "CosineAnnealingLR") return std::make_unique<CosineAnnealingLR>(opt, integer(c, "T_max"), num(c, "eta_min"));
    if (c.kind == "OneCycleLR") {
        OneCycleOptions o{.total_steps = integer(c, "total_steps")};
        if (c.args.count("pct_start")) o.pct_start = num(c, "pct_start");
        if (c.args.count("anneal_strategy")) o.anneal_strategy = c.args.at("anneal_strategy") == "linear" ? Anneal::Linear : Anneal::Cos;
        if (c.args.count("three_phase")) o.three_phase = integer(c, "three_phase") != 0;
        if (c.args.count("base_momentum")) o.base_momentum = num(c, "base_momentum");
        if (c.args.count("max_momentum")) o.max_momentum = num(c, "max_momentum");
        if (c.args.count("div_factor")) o.div_factor = num(c, "div_factor");
        if (c.args.count("final_div_factor")) o.final_div_factor = num(c, "final_div_factor");
        return std::make_unique<OneCycleLR>(opt, list<double>(c, "max_lr"), o);
    }
    if (c.kind == "ReduceLROnPlateau")
        return std::make_unique<ReduceLROnPlateau>(
            opt, PlateauOptions{.mode = c.args.at("mode") == "max" ? PlateauMode::Max : PlateauMode::Min,
                                .factor = num(c, "factor"),
                                .patience = integer(c, "patience"),
                                .threshold = num(c, "threshold"),
                                .threshold_mode = c.args.at("threshold_mode") == "abs" ? ThresholdMode::Abs : ThresholdMode::Rel,
                                .cooldown = integer(c, "cooldown"),
                                .min_lr = list<double>(c, "min_lr")});
    if (c.kind == "LinearWarmup+StepLR")
        return std::make_unique<LinearWarmup>(opt, integer(c, "warmup_steps"), StepLR(opt, integer(c, "step_size"), num(c, "gamma")),
                                              num(c, "start_factor"));
    if (c.kind == "LinearWarmup+CosineAnnealingLR")
        return std::make_unique<LinearWarmup>(opt, integer(c, "warmup_steps"),
                                              CosineAnnealingLR(opt, integer(c, "T_max"), num(c, "eta_min")),
                                              num(c, "start_factor"));
    if (c.kind == "CosineLR") return std::make_unique<CosineLR>(opt, integer(c, "warmup"), integer(c, "total"));
    throw std::runtime_error("unknown scheduler kind " + c.kind);
}

void expect_lrs(const std::vector<double>& got, const std::vector<double>& want, const std::string& what) {
    ASSERT_EQ(got.size(), want.size()) << what;
    for (std::size_t g = 0; g < got.size(); ++g)
        EXPECT_NEAR(got[g], want[g], 1e-12 * std::fabs(want[g]) + 1e-15) << what << " group " << g;
}

std::vector<double> group_lrs(const optim::Optimizer& opt) {
    std::vector<double> lrs;
    for (std::size_t g = 0; g < opt.num_param_groups(); ++g) lrs.push_back(opt.lr(g));
    return lrs;
}

std::vector<double> group_momenta(const optim::Optimizer& opt) {
    std::vector<double> m;
    for (std::size_t g = 0; g < opt.num_param_groups(); ++g) m.push_back(opt.momentum(g));
    return m;
}

/// One step of a golden case: the optimizer, then the scheduler (with the metric if it has one).
void step_case(const SchedCase& c, optim::Optimizer& opt, optim::LRScheduler& sched, int step) {
    opt.step();
    if (c.metric.count(step))
        sched.step(c.metric.at(step));
    else
        sched.step();
}

}  // namespace

TEST(SchedGolden, FileCoversEveryScheduler) {
    std::map<std::string, int> kinds;
    for (const SchedCase& c : golden_schedulers()) {
        ++kinds[c.kind];
        EXPECT_EQ(c.lr.size(), 31u) << c.name;
    }
    for (const char* k : {"StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "OneCycleLR", "ReduceLROnPlateau",
                          "LinearWarmup+StepLR", "LinearWarmup+CosineAnnealingLR", "CosineLR"})
        EXPECT_GE(kinds[k], 1) << k;
}

TEST(SchedGolden, LearningRatesMatchTorch) {
    for (const SchedCase& c : golden_schedulers()) {
        SCOPED_TRACE(c.name);
        auto opt = make_optimizer(c.optimizer);
        auto sched = make_scheduler(c, *opt);
        expect_lrs(sched->get_last_lr(), c.lr.at(0), "step 0");
        for (int step = 1; step < static_cast<int>(c.lr.size()); ++step) {
            step_case(c, *opt, *sched, step);
            const std::string what = "step " + std::to_string(step);
            expect_lrs(sched->get_last_lr(), c.lr.at(step), what);
            expect_lrs(group_lrs(*opt), c.lr.at(step), what + " (optimizer)");
            if (c.momentum.count(step)) expect_lrs(group_momenta(*opt), c.momentum.at(step), what + " momentum");
            EXPECT_EQ(sched->last_epoch(), step);
        }
    }
}

TEST(SchedCosineLR, DesignExampleByHand) {
    auto opt = make_optimizer("Adam");
    optim::CosineLR sched(*opt, /*warmup=*/100, /*total=*/2000);
    auto lr_after = [&](int steps) {
        while (sched.last_epoch() < steps) sched.step();
        return opt->lr(0);
    };
    EXPECT_EQ(opt->lr(0), 0.0) << "warmup starts from zero";
    EXPECT_DOUBLE_EQ(lr_after(50), 0.05);
    EXPECT_DOUBLE_EQ(lr_after(100), 0.1);
    EXPECT_NEAR(lr_after(1050), 0.05, 1e-15);  // half way down the cosine
    EXPECT_NEAR(lr_after(2000), 0.0, 1e-18);
    EXPECT_NEAR(lr_after(2500), 0.0, 1e-18) << "it stays at eta_min after total";
    EXPECT_NEAR(opt->lr(1), 0.0, 1e-18);
}

TEST(SchedLinearWarmup, AroundReduceLROnPlateau) {
    auto opt = make_optimizer("SGD");
    optim::LinearWarmup sched(*opt, 2, optim::ReduceLROnPlateau(*opt, {.factor = 0.5, .patience = 0}), 0.5);
    EXPECT_EQ(opt->lr(0), 0.05);
    sched.step(1.0);  // warmup: the metric is ignored
    EXPECT_DOUBLE_EQ(opt->lr(0), 0.075);
    sched.step(1.0);
    EXPECT_DOUBLE_EQ(opt->lr(0), 0.1);
    sched.step(1.0);  // the plateau scheduler's first metric: the best so far
    EXPECT_DOUBLE_EQ(opt->lr(0), 0.1);
    sched.step(1.0);  // no improvement, patience 0: halve
    EXPECT_DOUBLE_EQ(opt->lr(0), 0.05);
    EXPECT_DOUBLE_EQ(opt->lr(1), 0.025);
    EXPECT_EQ(sched.get_last_lr(), (std::vector<double>{0.05, 0.025}));
    EXPECT_THROW_MSG(sched.step(), ValueError, "ReduceLROnPlateau.step: it needs the monitored metric");
    EXPECT_EQ(sched.last_epoch(), 4) << "a failed step is not counted";
}

TEST(SchedInitialLr, FirstSchedulerRecordsItLaterOnesStartFromIt) {
    auto opt = make_optimizer("SGD");
    optim::ExponentialLR first(*opt, 0.5);
    first.step();
    EXPECT_EQ(opt->initial_lr(0), 0.1);
    EXPECT_DOUBLE_EQ(opt->lr(0), 0.05);
    optim::StepLR second(*opt, 3, 0.1);
    EXPECT_EQ(second.base_lrs(), (std::vector<double>{0.1, 0.05}));
    EXPECT_DOUBLE_EQ(opt->lr(0), 0.05) << "StepLR's recursive form keeps the current lr at its step 0";
    const StateDict sd = opt->state_dict();
    EXPECT_EQ(sd.at("param_groups.0.initial_lr").item<double>(), 0.1);
}

namespace {

using Factory = std::function<std::unique_ptr<optim::LRScheduler>(optim::Optimizer&)>;

/// Runs `steps` scheduler steps straight, and as `split` steps + state dicts + a fresh optimizer
/// and scheduler + the rest; the lrs must be bit-identical at every step after the split.
void expect_exact_resume(const std::string& opt_cls, const Factory& make, int steps, int split,
                         const std::function<double(int)>& metric = {}) {
    auto step = [&](optim::LRScheduler& s, int t) {
        if (metric)
            s.step(metric(t));
        else
            s.step();
    };
    auto opt_a = make_optimizer(opt_cls);
    auto sched_a = make(*opt_a);
    std::vector<std::vector<double>> straight, momenta;
    for (int t = 1; t <= steps; ++t) {
        step(*sched_a, t);
        straight.push_back(group_lrs(*opt_a));
        momenta.push_back(group_momenta(*opt_a));
    }
    auto opt_b = make_optimizer(opt_cls);
    auto sched_b = make(*opt_b);
    for (int t = 1; t <= split; ++t) step(*sched_b, t);
    const StateDict opt_state = opt_b->state_dict(), sched_state = sched_b->state_dict();

    auto opt_c = make_optimizer(opt_cls);
    auto sched_c = make(*opt_c);
    opt_c->load_state_dict(opt_state);
    sched_c->load_state_dict(sched_state);
    EXPECT_EQ(sched_c->last_epoch(), split);
    EXPECT_EQ(sched_c->get_last_lr(), straight[static_cast<std::size_t>(split - 1)]);
    for (int t = split + 1; t <= steps; ++t) {
        step(*sched_c, t);
        EXPECT_EQ(group_lrs(*opt_c), straight[static_cast<std::size_t>(t - 1)]) << sched_c->name() << " step " << t;
        EXPECT_EQ(group_momenta(*opt_c), momenta[static_cast<std::size_t>(t - 1)]) << sched_c->name() << " step " << t;
    }
}

}  // namespace

TEST(SchedState, ResumingIsBitIdentical) {
    using namespace optim;
    expect_exact_resume("SGD", [](Optimizer& o) { return std::make_unique<StepLR>(o, 4, 0.5); }, 20, 9);
    expect_exact_resume("SGD", [](Optimizer& o) { return std::make_unique<MultiStepLR>(o, std::vector<std::int64_t>{3, 12}, 0.2); }, 20, 7);
    expect_exact_resume("SGD", [](Optimizer& o) { return std::make_unique<CosineAnnealingLR>(o, 7, 0.01); }, 25, 11);
    expect_exact_resume("Adam", [](Optimizer& o) { return std::make_unique<OneCycleLR>(o, 0.5, OneCycleOptions{.total_steps = 20}); }, 20, 8);
    expect_exact_resume("SGD", [](Optimizer& o) { return std::make_unique<CosineLR>(o, 5, 18); }, 20, 3);
    expect_exact_resume("SGD", [](Optimizer& o) {
        return std::make_unique<LinearWarmup>(o, 6, CosineAnnealingLR(o, 10), 0.2);
    }, 20, 4);
    expect_exact_resume("SGD", [](Optimizer& o) {
        return std::make_unique<ReduceLROnPlateau>(o, PlateauOptions{.factor = 0.5, .patience = 1, .cooldown = 2});
    }, 20, 10, [](int t) { return t < 5 ? 1.0 / t : 0.2; });
}

TEST(SchedState, StateDictKeysAndValidation) {
    auto opt = make_optimizer("SGD");
    optim::ReduceLROnPlateau plateau(*opt, {.mode = optim::PlateauMode::Max});
    plateau.step(0.7);
    const StateDict sd = plateau.state_dict();
    EXPECT_EQ(sd.keys(), (std::vector<std::string>{"last_epoch", "base_lrs.0", "base_lrs.1", "last_lr.0", "last_lr.1",
                                                    "best", "num_bad_epochs", "cooldown_counter"}));
    EXPECT_EQ(sd.at("best").item<double>(), 0.7);

    optim::StepLR step(*opt, 5);
    EXPECT_THROW_MSG(step.load_state_dict(sd), ValueError, "StepLR.load_state_dict: unexpected key 'best'");
    StateDict partial = step.state_dict();
    partial.erase("last_lr.1");
    EXPECT_THROW_MSG(step.load_state_dict(partial), ValueError, "missing key 'last_lr.1'");
    StateDict wrong = step.state_dict();
    wrong.set("last_epoch", zeros({2}));
    EXPECT_THROW_MSG(step.load_state_dict(wrong), ValueError, "'last_epoch' must be a one-element numeric tensor");

    optim::LinearWarmup warm(*opt, 3, optim::StepLR(*opt, 2));
    const std::vector<std::string> keys = warm.state_dict().keys();
    EXPECT_NE(std::find(keys.begin(), keys.end(), "after.last_epoch"), keys.end());
    EXPECT_NE(std::find(keys.begin(), keys.end(), "targets.1"), keys.end());
}

TEST(SchedState, LoadRejectsBadValuesNamingTheKeyAndChangesNothing) {
    const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
    auto opt = make_optimizer("SGD");
    optim::StepLR step(*opt, 2, 0.5);
    step.step();
    step.step();
    const StateDict good = step.state_dict();
    const std::vector<double> base = step.base_lrs(), last = step.get_last_lr();
    auto expect_refused = [&](optim::LRScheduler& sched, const StateDict& dict, const std::string& key, double value,
                              const std::string& needle) {
        SCOPED_TRACE(key + " = " + std::to_string(value));
        StateDict bad = dict;
        bad.set(key, scalar_tensor(value, DType::Float64));
        const StateDict before = sched.state_dict();
        EXPECT_THROW_MSG(sched.check_state_dict(bad), ValueError, needle);
        EXPECT_THROW_MSG(sched.load_state_dict(bad), ValueError, needle);
        for (const auto& [k, t] : before) EXPECT_EQ(sched.state_dict().at(k).item<double>(), t.item<double>()) << k;
    };
    const std::string epoch_rule = "StepLR.load_state_dict: 'last_epoch' must be a non-negative integer (at most 2^53), got ";
    expect_refused(step, good, "last_epoch", nan, epoch_rule + "nan");
    expect_refused(step, good, "last_epoch", inf, epoch_rule + "inf");
    expect_refused(step, good, "last_epoch", -inf, epoch_rule + "-inf");
    expect_refused(step, good, "last_epoch", 1e300, epoch_rule + "1e+300");
    expect_refused(step, good, "last_epoch", -3, epoch_rule + "-3");
    expect_refused(step, good, "last_epoch", 1.5, epoch_rule + "1.5");
    expect_refused(step, good, "base_lrs.0", -0.1, "'base_lrs.0' must be a finite number >= 0, got -0.1");
    expect_refused(step, good, "base_lrs.1", nan, "'base_lrs.1' must be a finite number >= 0, got nan");
    expect_refused(step, good, "last_lr.0", inf, "'last_lr.0' must be a finite number >= 0, got inf");
    EXPECT_EQ(step.last_epoch(), 2);
    EXPECT_EQ(step.base_lrs(), base);
    EXPECT_EQ(step.get_last_lr(), last);

    optim::ReduceLROnPlateau plateau(*opt);
    plateau.step(1.0);
    const StateDict plateau_state = plateau.state_dict();
    expect_refused(plateau, plateau_state, "best", nan, "'best' must be a number or an infinity, got nan");
    expect_refused(plateau, plateau_state, "num_bad_epochs", -1,
                   "'num_bad_epochs' must be a non-negative integer (at most 2^53), got -1");
    expect_refused(plateau, plateau_state, "cooldown_counter", 0.5,
                   "'cooldown_counter' must be a non-negative integer (at most 2^53), got 0.5");

    optim::LinearWarmup warm(*opt, 3, optim::StepLR(*opt, 2));
    warm.step();
    const StateDict warm_state = warm.state_dict();
    expect_refused(warm, warm_state, "targets.1", nan, "'targets.1' must be a finite number >= 0, got nan");
    // The wrapped scheduler's bad entry is found before the warmup's own values change.
    expect_refused(warm, warm_state, "after.last_epoch", nan,
                   "LinearWarmup.load_state_dict: 'after.*': StepLR.load_state_dict: 'last_epoch' must be a "
                   "non-negative integer");
    EXPECT_EQ(warm.last_epoch(), 1);
}

TEST(SchedErrors, BadArguments) {
    using namespace optim;
    auto opt = make_optimizer("SGD");
    auto other = make_optimizer("SGD");
    EXPECT_THROW_MSG(StepLR(*opt, 0), ValueError, "StepLR: step_size must be >= 1, got 0");
    EXPECT_THROW_MSG(CosineAnnealingLR(*opt, 0), ValueError, "T_max must be >= 1");
    EXPECT_THROW_MSG(CosineLR(*opt, 10, 10), ValueError, "CosineLR: total (10) must exceed warmup (10)");
    EXPECT_THROW_MSG(OneCycleLR(*opt, 0.1, {}), ValueError, "OneCycleLR: total_steps must be > 0, got 0");
    EXPECT_THROW_MSG(OneCycleLR(*opt, std::vector<double>{0.1}, {.total_steps = 10}), ValueError,
                     "expected 2 max_lr values (one per param group), got 1");
    EXPECT_THROW_MSG(OneCycleLR(*opt, 0.1, {.total_steps = 10, .pct_start = 1.5}), ValueError, "pct_start must be in [0, 1]");
    EXPECT_THROW_MSG(OneCycleLR(*opt, 0.1, {.total_steps = 10, .pct_start = 0.1}), ValueError, "leaves a phase without steps");
    EXPECT_THROW_MSG(ReduceLROnPlateau(*opt, {.factor = 1.0}), ValueError, "factor must be in [0, 1), got 1");
    EXPECT_THROW_MSG(ReduceLROnPlateau(*opt, {.min_lr = {0.1, 0.2, 0.3}}), ValueError, "expected 1 or 2 min_lr values");
    EXPECT_THROW_MSG(LinearWarmup(*opt, 5, StepLR(*other, 3)), ValueError,
                     "LinearWarmup: the wrapped StepLR schedules a different optimizer");
    EXPECT_THROW_MSG(LinearWarmup(*opt, -1, StepLR(*opt, 3)), ValueError, "warmup_steps must be >= 0");

    StepLR step(*opt, 2);
    EXPECT_THROW_MSG(step.step(0.5), ValueError, "StepLR.step(metric): this scheduler takes no metric");

    optim::SGD grown({zeros({2}).requires_grad_()}, {.lr = 0.1});
    CosineAnnealingLR early(grown, 5);
    grown.add_param_group({zeros({2}).requires_grad_()}, {.lr = 0.2});
    EXPECT_THROW_MSG(early.step(), ValueError, "CosineAnnealingLR: the SGD now has 2 param groups, but this scheduler was built for 1");

    OneCycleLR cycle(*opt, 0.1, {.total_steps = 4});
    for (int i = 0; i < 4; ++i) cycle.step();
    EXPECT_THROW_MSG(cycle.step(), ValueError, "OneCycleLR: tried to step 6 times; the cycle has total_steps = 4");
    EXPECT_EQ(cycle.last_epoch(), 4);
}
