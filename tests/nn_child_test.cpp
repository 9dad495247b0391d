// nn::Child, the member that holds a custom module's child, on a small ResNet-like module written
// the way a PyTorch user porting torchvision's ResNet-18 would: assigning a new head is what
// parameters(), state_dict(), forward and an optimizer see; apply_lora wraps typed children in
// place; clone copies the current tree; an error inside a child names its module path.
#include <string>
#include <vector>

#include "test_util.hpp"

using namespace graft;

namespace {

/// conv → bn → relu, like torchvision's BasicBlock without the residual.
struct BasicBlock : nn::Cloneable<BasicBlock> {
    BasicBlock(std::int64_t in, std::int64_t out) : in_(in), out_(out) { reset(); }
    void reset() override {
        register_module("conv1", &BasicBlock::conv1, nn::Conv2d(in_, out_, 3, {.padding = 1, .bias = false}));
        register_module("bn1", &BasicBlock::bn1, nn::BatchNorm2d(out_));
        register_module("relu", &BasicBlock::relu, nn::ReLU());
    }
    Tensor forward(const Tensor& x) override { return relu(bn1(conv1(x))); }
    std::string type_name() const override { return "BasicBlock"; }
    std::int64_t in_, out_;
    nn::Child<nn::Conv2d> conv1;
    nn::Child<nn::BatchNorm2d> bn1;
    nn::Child<nn::ReLU> relu;
};

/// conv1, bn1, relu, layer1 (two blocks), global mean, fc: torchvision's names at a tenth of the depth.
struct TinyResNet : nn::Cloneable<TinyResNet> {
    explicit TinyResNet(std::int64_t classes = 10) : classes_(classes) { reset(); }
    void reset() override {
        register_module("conv1", &TinyResNet::conv1, nn::Conv2d(3, 8, 3, {.padding = 1, .bias = false}));
        register_module("bn1", &TinyResNet::bn1, nn::BatchNorm2d(8));
        register_module("relu", &TinyResNet::relu, nn::ReLU());
        register_module("layer1", &TinyResNet::layer1, nn::Sequential{BasicBlock(8, 8), BasicBlock(8, 8)});
        register_module("fc", &TinyResNet::fc, nn::Linear(8, classes_));
    }
    Tensor forward(const Tensor& x) override { return fc(mean(layer1(relu(bn1(conv1(x)))), {2, 3})); }
    std::string type_name() const override { return "TinyResNet"; }
    std::int64_t classes_;
    nn::Child<nn::Conv2d> conv1;
    nn::Child<nn::BatchNorm2d> bn1;
    nn::Child<nn::ReLU> relu;
    nn::Child<nn::Sequential> layer1;
    nn::Child<nn::Linear> fc;
};

/// The same shape with a plain std::shared_ptr member: the registry cannot see what it holds.
struct SharedPtrNet : nn::Cloneable<SharedPtrNet> {
    SharedPtrNet() { reset(); }
    void reset() override { fc = register_module("fc", nn::Linear(4, 4)); }
    Tensor forward(const Tensor& x) override { return fc->forward(x); }
    std::string type_name() const override { return "SharedPtrNet"; }
    std::shared_ptr<nn::Linear> fc;
};

Tensor images(std::int64_t n = 4, std::uint64_t seed = 3) {
    Generator g(seed);
    return randn({n, 3, 6, 6}, DType::Float32, &g);
}

std::vector<float> floats(const Tensor& t) { return t.contiguous().to_vector<float>(); }

bool holds(const std::vector<Tensor>& tensors, const Tensor& t) {
    for (const auto& u : tensors)
        if (u.shares_storage(t)) return true;
    return false;
}

}  // namespace

TEST(ChildHolder, AssignedHeadIsWhatStateDictParametersAndForwardSee) {
    manual_seed(1);
    TinyResNet net;
    const Tensor old_weight = net.fc->weight;
    net.fc = std::make_shared<nn::Linear>(8, 5);
    const StateDict sd = net.state_dict();
    EXPECT_EQ(sd.keys().back(), "fc.bias");
    EXPECT_EQ(sd.at("fc.weight").shape(), (Shape{5, 8}));
    EXPECT_TRUE(sd.at("fc.weight").shares_storage(net.fc->weight));
    EXPECT_EQ(floats(sd.at("fc.bias")), floats(net.fc->bias));
    EXPECT_TRUE(holds(net.parameters(), net.fc->weight));
    EXPECT_FALSE(holds(net.parameters(), old_weight));
    EXPECT_EQ(net.submodule("fc")->repr(), "Linear(in_features=8, out_features=5, bias=True)");
    EXPECT_EQ(net.forward(images()).shape(), (Shape{4, 5}));

    // By value, like `self.fc = nn.Linear(8, 3)`, in the same place of the registry.
    net.fc = nn::Linear(8, 3);
    EXPECT_EQ(net.state_dict().at("fc.weight").shape(), (Shape{3, 8}));
    EXPECT_EQ(net.state_dict().keys(), sd.keys());
    EXPECT_EQ(net.forward(images()).shape(), (Shape{4, 3}));

    // A copy of the model has its own slots: assigning the copy's head leaves the original's.
    TinyResNet copy = net;
    copy.fc = nn::Linear(8, 7);
    EXPECT_EQ(copy.state_dict().at("fc.weight").shape(), (Shape{7, 8}));
    EXPECT_EQ(net.state_dict().at("fc.weight").shape(), (Shape{3, 8}));
}

TEST(ChildHolder, OptimizerBuiltAfterTheSwapTrainsTheNewHead) {
    manual_seed(2);
    TinyResNet net;
    net.freeze();
    net.fc = nn::Linear(8, 5);
    const std::vector<Tensor> trainable = net.trainable_parameters();
    ASSERT_EQ(trainable.size(), 2u);
    EXPECT_TRUE(trainable[0].shares_storage(net.fc->weight));
    EXPECT_TRUE(trainable[1].shares_storage(net.fc->bias));

    optim::SGD opt(trainable, {.lr = 0.5});
    const std::vector<float> head_before = floats(net.fc->weight), conv_before = floats(net.conv1->weight);
    const Tensor labels = from_vector<std::int64_t>({0, 1, 2, 4}, {4});
    nn::functional::cross_entropy(net.forward(images()), labels).backward();
    opt.step();
    EXPECT_NE(floats(net.fc->weight), head_before);
    EXPECT_EQ(floats(net.conv1->weight), conv_before);
    // The saved file holds the trained head.
    EXPECT_EQ(floats(net.state_dict().at("fc.weight")), floats(net.fc->weight));
}

TEST(ChildHolder, ApplyLoraWrapsTypedChildrenInPlace) {
    manual_seed(3);
    TinyResNet net;
    net.eval();
    const Tensor x = images();
    const std::vector<float> before = floats(net.forward(x));
    const auto wrapped = nn::apply_lora(net, {.r = 2, .alpha = 4, .target_modules = {"fc"}});
    EXPECT_EQ(wrapped, std::vector<std::string>{"fc"});
    EXPECT_EQ(net.fc.module()->type_name(), "LoraLinear");
    EXPECT_EQ(net.submodule("fc")->type_name(), "LoraLinear");
    // lora_B starts at zero: the same output, through the wrapper.
    EXPECT_EQ(floats(net.forward(x)), before);

    auto lora = std::dynamic_pointer_cast<nn::LoraLinear>(net.fc.module());
    ASSERT_NE(lora, nullptr);
    {
        NoGradGuard guard;
        lora->lora_B.fill_(0.25);
    }
    // The parent's forward (fc(h)) runs the adapter: y = base(h) + scale·(h·Aᵀ)·Bᵀ.
    const Tensor h = mean(net.layer1(net.relu(net.bn1(net.conv1(x)))), {2, 3});
    const Tensor expected =
        add(linear(h, lora->weight, lora->bias), linear(linear(h, lora->lora_A), lora->lora_B), lora->scale());
    EXPECT_TRUE(allclose(net.forward(x), expected, 1e-5, 1e-6));
    EXPECT_FALSE(allclose(net.forward(x), from_vector<float>(before, {4, 10}), 1e-3, 1e-3));

    // Only the adapters train.
    net.train();
    nn::functional::cross_entropy(net.forward(x), from_vector<std::int64_t>({0, 1, 2, 3}, {4})).backward();
    EXPECT_TRUE(lora->lora_A.grad().defined());
    EXPECT_FALSE(lora->weight.grad().defined());
    EXPECT_EQ(net.trainable_parameters().size(), 2u);
    // The typed accessor refuses a slot that holds another type.
    EXPECT_THROW_MSG((void)net.fc->weight, Error, "nn::Child 'fc' holds a LoraLinear");
}

TEST(ChildHolder, ApplyLoraStillRefusesAPlainSharedPtrMember) {
    SharedPtrNet net;
    EXPECT_THROW_MSG(nn::apply_lora(net, {.target_modules = {"fc"}}), ValueError, "Declare the member as nn::Child");
    EXPECT_EQ(net.submodule("fc")->type_name(), "Linear");
}

TEST(ChildHolder, CloneAfterReplaceCopiesTheCurrentTree) {
    manual_seed(4);
    TinyResNet net;
    net.replace("fc", nn::Linear(8, 5));
    net.replace("layer1.1.conv1", nn::Conv2d(8, 8, 3, {.padding = 1}));  // with a bias now
    net.fc = nn::Linear(8, 6);
    net.freeze("layer1.0.*");
    net.eval();
    auto twin = nn::clone(net);

    const StateDict a = net.state_dict(), b = twin->state_dict();
    ASSERT_EQ(b.keys(), a.keys());
    EXPECT_TRUE(b.contains("layer1.1.conv1.bias"));
    for (const auto& [name, t] : a) {
        EXPECT_EQ(floats(b.at(name)), floats(t)) << name;
        EXPECT_FALSE(b.at(name).shares_storage(t)) << name;
    }
    for (const auto& [name, t] : twin->named_parameters())
        EXPECT_EQ(t.requires_grad(), name.rfind("layer1.0.", 0) != 0) << name;
    EXPECT_FALSE(twin->is_training());
    const Tensor x = images();
    EXPECT_EQ(floats(twin->forward(x)), floats(net.forward(x)));
    // The twin's members hold its registered children.
    EXPECT_TRUE(b.at("fc.weight").shares_storage(twin->fc->weight));
    EXPECT_EQ(twin->fc->out_features, 6);
    // Independent: writing into the twin leaves the original alone.
    {
        NoGradGuard guard;
        twin->fc->weight.fill_(1.0);
    }
    EXPECT_EQ(floats(net.fc->weight), floats(a.at("fc.weight")));
    // A clone of the clone, and a clone after apply_lora, copy the current tree too.
    auto second = nn::clone(*twin);
    EXPECT_EQ(floats(second->state_dict().at("fc.weight")), floats(twin->fc->weight));
    nn::apply_lora(net, {.target_modules = {"fc"}});
    auto adapted = nn::clone(net);
    EXPECT_EQ(adapted->fc.module()->type_name(), "LoraLinear");
    EXPECT_EQ(adapted->state_dict().keys(), net.state_dict().keys());
    EXPECT_EQ(floats(adapted->forward(x)), floats(net.forward(x)));
}

TEST(ChildHolder, CloneKeepsAnAssignedChildsConfigurationThatNoTensorShows) {
    // A child whose configuration is in neither its tensors nor its repr.
    struct Scale : nn::Cloneable<Scale> {
        explicit Scale(double factor) : factor(factor) { reset(); }
        void reset() override {}
        Tensor forward(const Tensor& x) override { return mul(x, factor); }
        double factor;
    };
    struct Scaled : nn::Cloneable<Scaled> {
        Scaled() { reset(); }
        void reset() override { register_module("scale", &Scaled::scale, Scale(1.0)); }
        Tensor forward(const Tensor& x) override { return scale(x); }
        nn::Child<Scale> scale;
    };
    Scaled m;
    m.scale = Scale(3.0);
    auto twin = nn::clone(m);
    EXPECT_EQ(twin->scale->factor, 3.0);
    EXPECT_EQ(floats(twin->forward(ones({2}))), (std::vector<float>{3.0f, 3.0f}));
}

TEST(ChildHolder, CloneAfterReplaceIsLoudForAPlainSharedPtrMember) {
    SharedPtrNet net;
    net.replace("fc", nn::Linear(4, 2));
    EXPECT_THROW_MSG(nn::clone(net), Error, "declare that member as nn::Child");
}

TEST(ChildHolder, ErrorInsideAChildNamesItsModulePath) {
    TinyResNet net;
    net.replace("layer1.1.conv1", nn::Conv2d(3, 8, 3, {.padding = 1}));
    try {
        net.forward(images());
        ADD_FAILURE() << "forward did not throw";
    } catch (const ShapeError& e) {
        const std::string msg = e.what();
        EXPECT_EQ(msg.rfind("layer1.1.conv1 (Conv2d): Conv2d(3, 8, kernel_size=(3, 3)", 0), 0u) << msg;
        EXPECT_NE(msg.find("input has 8 channels, layer expects 3"), std::string::npos) << msg;
        EXPECT_EQ(e.module_path(), "layer1.1.conv1");
    }
    // A child of the model itself: its name alone.
    net.replace("layer1.1.conv1", nn::Conv2d(8, 8, 3, {.padding = 1}));
    EXPECT_THROW_MSG(net.forward(randn({4, 3, 6})), ShapeError, "conv1 (Conv2d): Conv2d(3, 8");
}

TEST(ChildHolder, MisuseIsLoud) {
    struct Unregistered : nn::Module {
        nn::Child<nn::Linear> fc;
    };
    Unregistered u;
    EXPECT_THROW_MSG(u.fc = nn::Linear(2, 2), Error, "not registered");
    EXPECT_THROW_MSG(u.fc(randn({1, 2})), Error, "holds no module");
    EXPECT_TRUE(u.parameters().empty());

    struct Twice : nn::Module {
        Twice() {
            register_module("a", &Twice::fc, nn::Linear(2, 2));
            register_module("b", &Twice::fc, nn::Linear(2, 2));
        }
        nn::Child<nn::Linear> fc;
    };
    EXPECT_THROW_MSG(Twice(), ValueError, "is already registered as 'a'");

    TinyResNet net;
    EXPECT_THROW_MSG(net.fc = std::shared_ptr<nn::Linear>(), ValueError, "the new module is null");
}
