// Frozen weights stored in bf16 (nn::Module::to(DType::BFloat16, {.frozen_only = true})): linear,
// Conv1D (matmul), conv2d and embedding read them in place and give the forward and the input
// gradients of the float32 model whose weights are rounded to bf16, with and without autocast;
// the errors that keep them frozen; state dicts, safetensors, clone and LoRA merging; GPT-2 and
// Llama tiny LoRA fine-tunes on a bf16 base (loss falls, the base's bytes halve).
#include <cmath>
#include <functional>

#include "graft/graft.hpp"
#include "test_util.hpp"

using namespace graft;

namespace {

double max_abs_diff(const Tensor& a, const Tensor& b) {
    return max(abs(sub(a.to(DType::Float64), b.to(DType::Float64)))).item<double>();
}
double max_abs(const Tensor& t) { return max(abs(t.to(DType::Float64))).item<double>(); }

/// Every float32 weight `to(BFloat16)` would convert, rounded to bf16 in place (still float32).
void round_weights_to_bf16(nn::Module& m) {
    NoGradGuard guard;
    for (const auto& [path, mod] : m.named_modules())
        for (const auto& name : mod->bf16_weight_names())
            if (Tensor* t = mod->find_tensor(name); t && !t->requires_grad())
                t->copy_(t->to(DType::BFloat16).to(DType::Float32));
}

/// Sum of numel · element size over the parameters.
std::size_t parameter_bytes(const nn::Module& m) {
    std::size_t bytes = 0;
    for (const auto& t : m.parameters()) bytes += static_cast<std::size_t>(t.numel()) * t.element_size();
    return bytes;
}

/// Runs `layer` (bf16 weights) and `twin` (float32 weights holding the same rounded values) on x,
/// with and without autocast, and compares outputs and input gradients within `tol` of the largest.
void expect_same_as_rounded_twin(nn::Module& layer, nn::Module& twin, const Tensor& x, double tol) {
    for (const bool autocast_on : {false, true}) {
        SCOPED_TRACE(autocast_on ? "autocast" : "float32");
        const AutocastGuard autocast(autocast_on ? DType::BFloat16 : DType::Float32);
        const Tensor xa = x.detach().clone().requires_grad_(), xb = x.detach().clone().requires_grad_();
        const Tensor ya = layer.forward(xa), yb = twin.forward(xb);
        EXPECT_EQ(ya.dtype(), DType::Float32);
        ASSERT_EQ(ya.shape(), yb.shape());
        EXPECT_LE(max_abs_diff(ya, yb), tol * max_abs(yb));
        const Tensor dy = randn(ya.shape());
        ya.backward(dy);
        yb.backward(dy);
        EXPECT_LE(max_abs_diff(xa.grad(), xb.grad()), tol * max_abs(xb.grad()));
    }
}

TEST(Bf16Frozen, LinearReadsBf16WeightAsTheRoundedFloat32Twin) {
    manual_seed(1);
    nn::Linear fc(24, 40);
    fc.weight.requires_grad_(false);
    auto twin = nn::clone(fc);
    fc.to(DType::BFloat16, {.frozen_only = true});
    round_weights_to_bf16(*twin);
    EXPECT_EQ(fc.weight.dtype(), DType::BFloat16);
    EXPECT_EQ(fc.bias.dtype(), DType::Float32);  // 1-D parameters stay float32
    expect_same_as_rounded_twin(fc, *twin, randn({3, 5, 24}), 1e-5);
    EXPECT_FALSE(fc.weight.grad().defined());  // frozen: no weight gradient
    EXPECT_TRUE(fc.bias.grad().defined());     // the trainable bias still trains
}

TEST(Bf16Frozen, LargeLinearUnderAutocastMatchesTheRoundedTwin) {
    // Large enough that the float32 twin takes the frozen-weight pack path without autocast.
    manual_seed(2);
    nn::Linear fc(256, 300, /*bias=*/false);
    fc.freeze();
    auto twin = nn::clone(fc);
    fc.to(DType::BFloat16, {.frozen_only = true});
    round_weights_to_bf16(*twin);
    expect_same_as_rounded_twin(fc, *twin, randn({2, 7, 256}), 1e-5);
}

TEST(Bf16Frozen, LongInnerDimensionRunsInBlocks) {
    // K above the product's 1024-value block, forward (Linear: x·wᵀ) and input gradient (Conv1D:
    // dy·wᵀ with K = 4100 outputs); N above the 256 columns widened at a time without autocast.
    manual_seed(13);
    nn::Linear fc(4100, 5);
    fc.weight.requires_grad_(false);
    auto fc_twin = nn::clone(fc);
    fc.to(DType::BFloat16, {.frozen_only = true});
    round_weights_to_bf16(*fc_twin);
    expect_same_as_rounded_twin(fc, *fc_twin, randn({2, 4100}), 1e-5);
    nn::Conv1D c(6, 4100);
    c.weight.requires_grad_(false);
    auto c_twin = nn::clone(c);
    c.to(DType::BFloat16, {.frozen_only = true});
    round_weights_to_bf16(*c_twin);
    expect_same_as_rounded_twin(c, *c_twin, randn({3, 6}), 1e-5);
}

TEST(Bf16Frozen, Conv1DMatmulReadsBf16Weight) {
    manual_seed(3);
    nn::Conv1D c(24, 36);
    c.weight.requires_grad_(false);
    auto twin = nn::clone(c);
    c.to(DType::BFloat16, {.frozen_only = true});
    round_weights_to_bf16(*twin);
    EXPECT_EQ(c.weight.dtype(), DType::BFloat16);
    expect_same_as_rounded_twin(c, *twin, randn({2, 5, 24}), 1e-5);
}

TEST(Bf16Frozen, Conv2dReadsBf16Weight) {
    manual_seed(4);
    for (const std::int64_t groups : {1, 4}) {
        SCOPED_TRACE("groups " + std::to_string(groups));
        nn::Conv2d conv(16, 16, 3, {.padding = 1, .groups = groups});
        conv.freeze();
        auto twin = nn::clone(conv);
        conv.to(DType::BFloat16, {.frozen_only = true});
        round_weights_to_bf16(*twin);
        EXPECT_EQ(conv.weight.dtype(), DType::BFloat16);
        EXPECT_EQ(conv.bias.dtype(), DType::Float32);
        expect_same_as_rounded_twin(conv, *twin, randn({2, 16, 9, 9}), 1e-5);
    }
}

TEST(Bf16Frozen, EmbeddingGivesFloat32RowsOfTheBf16Table) {
    manual_seed(5);
    nn::Embedding emb(50, 16, /*padding_idx=*/0);
    emb.freeze();
    auto twin = nn::clone(emb);
    emb.to(DType::BFloat16, {.frozen_only = true});
    round_weights_to_bf16(*twin);
    const Tensor ids = randint(0, 50, {3, 7});
    const Tensor y = emb.forward(ids);
    EXPECT_EQ(y.dtype(), DType::Float32);
    EXPECT_EQ(max_abs_diff(y, twin->forward(ids)), 0.0);
    EXPECT_FALSE(y.requires_grad());
}

TEST(Bf16Frozen, ConvertsOnlyFrozenGemmWeightsAndBack) {
    manual_seed(6);
    nn::Sequential net{nn::Linear(8, 16), nn::LayerNorm({16}), nn::Linear(16, 4)};
    net.freeze("0.*");
    net.freeze("1.*");
    const Tensor before = net.submodule("0")->find_tensor("weight")->detach().clone();
    net.to(DType::BFloat16, {.frozen_only = true});
    const auto named = net.named_parameters();
    for (const auto& [name, t] : named)
        EXPECT_EQ(t.dtype(), name == "0.weight" ? DType::BFloat16 : DType::Float32) << name;
    // Back to float32: the values are the bf16-rounded ones, and the layer trains again.
    net.to(DType::Float32);
    const Tensor& w = *net.submodule("0")->find_tensor("weight");
    EXPECT_EQ(w.dtype(), DType::Float32);
    EXPECT_EQ(max_abs_diff(w, before.to(DType::BFloat16)), 0.0);
    EXPECT_GT(max_abs_diff(w, before), 0.0);
    net.unfreeze();
    EXPECT_TRUE(w.requires_grad());
}

TEST(Bf16Frozen, ErrorsNameTheParameter) {
    manual_seed(7);
    nn::Sequential net{nn::Linear(8, 16), nn::ReLU(), nn::Linear(16, 4)};
    net.freeze("0.*");
    // A trainable weight cannot go to bf16 without frozen_only; nothing is converted.
    try {
        net.to(DType::BFloat16);
        FAIL() << "expected ValueError";
    } catch (const ValueError& e) {
        EXPECT_NE(std::string(e.what()).find("'2.weight'"), std::string::npos) << e.what();
    }
    EXPECT_EQ(net.submodule("0")->find_tensor("weight")->dtype(), DType::Float32);
    EXPECT_THROW(net.to(DType::Float64), ValueError);

    net.to(DType::BFloat16, {.frozen_only = true});
    for (const auto& unfreeze : std::vector<std::function<void()>>{
             [&] { net.unfreeze(); }, [&] { net.unfreeze("0.*"); }, [&] { net.freeze_except({"0.weight"}); }}) {
        try {
            unfreeze();
            FAIL() << "expected ValueError";
        } catch (const ValueError& e) {
            EXPECT_NE(std::string(e.what()).find("'0.weight' (bfloat16 [16, 8])"), std::string::npos) << e.what();
            EXPECT_NE(std::string(e.what()).find("to(DType::Float32)"), std::string::npos) << e.what();
        }
        EXPECT_FALSE(net.submodule("0")->find_tensor("bias")->requires_grad());  // nothing changed
    }
    try {
        optim::AdamW opt(net.parameters(), {.lr = 1e-3});
        FAIL() << "expected DTypeError";
    } catch (const DTypeError& e) {
        EXPECT_NE(std::string(e.what()).find("parameter 0 of group 0 has dtype bfloat16"), std::string::npos)
            << e.what();
    }
    // The ops: a bf16 weight multiplies float32 inputs only; it never requires grad.
    const Tensor w = net.submodule("0")->find_tensor("weight")->detach();
    EXPECT_THROW(linear(randn({2, 8}, DType::Float64), w), DTypeError);
    EXPECT_THROW(matmul(randn({2, 16}, DType::Float64), w), DTypeError);
    EXPECT_THROW(matmul(w, randn({8, 3})), DTypeError);  // bf16 on the left
    EXPECT_THROW(matmul(randn({2, 3, 16}), w.unsqueeze(0)), ShapeError);
    EXPECT_THROW(Tensor(w).requires_grad_(), DTypeError);
}

TEST(Bf16Frozen, StateDictSavesBf16AndLoadsConvert) {
    manual_seed(8);
    nn::Sequential net{nn::Linear(8, 16), nn::ReLU(), nn::Linear(16, 4)};
    net.freeze("0.*");
    const StateDict fp32 = nn::clone(net)->state_dict();
    net.to(DType::BFloat16, {.frozen_only = true});
    const StateDict sd = net.state_dict();
    EXPECT_EQ(sd.at("0.weight").dtype(), DType::BFloat16);  // what the model holds
    EXPECT_EQ(sd.at("0.bias").dtype(), DType::Float32);

    test::ScratchDir dir("bf16frozen");
    io::save_safetensors(dir.path("m.safetensors"), sd);
    for (const auto& info : io::read_safetensors_header(dir.path("m.safetensors")).tensors)
        EXPECT_EQ(info.dtype, info.name == "0.weight" ? "BF16" : "F32") << info.name;
    const StateDict file = io::load_safetensors(dir.path("m.safetensors"));  // BF16 loads as float32
    EXPECT_EQ(max_abs_diff(file.at("0.weight"), sd.at("0.weight")), 0.0);

    // A float32 model loads the bf16 file (converted); the bf16 model loads a float32 dict (rounded).
    nn::Sequential plain{nn::Linear(8, 16), nn::ReLU(), nn::Linear(16, 4)};
    EXPECT_TRUE(plain.load_state_dict(file).ok());
    EXPECT_EQ(plain.state_dict().at("0.weight").dtype(), DType::Float32);
    EXPECT_EQ(max_abs_diff(plain.state_dict().at("0.weight"), sd.at("0.weight")), 0.0);
    EXPECT_TRUE(net.load_state_dict(fp32).ok());
    EXPECT_EQ(net.state_dict().at("0.weight").dtype(), DType::BFloat16);
    EXPECT_EQ(max_abs_diff(net.state_dict().at("0.weight"), fp32.at("0.weight").to(DType::BFloat16)), 0.0);
}

TEST(Bf16Frozen, CloneKeepsBf16Weights) {
    manual_seed(9);
    nn::Sequential net{nn::Linear(8, 16), nn::ReLU(), nn::Linear(16, 4)};
    net.freeze("0.*");
    net.to(DType::BFloat16, {.frozen_only = true});
    auto copy = nn::clone(net);
    const Tensor& w = *copy->submodule("0")->find_tensor("weight");
    EXPECT_EQ(w.dtype(), DType::BFloat16);
    EXPECT_FALSE(w.shares_storage(*net.submodule("0")->find_tensor("weight")));
    const Tensor x = randn({3, 8});
    EXPECT_EQ(max_abs_diff(copy->forward(x), net.forward(x)), 0.0);
}

TEST(Bf16Frozen, LoraOnBf16BaseTrainsFloat32AdaptersAndMerges) {
    manual_seed(10);
    nn::Sequential net{nn::Linear(12, 20), nn::ReLU(), nn::Linear(20, 3)};
    nn::apply_lora(net, {.r = 2, .alpha = 4, .target_modules = {"0"}});
    net.to(DType::BFloat16, {.frozen_only = true});
    auto lora = std::dynamic_pointer_cast<nn::LoraLinear>(net.submodule("0"));
    ASSERT_TRUE(lora);
    EXPECT_EQ(lora->weight.dtype(), DType::BFloat16);
    EXPECT_EQ(lora->lora_A.dtype(), DType::Float32);
    // The wrapped Linear shares the tensor: it reads the bf16 weight too.
    EXPECT_EQ(lora->base()->find_tensor("weight")->dtype(), DType::BFloat16);
    // Wrapping a base already held in bf16 gives float32 adapters.
    nn::Linear fc(6, 5);
    fc.freeze();
    fc.to(DType::BFloat16, {.frozen_only = true});
    nn::LoraLinear wrapped(fc, {.r = 2});
    EXPECT_EQ(wrapped.lora_A.dtype(), DType::Float32);
    EXPECT_EQ(wrapped.lora_B.dtype(), DType::Float32);

    const Tensor x = randn({4, 12});
    const Tensor y = randint(0, 3, {4});
    optim::AdamW opt(net.trainable_parameters(), {.lr = 1e-2});
    for (int i = 0; i < 3; ++i) {
        opt.zero_grad();
        nn::functional::cross_entropy(net.forward(x), y).backward();
        opt.step();
    }
    EXPECT_GT(max_abs(lora->lora_B), 0.0);
    net.eval();
    const Tensor adapted = net.forward(x).detach();
    nn::merge_lora(net);  // into the bf16 base: rounded to bf16
    EXPECT_EQ(lora->weight.dtype(), DType::BFloat16);
    EXPECT_LE(max_abs_diff(net.forward(x), adapted), 2e-2 * max_abs(adapted));
}

/// Trains `model`'s LoRA adapters for `steps` AdamW steps on one batch under autocast; returns
/// the first and last loss.
template <class M>
std::pair<double, double> train_lora(M& model, const Tensor& ids, int steps) {
    optim::AdamW opt(model.trainable_parameters(), {.lr = 3e-2});
    double first = 0, last = 0;
    for (int i = 0; i < steps; ++i) {
        const AutocastGuard autocast(DType::BFloat16);
        opt.zero_grad();
        Tensor loss = models::causal_lm_loss(model.forward(ids), ids);
        loss.backward();
        opt.step();
        (i == 0 ? first : last) = loss.item<double>();
    }
    return {first, last};
}

/// The model's bytes after to(BFloat16, frozen_only) against before, and the exact expectation:
/// two bytes fewer for each element of a converted weight.
template <class M>
void convert_and_check_bytes(M& model, std::int64_t converted_elements) {
    const std::size_t before = parameter_bytes(model);
    model.to(DType::BFloat16, {.frozen_only = true});
    const std::size_t after = parameter_bytes(model);
    EXPECT_EQ(before - after, static_cast<std::size_t>(2 * converted_elements));
    EXPECT_LT(static_cast<double>(after), 0.56 * static_cast<double>(before));  // about half
}

/// Elements of the frozen weights that to(BFloat16) converts (each tensor once).
std::int64_t bf16_convertible_elements(nn::Module& model) {
    std::int64_t n = 0;
    for (const auto& [path, m] : model.named_modules())
        for (const auto& name : m->bf16_weight_names())
            if (Tensor* t = m->find_tensor(name); t && !t->requires_grad() && t->dtype() == DType::Float32)
                n += t->numel();
    return n;
}

/// A GPT-2 tiny with LoRA on c_attn, fixed initialisation.
models::GPT2LMHead gpt2_lora() {
    manual_seed(11);
    models::GPT2Config cfg;
    cfg.vocab_size = 64;
    cfg.n_positions = 16;
    cfg.n_embd = 32;
    cfg.n_layer = 2;
    cfg.n_head = 2;
    cfg.resid_pdrop = cfg.embd_pdrop = cfg.attn_pdrop = 0.0;
    models::GPT2LMHead gpt(cfg);
    nn::apply_lora(gpt, {.r = 4, .alpha = 8, .target_modules = {"c_attn"}});
    return gpt;
}

/// A Llama tiny with LoRA on q_proj and v_proj, fixed initialisation.
models::LlamaForCausalLM llama_lora(bool tied) {
    manual_seed(12);
    models::LlamaConfig c;
    c.vocab_size = 64;
    c.hidden_size = 32;
    c.intermediate_size = 48;
    c.num_hidden_layers = 2;
    c.num_attention_heads = 4;
    c.num_key_value_heads = 2;
    c.tie_word_embeddings = tied;
    models::LlamaForCausalLM llama(c);
    nn::apply_lora(llama, {.r = 4, .alpha = 8, .target_modules = {"q_proj", "v_proj"}});
    return llama;
}

// The same fine-tune on the float32 base and on the bf16 base: the loss falls, and the bf16 run's
// losses stay within 1 % of the float32 run's (the base's weights differ by bf16 rounding).
template <class M>
void expect_bf16_base_trains_like_fp32(const std::function<M()>& make) {
    const Tensor ids = randint(0, 64, {2, 12}, DType::Int64);
    M fp32 = make();
    const auto [fp32_first, fp32_last] = train_lora(fp32, ids, 12);
    M model = make();
    convert_and_check_bytes(model, bf16_convertible_elements(model));
    const auto [first, last] = train_lora(model, ids, 12);
    EXPECT_LT(last, first - 0.1);
    EXPECT_NEAR(first, fp32_first, 1e-2 * fp32_first);
    EXPECT_NEAR(last, fp32_last, 1e-2 * fp32_first);
}

TEST(Bf16Frozen, Gpt2TinyLoraTrainsOnBf16Base) {
    expect_bf16_base_trains_like_fp32<models::GPT2LMHead>(gpt2_lora);
    models::GPT2LMHead gpt = gpt2_lora();
    gpt.to(DType::BFloat16, {.frozen_only = true});
    EXPECT_EQ(gpt.transformer->wte->weight.dtype(), DType::BFloat16);  // the tied head reads it too
}

TEST(Bf16Frozen, LlamaTinyLoraTrainsOnBf16Base) {
    for (const bool tied : {false, true}) {
        SCOPED_TRACE(tied ? "tied embeddings" : "own lm_head");
        expect_bf16_base_trains_like_fp32<models::LlamaForCausalLM>([tied] { return llama_lora(tied); });
        models::LlamaForCausalLM llama = llama_lora(tied);
        llama.to(DType::BFloat16, {.frozen_only = true});
        EXPECT_EQ(llama.head_weight().dtype(), DType::BFloat16);
    }
}

}  // namespace
