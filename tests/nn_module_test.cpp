// nn::Module behaviour with real layers: PyTorch parameter names through nested containers and
// custom modules, state_dict round trips and load reports, replace, deep clone, train/eval,
// freezing by glob and its effect on backward, summary, repr and error context.
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "test_util.hpp"

using namespace graft;

namespace {

std::vector<double> values(const Tensor& t) { return t.to_vector<double>(); }

std::vector<std::string> names_of(const std::vector<std::pair<std::string, Tensor>>& named) {
    std::vector<std::string> out;
    for (const auto& [n, t] : named) out.push_back(n);
    return out;
}

std::map<std::string, Tensor> by_name(const nn::Module& m) {
    std::map<std::string, Tensor> out;
    for (const auto& [n, t] : m.named_parameters()) out[n] = t;
    return out;
}

/// A custom two-layer module, written the way a user would.
struct Net : nn::Cloneable<Net> {
    Net(std::int64_t in, std::int64_t out) : in_(in), out_(out) { reset(); }
    void reset() override {
        register_module("fc1", &Net::fc1, nn::Linear(in_, 16));
        register_module("drop", &Net::drop, nn::Dropout(0.5));
        register_module("fc2", &Net::fc2, nn::Linear(16, out_));
    }
    Tensor forward(const Tensor& x) override { return fc2(drop(relu(fc1(x)))); }
    std::string type_name() const override { return "Net"; }
    std::int64_t in_, out_;
    nn::Child<nn::Linear> fc1, fc2;
    nn::Child<nn::Dropout> drop;
};

/// Nested: an embedding, a Sequential of blocks and a head, like a small transformer's layout.
struct Tower : nn::Cloneable<Tower> {
    Tower() { reset(); }
    void reset() override {
        register_module("embed", &Tower::embed, nn::Embedding(20, 8));
        register_module("blocks", &Tower::blocks, nn::Sequential{nn::LayerNorm(8), nn::Linear(8, 8), nn::GELU()});
        register_module("head", &Tower::head, Net(8, 3));
    }
    Tensor forward(const Tensor& ids) override { return head(blocks(embed(ids))); }
    std::string type_name() const override { return "Tower"; }
    nn::Child<nn::Embedding> embed;
    nn::Child<nn::Sequential> blocks;
    nn::Child<Net> head;
};

/// A buffer of its own and a child with buffers, for named_buffers' order and names.
struct Stats : nn::Cloneable<Stats> {
    Stats() { reset(); }
    void reset() override {
        register_buffer("count", zeros({1}));
        register_module("bn", &Stats::bn, nn::BatchNorm1d(3));
    }
    std::string type_name() const override { return "Stats"; }
    nn::Child<nn::BatchNorm1d> bn;
};

nn::Sequential mlp() { return nn::Sequential{nn::Linear(16, 32), nn::ReLU(), nn::Linear(32, 10)}; }

}  // namespace

TEST(ModuleNames, MatchPyTorchStateDictKeys) {
    nn::Sequential seq = mlp();
    EXPECT_EQ(names_of(seq.named_parameters()),
              (std::vector<std::string>{"0.weight", "0.bias", "2.weight", "2.bias"}));
    Net net(4, 2);
    EXPECT_EQ(names_of(net.named_parameters()),
              (std::vector<std::string>{"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"}));
    Tower tower;
    EXPECT_EQ(names_of(tower.named_parameters()),
              (std::vector<std::string>{"embed.weight", "blocks.0.weight", "blocks.0.bias", "blocks.1.weight",
                                        "blocks.1.bias", "head.fc1.weight", "head.fc1.bias", "head.fc2.weight",
                                        "head.fc2.bias"}));
    EXPECT_EQ(tower.state_dict().keys(), names_of(tower.named_parameters()));
    std::vector<std::string> modules;
    for (const auto& [n, m] : tower.named_modules()) modules.push_back(n + ":" + m->type_name());
    EXPECT_EQ(modules, (std::vector<std::string>{":Tower", "embed:Embedding", "blocks:Sequential",
                                                 "blocks.0:LayerNorm", "blocks.1:Linear", "blocks.2:GELU",
                                                 "head:Net", "head.fc1:Linear", "head.drop:Dropout",
                                                 "head.fc2:Linear"}));
    EXPECT_EQ(tower.submodule("blocks.1")->type_name(), "Linear");
}

TEST(ModuleNames, BuffersOwnFirstThenEachChildsUnderItsName) {
    nn::Sequential seq{nn::Linear(2, 3), Stats()};
    const auto named = seq.named_buffers();
    EXPECT_EQ(names_of(named), (std::vector<std::string>{"1.count", "1.bn.running_mean", "1.bn.running_var",
                                                         "1.bn.num_batches_tracked"}));
    const std::vector<Tensor> plain = seq.buffers();
    ASSERT_EQ(plain.size(), named.size());
    for (std::size_t i = 0; i < plain.size(); ++i) EXPECT_TRUE(plain[i].shares_storage(named[i].second)) << i;
    EXPECT_TRUE(seq.named_buffers(/*recurse=*/false).empty());
    const auto stats = std::dynamic_pointer_cast<Stats>(seq.submodule("1"));
    ASSERT_NE(stats, nullptr);
    EXPECT_EQ(names_of(stats->named_buffers(false)), (std::vector<std::string>{"count"}));
    EXPECT_EQ(names_of(stats->named_parameters()), (std::vector<std::string>{"bn.weight", "bn.bias"}));
    EXPECT_TRUE(stats->parameters(false).empty());
    EXPECT_EQ(seq.parameters().size(), 4u);
}

TEST(ModuleStateDict, RoundTripIntoAFreshModel) {
    manual_seed(1);
    Tower a;
    manual_seed(2);
    Tower b;
    EXPECT_NE(values(a.blocks->at<nn::Linear>(1)->weight), values(b.blocks->at<nn::Linear>(1)->weight));
    const StateDict sd = a.state_dict();
    const nn::LoadReport report = b.load_state_dict(sd);
    EXPECT_TRUE(report.ok()) << report.to_string();
    EXPECT_EQ(report.loaded.size(), 9u);
    EXPECT_EQ(report.to_string(), "ok (9 tensors loaded)");
    const auto pa = by_name(a), pb = by_name(b);
    for (const auto& [name, t] : pa) {
        EXPECT_EQ(values(t), values(pb.at(name))) << name;
        EXPECT_FALSE(t.shares_storage(pb.at(name))) << name;
    }
    // The loaded values are in the tensors the layers use.
    EXPECT_TRUE(pb.at("head.fc1.weight").shares_storage(b.head->fc1->weight));
    a.eval();
    b.eval();
    Tensor ids = from_vector<std::int64_t>({1, 5, 19, 0, 7, 7}, {2, 3});
    EXPECT_EQ(values(a.forward(ids)), values(b.forward(ids)));
    // Writing into the source afterwards leaves the copy alone.
    {
        NoGradGuard guard;
        a.head->fc2->bias.fill_(42.0);
    }
    EXPECT_NE(values(b.head->fc2->bias)[0], 42.0);
}

TEST(ModuleStateDict, LoadReportListsEveryProblem) {
    nn::Sequential model = mlp();
    nn::Sequential donor = mlp();
    StateDict sd;
    for (const auto& [n, t] : donor.state_dict())
        if (n != "2.bias") sd.insert(n, t);
    sd.set("0.weight", zeros({32, 15}));   // wrong shape
    sd.insert("extra.weight", zeros({3}));  // not in the model
    const std::vector<double> before0 = values(model.at<nn::Linear>(0)->weight);
    const std::vector<double> before2 = values(model.at<nn::Linear>(2)->weight);

    // strict: one exception listing all three, and nothing loaded.
    try {
        model.load_state_dict(sd);
        ADD_FAILURE() << "strict load_state_dict did not throw";
    } catch (const ValueError& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find("missing: 2.bias"), std::string::npos) << msg;
        EXPECT_NE(msg.find("unexpected: extra.weight"), std::string::npos) << msg;
        EXPECT_NE(msg.find("shape mismatch: 0.weight: model [32, 16], dict [32, 15]"), std::string::npos) << msg;
        EXPECT_NE(msg.find("nothing loaded"), std::string::npos) << msg;
    }
    EXPECT_EQ(values(model.at<nn::Linear>(0)->weight), before0);
    EXPECT_EQ(values(model.at<nn::Linear>(2)->weight), before2);

    // non-strict: the report, and the matching tensors loaded.
    const nn::LoadReport r = model.load_state_dict(sd, {.strict = false});
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.missing, std::vector<std::string>{"2.bias"});
    EXPECT_EQ(r.unexpected, std::vector<std::string>{"extra.weight"});
    ASSERT_EQ(r.mismatched.size(), 1u);
    EXPECT_EQ(r.mismatched[0].name, "0.weight");
    EXPECT_EQ(r.mismatched[0].expected, (Shape{32, 16}));
    EXPECT_EQ(r.mismatched[0].got, (Shape{32, 15}));
    EXPECT_EQ(r.loaded, (std::vector<std::string>{"0.bias", "2.weight"}));
    EXPECT_EQ(values(model.at<nn::Linear>(0)->weight), before0);
    EXPECT_EQ(values(model.at<nn::Linear>(2)->weight), values(donor.at<nn::Linear>(2)->weight));
}

TEST(ModuleStateDict, LoadingTheModelsOwnTensorsSwappedSwapsThem) {
    manual_seed(3);
    nn::Sequential model{nn::Linear(3, 3), nn::Linear(3, 3)};
    const auto before = by_name(model);
    std::map<std::string, std::vector<double>> old;
    for (const auto& [name, t] : before) old[name] = values(t);
    // The dict holds the model's own tensors (they share its storage), the two layers' swapped.
    const StateDict own = model.state_dict();
    StateDict swapped;
    for (const char* p : {"weight", "bias"}) {
        swapped.insert(std::string("0.") + p, own.at(std::string("1.") + p));
        swapped.insert(std::string("1.") + p, own.at(std::string("0.") + p));
    }
    EXPECT_TRUE(model.load_state_dict(swapped).ok());
    const auto after = by_name(model);
    for (const char* p : {"weight", "bias"}) {
        EXPECT_EQ(values(after.at(std::string("0.") + p)), old.at(std::string("1.") + p)) << p;
        EXPECT_EQ(values(after.at(std::string("1.") + p)), old.at(std::string("0.") + p)) << p;
    }
    // A dict of the model's own tensors in place loads them unchanged.
    EXPECT_TRUE(model.load_state_dict(model.state_dict()).ok());
    EXPECT_EQ(values(by_name(model).at("0.weight")), old.at("1.weight"));
}

TEST(ModuleStateDict, AValueTheBufferCannotHoldNamesItsKeyAndLoadsNothing) {
    nn::Sequential model{nn::Linear(2, 2), nn::BatchNorm1d(2)};
    const std::vector<double> weight = values(model.state_dict().at("0.weight"));
    for (const double bad : {std::nan(""), 1e300, -std::numeric_limits<double>::infinity()}) {
        StateDict sd;
        for (const auto& [name, t] : model.state_dict()) sd.insert(name, t.clone());
        sd.set("0.weight", full({2, 2}, 5.0));
        sd.set("1.num_batches_tracked", scalar_tensor(bad, DType::Float64));  // into an int64 buffer
        EXPECT_THROW_MSG(model.load_state_dict(sd), ValueError,
                         "load_state_dict: '1.num_batches_tracked': to: float64 value ");
        EXPECT_EQ(values(model.state_dict().at("0.weight")), weight) << bad;
        EXPECT_EQ(model.state_dict().at("1.num_batches_tracked").item<std::int64_t>(), 0);
    }
    // A float holding an integer loads, converted.
    StateDict sd;
    sd.insert("1.num_batches_tracked", scalar_tensor(12.0));
    model.load_state_dict(sd, {.strict = false});
    EXPECT_EQ(model.state_dict().at("1.num_batches_tracked").item<std::int64_t>(), 12);
}

TEST(ModuleReplace, NewHeadChangesTheOutputShape) {
    nn::Sequential model{nn::Linear(16, 256), nn::ReLU(), nn::Linear(256, 10)};
    Tensor x = randn({4, 16});
    EXPECT_EQ(model.forward(x).shape(), (Shape{4, 10}));
    auto head = model.replace("2", nn::Linear(256, 5));
    EXPECT_EQ(model.forward(x).shape(), (Shape{4, 5}));
    EXPECT_EQ(by_name(model).at("2.weight").shape(), (Shape{5, 256}));
    EXPECT_TRUE(by_name(model).at("2.weight").shares_storage(head->weight));
    // Nested path in a custom module.
    Tower tower;
    tower.replace("head.fc2", nn::Linear(16, 7));
    EXPECT_EQ(by_name(tower).at("head.fc2.weight").shape(), (Shape{7, 16}));
    EXPECT_THROW_MSG(model.replace("9", nn::Identity()), IndexError, "no child '9'");
}

TEST(ModuleClone, IsDeepAndCopiesFlagsAndModes) {
    Net net(6, 3);
    net.freeze("fc1.*");
    net.eval();
    manual_seed(5);
    auto twin = nn::clone(net);
    // Cloning does not advance the global random stream.
    const double next_after_clone = randn({1}).item();
    manual_seed(5);
    EXPECT_EQ(randn({1}).item(), next_after_clone);

    Tensor x = randn({4, 6});
    EXPECT_EQ(values(twin->forward(x)), values(net.forward(x)));
    EXPECT_FALSE(twin->fc1->weight.requires_grad());
    EXPECT_FALSE(twin->fc1->bias.requires_grad());
    EXPECT_TRUE(twin->fc2->weight.requires_grad());
    EXPECT_FALSE(twin->is_training());
    EXPECT_FALSE(twin->drop->is_training());
    // The clone's member handles are its registered parameters, with their own storage.
    const auto tp = by_name(*twin);
    EXPECT_TRUE(tp.at("fc2.weight").shares_storage(twin->fc2->weight));
    EXPECT_FALSE(twin->fc2->weight.shares_storage(net.fc2->weight));
    const std::vector<double> original = values(net.fc2->weight);
    {
        NoGradGuard guard;
        twin->fc2->weight.fill_(0.5);
    }
    EXPECT_EQ(values(net.fc2->weight), original);
    EXPECT_NE(values(twin->forward(x)), values(net.forward(x)));

    // A Sequential of layers clones the same way.
    nn::Sequential seq = mlp();
    seq.train();
    auto seq_twin = nn::clone(seq);
    EXPECT_TRUE(seq_twin->is_training());
    EXPECT_EQ(seq_twin->forward(randn({2, 16})).shape(), (Shape{2, 10}));
    EXPECT_EQ(values(by_name(*seq_twin).at("2.weight")), values(by_name(seq).at("2.weight")));
    EXPECT_FALSE(by_name(*seq_twin).at("2.weight").shares_storage(by_name(seq).at("2.weight")));
}

TEST(ModuleClone, ContainerKeepsEachChildsMode) {
    nn::Sequential model{nn::Linear(3, 3), nn::Dropout(0.5)};
    model.train();
    model[1]->eval();
    auto twin = nn::clone(model);
    EXPECT_TRUE(twin->is_training());
    EXPECT_TRUE((*twin)[0]->is_training());
    EXPECT_FALSE((*twin)[1]->is_training());
}

TEST(ModuleTrainEval, RecursesIntoDropout) {
    nn::Sequential model{nn::Linear(8, 64), nn::Dropout(0.5), Net(64, 4)};
    Tensor x = randn({5, 8});
    for (const auto& [n, m] : model.named_modules()) EXPECT_TRUE(m->is_training()) << n;
    EXPECT_NE(values(model.forward(x)), values(model.forward(x)));  // dropout draws new masks
    model.eval();
    for (const auto& [n, m] : model.named_modules()) EXPECT_FALSE(m->is_training()) << n;
    EXPECT_EQ(values(model.forward(x)), values(model.forward(x)));
    model.train();
    EXPECT_TRUE(model.submodule("2.drop")->is_training());
    EXPECT_NE(values(model.forward(x)), values(model.forward(x)));
}

TEST(ModuleFreeze, GlobsAndTrainableParameters) {
    nn::Sequential model = mlp();
    EXPECT_EQ(model.trainable_parameters().size(), 4u);
    model.freeze();
    EXPECT_TRUE(model.trainable_parameters().empty());
    EXPECT_EQ(model.parameter_count(true), 0);
    model.unfreeze();
    EXPECT_EQ(model.trainable_parameters().size(), 4u);

    model.freeze("0.*");
    auto p = by_name(model);
    EXPECT_FALSE(p.at("0.weight").requires_grad());
    EXPECT_FALSE(p.at("0.bias").requires_grad());
    EXPECT_TRUE(p.at("2.weight").requires_grad());
    EXPECT_EQ(model.parameter_count(), 16 * 32 + 32 + 32 * 10 + 10);
    EXPECT_EQ(model.parameter_count(true), 32 * 10 + 10);
    model.unfreeze("*.bias");
    EXPECT_TRUE(p.at("0.bias").requires_grad());
    EXPECT_FALSE(p.at("0.weight").requires_grad());
    const auto trainable = model.trainable_parameters();
    ASSERT_EQ(trainable.size(), 3u);
    EXPECT_TRUE(trainable[0].shares_storage(p.at("0.bias")));
    const auto biases = model.parameters_matching("*.bias");
    ASSERT_EQ(biases.size(), 2u);
    EXPECT_TRUE(biases[1].shares_storage(model.at<nn::Linear>(2)->bias));
    EXPECT_THROW_MSG(model.freeze("features.*"), ValueError,
                     "pattern 'features.*' matches no parameter of this Sequential (parameters: 0.weight, 0.bias, "
                     "2.weight, 2.bias)");
    EXPECT_THROW(model.parameters_matching("*.running_mean"), ValueError);
}

TEST(ModuleFreeze, FreezeExceptKeepsOnlyTheGlobsTrainable) {
    Tower tower;
    tower.freeze("head.*");  // the listed parts become trainable again
    tower.freeze_except({"blocks.1.*", "head.fc2.*"});
    std::vector<std::string> trainable;
    for (const auto& [n, t] : tower.named_parameters())
        if (t.requires_grad()) trainable.push_back(n);
    EXPECT_EQ(trainable, (std::vector<std::string>{"blocks.1.weight", "blocks.1.bias", "head.fc2.weight",
                                                   "head.fc2.bias"}));
    // A pattern that matches nothing is an error naming it, and changes nothing.
    EXPECT_THROW_MSG(tower.freeze_except({"embed.*", "layer4.*"}), ValueError, "pattern 'layer4.*' matches no parameter");
    EXPECT_EQ(tower.trainable_parameters().size(), 4u);
    // BatchNorm: pinned in eval when frozen with batchnorm_eval, released when kept trainable.
    nn::Sequential cnn{nn::Conv2d(1, 2, 3), nn::BatchNorm2d(2), nn::Conv2d(2, 2, 3), nn::BatchNorm2d(2)};
    cnn.freeze_except({"3.*"}, {.batchnorm_eval = true});
    cnn.train();
    EXPECT_FALSE(cnn[1]->is_training());
    EXPECT_TRUE(cnn[3]->is_training());
    EXPECT_EQ(cnn.trainable_parameters().size(), 2u);
    cnn.freeze_except({});
    EXPECT_TRUE(cnn.trainable_parameters().empty());
}

TEST(ModuleFreeze, FrozenParametersGetNoGradient) {
    nn::Sequential model = mlp();
    model.freeze("0.*");
    Tensor x = randn({3, 16});
    sum(model.forward(x)).backward();
    const auto p = by_name(model);
    EXPECT_FALSE(p.at("0.weight").grad().defined());
    EXPECT_FALSE(p.at("0.bias").grad().defined());
    EXPECT_TRUE(p.at("2.weight").grad().defined());
    EXPECT_TRUE(p.at("2.bias").grad().defined());
    // dL/d(2.bias) of a sum over 3 rows is 3 everywhere.
    for (double v : values(p.at("2.bias").grad())) EXPECT_NEAR(v, 3.0, 1e-6);
    // Frozen LayerNorm and Embedding inside a nested model: the same.
    Tower tower;
    tower.freeze("embed.*");
    tower.freeze("blocks.0.*");
    sum(tower.forward(from_vector<std::int64_t>({3, 4}))).backward();
    const auto q = by_name(tower);
    EXPECT_FALSE(q.at("embed.weight").grad().defined());
    EXPECT_FALSE(q.at("blocks.0.weight").grad().defined());
    EXPECT_TRUE(q.at("blocks.1.weight").grad().defined());
    EXPECT_TRUE(q.at("head.fc2.bias").grad().defined());
}

TEST(ModuleSummary, ListsNamesShapesCountsAndTotals) {
    nn::Sequential model = mlp();
    model.freeze("0.*");
    const std::string s = model.summary();
    for (const char* needle : {"0.weight", "[32, 16]", "512", "2.bias", "[10]", "frozen", "trainable",
                               "total 874 parameters: 330 trainable, 544 frozen"})
        EXPECT_NE(s.find(needle), std::string::npos) << needle << " not in:\n" << s;
    // One line per parameter plus the header and the totals.
    EXPECT_EQ(std::count(s.begin(), s.end(), '\n'), 6);
}

TEST(ModuleErrors, SequentialPrefixesTheChildPath) {
    nn::Sequential model{nn::Linear(4, 8), nn::Linear(7, 3)};
    EXPECT_THROW_MSG(model.forward(randn({2, 4})), ShapeError,
                     "1 (Linear): Linear(in_features=7, out_features=3): input has 8 features (input shape [2, 8])");
    // Nested containers and custom modules build one dotted path, as the parameter names do.
    nn::Sequential outer{nn::Identity(), nn::Sequential{nn::ReLU(), nn::Linear(5, 2)}};
    try {
        outer.forward(randn({2, 4}));
        ADD_FAILURE() << "forward did not throw";
    } catch (const ShapeError& e) {
        EXPECT_EQ(std::string(e.what()).rfind("1.1 (Linear): Linear(in_features=5", 0), 0u) << e.what();
        EXPECT_EQ(e.module_path(), "1.1");
    }
    Tower tower;
    tower.replace("head.fc1", nn::Linear(4, 16));
    EXPECT_THROW_MSG(tower.forward(from_vector<std::int64_t>({3, 4})), ShapeError,
                     "head.fc1 (Linear): Linear(in_features=4, out_features=16): input has 8 features");
}

TEST(ModuleRepr, NestedLikePyTorch) {
    nn::Sequential model{nn::Linear(784, 256), nn::ReLU(), nn::Dropout(0.1),
                         nn::Sequential{nn::LayerNorm(256), nn::Linear(256, 10, false)}};
    EXPECT_EQ(model.repr(),
              "Sequential(\n"
              "  (0): Linear(in_features=784, out_features=256, bias=True)\n"
              "  (1): ReLU()\n"
              "  (2): Dropout(p=0.1, inplace=False)\n"
              "  (3): Sequential(\n"
              "    (0): LayerNorm((256,), eps=1e-05, elementwise_affine=True)\n"
              "    (1): Linear(in_features=256, out_features=10, bias=False)\n"
              "  )\n"
              ")");
    EXPECT_EQ(nn::Sequential().repr(), "Sequential()");
}
